"""Email over SMTP submission: a reminder mailed to each of a unit's people with an address.

Config (a units-directory channel, field names fixed by DESIGN.md): ``host``, ``port``
(default by ``security``: 465 for ``tls``, 587 for ``starttls``, 25 for ``none``),
``security`` (``tls`` | ``starttls`` | ``none``; default ``starttls``), ``username_env`` and
``password_env`` (both or neither: the environment variables holding the login), ``sender``
(the From address, e.g. ``合江镇党委 <dj@example.org>``), optional ``timeout`` (seconds for
each network step, default 30) and ``ca_file`` (see :class:`EmailChannel`).

Transport (RFC 8314 implicit TLS on 465; RFC 3207 STARTTLS on 587): the server's
certificate is always verified, and its name checked against ``host``. ``starttls`` never
falls back to plaintext: a server that does not offer STARTTLS in its EHLO answer is a
permanent ``starttls_unsupported`` and nothing (no password, no mail) is sent. ``none``
is for a relay on the office network; configured credentials would cross it unencrypted.
With credentials the channel logs in (RFC 4954 AUTH PLAIN or LOGIN, as the server offers)
and a server that offers no AUTH is a permanent ``auth_unsupported``, not an anonymous send.

One mail per person, all over one SMTP session: each person's ``To:`` holds only their own
``name <address>`` (a unit's roster is not handed to every member), and each mail gets its
own answer to DATA. In one multi-recipient transaction the server answers DATA once for all,
so a failure there could not be pinned on anyone, and a connection lost mid-way would leave
every recipient in doubt; here it leaves one. Each mail has a text/plain part
(``Message.text``) and a text/html part (``Message.markdown`` rendered as CommonMark with
raw HTML and images off and only http(s) links kept; without markdown, the text escaped
with its http(s) URLs made links), a Subject RFC 2047-encoded by ``EmailMessage``, a Date
from the injected clock (Beijing time), ``Auto-Submitted: auto-generated`` (RFC 3834: no
vacation replies) and a ``Message-ID`` derived from the idempotency key: the same on every
retry, so a receiving server or mail client can drop a copy it already has.

Answers (RFC 5321 §4.2: 2yz done, 4yz transient, 5yz permanent), per person in
``Result.recipients`` keyed by the person's name (``#2`` … added when a name repeats, as
``dingtalk_notice`` does; two people sharing an address get one mail, and its Result):

- the DATA reply ``250`` → delivered, its text (``Ok: queued as …``) as ``request_id``;
- a refused recipient (``550 5.1.1`` no such user, ``450`` greylisted, ``452`` too many) →
  that person, with the code; the others are unaffected;
- a refused sender (``553``/``550`` not owned by the login), a refused message (``552`` too
  big, ``554``) → that mail, by its code; ``421`` (server closing, e.g. too many mails in
  one session) closes the session: the mails not yet sent are transient ``disconnected``;
- AUTH: ``535`` (credentials invalid) and other 5yz → permanent ``auth_failed``; ``454``
  (temporary failure) → transient; the password, raw or base64 as PLAIN and LOGIN send it,
  is masked from any text the server sends back;
- a refused connection, DNS failure or dropped connection → transient ``network`` /
  ``disconnected``; no answer within ``timeout`` → transient ``timeout``; a certificate that
  does not verify → permanent ``tls_verify``; another TLS failure (e.g. ``tls`` on a port
  that speaks STARTTLS) → permanent ``tls``.

A missing secret is a permanent ``secret_missing``; a missing or bad setting ``config``.
The overall Result follows ``notifiers._sms.overall``: delivered when everyone is, transient
when anyone is, else permanent. The channel remembers the addresses each idempotency key
reached (the last 10,000 keys), so the dispatcher's retry of a partly failed send mails
only the people not yet reached.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import logging
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from markdown_it import MarkdownIt
from pydantic import AfterValidator, Field, model_validator

from notifiers._base import Channel, Message, Outcome, Person, Result
from notifiers._config import ChannelConfig, EnvName, Text
from notifiers._secrets import SecretsError
from notifiers._sms import Remembered, config_error, overall

__all__ = ["EmailChannel", "message_id", "render_html"]

log = logging.getLogger(__name__)

PORTS = {"tls": 465, "starttls": 587, "none": 25}
TIMEOUT = 30.0  # seconds per network step; servers scan a mail for spam before answering DATA
BEIJING = ZoneInfo("Asia/Shanghai")


def _sender(value: str | None) -> str | None:
    if value is not None and "@" not in _address(value):
        raise ValueError(f"“{value}” is not a sender; write an address, optionally with a "
                         f"name: 合江镇党委 <dj@example.org>")
    return value


def _address(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address if address and not re.search(r"\s", address) else ""


class EmailChannel(Channel):
    """Mails a reminder to each of the unit's people with an email address (SMTP).

    ``ca_file``: the path of a PEM bundle of the certificate authorities to trust instead
    of the system's, for an office mail server whose certificate comes from a private CA
    (or is self-signed). Without it the system's CAs decide; verification is never off.
    """

    class Config(ChannelConfig):
        host: Text = None
        port: Annotated[int | None, Field(ge=1, le=65535)] = None
        security: Literal["tls", "starttls", "none"] | None = None
        username_env: EnvName = None
        password_env: EnvName = None
        sender: Annotated[Text, AfterValidator(_sender)] = None
        timeout: Annotated[float | None, Field(gt=0)] = None
        ca_file: Text = None
        rules: ClassVar[tuple[str, ...]] = ("host*", "sender*")

        @model_validator(mode="after")
        def _login_whole(self) -> EmailChannel.Config:
            if (self.username_env is None) != (self.password_env is None):
                raise ValueError("give both username_env and password_env, or neither")
            return self

    kind: ClassVar[str] = "email"
    reaches_people: ClassVar[bool] = True
    groups: ClassVar[bool] = True  # units with the same people: one mail per window

    @classmethod
    def person_key(cls, person: Person) -> str:
        return _email(person) or person.name

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.remembered = Remembered()

    @classmethod
    def cannot_reach(cls, person: Person) -> str | None:
        return None if _email(person) else "no email"

    @classmethod
    def destination_key(cls, config: Mapping[str, Any]) -> str | None:
        if not config.get("host"):
            return None
        where = f"{str(config['host']).lower()}|{_address(str(config.get('sender') or ''))}"
        return f"{cls.kind}:" + hashlib.sha256(where.encode()).hexdigest()[:40]

    async def send(self, message: Message) -> Result:
        people = self.destination.people
        if not people:
            return Result(Outcome.PERMANENT, "no_recipients",
                          f"unit {self.destination.unit or '?'} has no people")
        server = self._server()
        if isinstance(server, Result):
            return server
        keyed = _names(people)
        to: dict[str, Person] = {}  # address → the first person with it: one mail each
        for _, person in keyed:
            if not self.cannot_reach(person):
                to.setdefault(_email(person), person)
        done = self.remembered.get(message.idempotency_key)
        mails: dict[str, EmailMessage] = {}
        sent: dict[str, Result] = {}
        for address, person in to.items():
            if address not in done:
                mail = self._mail(message, server, address, person)
                if isinstance(mail, Result):
                    sent[address] = mail
                else:
                    mails[address] = mail
        if mails:
            sent.update(await asyncio.to_thread(_session, server, mails))
        self.remembered.add(message.idempotency_key, sent)
        reached = {**done, **sent}
        recipients = {name: self._skipped(person) or reached[_email(person)]
                      for name, person in keyed}
        result = overall(recipients)
        log.info("email %s key=%s → %s %s (%d people)", self.destination.channel_id,
                 message.idempotency_key, result.outcome, result.code, len(people))
        return result

    def _skipped(self, person: Person) -> Result | None:
        reason = self.cannot_reach(person)
        return Result(Outcome.PERMANENT, "no_contact", reason) if reason else None

    def _server(self) -> _Server | Result:
        """How to reach the server, from the config and the secrets; a Result when unusable."""
        config, channel = self.destination.config, self.destination.channel_id
        try:
            host, sender = str(config["host"]), str(config["sender"])
            security = str(config.get("security") or "starttls")
            if security not in PORTS or not _address(sender):
                return Result(Outcome.PERMANENT, "config",
                              f"channel {channel}: security must be tls, starttls or none, "
                              f"and sender an address")
            login = None
            if config.get("username_env") or config.get("password_env"):
                login = (self.secrets.get(str(config["username_env"])),
                         self.secrets.get(str(config["password_env"])))
            context = None
            if security != "none":
                context = ssl.create_default_context(cafile=config.get("ca_file") or None)
        except (SecretsError, KeyError) as error:
            return config_error(channel, error, self.secrets.mask)
        except OSError as error:  # ssl.SSLError is one: a ca_file that is not PEM
            return Result(Outcome.PERMANENT, "config",
                          f"channel {channel}: ca_file {config.get('ca_file')}: {error}")
        port = str(config.get("port") or PORTS[security])
        try:
            name, address = parseaddr(sender)
            from_ = Address(display_name=name, addr_spec=address)
            if not (port.isdigit() and 0 < int(port) < 65536):
                raise ValueError(f"port {port} is not a port")
        except (ValueError, HeaderParseError) as error:
            return Result(Outcome.PERMANENT, "config", f"channel {channel}: {error}")
        return _Server(host, int(port), security, from_, login, self.timeout or TIMEOUT,
                       context, self.secrets.mask)

    def _mail(self, message: Message, server: _Server, address: str,
              person: Person) -> EmailMessage | Result:
        """The mail to one person, or a permanent Result when their address is not one."""
        mail = EmailMessage()
        try:
            mail["To"] = Address(display_name=person.name, addr_spec=address)
        except (ValueError, HeaderParseError) as error:
            return Result(Outcome.PERMANENT, "bad_address", f"{address}: {error}")
        mail["From"] = server.sender
        mail["Subject"] = " ".join(message.title.split())  # a line break would end the header
        mail["Date"] = format_datetime(datetime.fromtimestamp(self.clock(), BEIJING))
        mail["Message-ID"] = message_id(message.idempotency_key, server.sender.addr_spec)
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.text)
        mail.add_alternative(render_html(message), subtype="html")
        return mail


def _names(people: Iterable[Person]) -> list[tuple[str, Person]]:
    """Each person with the key of their Result: the name, ``#n`` added when it repeats
    (as ``dingtalk_notice`` keys them)."""
    seen: dict[str, int] = {}
    keyed = []
    for person in people:
        seen[person.name] = count = seen.get(person.name, 0) + 1
        keyed.append((person.name if count == 1 else f"{person.name}#{count}", person))
    return keyed


def _email(person: Person) -> str:
    return (person.email or "").strip()


def message_id(key: str, sender: str) -> str:
    """``<hash of the key@the sender's domain>``: stable per reminder, unique per office."""
    domain = sender.rpartition("@")[2]
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = "jiedian.invalid"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


# -- the HTML part ----------------------------------------------------------------------

class _Markdown(MarkdownIt):
    """CommonMark whose raw HTML is escaped, with no images (remote content, trackers) and
    only http(s) links: plan text is somebody's document, not trusted markup."""

    def __init__(self) -> None:
        super().__init__("commonmark", {"html": False, "breaks": True})
        self.disable("image")

    def validateLink(self, url: str) -> bool:
        return url.lower().startswith(("http://", "https://"))


_MARKDOWN = _Markdown()
# http(s) URLs in plain text: RFC 3986 characters but for the brackets and quotes that
# usually enclose a URL; a sentence's trailing punctuation is not part of it.
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#@!$&*+,;=%\[\]]+", re.IGNORECASE)


def render_html(message: Message) -> str:
    """The text/html part: ``message.markdown`` rendered, else ``message.text`` escaped."""
    body = _MARKDOWN.render(message.markdown) if message.markdown is not None \
        else f"<p>{_linked(message.text)}</p>\n"
    return (f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
            f"<title>{html.escape(message.title)}</title></head>\n<body>\n{body}</body></html>\n")


def _linked(text: str) -> str:
    out, at = [], 0
    for match in _URL.finditer(text):
        url = match[0].rstrip(".,;:!?")
        out += [html.escape(text[at:match.start()]),
                f'<a href="{html.escape(url)}">{html.escape(url)}</a>']
        at = match.start() + len(url)
    out.append(html.escape(text[at:]))
    return "".join(out).replace("\n", "<br>\n")


# -- the SMTP session (blocking smtplib, run in a thread) -------------------------------

@dataclass(frozen=True)
class _Server:
    host: str
    port: int
    security: str
    sender: Address  # From:, and its address for MAIL FROM
    login: tuple[str, str] | None
    timeout: float
    context: ssl.SSLContext | None  # None: security none
    mask_secrets: Callable[[str], str]

    def mask(self, text: str) -> str:
        """``text`` without the password, raw or encoded as AUTH PLAIN and LOGIN send it."""
        if self.login:
            user, password = self.login
            for form in (f"\0{user}\0{password}", password):
                for value in (base64.b64encode(form.encode()).decode(), form):
                    text = text.replace(value, "***")
        return self.mask_secrets(text)


class _Smtp(smtplib.SMTP):
    """smtplib drops the server's answer to DATA; it names the queued mail, so keep it."""

    data_reply: tuple[int, bytes] = (0, b"")

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.data_reply = super().data(msg)
        return self.data_reply


class _SmtpTls(_Smtp, smtplib.SMTP_SSL):
    pass


class _Refusal(Exception):
    """A reason of our own not to go on with a session (no STARTTLS on offer, say)."""

    def __init__(self, result: Result) -> None:
        super().__init__(result.message)
        self.result = result


def _session(server: _Server, mails: Mapping[str, EmailMessage]) -> dict[str, Result]:
    """Each address's Result, all mails sent over one session."""
    started = time.perf_counter()
    try:
        client = _open(server)
    except _Refusal as refusal:
        return dict.fromkeys(mails, replace(refusal.result, latency_ms=_since(started)))
    except OSError as error:  # smtplib's errors are OSErrors too
        return dict.fromkeys(mails, _failure(error, server, started))
    except ValueError as error:  # a host name IDNA cannot encode, say
        return dict.fromkeys(mails, Result(Outcome.PERMANENT, "config",
                                           f"{server.host}: {error}"))
    results: dict[str, Result] = {}
    try:
        for address, mail in mails.items():
            if client.sock is None:  # the server ended the session (a 421)
                results[address] = Result(Outcome.TRANSIENT, "disconnected",
                                          "not sent: the server closed the session")
            else:
                results[address] = _send(client, server, address, mail)
    finally:
        _close(client)
    return results


def _open(server: _Server) -> _Smtp:
    """A connected session, secured and logged in as configured."""
    client: _Smtp
    if server.security == "tls":
        client = _SmtpTls(server.host, server.port, timeout=server.timeout,
                          context=server.context)
    else:
        client = _Smtp(server.host, server.port, timeout=server.timeout)
    try:
        client.ehlo_or_helo_if_needed()
        if server.security == "starttls":
            if not client.has_extn("starttls"):
                raise _Refusal(Result(Outcome.PERMANENT, "starttls_unsupported",
                                      f"{server.host} does not offer STARTTLS; nothing was sent "
                                      f"(set security: tls for port 465, or none)"))
            client.starttls(context=server.context)
        if server.login:
            _login(client, server)
    except BaseException:
        _close(client)
        raise
    return client


def _login(client: smtplib.SMTP, server: _Server) -> None:
    assert server.login is not None
    try:
        client.login(*server.login)
    except smtplib.SMTPAuthenticationError as error:
        text = server.mask(f"{error.smtp_code} {_text(error.smtp_error)}")
        if 400 <= error.smtp_code < 500:
            raise _Refusal(Result(Outcome.TRANSIENT, str(error.smtp_code), text)) from None
        raise _Refusal(Result(Outcome.PERMANENT, "auth_failed", text)) from None
    except (smtplib.SMTPResponseException, smtplib.SMTPServerDisconnected):
        raise  # a session failure like any other (_failure)
    except smtplib.SMTPException as error:  # no AUTH on offer, or none of PLAIN, LOGIN, CRAM-MD5
        raise _Refusal(Result(Outcome.PERMANENT, "auth_unsupported",
                              f"{server.host}: {error}")) from None


def _send(client: _Smtp, server: _Server, address: str, mail: EmailMessage) -> Result:
    started = time.perf_counter()
    try:
        client.send_message(mail, from_addr=server.sender.addr_spec, to_addrs=[address])
    except smtplib.SMTPRecipientsRefused as error:
        code, text = error.recipients.get(address, (-1, b"refused"))
        return _reply(code, text, server, started)
    except smtplib.SMTPResponseException as error:  # sender refused, DATA refused
        return _reply(error.smtp_code, error.smtp_error, server, started)
    except smtplib.SMTPNotSupportedError as error:  # a non-ASCII address, no SMTPUTF8
        return Result(Outcome.PERMANENT, "smtputf8_unsupported", server.mask(str(error)),
                      latency_ms=_since(started))
    except OSError as error:
        return _failure(error, server, started)
    except ValueError as error:  # an address smtplib cannot put in a command
        return Result(Outcome.PERMANENT, "bad_address", f"{address}: {error}",
                      latency_ms=_since(started))
    code, text = client.data_reply
    reply = server.mask(_text(text))
    return Result(Outcome.DELIVERED, str(code), reply, latency_ms=_since(started),
                  request_id=reply[:200] or None)


def _reply(code: int, text: bytes | str, server: _Server, started: float) -> Result:
    """An SMTP answer: 5yz is permanent, anything else (4yz) worth another try."""
    outcome = Outcome.PERMANENT if 500 <= code < 600 else Outcome.TRANSIENT
    return Result(outcome, str(code), server.mask(_text(text)), latency_ms=_since(started))


def _failure(error: OSError, server: _Server, started: float) -> Result:
    """A session that could not be had or went away (``_reply`` for an SMTP answer)."""
    latency = _since(started)
    if isinstance(error, smtplib.SMTPResponseException):  # a bad greeting, HELO, STARTTLS
        return _reply(error.smtp_code, error.smtp_error, server, started)
    if isinstance(error, ssl.SSLCertVerificationError):
        return Result(Outcome.PERMANENT, "tls_verify",
                      f"{server.host}: certificate not trusted ({error.verify_message}); "
                      f"give the server's CA as ca_file", latency_ms=latency)
    if isinstance(error, ssl.SSLError) and not isinstance(
            error, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return Result(Outcome.PERMANENT, "tls",
                      f"{server.host}:{server.port}: TLS failed ({error.reason or error}); "
                      f"check security and port", latency_ms=latency)
    if isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError):
        return Result(Outcome.TRANSIENT, "timeout",
                      f"{server.host}:{server.port}: no answer within {server.timeout:g} s",
                      latency_ms=latency)
    code = "disconnected" if isinstance(error, smtplib.SMTPServerDisconnected) else "network"
    return Result(Outcome.TRANSIENT, code,
                  server.mask(f"{server.host}:{server.port}: {type(error).__name__}: {error}"),
                  latency_ms=latency)


def _close(client: smtplib.SMTP) -> None:
    """QUIT politely; a server that is gone or answers badly is closed all the same."""
    try:
        if client.sock is not None:
            client.quit()
    except OSError:
        pass
    finally:
        client.close()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000

