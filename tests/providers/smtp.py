"""A real SMTP submission server on 127.0.0.1 (aiosmtpd, in a thread) for the email channel.

``serve_smtp(handler, mode=…)`` runs :class:`MailServer` behind aiosmtpd's ``Controller``:
``starttls`` (the port-587 way: STARTTLS offered, and required before AUTH or MAIL, as
RFC 3207 lets a server insist), ``tls`` (implicit TLS, the port-465 way) or ``plain`` (no
TLS at all: a relay, or a server a ``starttls`` client must refuse). With ``users`` set
(``starttls`` and ``tls`` only), MAIL needs a successful AUTH PLAIN or LOGIN first (aiosmtpd answers ``530 5.7.0`` without
one and ``535 5.7.8`` to a wrong password, as RFC 4954 says).

Its answers are the ones Postfix gives: ``550 5.1.1`` for an address with no mailbox,
``450 4.2.0`` greylisting for an address first seen less than ``greylist`` seconds ago
(on the injected clock), ``553 5.7.1`` for a sender the login does not own, ``421 4.7.0``
(and the connection closed) once a session has sent ``per_session`` mails, and
``250 2.0.0 Ok: queued as …`` for an accepted mail. Accepted mails are kept in
``received``, with whether they came over TLS and who had logged in.
"""

from __future__ import annotations

import asyncio
import email
import itertools
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, Literal, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = ["Certificate", "MailServer", "Received", "free_port", "make_certificate",
           "serve_smtp"]


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certificate(directory: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost (openssl, a day's validity)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out",
         str(cert), "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True)
    return Certificate(cert, key)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (just now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Received:
    """One mail the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    tls: bool
    login: str | None

    @property
    def message(self) -> EmailMessage:
        return cast(EmailMessage, email.message_from_bytes(self.data, policy=default_policy))


@dataclass
class MailServer:
    """The handler and authenticator: what the server accepts, and what it received."""

    clock: Callable[[], float]
    users: dict[str, str] | None = None  # login → password; None: no AUTH needed
    mailboxes: frozenset[str] | None = None  # None: every address has one
    owners: dict[str, str] = field(default_factory=dict)  # login → the sender it may use
    greylisted: frozenset[str] = frozenset()
    greylist: float = 300.0  # seconds before a greylisted address is accepted
    per_session: int | None = None
    echo_credentials: bool = False  # a badly behaved server that repeats what it was sent
    received: list[Received] = field(default_factory=list)
    attempts: list[tuple[str, str]] = field(default_factory=list)  # (mechanism, login)
    _first_seen: dict[str, float] = field(default_factory=dict)
    _queue_ids: Iterator[int] = field(default_factory=lambda: itertools.count(0x4B1D0))

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                     mechanism: str, auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode()
        password = auth_data.password.decode()
        self.attempts.append((mechanism, login))
        if self.users is not None and self.users.get(login) == password:
            return AuthResult(success=True, auth_data=auth_data)
        if self.echo_credentials:
            return AuthResult(success=False, handled=False,
                              message=f"535 5.7.8 {login}:{password} rejected")
        return AuthResult(success=False, handled=False)

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        sent = getattr(session, "mails_sent", 0)
        if self.per_session is not None and sent >= self.per_session:
            asyncio.get_running_loop().call_soon(_close, server)
            return "421 4.7.0 mail.example.org Error: too many mails in this session"
        login = _login(session)
        owner = self.owners.get(login or "")
        if owner is not None and address != owner:
            return f"553 5.7.1 <{address}>: Sender address rejected: not owned by user {login}"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if self.mailboxes is not None and address not in self.mailboxes:
            return (f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in "
                    f"local recipient table")
        if address in self.greylisted:
            first = self._first_seen.setdefault(address, self.clock())
            if self.clock() - first < self.greylist:
                return (f"450 4.2.0 <{address}>: Recipient address rejected: Greylisted, "
                        f"try again in {self.greylist:g} seconds")
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        transport = server.transport
        tls = transport is not None and transport.get_extra_info("ssl_object") is not None
        data = envelope.original_content or b""
        self.received.append(Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), data,
                                      tls, _login(session)))
        session.mails_sent = getattr(session, "mails_sent", 0) + 1  # type: ignore[attr-defined]
        return f"250 2.0.0 Ok: queued as {next(self._queue_ids):X}"

    def to(self, address: str) -> list[Received]:
        """The mails that reached ``address``."""
        return [mail for mail in self.received if address in mail.rcpt_tos]


def _login(session: Session) -> str | None:
    data = session.auth_data
    return data.login.decode() if isinstance(data, LoginPassword) else None


def _close(server: SMTP) -> None:
    if server.transport is not None:
        server.transport.close()


class _Smtp(SMTP):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # aiosmtpd counts only TLS it started itself (aio-libs/aiosmtpd#281): on an
        # implicit-TLS port the connection is TLS from the start, so AUTH may go ahead.
        if self._original_transport is None and transport.get_extra_info("ssl_object"):
            self._auth_require_tls = False


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _Smtp(self.handler, **self.SMTP_kwargs)


@contextmanager
def serve_smtp(handler: MailServer, *, mode: Literal["starttls", "tls", "plain"],
               certificate: Certificate | None = None,
               exclude: tuple[str, ...] = ()) -> Iterator[int]:
    """Run ``handler`` on 127.0.0.1:<free port>; yields the port. ``exclude``: AUTH
    mechanisms not to offer (``("PLAIN",)`` leaves LOGIN)."""
    assert mode != "plain" or handler.users is None, "a plain server takes no passwords"
    options: dict[str, Any] = {
        "authenticator": handler.authenticate, "auth_required": handler.users is not None,
        "auth_exclude_mechanism": list(exclude), "auth_require_tls": mode != "plain",
    }
    if mode != "plain":
        assert certificate is not None
        context = certificate.server_context()
        if mode == "starttls":
            options.update(tls_context=context, require_starttls=True)
        else:
            options.update(ssl_context=context)
    controller = _Controller(handler, hostname="127.0.0.1", port=free_port(),
                            server_hostname="mail.example.org", **options)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()
