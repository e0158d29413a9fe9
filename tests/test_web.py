"""The web app on a real uvicorn server: feeds over HTTP, the calendar page, a real browser."""

from __future__ import annotations

import gzip
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html.parser import HTMLParser
from pathlib import Path

import cv2
import httpx
import icalendar
import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

import plans
import scheduler
from plans import CALENDAR
from scheduler._models import OccurrenceRow, OccurrenceUnitRow
from tests.conftest import (
    CHROMIUM,
    ICS,
    NOW,
    TIMED_UNIT,
    Clock,
    ack_tokens,
    chromium,
    import_bundled,
    running,
    serve,
    tokens,
)


@pytest.fixture
def bundled(engine: Engine) -> Engine:
    import_bundled(engine)
    return engine


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, trust_env=False) as http:  # no proxy for 127.0.0.1
        yield http


def test_feeds_over_http(bundled: Engine, client: httpx.Client) -> None:
    with serve(bundled, Clock(NOW)) as base:
        url = f"{base}/feeds/all.ics"
        plain = {"Accept-Encoding": "identity"}
        first = client.get(url, headers=plain)
        assert first.status_code == 200
        assert first.headers["content-type"] == ICS
        assert "content-encoding" not in first.headers
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert modified == format_datetime(NOW, usegmt=True)
        calendar = icalendar.Calendar.from_ical(first.content)
        assert len(calendar.walk("VEVENT")) > 100

        for tags in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
            again = client.get(url, headers={"If-None-Match": tags})
            assert (again.status_code, again.content) == (304, b""), tags
            assert again.headers["etag"] == etag
        assert client.get(url, headers={"If-None-Match": '"nope"'}).status_code == 200
        assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
        earlier = format_datetime(NOW - timedelta(seconds=1), usegmt=True)
        assert client.get(url, headers={"If-Modified-Since": earlier}).status_code == 200
        # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
        assert client.get(url, headers={"If-None-Match": '"nope"',
                                        "If-Modified-Since": modified}).status_code == 200

        head = client.head(url, headers=plain)
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["content-type"] == ICS and head.headers["etag"] == etag
        assert head.headers["content-length"] == str(len(first.content))

        zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert int(zipped.headers["content-length"]) < len(first.content) / 4
        assert zipped.content == first.content  # httpx decoded it
        with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as streamed:
            assert gzip.decompress(b"".join(streamed.iter_raw())) == first.content

        quiet = client.get(url, params={"alarms": "0"}, headers=plain)
        assert b"BEGIN:VALARM" not in quiet.content and b"BEGIN:VALARM" in first.content
        assert quiet.headers["etag"] != etag

        plan = client.get(f"{base}/feeds/plan/huizhou-2011-djcxn.ics")
        assert plan.status_code == 200 and plan.headers["content-type"] == ICS
        assert "表彰“四百一千”先锋模范" in plan.content.decode("utf-8").replace("\r\n ", "")
        assert client.get(f"{base}/feeds/plan/nope.ics").status_code == 404

        unit = client.get(f"{base}/feeds/u/{tokens(bundled)[TIMED_UNIT]}.ics")
        assert unit.status_code == 200 and unit.headers["content-type"] == ICS
        assert unit.headers["cache-control"] == "private, max-age=300"
        revalidated = client.get(unit.url, headers={"If-None-Match": unit.headers["etag"]})
        assert revalidated.status_code == 304
        assert revalidated.headers["cache-control"] == "private, max-age=300"


def test_wrong_and_rotated_tokens_answer_like_any_unknown_path(bundled: Engine,
                                                                client: httpx.Client) -> None:
    with serve(bundled, Clock(NOW)) as base:
        unknown = client.get(f"{base}/no/such/page")
        assert unknown.status_code == 404
        old = tokens(bundled)[TIMED_UNIT]
        for path in ("/feeds/u/wrong-token.ics", f"/feeds/u/{old}x.ics", "/u/wrong-token"):
            wrong = client.get(base + path)
            assert (wrong.status_code, wrong.content) == (404, unknown.content), path
            assert wrong.headers["content-type"] == unknown.headers["content-type"]
        assert client.get(f"{base}/feeds/u/{old}.ics").status_code == 200
        with Session(bundled) as session:
            new = scheduler.rotate_token(session, TIMED_UNIT, now=NOW + timedelta(hours=1)).feed_token
            session.commit()
        assert new != old
        gone = client.get(f"{base}/feeds/u/{old}.ics")
        assert (gone.status_code, gone.content) == (404, unknown.content)
        assert client.get(f"{base}/u/{old}").status_code == 404
        assert client.get(f"{base}/feeds/u/{new}.ics").status_code == 200
        assert client.get(f"{base}/u/{new}").status_code == 200


def test_the_offices_own_views_need_the_admin_token(bundled: Engine, client: httpx.Client) -> None:
    """With JIEDIAN_ADMIN_TOKEN, which units are overdue stays inside the office: /, /status,
    /year and the all-plans and per-plan feeds answer only the token (?token=, then a cookie;
    or Authorization: Bearer); a unit's own pages and feed still open with the unit's token."""
    token = "op-" + "s3cret" * 4
    unit = tokens(bundled)[TIMED_UNIT]
    with serve(bundled, Clock(NOW), admin_token=token) as base:
        guarded = ["/", "/status", "/year", "/feeds/all.ics", "/feeds/plan/huizhou-2011-djcxn.ics"]
        for path in guarded:
            refused = client.get(base + path)
            assert refused.status_code == 401 and "需要管理口令" in refused.text, path
            assert token not in refused.text
            assert client.get(base + path, params={"token": token + "x"}).status_code == 401, path
        shown = client.get(f"{base}/", params={"token": token})
        assert shown.status_code == 200 and f"/feeds/all.ics?token={token}" in shown.text
        cookie = shown.cookies.get("jiedian_admin")
        assert cookie == token and "httponly" in shown.headers["set-cookie"].lower()
        with httpx.Client(timeout=30, trust_env=False, cookies={"jiedian_admin": token}) as browser:
            assert all(browser.get(base + path).status_code == 200 for path in guarded)
        feed = client.get(f"{base}/feeds/all.ics", headers={"Authorization": f"Bearer {token}"})
        assert feed.status_code == 200 and feed.headers["cache-control"].startswith("private")
        assert client.get(f"{base}/feeds/u/{unit}.ics").status_code == 200
        assert client.get(f"{base}/u/{unit}").status_code == 200
        assert client.get(f"{base}/u/{unit}/year").status_code == 200
    with serve(bundled, Clock(NOW)) as base:  # without the setting: open, as before
        assert all(client.get(base + path).status_code == 200 for path in guarded)


def test_serve_beyond_loopback_without_the_token_warns(caplog: pytest.LogCaptureFixture,
                                                      tmp_path: Path) -> None:
    from scheduler import _process

    office = scheduler.Office(scheduler.Settings.from_env({"JIEDIAN_HOME": str(tmp_path)}),
                              clock=lambda: NOW)
    with caplog.at_level("WARNING", logger="jiedian"):
        _process.warn_if_open(office, "127.0.0.1")
        assert not caplog.records
        _process.warn_if_open(office, "0.0.0.0")
    assert "without JIEDIAN_ADMIN_TOKEN" in caplog.text and "/status" in caplog.text
    office.close()


def test_healthz_reports_what_the_daemon_says(engine: Engine, client: httpx.Client) -> None:
    status: dict[str, object] = {"ok": True, "database": "ok", "pending": 0}
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = scheduler.create_app(engine, CALENDAR, clock=Clock(NOW), base_url=base,
                               health=lambda: dict(status))
    with running(app, sock):
        ok = client.get(f"{base}/healthz")
        assert (ok.status_code, ok.json()) == (200, status)
        assert ok.headers["cache-control"] == "no-store"
        status["ok"] = False
        assert client.get(f"{base}/healthz").status_code == 503
    with serve(engine, Clock(NOW)) as base:  # without a daemon there is no /healthz
        assert client.get(f"{base}/healthz").status_code == 404


class DayCells(HTMLParser):
    """The text of every element with a ``data-date`` (the calendar's day cells)."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.cells: dict[str, str] = {}
        self._day: str | None = None
        self._depth = 0
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._day is not None:
            self._depth += 1
        elif day := dict(attrs).get("data-date"):
            self._day, self._depth = day, 1
            self.cells[day] = ""

    def handle_endtag(self, tag: str) -> None:
        if self._day is not None:
            self._depth -= 1
            if self._depth == 0:
                self._day = None

    def handle_data(self, data: str) -> None:
        if self._day is not None:
            self.cells[self._day] += data


AWARD = "表彰“四百一千”先锋模范"  # 惠州: “七一”前夕 → 2011-06-30


def test_calendar_page(bundled: Engine, client: httpx.Client, tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(
        "id: x-2011\ntitle: '<b>测试&计划</b>'\nyear: 2011\nmilestones:\n"
        "  - {id: a, title: '<script>alert(1)</script>', when: 6月15日, kind: deadline}\n",
        encoding="utf-8")
    with Session(bundled) as session:
        scheduler.import_plan(session, plans.load_plan(tmp_path / "x.yaml", CALENDAR), CALENDAR,
                              now=NOW)
        session.commit()
    with serve(bundled, Clock(datetime(2011, 6, 20, 1, tzinfo=UTC))) as base:
        page = client.get(f"{base}/?month=2011-06")
        assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
        text = page.text
        assert "<html lang='zh-CN'>" in text and "2011年6月" in text
        cells = DayCells(text).cells
        assert len(cells) == 35 and min(cells) == "2011-05-30" and max(cells) == "2011-07-03"
        assert AWARD in cells["2011-06-30"] and AWARD not in cells["2011-06-29"]
        assert "上午 “党代表接待日”" in cells["2011-06-03"]  # a Friday morning
        assert "端午节" in cells["2011-06-06"]
        # A deadline sits on its due date; a phase of several days is a bar over its days.
        assert "data-start='2011-06-24' data-end='2011-07-08'" in text
        assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert "&lt;b&gt;测试&amp;计划&lt;/b&gt;" in text
        for kind in ("截止", "活动", "阶段"):
            assert f"</span>{kind}</li>" in text  # the legend
        assert "href='?month=2011-05'" in text and "href='?month=2011-07'" in text
        for plan in ("huizhou-2011-djcxn", "hejiang-2011-cxzy", "x-2011"):
            assert f"href='{base}/feeds/plan/{plan}.ics'" in text
            assert f"href='webcal://{base.removeprefix('http://')}/feeds/plan/{plan}.ics'" in text
        assert f"{base}/feeds/all.ics" in text and "data:image/svg+xml" in text
        assert text.count("<img class='qr'") == 1 + 10  # the all feed, and each plan's
        assert tokens(bundled)[TIMED_UNIT] not in text  # a unit's token is never listed

        april = DayCells(client.get(f"{base}/?month=2011-04").text).cells
        assert "形成创建方案交镇党建办" in april["2011-04-29"]  # 4月底前, moved off the holiday
        assert "形成创建方案交镇党建办" not in april["2011-04-30"]
        default = client.get(f"{base}/")  # the clock's month
        assert "2011年6月" in default.text and "class='day today' data-date='2011-06-20'" in default.text
        for bad in ("2011-13", "june", "0001-01", "2011-6-1"):
            assert client.get(f"{base}/", params={"month": bad}).status_code == 400, bad

        token = tokens(bundled)[TIMED_UNIT]
        unit = client.get(f"{base}/u/{token}", params={"month": "2011-06"})
        assert unit.status_code == 200 and unit.headers["cache-control"] == "private, no-cache"
        https, webcal = scheduler.unit_feed_urls(base, token)
        assert f"href='{https}'" in unit.text and f"href='{webcal}'" in unit.text
        unit_cells = DayCells(unit.text).cells
        assert "“党代表接待日”" in unit_cells["2011-06-03"]
        assert "<script>" not in unit.text and unit.text.count("<img class='qr'") == 1


# --- a real browser -----------------------------------------------------------------------

@pytest.fixture
def sqlite_bundled(tmp_path: Path) -> Iterator[Engine]:
    engine = scheduler.open_store(f"sqlite:///{tmp_path / 'browser.db'}")
    import_bundled(engine)
    yield engine
    engine.dispose()


def test_in_chromium_the_node_is_in_its_day_and_the_qr_code_scans(
        sqlite_bundled: Engine, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (make test tries "
                    f"`apt-get install chromium`; it needs the network)")
    token = tokens(sqlite_bundled)[TIMED_UNIT]
    with serve(sqlite_bundled, Clock(datetime(2011, 6, 20, 1, tzinfo=UTC))) as base:
        dumped = chromium(tmp_path, f"{base}/?month=2011-06", "--dump-dom")
        assert dumped.returncode == 0, dumped.stderr[-2000:]
        cells = DayCells(dumped.stdout).cells
        assert AWARD in cells["2011-06-30"], cells.get("2011-06-30")
        assert AWARD not in "".join(text for day, text in cells.items() if day != "2011-06-30")

        shot = tmp_path / "page.png"
        taken = chromium(tmp_path, f"{base}/u/{token}", f"--screenshot={shot}",
                         "--window-size=1280,1600")
        assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (1600, 1280)
    assert decode_qr(image) == scheduler.unit_feed_urls(base, token)[0]


def decode_qr(image: object) -> str:
    """The text of the QR code in ``image``.

    OpenCV's classic detector fails on a few percent of clean, well-lit codes (here about
    1 token in 30; opencv/opencv#18372), and then says nothing: the ArUco-based detector
    reads those. A wrong reading by either still fails the test.
    """
    text = cv2.QRCodeDetector().detectAndDecode(image)[0]
    return text or cv2.QRCodeDetectorAruco().detectAndDecode(image)[0]


def test_a_month_dated_by_weekends_only_says_so_and_the_years_stay_apart(
        bundled: Engine, client: httpx.Client) -> None:
    """The page of a month whose year has no holiday data carries a banner; a plan stored
    for 2011 and 2027 shows both years, each in its months."""
    with Session(bundled) as session:
        hejiang = plans.load_plan(plans.BUNDLED_PLANS / "hejiang-2011-cxzy.yaml", CALENDAR)
        scheduler.import_plan(session, hejiang, CALENDAR, now=NOW, year=2027)
        session.commit()
    with serve(bundled, Clock(NOW)) as base:
        covered, fallback = client.get(f"{base}/?month=2011-06").text, client.get(f"{base}/?month=2027-06").text
    assert "class='banner'" not in covered
    assert "class='banner'" in fallback and "2027年无官方放假安排数据" in fallback
    assert "data-start='2027-06-01' data-end='2027-06-30'" in fallback  # 党小组月评, 2027's
    assert "data-start='2011-06-01' data-end='2011-06-30'" in covered  # and 2011's, still there


# --- pages for phones and print ------------------------------------------------------------

class Agenda(HTMLParser):
    """The phone's month: each ``data-day`` row's text."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.days: dict[str, str] = {}
        self._day: str | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if day := dict(attrs).get("data-day"):
            self._day = day
            self.days[day] = ""

    def handle_data(self, data: str) -> None:
        if self._day is not None:
            self.days[self._day] += data


def test_on_a_phone_the_month_is_a_list_of_its_days_with_nodes(bundled: Engine, client: httpx.Client) -> None:
    with serve(bundled, Clock(datetime(2011, 6, 20, 1, tzinfo=UTC))) as base:
        text = client.get(f"{base}/?month=2011-06").text
        css = client.get(f"{base}/static/jiedian.css")
    days = Agenda(text).days
    assert "2011-06-30" in days and AWARD in days["2011-06-30"]
    assert "2011-06-29" not in days or AWARD not in days["2011-06-29"]
    assert all(day.startswith("2011-06") for day in days)  # only this month's days, only those with nodes
    assert "2011-06-24" in days and "6月24日至7月8日" in days["2011-06-24"]  # a phase on its first day
    assert "<link rel='stylesheet' href='/static/jiedian.css'>" in text and "<style>" not in text
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    phone = css.text[css.text.index("@media (max-width:600px)"):]
    assert ".grid{display:none}.agenda{display:block}" in phone  # the grid gives way to the list
    assert ".feed{flex-direction:column" in phone  # the QR code above the links


def test_the_printable_year_plan_lists_a_years_nodes_by_month(bundled: Engine, client: httpx.Client) -> None:
    token = tokens(bundled)[TIMED_UNIT]
    with serve(bundled, Clock(datetime(2011, 6, 20, 1, tzinfo=UTC))) as base:
        plan = client.get(f"{base}/year", params={"plan": "huizhou-2011-djcxn", "year": "2011"})
        unit = client.get(f"{base}/u/{token}/year", params={"year": "2011"})
        missing = client.get(f"{base}/year", params={"plan": "nope"})
        bad = client.get(f"{base}/year", params={"year": "soon"})
        month = client.get(f"{base}/?month=2011-06").text
        css = client.get(f"{base}/static/jiedian.css").text
    assert plan.status_code == 200 and "2011年度工作安排表" in plan.text
    assert plan.text.index(">6月</th>") < plan.text.index(AWARD) < plan.text.index(">7月</th>")
    assert "6月30日" in plan.text  # the award's day
    assert unit.status_code == 200 and unit.headers["cache-control"] == "private, no-cache"
    assert "“党代表接待日”" in unit.text and TIMED_UNIT in unit.text
    assert missing.status_code == 404 and bad.status_code == 400
    assert "href='/year?year=2011'" in month  # the month page links to its year's table
    printed = css[css.index("@media print"):]
    assert "@page{size:A4 landscape" in printed and "nav,.feed" in printed


def test_pages_speak_chinese_and_the_ack_page_names_the_plan_and_the_days(
        bundled: Engine, client: httpx.Client) -> None:
    token = tokens(bundled)[TIMED_UNIT]
    with Session(bundled) as session:
        phase = session.execute(select(OccurrenceRow).where(
            OccurrenceRow.plan_id == "huizhou-2011-djcxn", OccurrenceRow.kind == "phase",
            OccurrenceRow.start != OccurrenceRow.end)).scalars().first()
        assert phase is not None
        session.add(OccurrenceUnitRow(occurrence_id=phase.id, role="unit", name=TIMED_UNIT,
                                      name_key=plans.name_key(TIMED_UNIT)))
        session.commit()
        phase_id, start, end = phase.id, phase.start, phase.end
    with serve(bundled, Clock(datetime(2011, 6, 20, 1, tzinfo=UTC))) as base:
        unit = client.get(f"{base}/u/{token}").text
        ack = client.get(scheduler.ack_url(base, ack_tokens(bundled)[TIMED_UNIT], phase_id)).text
    assert "jiedian " not in unit and "rotate-token" not in unit  # no CLI hint on a Chinese page
    assert "计划：" in ack and "惠州" in ack
    assert f"时间：{start.isoformat()} 至 {end.isoformat()}（阶段）" in ack
