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
- ``GET /year`` (``?plan=ID``, ``?year=YYYY``) and ``GET /u/{token}/year``: the printable
  年度工作安排表, a year's nodes by month, with a print stylesheet.
- ``GET /healthz`` when given a ``health`` callable (the daemon's): its JSON, 503 unless ``ok``.

Pages are Jinja2 templates (``scheduler/pages``, autoescaped: a plan's text can never become
markup) rendered through Starlette; the stylesheet is ``/static/jiedian.css``. On a phone
(≤ 600 px) the month is a list of its days with nodes and the status matrix a list by unit.

The clock is injected (tests freeze it); endpoints are plain functions, so Starlette runs
them, and their database work, in its threadpool; each request has its own Session.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote
from zoneinfo import ZoneInfo

import jinja2
import segno
from markupsafe import Markup, escape
from sqlalchemy import Engine, and_, or_, select
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from plans import KIND_ZH, WEEKDAYS, ChinaCalendar
from scheduler._db import generation
from scheduler._feeds import (
    FeedScope,
    feed_etag,
    render_feed,
    scope_all,
    scope_plan,
    scope_unit_token,
    unit_feed_urls,
)
from scheduler._metrics import CONTENT_TYPE as METRICS_TYPE, Metrics
from scheduler._models import (
    OCCURRENCE as _OCC,
    OCCURRENCE_UNIT as _OU,
    AcknowledgementRow,
    OccurrenceRow,
    PlanRow,
    UnitRow,
)
from scheduler._queries import plan_summaries, upcoming
from scheduler._supervision import (
    STATE_ZH,
    AckError,
    acknowledge,
    addressed_units,
    status_matrix,
)

__all__ = ["create_app"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
ICS = "text/calendar; charset=utf-8"
NOT_FOUND = "Not Found"  # the same body for an unknown path and a wrong token
FIRST_MONTH, LAST_MONTH = date(1900, 1, 1), date(2200, 12, 1)
PAGES = Path(__file__).parent / "pages"
MARK = {"done": "✓", "pending": "…", "overdue": "✗"}
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
ADMIN_COOKIE = "jiedian_admin"
ACK_BODY_LIMIT = 8192  # a confirmation is a note of 500 characters at most: a few KB url-encoded


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None once it passes ``limit`` bytes: read no further (a 100 MB
    POST is refused after its first 8 KB, not held whole in memory)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)



def _local(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(PAGES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True)
    env.filters.update(qr=lambda url, label, scale: _qr(url, label, scale=scale),
                       webcal=lambda url: "webcal://" + url.split("://", 1)[1], local=_local)
    return Jinja2Templates(env=env)


def create_app(engine: Engine, calendar: ChinaCalendar, *, clock: Callable[[], datetime],
               base_url: str, health: Callable[[], dict[str, Any]] | None = None,
               admin_token: str | None = None, metrics: Metrics | None = None) -> Starlette:
    """The ASGI app: feeds and calendar pages over ``engine``; links start with ``base_url``.

    With ``admin_token`` (JIEDIAN_ADMIN_TOKEN), the office's own views (the month of every
    plan, /status, /year, the all-plans and per-plan feeds: which units are overdue is
    internal to the office) answer only a request carrying it: ``?token=`` (a calendar app's
    subscription URL; a browser then keeps it in a cookie), the cookie, or ``Authorization:
    Bearer``. A unit's pages, feed and confirmations stay behind the unit's own token.
    """
    base_url = base_url.rstrip("/")
    templates = _templates()
    secure = base_url.startswith("https://")

    def operator(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        if not admin_token:
            return handler

        def guarded(request: Request) -> Response:
            bearer = request.headers.get("authorization", "")
            given = (request.query_params.get("token") or request.cookies.get(ADMIN_COOKIE)
                     or (bearer[7:] if bearer.lower().startswith("bearer ") else ""))
            if not hmac.compare_digest(given.encode(), admin_token.encode()):
                return notice(request, "需要管理口令", "这是党建办自己的页面：请用管理员给出的链接打开"
                              "（带 ?token=…），或向管理员索取。", 401, PRIVATE)
            response = handler(request)
            if request.query_params.get("token"):
                response.set_cookie(ADMIN_COOKIE, admin_token, max_age=30 * 86400, httponly=True,
                                    samesite="strict", secure=secure)
            return response

        return guarded

    def operator_url(url: str) -> str:
        """A link for the operator's calendar app: it carries the token (no cookie there)."""
        return f"{url}?token={quote(admin_token, safe='')}" if admin_token else url

    def now() -> datetime:
        moment = clock()
        return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)

    def page(request: Request, template: str, status: int = 200,
             headers: dict[str, str] | None = None, **context: Any) -> Response:
        context = {"private": False, "title": context.get("name", ""), **context}
        return templates.TemplateResponse(request, template, context,
                                          status_code=status, headers=headers)

    def notice(request: Request, title: str, text: str, status: int, headers: dict[str, str],
               *, ok: bool = False) -> Response:
        return page(request, "notice.html", status, headers, title=title, text=text, ok=ok,
                    private=True)

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
            try:
                session.commit()  # the VEVENTs it had to render, kept for the next reader
            except OperationalError:  # locked by a long write: the reader still gets its feed
                session.rollback()
        headers = _validators(rendered.etag, rendered.last_modified, cache_control)
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(rendered.body))
            return Response(b"", headers=headers, media_type=ICS)
        return Response(rendered.body, headers=headers, media_type=ICS)

    shared = "private, max-age=300" if admin_token else "public, max-age=300"

    def feed_all(request: Request) -> Response:
        return feed(request, lambda _session: scope_all(), shared)

    def feed_plan(request: Request) -> Response:
        plan_id = request.path_params["plan_id"]
        return feed(request, lambda session: scope_plan(session, plan_id), shared)

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
        listed = [{**vars(p), "url": operator_url(f"{base_url}/feeds/plan/{quote(p.id, safe='')}.ics")}
                  for p in summaries]
        boxes = [("全部节点", operator_url(f"{base_url}/feeds/all.ics"), "全部节点", 4)]
        return page(request, "month.html", name=scope.name, feeds=boxes, plans=listed,
                    year_link=f"/year?year={month.year}",
                    **_month_context(month, moment, nodes, calendar))

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
        boxes = [(f"{unit}的日历", url, unit, 5,
                  "这个链接就是口令：只发给本单位的人；泄露后请管理员更换，旧链接随即失效。")]
        return page(request, "month.html", headers={"Cache-Control": "private, no-cache",
                                                    "Referrer-Policy": "no-referrer"},
                    name=scope.name, feeds=boxes, plans=[], private=True,
                    year_link=f"/u/{token}/year?year={month.year}",
                    **_month_context(month, moment, nodes, calendar))

    def year_page(request: Request) -> Response:
        """The printable 年度工作安排表 of every plan, one plan (?plan=) or one unit (/u/…/year)."""
        moment = now()
        token, plan = request.path_params.get("token"), request.query_params.get("plan")
        year = _year(request, moment)
        with Session(engine) as session:
            unit = None
            if token is not None:
                unit = session.execute(select(UnitRow.name).where(  # type: ignore[call-overload]
                    UnitRow.feed_token == token)).scalar()
                if unit is None:
                    raise HTTPException(404)
            title = "全部计划"
            if plan is not None:
                row = session.get(PlanRow, plan)
                if row is None:
                    return notice(request, "没有这个计划", f"没有找到计划“{plan}”。", 404, {})
                title = row.title
            first = date(year, 1, 1)
            rows = upcoming(session, calendar, today=first, days=(date(year, 12, 31) - first).days,
                            plan=plan, unit=unit)
        months: dict[int, list[dict[str, str]]] = {}
        for r in rows:
            day = r.due if r.kind == "deadline" else r.start
            if day.year != year:
                continue
            when = f"{r.due.month}月{r.due.day}日前" if r.kind == "deadline" else \
                f"{r.start.month}月{r.start.day}日" + ("" if r.start == r.end else f"至{r.end.month}月{r.end.day}日")
            months.setdefault(day.month, []).append({
                "when": when + (f" {r.part_of_day}" if r.part_of_day else ""), "title": r.title,
                "kind": KIND_ZH[r.kind], "lead": "、".join(r.lead), "units": "、".join(r.units)})
        name = f"{year}年度工作安排表 · {unit or title}"
        query = f"plan={quote(plan, safe='')}&" if plan else ""
        headers = {"Cache-Control": "private, no-cache", "Referrer-Policy": "no-referrer"} if unit else {}
        return page(request, "year.html", headers=headers, title=name, name=name, year=year,
                    months=sorted(months.items()), count=sum(len(v) for v in months.values()),
                    query=query, today=moment.astimezone(SHANGHAI).date(), private=unit is not None)

    def ack_view(request: Request, token: str, occurrence_id: str, note: str | None,
                 confirm: bool) -> Response:
        moment = now()
        with Session(engine) as session:
            unit = session.execute(select(UnitRow).where(UnitRow.ack_token == token)  # type: ignore[arg-type]
                                   ).scalars().first()
            if unit is None:
                return notice(request, "链接无效", "这个办结确认链接无效或已更换（口令不对，或管理员已为"
                              "本单位更换确认口令）。请使用最新提醒消息中的链接。未作任何改动。", 404, PRIVATE)
            occurrence = session.get(OccurrenceRow, occurrence_id)
            if occurrence is None:
                return notice(request, "没有这个节点", f"没有找到节点“{occurrence_id}”。未作任何改动。",
                              404, PRIVATE)
            plan = session.get(PlanRow, occurrence.plan_id)
            title = f"{occurrence.title}（{_when(occurrence)}）"
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
                return notice(request, "无法确认", text, 404 if error.reason == "not_addressed" else 409,
                              PRIVATE)
            if result is not None:
                when = _local(result.done_at)
                if result.created:
                    return notice(request, "已确认办结", f"{unit.name}已确认办结“{title}”（{when}）。"
                                  "本节点不再向本单位发送提醒。", 200, PRIVATE, ok=True)
                return notice(request, "此前已确认", f"{unit.name}已于{when}确认办结“{title}”"
                              f"（{'网页' if result.source == 'web' else '命令行'}）；本次未作改动。",
                              200, PRIVATE, ok=True)
            if done is not None:
                return notice(request, "此前已确认", f"{unit.name}已于{_local(done)}确认办结“{title}”。",
                              200, PRIVATE, ok=True)
            return page(request, "ack.html", headers=PRIVATE, title="办结确认", private=True,
                        unit=unit.name, plan=plan.title if plan else occurrence.plan_id,
                        node=occurrence, kind_zh=KIND_ZH[occurrence.kind])

    async def ack_page(request: Request) -> Response:
        token, occurrence_id = request.path_params["token"], request.path_params["occurrence_id"]
        note, confirm = None, request.method == "POST"
        if confirm:
            body = await _bounded_body(request, ACK_BODY_LIMIT)
            if body is None:
                return notice(request, "内容过长", "确认内容过长，未作处理；备注请写在500字以内。", 413,
                              PRIVATE)
            form = parse_qs(body.decode("utf-8", "replace"))
            note = (form.get("note", [""])[0].strip() or None)
            note = note[:500] if note else None
        return await run_in_threadpool(ack_view, request, token, occurrence_id, note, confirm)

    def status_page(request: Request) -> Response:
        """办结情况: the office's (/status), or a lead unit's for the nodes it leads
        (/u/TOKEN/status: where its 督办 message links, behind its own feed token)."""
        moment = now()
        today = moment.astimezone(SHANGHAI).date()
        plan, unit = request.query_params.get("plan"), request.query_params.get("unit")
        token = request.path_params.get("token")
        with Session(engine) as session:
            lead = None
            if token is not None:
                lead = session.execute(select(UnitRow).where(UnitRow.feed_token == token)).scalars().first()  # type: ignore[arg-type]
                if lead is None:
                    raise HTTPException(404)
            if plan is not None and session.get(PlanRow, plan) is None:
                return notice(request, "没有这个计划", f"没有找到计划“{plan}”。", 404, {})
            window = (None, None) if plan else (today - timedelta(days=30),
                                                 today + timedelta(days=30))
            try:
                matrix = status_matrix(session, today=today, plan=plan, unit=unit,
                                       start=window[0], end=window[1],
                                       led_by=lead.id if lead is not None else None)
            except AckError as error:
                return notice(request, "没有这个单位", str(error), 404, {})
            summaries = plan_summaries(session, today=today)
        title = next((p.title for p in summaries if p.id == plan), plan)
        name = f"办结情况 · {title}" if title else "办结情况"
        return page(request, "status.html", headers={"Cache-Control": "no-cache"}, title=name,
                    name=name, plans=[p for p in summaries if p.status == "active"],
                    scope="全部节点" if plan else "前后30天内截止的节点", unit=unit, today=today,
                    matrix=matrix, counts=matrix.counts(), marks=list(MARK.items()), mark_of=MARK,
                    states=STATE_ZH)

    def healthz(_request: Request) -> Response:
        status = health() if health else {}
        return JSONResponse(status, status_code=200 if status.get("ok") else 503,
                            headers={"Cache-Control": "no-store"})

    async def not_found(_request: Request, _exc: Exception) -> Response:
        return PlainTextResponse(NOT_FOUND, status_code=404)

    routes = [
        Route("/", operator(index)),
        Route("/u/{token}", unit_page),
        Route("/u/{token}/year", year_page),
        Route("/year", operator(year_page)),
        Route("/ack/{token}/{occurrence_id:path}", ack_page, methods=["GET", "POST"]),
        Route("/status", operator(status_page)),
        Route("/u/{token}/status", status_page),
        Route("/feeds/all.ics", operator(feed_all)),
        Route("/feeds/plan/{plan_id}.ics", operator(feed_plan)),
        Route("/feeds/u/{token}.ics", feed_unit),
        Mount("/static", StaticFiles(directory=PAGES / "static"), name="static"),
    ]
    if health is not None:
        routes.append(Route("/healthz", healthz))
    if metrics is not None:
        def prometheus(_request: Request) -> Response:
            return Response(metrics.expose(), media_type=METRICS_TYPE,
                            headers={"Cache-Control": "no-store"})

        routes.append(Route("/metrics", operator(prometheus)))
    return Starlette(
        routes=routes,
        middleware=[Middleware(GZipMiddleware, minimum_size=1000)],
        exception_handlers={404: not_found},
    )


def _when(occurrence: OccurrenceRow) -> str:
    """截止 2011-04-29, or a phase's days: 2011-06-24 至 2011-07-08."""
    if occurrence.kind == "phase" and occurrence.start != occurrence.end:
        return f"{occurrence.start.isoformat()} 至 {occurrence.end.isoformat()}"
    return occurrence.due.isoformat()


def _done_before(session: Session, occurrence_id: str, unit_id: int) -> datetime | None:
    return session.execute(select(AcknowledgementRow.done_at).where(  # type: ignore[call-overload]
        AcknowledgementRow.occurrence_id == occurrence_id,  # type: ignore[arg-type]
        AcknowledgementRow.unit_id == unit_id)).scalar()  # type: ignore[arg-type]


def _year(request: Request, moment: datetime) -> int:
    text = request.query_params.get("year")
    if text is None:
        return moment.astimezone(SHANGHAI).year
    if not text.isdigit() or not 1900 <= int(text) <= 2200:
        raise HTTPException(400, "year: YYYY, e.g. 2011")
    return int(text)


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

    @property
    def describe(self) -> str:
        days = self.first.isoformat() if self.first == self.last else \
            f"{self.first.isoformat()} 至 {self.last.isoformat()}"
        when = f"{days} {self.part_of_day}" if self.part_of_day else days
        return f"【{KIND_ZH[self.kind]}】{self.title}\n{when}\n{self.plan}"


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


@dataclass(frozen=True)
class _Bar:
    node: _Node
    lane: int
    left: float  # % of the week's width
    width: float
    cut: str  # " from-before" / " goes-on" where the bar runs past the week or month


def _month_context(month: date, moment: datetime, nodes: Sequence[_Node],
                   calendar: ChinaCalendar) -> dict[str, Any]:
    """What month.html shows: the weeks (cells, and bars for multi-day nodes in lanes), the
    nodes running through the whole month, and the phone's agenda of days with nodes."""
    today, last_day = moment.astimezone(SHANGHAI).date(), _add_months(month, 1) - timedelta(days=1)
    single: dict[date, list[_Node]] = {}
    throughout, several = [], []
    for node in nodes:
        if node.first == node.last:
            single.setdefault(node.first, []).append(node)
        elif node.first <= month and node.last >= last_day:
            throughout.append(node)
        else:
            several.append(node)
    bars = _lanes(several)

    def mark(day: date) -> str:
        return calendar.holiday_name(day) or ("班" if calendar.is_makeup_working_day(day) else "")

    weeks = []
    for week in _weeks(month):  # the days of other months are shown, without nodes
        cells = [{"day": day, "mark": mark(day), "nodes": single.get(day, []),
                  "classes": " ".join(["day", *(["out"] if day.month != month.month else []),
                                       *(["rest"] if not calendar.is_working_day(day) else []),
                                       *(["today"] if day == today else [])])} for day in week]
        placed = []
        for lane, node in bars:
            start, end = max(node.first, week[0], month), min(node.last, week[-1], last_day)
            if start <= end:
                cut = ("" if start == node.first else " from-before") + ("" if end == node.last else " goes-on")
                placed.append(_Bar(node, lane, (start - week[0]).days * 100 / 7,
                                   ((end - start).days + 1) * 100 / 7, cut))
        weeks.append({"cells": cells, "bars": placed, "lanes": max((b.lane + 1 for b in placed), default=0)})
    agenda = []  # each day of the month with its nodes; a node of several days on its first
    for offset in range((last_day - month).days + 1):
        day = month + timedelta(days=offset)
        starting = [n for n in several + throughout if max(n.first, month) == day]
        if single.get(day) or starting:
            agenda.append({"day": day, "mark": mark(day), "rest": not calendar.is_working_day(day),
                           "nodes": sorted(starting, key=lambda n: n.id) + single.get(day, [])})
    return {"month": month, "before": _add_months(month, -1), "after": _add_months(month, 1),
            "weekdays": WEEKDAYS, "kinds": list(KIND_ZH.items()), "weeks": weeks, "agenda": agenda,
            "throughout": sorted(throughout, key=lambda n: (n.first, n.last, n.id)),
            "fallback": None if calendar.covers(month.year) else (calendar.coverage_warning(month.year) or "")}


# --- QR codes -----------------------------------------------------------------------------

@lru_cache(maxsize=512)  # ~7 ms of pure Python each; the URLs rarely change
def _qr(url: str, label: str, *, scale: int) -> str:
    code = segno.make(url, error="m", micro=False)
    width, height = code.symbol_size(scale=scale)
    return Markup(f"<img class='qr' src='{escape(code.svg_data_uri(scale=scale))}' width='{width}' "
                  f"height='{height}' alt='{escape(f'订阅“{label}”的二维码：{url}')}'>")
