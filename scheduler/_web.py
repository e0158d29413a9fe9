"""The web side: iCalendar feeds over HTTP and a month calendar page (DESIGN.md, "Feeds").

- ``GET/HEAD /feeds/all.ics``, ``/feeds/plan/{plan_id}.ics``, ``/feeds/u/{token}.ics``
  (``?alarms=0`` leaves out the VALARMs): ``text/calendar; charset=utf-8`` with ETag and
  Last-Modified; a conditional request is answered 304 from the aggregate query alone,
  without rendering. A unit feed's token is its only secret: a wrong token gets the very
  404 that any unknown path gets.
- ``GET /`` (every node, and each plan's feed) and ``GET /u/{token}`` (one unit's nodes and
  its feed): a month (``?month=YYYY-MM``, the clock's month by default), plain HTML with a
  subscribe link and a QR code per feed.
- ``GET/POST /ack/{token}/{occurrence id}``: a unit's 办结确认. GET shows the node and a
  button; only the POST confirms (so link previews in chat apps confirm nothing). The token
  is the unit's feed token: ``units rotate-token`` revokes both. A wrong token, an unknown
  node or one not addressed to the unit gets a clear page, and nothing changes; confirming
  again says when it was confirmed.
- ``GET /status`` (``?plan=ID``, ``?unit=NAME``): the matrix of nodes × responsible units,
  done / pending / overdue (without a plan: nodes due within 30 days either side of today).
- ``GET /healthz`` when given a ``health`` callable (the daemon's): its JSON, 503 unless ``ok``.

The clock is injected (tests freeze it); endpoints are plain functions, so Starlette runs
them, and their database work, in its threadpool; each request has its own Session.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, quote
from zoneinfo import ZoneInfo

import segno
from sqlalchemy import Engine, and_, or_, select
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from plans import ChinaCalendar
from scheduler._db import generation
from scheduler._feeds import (
    KIND_ZH,
    FeedScope,
    feed_etag,
    render_feed,
    scope_all,
    scope_plan,
    scope_unit_token,
    unit_feed_urls,
)
from scheduler._models import (
    AcknowledgementRow,
    OccurrenceRow,
    OccurrenceUnitRow,
    PlanRow,
    UnitRow,
)
from scheduler._queries import plan_summaries
from scheduler._supervision import (
    STATE_ZH,
    AckError,
    Matrix,
    acknowledge,
    addressed_units,
    status_matrix,
)

__all__ = ["create_app"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
ICS = "text/calendar; charset=utf-8"
NOT_FOUND = "Not Found"  # the same body for an unknown path and a wrong token
WEEKDAYS = "一二三四五六日"
FIRST_MONTH, LAST_MONTH = date(1900, 1, 1), date(2200, 12, 1)

_OCC = OccurrenceRow.__table__  # type: ignore[attr-defined]
_OU = OccurrenceUnitRow.__table__  # type: ignore[attr-defined]


def create_app(engine: Engine, calendar: ChinaCalendar, *, clock: Callable[[], datetime],
               base_url: str, health: Callable[[], dict[str, Any]] | None = None) -> Starlette:
    """The ASGI app: feeds and calendar pages over ``engine``; links start with ``base_url``."""
    base_url = base_url.rstrip("/")

    def now() -> datetime:
        moment = clock()
        return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)

    # A feed's scope and validators, kept while the store's generation and the day stand
    # still: a 304 then costs one primary-key read (see StoreStateRow).
    validators: dict[tuple[str, bool], tuple[int, date, FeedScope, str, datetime | None]] = {}

    def feed(request: Request, scope_of: Callable[[Session], FeedScope | None],
             cache_control: str) -> Response:
        moment, alarms = now(), request.query_params.get("alarms") != "0"
        key = (request.url.path, alarms)
        with Session(engine) as session:
            current = generation(session)
            known = validators.get(key)
            if known and known[:2] == (current, moment.date()):
                scope, etag, last_modified = known[2:]
            else:
                found = scope_of(session)
                if found is None:
                    raise HTTPException(404)
                scope = found
                etag, last_modified = feed_etag(session, scope, now=moment, alarms=alarms)
                if len(validators) > 4096:
                    validators.clear()
                validators[key] = (current, moment.date(), scope, etag, last_modified)
            if _not_modified(request.headers, etag, last_modified):
                return Response(status_code=304, headers=_validators(etag, last_modified,
                                                                     cache_control))
            rendered = render_feed(session, scope, calendar, now=moment, alarms=alarms)
        headers = _validators(rendered.etag, rendered.last_modified, cache_control)
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(rendered.body))
            return Response(b"", headers=headers, media_type=ICS)
        return Response(rendered.body, headers=headers, media_type=ICS)

    def feed_all(request: Request) -> Response:
        return feed(request, lambda _session: scope_all(), "public, max-age=300")

    def feed_plan(request: Request) -> Response:
        plan_id = request.path_params["plan_id"]
        return feed(request, lambda session: scope_plan(session, plan_id), "public, max-age=300")

    def feed_unit(request: Request) -> Response:
        token = request.path_params["token"]
        return feed(request, lambda session: scope_unit_token(session, token),
                    "private, max-age=300")

    def index(request: Request) -> Response:
        moment = now()
        month = _month(request, moment)
        with Session(engine) as session:
            scope = scope_all()
            nodes = _nodes(session, scope, month)
            summaries = plan_summaries(session, today=moment.astimezone(SHANGHAI).date())
        url = f"{base_url}/feeds/all.ics"
        feeds = [_feed_box("全部节点", url, "全部节点", scale=4)]
        rows = []
        for plan in summaries:
            plan_url = f"{base_url}/feeds/plan/{quote(plan.id, safe='')}.ics"
            status = "" if plan.status == "active" else "（已移除）"
            rows.append(
                f"<tr><td>{_e(plan.title)}{status}<br><small>{_e(plan.id)}</small></td>"
                f"<td>{plan.applied_year}</td><td>{plan.active}</td>"
                f"<td>{_e(plan.next_due.isoformat() if plan.next_due else '—')}</td>"
                f"<td>{_links(plan_url)}<details><summary>二维码</summary>"
                f"{_qr(plan_url, plan.title, scale=3)}</details></td></tr>")
        plans_html = (
            "<section><h2>各计划的订阅</h2><table class='plans'><thead><tr><th>计划</th>"
            "<th>年度</th><th>节点</th><th>下一个截止</th><th>订阅</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></section>") if rows else ""
        body = _page(scope.name, month, moment, nodes, calendar, feeds) + plans_html
        return HTMLResponse(_document(scope.name, body))

    def unit_page(request: Request) -> Response:
        moment, token = now(), request.path_params["token"]
        with Session(engine) as session:
            scope = scope_unit_token(session, token)
            if scope is None:
                raise HTTPException(404)
            month = _month(request, moment)
            unit = session.execute(select(UnitRow.name).where(  # type: ignore[call-overload]
                UnitRow.feed_token == token)).scalar_one()
            nodes = _nodes(session, scope, month)
        url, _ = unit_feed_urls(base_url, token)
        box = _feed_box(f"{unit}的日历", url, unit, scale=5,
                        note="这个链接就是口令：只发给本单位的人；泄露后可更换"
                             "（jiedian units rotate-token）。")
        body = _page(scope.name, month, moment, nodes, calendar, [box])
        return HTMLResponse(_document(scope.name, body, private=True),
                            headers={"Cache-Control": "private, no-cache",
                                     "Referrer-Policy": "no-referrer"})

    def ack_view(token: str, occurrence_id: str, note: str | None, confirm: bool) -> Response:
        moment = now()
        private = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        with Session(engine) as session:
            unit = session.execute(select(UnitRow).where(UnitRow.feed_token == token)  # type: ignore[arg-type]
                                   ).scalars().first()
            if unit is None:
                return _notice("链接无效", "这个办结确认链接无效或已更换（口令不对，或本单位的订阅链接已更换）。"
                               "请使用最新提醒消息中的链接。未作任何改动。", 404, private)
            occurrence = session.get(OccurrenceRow, occurrence_id)
            if occurrence is None:
                return _notice("没有这个节点", f"没有找到节点“{occurrence_id}”。未作任何改动。",
                               404, private)
            title = f"{occurrence.title}（{occurrence.due.isoformat()}）"
            try:
                if confirm:
                    result = acknowledge(session, occurrence_id, unit, calendar, now=moment,
                                         source="web", note=note)
                    session.commit()
                else:
                    result = None
                    done = _done_before(session, occurrence_id, unit.id)  # type: ignore[arg-type]
                    if done is None:
                        if occurrence.status != "active":
                            raise AckError("cancelled", "这个节点已取消，无需确认。")
                        if unit.id not in addressed_units(session, occurrence_id):
                            raise AckError("not_addressed", "")
            except AckError as error:
                text = {"cancelled": f"节点“{title}”已取消，无需确认。未作任何改动。",
                        "not_addressed": f"节点“{title}”不是发给{unit.name}的（既非牵头单位，"
                                         f"也非责任单位）。未作任何改动。"}.get(error.reason, str(error))
                return _notice("无法确认", text, 404 if error.reason == "not_addressed" else 409,
                               private)
            if result is not None:
                when = _local(result.done_at)
                if result.created:
                    return _notice("已确认办结", f"{unit.name}已确认办结“{title}”（{when}）。"
                                   "本节点不再向本单位发送提醒。", 200, private, ok=True)
                return _notice("此前已确认", f"{unit.name}已于{when}确认办结“{title}”"
                               f"（{'网页' if result.source == 'web' else '命令行'}）；本次未作改动。",
                               200, private, ok=True)
            if done is not None:
                return _notice("此前已确认", f"{unit.name}已于{_local(done)}确认办结“{title}”。",
                               200, private, ok=True)
            body = (f"<section class='ack'><h1>办结确认</h1><p><strong>{_e(unit.name)}</strong></p>"
                    f"<p>节点：<strong>{_e(occurrence.title)}</strong><br>"
                    f"{_e(KIND_ZH[occurrence.kind])}：{_e(occurrence.due.isoformat())}</p>"
                    f"<form method='post'><p><label>备注（可不填）<br><input name='note' "
                    f"maxlength='500' size='40'></label></p>"
                    f"<p><button type='submit'>确认本单位已办结</button></p></form>"
                    f"<p><small>确认后，本单位不再收到这个节点的提醒；牵头单位能看到确认情况。"
                    f"</small></p></section>")
            return HTMLResponse(_document("办结确认", body, private=True), headers=private)

    async def ack_page(request: Request) -> Response:
        token, occurrence_id = request.path_params["token"], request.path_params["occurrence_id"]
        note, confirm = None, request.method == "POST"
        if confirm:
            form = parse_qs((await request.body()).decode("utf-8", "replace"))
            note = (form.get("note", [""])[0].strip() or None)
            note = note[:500] if note else None
        return await run_in_threadpool(ack_view, token, occurrence_id, note, confirm)

    def status_page(request: Request) -> Response:
        moment = now()
        today = moment.astimezone(SHANGHAI).date()
        plan, unit = request.query_params.get("plan"), request.query_params.get("unit")
        with Session(engine) as session:
            if plan is not None and session.get(PlanRow, plan) is None:
                return _notice("没有这个计划", f"没有找到计划“{plan}”。", 404, {})
            window = (None, None) if plan else (today - timedelta(days=30),
                                                 today + timedelta(days=30))
            try:
                matrix = status_matrix(session, today=today, plan=plan, unit=unit,
                                       start=window[0], end=window[1])
            except AckError as error:
                return _notice("没有这个单位", str(error), 404, {})
            summaries = plan_summaries(session, today=today)
        title = next((p.title for p in summaries if p.id == plan), plan)
        name = f"办结情况 · {title}" if title else "办结情况"
        links = "".join(f"<a href='?plan={_e(quote(p.id, safe=''))}'>{_e(p.title)}</a>"
                        for p in summaries if p.status == "active")
        scope = "全部节点" if plan else "前后30天内截止的节点"
        body = (f"<header><h1>{_e(name)}</h1></header><nav class='plans-nav'>"
                f"<a href='?'>近期</a>{links}</nav><p>{_e(scope)}"
                f"{_e(' · ' + unit) if unit else ''} · 今天 {today.isoformat()}</p>"
                + _matrix_html(matrix))
        return HTMLResponse(_document(name, body), headers={"Cache-Control": "no-cache"})

    def healthz(_request: Request) -> Response:
        status = health() if health else {}
        return JSONResponse(status, status_code=200 if status.get("ok") else 503,
                            headers={"Cache-Control": "no-store"})

    async def not_found(_request: Request, _exc: Exception) -> Response:
        return PlainTextResponse(NOT_FOUND, status_code=404)

    routes = [
        Route("/", index),
        Route("/u/{token}", unit_page),
        Route("/ack/{token}/{occurrence_id:path}", ack_page, methods=["GET", "POST"]),
        Route("/status", status_page),
        Route("/feeds/all.ics", feed_all),
        Route("/feeds/plan/{plan_id}.ics", feed_plan),
        Route("/feeds/u/{token}.ics", feed_unit),
    ]
    if health is not None:
        routes.append(Route("/healthz", healthz))
    return Starlette(
        routes=routes,
        middleware=[Middleware(GZipMiddleware, minimum_size=1000)],
        exception_handlers={404: not_found},
    )


# --- supervision pages --------------------------------------------------------------------

def _local(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _done_before(session: Session, occurrence_id: str, unit_id: int) -> datetime | None:
    return session.execute(select(AcknowledgementRow.done_at).where(  # type: ignore[call-overload]
        AcknowledgementRow.occurrence_id == occurrence_id,  # type: ignore[arg-type]
        AcknowledgementRow.unit_id == unit_id)).scalar()  # type: ignore[arg-type]


def _notice(title: str, text: str, status: int, headers: dict[str, str], *,
            ok: bool = False) -> Response:
    body = (f"<section class='notice {'ok' if ok else 'bad'}'><h1>{_e(title)}</h1>"
            f"<p>{_e(text)}</p></section>")
    return HTMLResponse(_document(title, body, private=True), status_code=status, headers=headers)


MARK = {"done": "✓", "pending": "…", "overdue": "✗"}


def _matrix_html(matrix: Matrix) -> str:
    if not matrix.rows:
        return "<p class='empty'>没有需要确认办结的节点。</p>"
    counts = matrix.counts()
    legend = "".join(f"<li><span class='cell {state}'>{MARK[state]}</span>{_e(STATE_ZH[state])} "
                     f"<b data-count='{state}'>{counts[state]}</b></li>" for state in MARK)
    head = "".join(f"<th class='unit'>{_e(unit)}</th>" for unit in matrix.units)
    rows = []
    for row in matrix.rows:
        cells = []
        for unit in matrix.units:
            state = row.cells.get(unit)
            if state is None:
                cells.append("<td class='cell none'></td>")
                continue
            tip = STATE_ZH[state] + (f" {_local(row.done_at[unit])}" if unit in row.done_at else "")
            cells.append(f"<td class='cell {state}' data-unit='{_e(unit)}' data-state='{state}' "
                         f"title='{_e(tip)}'>{MARK[state]}</td>")
        rows.append(f"<tr data-id='{_e(row.occurrence_id)}'><td class='due'>{row.due.isoformat()}"
                    f"</td><th class='node' title='{_e(row.plan_id)}'>{_e(row.title)}</th>"
                    f"{''.join(cells)}</tr>")
    return (f"<ul class='legend'>{legend}</ul><div class='scroll'><table class='matrix'><thead>"
            f"<tr><th>截止</th><th>节点</th>{head}</tr></thead><tbody>{''.join(rows)}"
            f"</tbody></table></div>")


# --- HTTP caching -------------------------------------------------------------------------

def _validators(etag: str, last_modified: datetime | None, cache_control: str) -> dict[str, str]:
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified.astimezone(UTC), usegmt=True)
    return headers


def _not_modified(headers: Headers, etag: str, last_modified: datetime | None) -> bool:
    """RFC 9110 §13.2.2: If-None-Match (weak comparison) wins; else If-Modified-Since."""
    if "if-none-match" in headers:
        tags = {tag.strip().removeprefix("W/") for tag in headers["if-none-match"].split(",")}
        return "*" in tags or etag in tags
    since = headers.get("if-modified-since")
    if since is None or last_modified is None:
        return False
    try:
        moment = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= moment


# --- the month page -----------------------------------------------------------------------

@dataclass(frozen=True)
class _Node:
    id: str
    title: str
    kind: str
    first: date  # the days it covers, as the feed places it: a deadline on its due date
    last: date
    part_of_day: str | None
    plan: str


def _month(request: Request, moment: datetime) -> date:
    text = request.query_params.get("month")
    if text is None:
        return moment.astimezone(SHANGHAI).date().replace(day=1)
    try:
        first = datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        first = None
    if first is None or not FIRST_MONTH <= first <= LAST_MONTH:
        raise HTTPException(400, "month: YYYY-MM, e.g. 2011-06")
    return first


def _add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _weeks(month: date) -> list[list[date]]:
    """Monday-first weeks covering the month."""
    start = month - timedelta(days=month.weekday())
    last = _add_months(month, 1) - timedelta(days=1)
    end = last + timedelta(days=6 - last.weekday())
    return [[start + timedelta(days=week * 7 + day) for day in range(7)]
            for week in range(((end - start).days + 1) // 7)]


def _nodes(session: Session, scope: FeedScope, month: date) -> list[_Node]:
    """The active nodes of ``scope`` on the days of the month."""
    first, last = month, _add_months(month, 1) - timedelta(days=1)
    query = (
        select(_OCC.c.id, _OCC.c.title, _OCC.c.kind, _OCC.c.start, _OCC.c.end, _OCC.c.due,
               _OCC.c.part_of_day, PlanRow.title.label("plan"))  # type: ignore[attr-defined]
        .join(PlanRow, PlanRow.id == _OCC.c.plan_id)  # type: ignore[arg-type]
        .where(_OCC.c.status == "active",
               or_(and_(_OCC.c.start <= last, _OCC.c.end >= first),
                   _OCC.c.due.between(first, last)))
        .order_by(_OCC.c.start, _OCC.c.id)
    )
    if scope.plan_id:
        query = query.where(_OCC.c.plan_id == scope.plan_id)
    if scope.unit_keys is not None:
        query = query.where(_OCC.c.id.in_(select(_OU.c.occurrence_id).where(
            _OU.c.name_key.in_(sorted(scope.unit_keys)))))
    nodes = []
    for row in session.execute(query):
        span = (row.due, row.due) if row.kind == "deadline" else (row.start, row.end)
        if span[0] <= last and span[1] >= first:
            nodes.append(_Node(row.id, row.title, row.kind, *span, row.part_of_day, row.plan))
    return nodes


def _lanes(nodes: Sequence[_Node]) -> list[tuple[int, _Node]]:
    """Multi-day nodes in lanes that never overlap, longest first among those starting together."""
    ends: list[date] = []
    placed = []
    for node in sorted(nodes, key=lambda n: (n.first, n.first - n.last, n.id)):
        lane = next((i for i, end in enumerate(ends) if end < node.first), len(ends))
        if lane == len(ends):
            ends.append(node.last)
        ends[lane] = node.last
        placed.append((lane, node))
    return placed


def _describe(node: _Node) -> str:
    days = node.first.isoformat() if node.first == node.last else \
        f"{node.first.isoformat()} 至 {node.last.isoformat()}"
    when = f"{days} {node.part_of_day}" if node.part_of_day else days
    return f"【{KIND_ZH[node.kind]}】{node.title}\n{when}\n{node.plan}"


def _page(name: str, month: date, moment: datetime, nodes: Sequence[_Node],
          calendar: ChinaCalendar, feeds: Sequence[str]) -> str:
    today, last_day = moment.astimezone(SHANGHAI).date(), _add_months(month, 1) - timedelta(days=1)
    single: dict[date, list[_Node]] = {}
    throughout, several = [], []  # multi-day nodes covering the whole month, and the others
    for node in nodes:
        if node.first == node.last:
            single.setdefault(node.first, []).append(node)
        elif node.first <= month and node.last >= last_day:
            throughout.append(node)
        else:
            several.append(node)
    bars = _lanes(several)
    weeks = []
    for week in _weeks(month):  # the days of other months are shown, without nodes
        cells = []
        for day in week:
            classes = ["day"]
            if day.month != month.month:
                classes.append("out")
            if not calendar.is_working_day(day):
                classes.append("rest")
            if day == today:
                classes.append("today")
            mark = calendar.holiday_name(day) or ("班" if calendar.is_makeup_working_day(day)
                                                  else "")
            items = "".join(
                f"<li class='n {node.kind}' title='{_e(_describe(node))}'>"
                f"{_e(node.part_of_day + ' ') if node.part_of_day else ''}{_e(node.title)}</li>"
                for node in single.get(day, []))
            cells.append(
                f"<div class='{' '.join(classes)}' data-date='{day.isoformat()}'>"
                f"<span class='num'>{day.day}</span>"
                f"{f'<span class=mark>{_e(mark)}</span>' if mark else ''}"
                f"{f'<ul>{items}</ul>' if items else ''}</div>")
        segments, lanes = [], 0
        for lane, node in bars:
            start, end = max(node.first, week[0], month), min(node.last, week[-1], last_day)
            if start > end:
                continue
            column, span = (start - week[0]).days, (end - start).days + 1
            cut = ("" if start == node.first else " from-before") + \
                  ("" if end == node.last else " goes-on")
            segments.append(
                f"<div class='bar {node.kind}{cut}' data-start='{node.first.isoformat()}' "
                f"data-end='{node.last.isoformat()}' title='{_e(_describe(node))}' "
                f"style='left:{column * 100 / 7:.4f}%;width:{span * 100 / 7:.4f}%;"
                f"top:calc(var(--head) + {lane} * var(--lane))'>{_e(node.title)}</div>")
            lanes = max(lanes, lane + 1)
        weeks.append(f"<div class='week' style='--lanes:{lanes}'>{''.join(cells)}"
                     f"{''.join(segments)}</div>")
    before, after = _add_months(month, -1), _add_months(month, 1)
    nav = (f"<nav><a rel='prev' href='?month={before:%Y-%m}'>‹ {before.year}年{before.month}月</a>"
           f"<a href='?'>本月</a>"
           f"<a rel='next' href='?month={after:%Y-%m}'>{after.year}年{after.month}月 ›</a></nav>")
    legend = "".join(f"<li><span class='swatch {kind}'></span>{_e(label)}</li>"
                     for kind, label in KIND_ZH.items())
    legend += "<li><span class='swatch rest'></span>休息日</li>"
    head = "".join(f"<div class='wd'>周{d}</div>" for d in WEEKDAYS)
    band = "".join(
        f"<li class='bar {node.kind}' data-start='{node.first.isoformat()}' "
        f"data-end='{node.last.isoformat()}' title='{_e(_describe(node))}'>{_e(node.title)}"
        f"<small>{node.first.isoformat()} 至 {node.last.isoformat()}</small></li>"
        for node in sorted(throughout, key=lambda n: (n.first, n.last, n.id)))
    if band:
        band = f"<div class='throughout'><h3>贯穿全月</h3><ul>{band}</ul></div>"
    fallback = ""  # a month dated by weekends only: its holidays are not shaded, say so
    if not calendar.covers(month.year):
        fallback = (f"<p class='banner' role='alert'>{month.year}年无官方放假安排数据：本月只按周末标注休息日，"
                    f"节假日与调休未计入（{_e(calendar.coverage_warning(month.year) or '')}）</p>")
    return (
        f"<header><h1>{_e(name)}</h1>{''.join(feeds)}</header>"
        f"<section class='month'><h2>{month.year}年{month.month}月</h2>{nav}{fallback}"
        f"<ul class='legend'>{legend}</ul>{band}"
        f"<div class='grid'><div class='weekdays'>{head}</div>{''.join(weeks)}</div></section>"
    )


# --- feeds and QR codes -------------------------------------------------------------------

def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _links(url: str) -> str:
    webcal = "webcal://" + url.split("://", 1)[1]
    return (f"<a class='sub' href='{_e(url)}'>{_e(url)}</a> "
            f"<a class='sub' href='{_e(webcal)}'>webcal:// 订阅</a> "
            f"<a class='sub' href='{_e(url)}?alarms=0'>不含提醒</a>")


@lru_cache(maxsize=512)  # ~7 ms of pure Python each; the URLs rarely change
def _qr(url: str, label: str, *, scale: int) -> str:
    code = segno.make(url, error="m", micro=False)
    width, height = code.symbol_size(scale=scale)
    return (f"<img class='qr' src='{_e(code.svg_data_uri(scale=scale))}' width='{width}' "
            f"height='{height}' alt='{_e(f'订阅“{label}”的二维码：{url}')}'>")


def _feed_box(title: str, url: str, label: str, *, scale: int, note: str = "") -> str:
    return (f"<aside class='feed'>{_qr(url, label, scale=scale)}<div><h2>订阅{_e(title)}</h2>"
            f"<p>用手机扫描二维码，或在日历应用中添加订阅：</p><p>{_links(url)}</p>"
            f"{f'<p><small>{_e(note)}</small></p>' if note else ''}</div></aside>")


STYLE = """
:root{--deadline:#c62828;--event:#1565c0;--phase:#2e7d32;--head:1.7rem;--lane:1.5rem}
body{font:15px/1.45 system-ui,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;
 margin:1rem auto;max-width:1200px;padding:0 1rem;color:#222}
header{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start;justify-content:space-between}
h1{font-size:1.5rem;margin:.3rem 0}h2{font-size:1.15rem;margin:.3rem 0}
.feed{display:flex;gap:1rem;align-items:center;border:1px solid #ddd;border-radius:6px;
 padding:.5rem 1rem;background:#fafafa}.feed p{margin:.2rem 0}
a.sub{margin-right:.6rem;word-break:break-all}.qr{display:block;background:#fff}
nav{display:flex;gap:1.5rem;margin:.3rem 0}
.banner{background:#fff4d6;border:1px solid #e0b94a;padding:.4rem .6rem;margin:.4rem 0}
.legend{display:flex;gap:1.2rem;list-style:none;padding:0;margin:.4rem 0}
.swatch{display:inline-block;width:.9rem;height:.9rem;margin-right:.3rem;vertical-align:-2px;
 border-radius:2px}
.swatch.deadline{background:var(--deadline)}.swatch.event{background:var(--event)}
.swatch.phase{background:var(--phase)}.swatch.rest{background:#f3f0e8;border:1px solid #ccc}
.weekdays,.week{display:grid;grid-template-columns:repeat(7,1fr)}
.wd{text-align:center;font-weight:600;padding:.2rem;border-bottom:2px solid #888}
.week{position:relative;border-bottom:1px solid #ccc}
.day{position:relative;min-height:5.5rem;border-left:1px solid #e3e3e3;
 padding:calc(var(--head) + var(--lanes) * var(--lane)) .2rem .3rem;overflow:hidden}
.day.rest{background:#f3f0e8}.day.out{color:#999}.day.out .num{opacity:.6}
.day.today{outline:2px solid #f9a825;outline-offset:-2px}
.num{position:absolute;top:.2rem;left:.35rem;font-weight:600}
.mark{position:absolute;top:.25rem;right:.35rem;font-size:.75rem;color:#8d6e63}
.day ul{list-style:none;margin:0;padding:0}
.n{font-size:.8rem;line-height:1.25;margin:.15rem 0;padding-left:.3rem;border-left:4px solid}
.n.deadline{border-color:var(--deadline)}.n.event{border-color:var(--event)}
.n.phase{border-color:var(--phase)}
.bar{position:absolute;height:1.3rem;line-height:1.3rem;font-size:.78rem;padding:0 .4rem;
 box-sizing:border-box;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;
 border-radius:4px;color:#fff;border:1px solid #fff}
.bar.phase{background:var(--phase);opacity:.85}.bar.event{background:var(--event)}
.bar.deadline{background:var(--deadline)}
.bar.from-before{border-top-left-radius:0;border-bottom-left-radius:0}
.bar.goes-on{border-top-right-radius:0;border-bottom-right-radius:0}
.throughout h3{font-size:.9rem;margin:.4rem 0 .2rem}
.throughout ul{list-style:none;margin:0 0 .5rem;padding:0;display:grid;
 grid-template-columns:repeat(auto-fill,minmax(24rem,1fr));gap:.2rem .5rem}
.throughout .bar{position:static;display:block}
.throughout small{margin-left:.6rem;opacity:.85}
.notice{max-width:40rem;margin:3rem auto;padding:1rem 1.5rem;border-radius:6px;
 border:1px solid #ddd;background:#fafafa}.notice.bad{border-left:6px solid var(--deadline)}
.notice.ok{border-left:6px solid var(--phase)}.ack{max-width:40rem;margin:2rem auto}
.ack button{font-size:1.1rem;padding:.5rem 1.5rem}
.plans-nav{flex-wrap:wrap}.scroll{overflow-x:auto}
table.matrix{border-collapse:collapse;font-size:.85rem}
.matrix th,.matrix td{border:1px solid #ddd;padding:.25rem .4rem;text-align:left}
.matrix th.unit{writing-mode:vertical-rl;vertical-align:bottom;white-space:nowrap}
.matrix td.due{white-space:nowrap}.matrix th.node{font-weight:normal;min-width:14rem}
.cell{text-align:center!important;font-weight:600;min-width:1.4rem;display:inline-block}
td.cell{display:table-cell}.cell.done{color:var(--phase);background:#e8f5e9}
.cell.overdue{color:#fff;background:var(--deadline)}.cell.pending{color:#555;background:#fff8e1}
table.plans{border-collapse:collapse;width:100%}
.plans td,.plans th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
"""


def _document(title: str, body: str, *, private: bool = False) -> str:
    robots = "<meta name='robots' content='noindex'>" if private else ""
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<meta name='referrer' content='no-referrer'>{robots}"
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )
