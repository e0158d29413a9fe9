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

The mail's HTML part is rendered by ``notifiers._html``; the SMTP session (blocking smtplib,
run in a thread) and the mapping of its answers above are in ``notifiers._smtp``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import ssl
from collections.abc import Mapping
from datetime import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field, model_validator

from notifiers._base import Channel, Message, Outcome, Person, Result, keyed_people
from notifiers._config import ChannelConfig, EnvName, Text
from notifiers._html import render_html
from notifiers._secrets import SecretsError
from notifiers._sms import Remembered, config_error, overall
from notifiers._smtp import Server, session

__all__ = ["EmailChannel", "message_id"]

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
        keyed = keyed_people(people)
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
            sent.update(await asyncio.to_thread(session, server, mails))
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

    def _server(self) -> Server | Result:
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
        return Server(host, int(port), security, from_, login, self.timeout or TIMEOUT,
                       context, self.secrets.mask)

    def _mail(self, message: Message, server: Server, address: str,
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
