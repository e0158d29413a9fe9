"""The email channel's SMTP session: blocking smtplib, run in a thread by ``notifiers.email``.

:func:`session` sends each address its mail over one session to a :class:`Server` (secured
and logged in as configured) and maps every SMTP answer or failure to that address's
:class:`Result`: 2yz delivered, 4yz transient, 5yz permanent (RFC 5321 §4.2); see the
``notifiers.email`` docstring for the codes. The password is masked from any text the
server sends back.
"""

from __future__ import annotations

import base64
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

from notifiers._base import Outcome, Result

__all__ = ["Server", "session"]


@dataclass(frozen=True)
class Server:
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


def session(server: Server, mails: Mapping[str, EmailMessage]) -> dict[str, Result]:
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


def _open(server: Server) -> _Smtp:
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


def _login(client: smtplib.SMTP, server: Server) -> None:
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


def _send(client: _Smtp, server: Server, address: str, mail: EmailMessage) -> Result:
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


def _reply(code: int, text: bytes | str, server: Server, started: float) -> Result:
    """An SMTP answer: 5yz is permanent, anything else (4yz) worth another try."""
    outcome = Outcome.PERMANENT if 500 <= code < 600 else Outcome.TRANSIENT
    return Result(outcome, str(code), server.mask(_text(text)), latency_ms=_since(started))


def _failure(error: OSError, server: Server, started: float) -> Result:
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

