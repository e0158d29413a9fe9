"""The email channel against a real SMTP server on 127.0.0.1 (``tests/providers/smtp.py``).

The server requires AUTH with the right login over TLS (STARTTLS or implicit), answers
refusals the way Postfix does, and keeps what it accepted; the channel verifies its
self-signed certificate through ``ca_file``. The clock is injected (greylisting waits on it).
"""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import ValidationError

from notifiers import Destination, Message, Outcome, Person, Result, Secrets
from notifiers._html import render_html
from notifiers.email import EmailChannel, message_id
from scheduler import ReminderItem, render
from tests.providers.sms import FakeClock
from tests.providers.smtp import (
    Certificate,
    MailServer,
    free_port,
    make_certificate,
    serve_smtp,
)

USER, PASSWORD = "dj@example.org", "Jiedian-mail-pass-0123"
ENV = {"DJB_MAIL_USER": USER, "DJB_MAIL_PASS": PASSWORD}
SENDER = "合江镇党委 <dj@example.org>"
ZHANG = Person("张三", mobile="13800000001", email="zhangsan@example.org")
LI = Person("李四", email="lisi@example.org")
WANG = Person("王五", mobile="13900000002")  # no email
ZHAO = Person("赵六", email="zhaoliu@example.org")
ACK = "https://dj.example.org/ack/0f3a9c?unit=djb&node=7"
FEED = "https://dj.example.org/feeds/u/8d41e2.ics"
T = TypeVar("T")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def server(clock: FakeClock, **options: Any) -> MailServer:
    return MailServer(clock, users={USER: PASSWORD}, owners={USER: "dj@example.org"}, **options)


def destination(at: int, certificate: Certificate | None, people: tuple[Person, ...] = (ZHANG,),
                **config: Any) -> Destination:
    settings = {"host": "127.0.0.1", "port": at, "security": "starttls",
                "username_env": "DJB_MAIL_USER", "password_env": "DJB_MAIL_PASS",
                "sender": SENDER, "timeout": 5, "enabled": True, **config}
    if certificate is not None:
        settings.setdefault("ca_file", str(certificate.cert))
    return Destination("djb-mail", "email", {k: v for k, v in settings.items() if v is not None},
                       unit="镇党建办", people=people)


def message(key: str = "rem-42", markdown: str | None = None, text: str | None = None) -> Message:
    return Message(title="【节点提醒】形成创建方案交镇党建办 · 还有9天",
                   text=text or f"4月29日前形成创建方案交镇党建办\n办结确认：{ACK}\n\n日历订阅：{FEED}",
                   idempotency_key=key, markdown=markdown)


def run(destination: Destination, steps: Callable[[EmailChannel], Awaitable[T]],
        clock: FakeClock, env: Mapping[str, str] = ENV) -> T:
    """``steps`` run against one channel object (as the dispatcher keeps one)."""
    async def go() -> T:
        async with httpx.AsyncClient() as client:
            channel = EmailChannel(destination, client=client, secrets=Secrets(env=dict(env)),
                                   clock=clock)
            return await steps(channel)
    return asyncio.run(go())


def send(destination: Destination, msg: Message, clock: FakeClock,
         env: Mapping[str, str] = ENV) -> Result:
    async def once(channel: EmailChannel) -> Result:
        return await channel.send(msg)
    result = run(destination, once, clock, env)
    assert_clean(result, env.get("DJB_MAIL_PASS", PASSWORD))
    return result


def assert_clean(result: Result, password: str = PASSWORD) -> None:
    """No password, raw or as AUTH PLAIN / LOGIN carry it, anywhere in the Result."""
    text = repr(result)
    for form in (password, f"\0{USER}\0{password}"):
        assert form not in text
        assert base64.b64encode(form.encode()).decode() not in text


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [value or "" for name, value in attrs if name == "href"]


def links(markup: str) -> Links:
    parser = Links()
    parser.feed(markup)
    return parser


def parts(mail: Any) -> tuple[str, str]:
    plain = mail.get_body(preferencelist=("plain",))
    rich = mail.get_body(preferencelist=("html",))
    return plain.get_content(), rich.get_content()


# -- delivering ---------------------------------------------------------------------------

def test_starttls_mails_each_person_once_with_their_own_to(
        clock: FakeClock, certificate: Certificate) -> None:
    mails = server(clock)
    with serve_smtp(mails, mode="starttls", certificate=certificate) as port:
        result = send(destination(port, certificate, (ZHANG, LI)), message(), clock)
    assert result.delivered and result.code == "250"
    assert set(result.recipients) == {"张三", "李四"}
    assert all(r.request_id and "queued as" in r.request_id for r in result.recipients.values())
    assert [m.rcpt_tos for m in mails.received] == [(ZHANG.email,), (LI.email,)]
    assert all(m.tls and m.login == USER and m.mail_from == "dj@example.org"
               for m in mails.received)
    assert mails.attempts == [("PLAIN", USER)]  # one session, one login, for both mails
    first = mails.received[0]
    mail = first.message
    assert mail["Subject"] == "【节点提醒】形成创建方案交镇党建办 · 还有9天"
    assert b"Subject: =?utf-8?" in first.data  # RFC 2047, not raw UTF-8 in the header
    assert str(mail["To"]) == "张三 <zhangsan@example.org>"
    assert mail["From"].addresses[0].display_name == "合江镇党委"
    assert mail["Message-ID"] == message_id("rem-42", "dj@example.org")
    assert mail["Message-ID"].endswith("@example.org>")
    assert mails.received[1].message["Message-ID"] == mail["Message-ID"]
    assert mail["Date"].datetime.timestamp() == clock.now
    assert mail["Date"].datetime.utcoffset().total_seconds() == 8 * 3600
    assert mail["Auto-Submitted"] == "auto-generated"


def test_implicit_tls_with_auth_login(clock: FakeClock, certificate: Certificate) -> None:
    mails = server(clock)
    with serve_smtp(mails, mode="tls", certificate=certificate, exclude=("PLAIN",)) as port:
        result = send(destination(port, certificate, security="tls"), message(), clock)
    assert result.delivered
    assert mails.attempts == [("LOGIN", USER)]
    (received,) = mails.received
    assert received.tls and received.rcpt_tos == (ZHANG.email,)


def test_plain_relay_without_login(clock: FakeClock) -> None:
    relay = MailServer(clock)  # an office relay: no AUTH, no TLS
    with serve_smtp(relay, mode="plain") as port:
        result = send(destination(port, None, security="none", username_env=None,
                                  password_env=None), message(), clock)
    assert result.delivered
    (received,) = relay.received
    assert not received.tls and received.login is None


def test_feed_and_confirmation_links_are_in_both_parts(
        clock: FakeClock, certificate: Certificate) -> None:
    item = ReminderItem("合江镇2011年创先争优活动工作要点", "形成创建方案交镇党建办", "deadline",
                        date(2011, 4, 29), date(2011, 4, 29), date(2011, 4, 29), ack=ACK)
    reminder = render([item], today=date(2011, 4, 20), idempotency_key="rem-7", unit="镇党建办",
                      link=FEED)
    mails = server(clock)
    with serve_smtp(mails, mode="starttls", certificate=certificate) as port:
        assert send(destination(port, certificate), reminder, clock).delivered
    plain, rich = parts(mails.received[0].message)
    assert ACK in plain and FEED in plain
    assert {ACK, FEED} <= set(links(rich).hrefs)
    assert "形成创建方案交镇党建办" in rich


# -- the HTML part ------------------------------------------------------------------------

def test_html_escapes_plan_markup_and_keeps_only_http_links(
        clock: FakeClock, certificate: Certificate) -> None:
    markdown = ("**<script>alert('党建')</script>** <img src=x onerror=alert(1)>\n\n"
                "[看这里](javascript:alert(1)) ![追踪](https://tracker.example.com/p.gif)\n\n"
                f"[办结确认]({ACK})")
    mails = server(clock)
    with serve_smtp(mails, mode="starttls", certificate=certificate) as port:
        assert send(destination(port, certificate), message(markdown=markdown), clock).delivered
    plain, rich = parts(mails.received[0].message)
    parsed = links(rich)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert "&lt;script&gt;" in rich
    # The javascript: link stays text; the image is a link to click, never loaded by itself.
    assert parsed.hrefs == ["https://tracker.example.com/p.gif", ACK]
    assert "javascript:alert(1)" in rich  # shown, not followed
    assert ACK in plain


def test_text_only_message_is_escaped_with_clickable_links() -> None:
    msg = message(text=f"<b>注意</b> 请于4月底前办结：{ACK}。\n日历订阅：{FEED}", markdown=None)
    rich = render_html(msg)
    parsed = links(rich)
    assert parsed.hrefs == [ACK, FEED]  # the sentence's 。 is not part of the link
    assert "b" not in parsed.tags and "&lt;b&gt;注意&lt;/b&gt;" in rich
    assert "<br>" in rich


# -- refusals and failures ----------------------------------------------------------------

@pytest.mark.parametrize("echo", [False, True], ids=["plain-535", "server-echoes-password"])
def test_wrong_password_is_auth_failed_without_the_password(
        clock: FakeClock, certificate: Certificate, echo: bool) -> None:
    mails = server(clock, echo_credentials=echo)
    wrong = "not-the-Right-pass-987"
    with serve_smtp(mails, mode="starttls", certificate=certificate) as port:
        result = send(destination(port, certificate, (ZHANG, LI)), message(), clock,
                      env={**ENV, "DJB_MAIL_PASS": wrong})
    assert result.outcome is Outcome.PERMANENT and result.code == "auth_failed"
    assert "535" in (result.message or "")
    assert all(r.code == "auth_failed" for r in result.recipients.values())
    assert mails.received == [] and mails.attempts  # it did try, and nothing was sent
    assert wrong not in repr(result)


def test_refused_recipient_is_permanent_and_the_others_are_delivered(
        clock: FakeClock, certificate: Certificate) -> None:
    mails = server(clock, mailboxes=frozenset({ZHANG.email, ZHAO.email}))
    with serve_smtp(mails, mode="starttls", certificate=certificate) as port:
        result = send(destination(port, certificate, (ZHANG, LI, ZHAO)), message(), clock)
    refused = result.recipients[LI.name]
    assert refused.outcome is Outcome.PERMANENT and refused.code == "550"
    assert "5.1.1" in (refused.message or "") and "User unknown" in (refused.message or "")
    assert result.recipients[ZHANG.name].delivered
    assert result.recipients[ZHAO.name].delivered
    assert result.outcome is Outcome.PERMANENT and result.code == "partial"
    assert sorted(m.rcpt_tos[0] for m in mails.received) == [ZHANG.email, ZHAO.email]


def test_person_without_email_is_no_contact_and_the_others_still_get_it(
        clock: FakeClock, certificate: Certificate) -> None:
    assert EmailChannel.cannot_reach(WANG) == "no email"
    assert EmailChannel.cannot_reach(Person("钱七", email="  ")) == "no email"
    assert EmailChannel.cannot_reach(ZHANG) is None
    mails = server(clock)
    with serve_smtp(mails, mode="starttls", certificate=certificate) as port:
        result = send(destination(port, certificate, (ZHANG, WANG)), message(), clock)
    skipped = result.recipients[WANG.name]
    assert skipped.outcome is Outcome.PERMANENT and skipped.code == "no_contact"
    assert skipped.message == "no email"
    assert result.recipients[ZHANG.name].delivered
    assert result.delivered and result.code == "partial"  # a skipped person fails no send
    assert [m.rcpt_tos for m in mails.received] == [(ZHANG.email,)]


def test_repeated_names_are_numbered_and_a_shared_address_is_mailed_once(
        clock: FakeClock, certificate: Certificate) -> None:
    office = "djb@example.org"  # the office's shared mailbox, written for two people
    people = (Person("张三", email=office), Person("张三", email="zhangsan2@example.org"),
              Person("刘八", email=f" {office} "))
    mails = server(clock)
    with serve_smtp(mails, mode="starttls", certificate=certificate) as port:
        result = send(destination(port, certificate, people), message(), clock)
    assert set(result.recipients) == {"张三", "张三#2", "刘八"}
    assert result.recipients["刘八"] == result.recipients["张三"]
    assert result.delivered
    assert [m.rcpt_tos for m in mails.received] == [(office,), ("zhangsan2@example.org",)]


def test_greylisted_person_is_retried_without_mailing_the_delivered_again(
        clock: FakeClock, certificate: Certificate) -> None:
    mails = server(clock, greylisted=frozenset({str(LI.email)}))

    async def twice(channel: EmailChannel) -> tuple[Result, Result]:
        first = await channel.send(message())
        clock.advance(301)
        return first, await channel.send(message())

    with serve_smtp(mails, mode="starttls", certificate=certificate) as port:
        first, second = run(destination(port, certificate, (ZHANG, LI)), twice, clock)
    greylisted = first.recipients[LI.name]
    assert first.outcome is Outcome.TRANSIENT and greylisted.code == "450"
    assert "Greylisted" in (greylisted.message or "")
    assert first.recipients[ZHANG.name].delivered
    assert second.delivered
    assert second.recipients[ZHANG.name] == first.recipients[ZHANG.name]
    assert len(mails.to(str(ZHANG.email))) == 1 and len(mails.to(str(LI.email))) == 1
    # The retry is the same message: the same Message-ID, for a receiver to dedupe by.
    assert {m.message["Message-ID"] for m in mails.received} == {
        message_id("rem-42", "dj@example.org")}


def test_session_limit_421_leaves_the_rest_for_the_retry(
        clock: FakeClock, certificate: Certificate) -> None:
    mails = server(clock, per_session=1)

    async def twice(channel: EmailChannel) -> tuple[Result, Result, Result]:
        return (await channel.send(message()), await channel.send(message()),
                await channel.send(message()))

    with serve_smtp(mails, mode="starttls", certificate=certificate) as port:
        first, second, third = run(destination(port, certificate, (ZHANG, LI, ZHAO)), twice,
                                   clock)
    assert first.recipients[ZHANG.name].delivered
    closing = first.recipients[LI.name]
    assert closing.outcome is Outcome.TRANSIENT and closing.code == "421"
    assert first.recipients[ZHAO.name].code == "disconnected"
    assert first.outcome is Outcome.TRANSIENT
    assert second.recipients[LI.name].delivered and not second.delivered
    assert third.delivered
    assert [m.rcpt_tos[0] for m in mails.received] == [ZHANG.email, LI.email, ZHAO.email]


def test_sender_not_owned_by_the_login_is_permanent(
        clock: FakeClock, certificate: Certificate) -> None:
    mails = server(clock)
    with serve_smtp(mails, mode="starttls", certificate=certificate) as port:
        result = send(destination(port, certificate, sender="党建办 <office@example.org>"),
                      message(), clock)
    assert result.outcome is Outcome.PERMANENT and result.code == "553"
    assert "not owned" in (result.message or "")
    assert mails.received == []


def test_starttls_not_offered_is_permanent_and_nothing_crosses_in_clear(
        clock: FakeClock) -> None:
    weak = MailServer(clock)  # AUTH offered over plaintext: a client must not take it
    with serve_smtp(weak, mode="plain") as port:
        result = send(destination(port, None), message(), clock)
    assert result.outcome is Outcome.PERMANENT and result.code == "starttls_unsupported"
    assert weak.attempts == [] and weak.received == []


def test_untrusted_certificate_is_permanent(clock: FakeClock, certificate: Certificate,
                                            tmp_path: Path) -> None:
    other = make_certificate(tmp_path)  # a CA that did not sign the server's certificate
    mails = server(clock)
    with serve_smtp(mails, mode="tls", certificate=certificate) as port:
        result = send(destination(port, other, security="tls"), message(), clock)
    assert result.outcome is Outcome.PERMANENT and result.code == "tls_verify"
    assert mails.attempts == [] and mails.received == []


def test_implicit_tls_against_a_starttls_port_is_permanent(
        clock: FakeClock, certificate: Certificate) -> None:
    mails = server(clock)
    with serve_smtp(mails, mode="starttls", certificate=certificate) as port:
        result = send(destination(port, certificate, security="tls"), message(), clock)
    assert result.outcome is Outcome.PERMANENT and result.code == "tls"


def test_server_down_is_transient(clock: FakeClock, certificate: Certificate) -> None:
    result = send(destination(free_port(), certificate, (ZHANG, LI)), message(), clock)
    assert result.outcome is Outcome.TRANSIENT and result.code == "network"
    assert set(result.recipients) == {"张三", "李四"}


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never greets."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield int(listener.getsockname()[1])


def test_silent_server_is_a_transient_timeout(clock: FakeClock, certificate: Certificate,
                                              silent_port: int) -> None:
    result = send(destination(silent_port, certificate, timeout=0.2), message(), clock)
    assert result.outcome is Outcome.TRANSIENT and result.code == "timeout"


def test_missing_password_is_secret_missing_without_connecting(
        clock: FakeClock, certificate: Certificate) -> None:
    result = send(destination(free_port(), certificate), message(), clock,
                  env={"DJB_MAIL_USER": USER})
    assert result.outcome is Outcome.PERMANENT and result.code == "secret_missing"
    assert "DJB_MAIL_PASS" in (result.message or "")


def test_unreadable_ca_file_is_a_config_error(clock: FakeClock, tmp_path: Path) -> None:
    result = send(destination(free_port(), None, ca_file=str(tmp_path / "office-ca.pem")),
                  message(), clock)
    assert result.outcome is Outcome.PERMANENT and result.code == "config"
    assert "ca_file" in (result.message or "")


def test_unit_without_people_is_permanent(clock: FakeClock, certificate: Certificate) -> None:
    result = send(destination(free_port(), certificate, ()), message(), clock)
    assert result.outcome is Outcome.PERMANENT and result.code == "no_recipients"


# -- configuration ------------------------------------------------------------------------

def test_config_fields_and_rules() -> None:
    config = EmailChannel.Config
    assert config.rules == ("host*", "sender*")
    ok = config.model_validate({"host": "smtp.example.org", "port": "465", "security": "tls",
                                "username_env": "DJB_MAIL_USER", "password_env": "DJB_MAIL_PASS",
                                "sender": SENDER, "ca_file": "/etc/ssl/office-ca.pem"})
    assert ok.port == 465 and ok.security == "tls"
    with pytest.raises(ValidationError, match="both username_env and password_env"):
        config.model_validate({"host": "smtp.example.org", "sender": SENDER,
                               "username_env": "DJB_MAIL_USER"})
    with pytest.raises(ValidationError, match="security"):
        config.model_validate({"host": "smtp.example.org", "sender": SENDER, "security": "ssl"})
    with pytest.raises(ValidationError, match="not a sender"):
        config.model_validate({"host": "smtp.example.org", "sender": "合江镇党委"})
    with pytest.raises(ValidationError, match="environment variable"):
        config.model_validate({"host": "smtp.example.org", "sender": SENDER,
                               "username_env": "dj@example.org", "password_env": "x y"})


def test_default_ports_follow_security(clock: FakeClock) -> None:
    # Not sent: a machine with its own MTA on port 25 would deliver it.
    async def port_of(channel: EmailChannel) -> int:
        server = channel._server()
        assert not isinstance(server, Result)
        return server.port

    for security, port in (("tls", 465), ("starttls", 587), ("none", 25)):
        settings = destination(0, None, security=security, port=None)
        assert run(settings, port_of, clock) == port


def test_destination_key_is_host_and_sender_without_secrets() -> None:
    config = {"host": "smtp.example.org", "sender": SENDER, "password_env": "DJB_MAIL_PASS"}
    key = EmailChannel.destination_key(config)
    assert key and key.startswith("email:") and "DJB_MAIL_PASS" not in key
    assert EmailChannel.destination_key({**config, "password_env": "OTHER"}) == key
    assert EmailChannel.destination_key({**config, "sender": "dj@example.org"}) == key
    assert EmailChannel.destination_key({**config, "host": "smtp.example.com"}) != key
    assert EmailChannel.destination_key({**config, "sender": "jw@example.org"}) != key
    assert EmailChannel.destination_key({"sender": SENDER}) is None
