"""Open311 GeoReport v2 (/open311/v2): services, requests submitted and read by a city hotline or another system.

Implements GeoReport v2 (https://wiki.open311.org/GeoReport_v2) over the incident loop (gridgov.incidents.cases),
in JSON and XML (``.json`` / ``.xml`` after the resource, as the spec asks):

- ``GET services``: one service per 小类 (``service_code`` "大类/小类", ``service_name`` the 小类, ``group`` the
  大类) and one per 大类 (``service_code`` the 大类: cases not further classified); ``type`` realtime, ``metadata``
  false (no extra attributes, so no service definitions).
- ``POST requests``: a new case (上报) from the form fields ``service_code``, ``lat``, ``long`` (WGS84),
  ``description``, ``address_string``, ``first_name`` / ``last_name`` / ``phone`` (the reporter: 反映人) and, not in
  the spec, ``source`` (来源, default 其他系统); ``email``, ``device_id``, ``account_id``, ``attribute[…]`` and
  ``media_url`` are ignored. The ``api_key`` is a gridgov API token (``gridgov token create``) whose role may
  report (上报) where the point lies; it may also come as ``Authorization: Bearer``. The answer is 200 with
  ``[{"service_request_id": <事件编码>, "service_notice": …, "account_id": null}]``.
- ``GET requests`` and ``GET requests/{service_request_id}``: public, no key. Filters: ``service_request_id``
  (comma-separated; the others are then ignored), ``service_code`` (comma-separated; a 大类 takes its 小类 too),
  ``start_date`` / ``end_date`` (W3C date-times, on the reporting time; a bare date is a whole local day),
  ``status`` (open, closed); without dates the last 90 days; at most 1000 requests, newest first.

Privacy (issue 16): a public read carries only the category, the place rounded to ``public_round_m`` metres, the
status and the dates, and the street responsible — never the reporter, the phone, the description or the photos.
The place is snapped to a grid of ``public_round_m`` metres: latitude in steps of m / 111 320 degrees, then
longitude in steps of m / (111 320 · cos(rounded latitude)) degrees (metres per degree on the sphere; at most
about 0.7 m·step from the true place; 0 keeps six decimals).

Status mapping (the case's status is the last step done):

======================================  =======  ==============================================
gridgov 状态                              Open311  status_notes
======================================  =======  ==============================================
上报 立案 派遣 处置 核查 挂账               open     the status, and the step it waits for, e.g. 派遣（待处置）
结案 作废                                 closed   结案, or 作废（不予立案）
======================================  =======  ==============================================

``updated_datetime`` is the closing time of a closed case (结案), else the time of its last step.

Errors take Open311's shape, in Chinese: ``[{"code": 400, "description": "…"}]`` (XML:
``<errors><error><code>…</code><description>…</description></error></errors>``) with the same HTTP status: 400 bad
or missing fields, 403 a missing, invalid or insufficient ``api_key`` (or a place outside its scope), 404 an unknown
request or format.
"""

from __future__ import annotations

import datetime as dt
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov import errors as e
from gridgov.api.dependencies import CredsDep, SessionDep, SettingsDep
from gridgov.auth.scope import Actor
from gridgov.auth.tokens import authenticate
from gridgov.db.engine import set_actor
from gridgov.incidents import cases
from gridgov.incidents import workflow as wf
from gridgov.periods import parse_moment
from gridgov.terms import stored_vocabulary
from gridgov.vocab import INCIDENT_ENDED, LEVELS

router = APIRouter(prefix="/open311/v2", tags=["Open311"])

FORMATS = ("json", "xml")
XML_TYPE = "text/xml"
DEFAULT_DAYS = 90
MAX_REQUESTS = 1000
M_PER_DEGREE = 111_320.0
OPEN, CLOSED = "open", "closed"
DEFAULT_SOURCE = "其他系统"
STATUS_NOTE = {"作废": "作废（不予立案）"}
STATUS_HELP = ("状态对应：上报、立案、派遣、处置、核查、挂账 → open；结案、作废 → closed（中文状态见 status_notes）。"
               "公开读取只含类别、位置（按 public_round_m 米取整）、状态、日期与负责街道，"
               "不含反映人、电话、描述与照片。")  # fmt: skip


# ------------------------------------------------------------------------------------------------ models


class Open311Service(BaseModel):
    """A service (a 大类 or a 小类)."""

    service_code: str = Field(description="服务编码：「大类/小类」或大类")
    service_name: str = Field(description="服务名称：小类（或大类）")
    description: str
    metadata: bool = Field(description="恒为 false：无附加属性")
    type: str = Field(description="恒为 realtime：提交即得事件编码")
    keywords: str = Field(description="同义词，逗号分隔")
    group: str = Field(description="大类")


class Open311Created(BaseModel):
    """A request just created."""

    service_request_id: str = Field(description="事件编码")
    service_notice: str
    account_id: None = None


class Open311Request(BaseModel):
    """A request as the public reads it (category, rounded place, status and dates only)."""

    service_request_id: str = Field(description="事件编码")
    status: str = Field(description="open 或 closed。" + STATUS_HELP)
    status_notes: str = Field(description="中文状态（及等待的环节）")
    service_name: str
    service_code: str
    agency_responsible: str | None = Field(description="负责的街道")
    requested_datetime: str = Field(description="上报时间（ISO 8601，带时区）")
    updated_datetime: str = Field(description="最后更新时间；已结案的为结案时间")
    lat: float = Field(description="纬度（WGS84，按 public_round_m 米取整）")
    long: float = Field(description="经度（WGS84，按 public_round_m 米取整）")


class Open311Error(BaseModel):
    """An error, Open311's shape."""

    code: int = Field(description="HTTP 状态码")
    description: str = Field(description="中文原因")


FormatPath = Annotated[str, Path(description="json 或 xml", json_schema_extra={"enum": list(FORMATS)})]
ERROR_BODY = {"model": list[Open311Error], "content": {XML_TYPE: {"schema": {"type": "string"}}}}
OPEN311_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {**ERROR_BODY, "description": "参数缺失或无效（Open311 错误格式）"},
    403: {**ERROR_BODY, "description": "缺少 api_key、令牌无效，或令牌无权上报此处（Open311 错误格式）"},
    404: {**ERROR_BODY, "description": "事件不存在，或格式不是 json / xml（Open311 错误格式）"},
}


def _ok(model: Any) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "content": {XML_TYPE: {"schema": {"type": "string"}}}}}


# ------------------------------------------------------------------------------------------------ output


def _xml_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_xml(root: str, item: str, rows: Sequence[dict[str, Any]]) -> bytes:
    """Rows as Open311's XML: ``<root><item><field>value</field>…</item>…</root>``, UTF-8 with its declaration."""
    top = ET.Element(root)
    for row in rows:
        node = ET.SubElement(top, item)
        for key, value in row.items():
            ET.SubElement(node, key).text = _xml_text(value)
    return ET.tostring(top, encoding="utf-8", xml_declaration=True)


def _answer(fmt: str, root: str, item: str, rows: Sequence[BaseModel], status_code: int = 200) -> Response:
    data = [r.model_dump(mode="json") for r in rows]
    if fmt == "xml":
        return Response(to_xml(root, item, data), status_code=status_code, media_type=XML_TYPE)
    return JSONResponse(data, status_code=status_code)


# Domain errors as Open311 statuses: a bad field is 400 and a missing or invalid key 403, as the spec has them.
STATUS = {e.InvalidInput: 400, e.Unauthenticated: 403, e.Forbidden: 403, e.NotFound: 404}


def _error(fmt: str, exc: e.GridgovError) -> Response:
    code = next((STATUS[c] for c in type(exc).__mro__ if c in STATUS), 400)  # type: ignore[index]
    return _answer(fmt if fmt in FORMATS else "json", "errors", "error",
                   [Open311Error(code=code, description=exc.message)], code)  # fmt: skip


def _open311(fmt: str, work: Callable[[], Response]) -> Response:
    """``work``'s answer, or its domain error in Open311's shape (a format other than json / xml is 404)."""
    try:
        if fmt not in FORMATS:
            raise e.NotFound(f"不支持的格式：{fmt[:20]}（应为 .json 或 .xml）")
        return work()
    except e.GridgovError as exc:
        return _error(fmt, exc)


# ------------------------------------------------------------------------------------------------ helpers


def round_place(lon: float, lat: float, metres: float) -> tuple[float, float]:
    """A place snapped to a grid of ``metres`` (see the module's docstring), to six decimals."""
    if metres <= 0:
        return round(lon, 6), round(lat, 6)
    dlat = metres / M_PER_DEGREE
    rlat = round(lat / dlat) * dlat
    dlon = metres / (M_PER_DEGREE * max(math.cos(math.radians(rlat)), 1e-6))
    return round(round(lon / dlon) * dlon, 6), round(rlat, 6)


def open311_status(status: str) -> str:
    """open or closed for a case's status (结案, 作废: closed)."""
    return CLOSED if status in INCIDENT_ENDED else OPEN


def status_notes(status: str) -> str:
    """The Chinese status, with the step it waits for."""
    waiting = wf.waiting_step(status)
    return f"{status}（待{waiting}）" if waiting else STATUS_NOTE.get(status, status)


def _clean(value: str | None, what: str, limit: int = 2000) -> str | None:
    value = (value or "").strip()
    if "\x00" in value:
        raise e.InvalidInput(f"{what}不能包含空字符")
    if len(value) > limit:
        raise e.InvalidInput(f"{what}过长：{len(value)} 字，最多 {limit} 字")
    return value or None


def _number(value: str | None, what: str) -> float:
    value = _clean(value, what, 40)
    if value is None:
        raise e.InvalidInput(f"缺少{what}：本系统按位置确定事件所在网格")
    try:
        number = float(value)
    except ValueError:
        raise e.InvalidInput(f"{what}应为数字：{value}") from None
    if not math.isfinite(number):
        raise e.InvalidInput(f"{what}应为有限的数字：{value}")
    return number


def _list(value: str | None, what: str) -> list[str]:
    items = [v.strip() for v in (_clean(value, what, 40_000) or "").split(",") if v.strip()]
    if len(items) > MAX_REQUESTS:
        raise e.InvalidInput(f"{what}最多 {MAX_REQUESTS} 个，收到 {len(items)} 个")
    return items


def _moment(value: str | None, what: str, zone: ZoneInfo, *, end: bool) -> dt.datetime | None:
    """A W3C date-time (a naive one is local) or a date (the start of that local day); for ``end``, the moment just
    after it (the end of the day for a date), as the exclusive bound of the query."""
    value = _clean(value, what, 40)
    if value is None:
        return None
    try:
        moment = parse_moment(value)
    except e.InvalidInput as exc:
        raise e.InvalidInput(f"{what}：{exc.message}") from None
    if not isinstance(moment, dt.datetime):
        return dt.datetime.combine(moment + dt.timedelta(days=1 if end else 0), dt.time(0), zone)
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
    return moment + dt.timedelta(microseconds=1) if end else moment  # an end is inclusive; the query's bound is not


def _local(moment: dt.datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).isoformat(timespec="seconds")


def _caller(session: Session, api_key: str | None, creds: Any) -> Actor:
    """Who submits: the token in ``api_key`` or ``Authorization: Bearer`` (recorded as the audit actor)."""
    key = _clean(api_key, "api_key", 200) or (creds.credentials if creds is not None else None)
    if not key:
        raise e.Unauthenticated("缺少 api_key：请使用 gridgov token create 生成的 API 令牌（须有上报权限）")
    who = authenticate(session, key)
    set_actor(session, who.audit_name)
    return who


# ------------------------------------------------------------------------------------------------ routes


@router.get(
    "/services.{fmt}",
    response_class=JSONResponse,
    response_model=None,
    summary="Open311 服务列表（事件类别）",
    description="每个小类一项（service_code 为「大类/小类」，group 为大类），每个大类另有一项（未细分小类的事件）；"
    "metadata 为 false，type 为 realtime。",
    responses={**_ok(list[Open311Service]), 404: OPEN311_ERRORS[404]},
)
def services(session: SessionDep, fmt: FormatPath) -> Response:
    """Every 小类 as a service (``service_code`` 「大类/小类」, ``group`` the 大类), and every 大类 for cases not
    further classified; ``metadata`` false, ``type`` realtime."""

    def work() -> Response:
        mains = stored_vocabulary(session, "incident_categories").vocabulary
        subs = stored_vocabulary(session, "incident_subcategories").vocabulary
        synonyms: dict[str, list[str]] = {}
        for word, term in mains.synonyms.items():
            synonyms.setdefault(term, []).append(word)
        rows = []
        for main in mains.terms:
            for term in (s for s in subs.terms if s.startswith(f"{main}/")):
                rows.append(Open311Service(service_code=term, service_name=term.split("/", 1)[1],
                                           description=f"{main}：{term.split('/', 1)[1]}", metadata=False,
                                           type="realtime", keywords="", group=main))  # fmt: skip
            rows.append(Open311Service(service_code=main, service_name=main, description=f"{main}（未细分小类）",
                                       metadata=False, type="realtime", keywords=",".join(synonyms.get(main, [])),
                                       group=main))  # fmt: skip
        return _answer(fmt, "services", "service", rows)

    return _open311(fmt, work)


@router.post(
    "/requests.{fmt}",
    response_class=JSONResponse,
    response_model=None,
    summary="Open311 提交服务请求（上报事件）",
    description="按位置上报一件事件（所在网格由位置确定，开始计受理时限）；api_key 为 gridgov API 令牌（gridgov token "
    "create 生成），须有上报权限且位置在其范围内，也可用 Authorization: Bearer。返回 200 与 "
    "[{service_request_id: 事件编码, service_notice, account_id: null}]。" + STATUS_HELP,
    responses={**_ok(list[Open311Created]), **OPEN311_ERRORS},
)
def create_request(
    session: SessionDep,
    settings: SettingsDep,
    creds: CredsDep,
    fmt: FormatPath,
    api_key: Annotated[str | None, Form(description="API 令牌（也可用 Authorization: Bearer）")] = None,
    service_code: Annotated[str | None, Form(description="服务编码：「大类/小类」或大类（GET services）")] = None,
    lat: Annotated[str | None, Form(description="纬度（WGS84）")] = None,
    long: Annotated[str | None, Form(description="经度（WGS84）")] = None,
    address_string: Annotated[str | None, Form(description="地址")] = None,
    description: Annotated[str | None, Form(description="事件描述（必填，最多 2000 字）")] = None,
    first_name: Annotated[str | None, Form(description="反映人名")] = None,
    last_name: Annotated[str | None, Form(description="反映人姓")] = None,
    phone: Annotated[str | None, Form(description="反映人电话")] = None,
    source: Annotated[str | None, Form(description="来源（扩展字段，默认 其他系统；如 12345热线）")] = None,
    media_url: Annotated[str | None, Form(description="忽略（照片请在系统内上传）")] = None,
    email: Annotated[str | None, Form(description="忽略")] = None,
) -> Response:
    """Submit a service request: a new case (上报) at the point, by a gridgov API token whose role may report there."""

    def work() -> Response:
        who = _caller(session, api_key, creds)
        code = _clean(service_code, "service_code", 60)
        if code is None:
            raise e.InvalidInput("缺少 service_code（事件类别，见 services）")
        name = "".join(p for p in (_clean(last_name, "last_name", 25), _clean(first_name, "first_name", 25)) if p)
        case = cases.NewCase(
            _number(long, "经度 long"), _number(lat, "纬度 lat"), code, _clean(description, "description") or "",
            source=_clean(source, "source", 20) or DEFAULT_SOURCE,
            address=_clean(address_string, "address_string", 200), reporter_name=name or None,
            reporter_phone=_clean(phone, "phone", 32),
        )  # fmt: skip
        rules = cases.rules_for(session, settings)
        made = cases.case_detail(session, who, cases.report(session, who, case, rules), rules).case
        due = ""
        if made["deadline"] is not None:
            due = f"，受理时限 {made['deadline'].astimezone(ZoneInfo(settings.timezone)):%Y-%m-%d %H:%M}"
        notice = f"已登记为事件 {made['code']}，由{made['grid_name'] or '所在网格'}受理{due}"
        return _answer(fmt, "service_requests", "request",
                       [Open311Created(service_request_id=made["code"], service_notice=notice)])  # fmt: skip

    return _open311(fmt, work)


_REQUESTS = text("""
WITH RECURSIVE picked AS (
    SELECT i.id, i.code, i.category, i.subcategory, i.status, i.reported_at, i.closed_at, i.grid_id,
           ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat
      FROM incident i
     WHERE (CAST(:codes AS text[]) IS NULL OR i.code = ANY(CAST(:codes AS text[])))
       AND (NOT :by_category OR i.category = ANY(CAST(:mains AS text[]))
            OR i.category || '/' || i.subcategory = ANY(CAST(:subs AS text[])))
       AND (CAST(:since AS timestamptz) IS NULL OR i.reported_at >= CAST(:since AS timestamptz))
       AND (CAST(:until AS timestamptz) IS NULL OR i.reported_at < CAST(:until AS timestamptz))
       AND (CAST(:statuses AS text[]) IS NULL OR i.status = ANY(CAST(:statuses AS text[])))
     ORDER BY i.reported_at DESC, i.id DESC
     LIMIT :limit
), up(start_id, id, parent_id, level, name, depth) AS (
    SELECT g.id, g.id, g.parent_id, g.level, g.name, 0 FROM grid g WHERE g.id IN (SELECT grid_id FROM picked)
    UNION ALL
    SELECT up.start_id, g.id, g.parent_id, g.level, g.name, up.depth + 1 FROM grid g JOIN up ON g.id = up.parent_id
     WHERE up.depth < 16
), agency AS (
    SELECT DISTINCT ON (start_id) start_id, name FROM up ORDER BY start_id, (level = :street) DESC, depth DESC
)
SELECT p.code, p.category, p.subcategory, p.status, p.reported_at, p.lon, p.lat, a.name AS agency,
       CASE WHEN p.status = :closed THEN p.closed_at END AS closed_at,
       (SELECT max(e.at) FROM incident_event e WHERE e.incident_id = p.id) AS last_at
  FROM picked p LEFT JOIN agency a ON a.start_id = p.grid_id
 ORDER BY p.reported_at DESC, p.code DESC""")


def public_requests(session: Session, *, round_m: float, timezone: str, codes: Sequence[str] | None = None,
                    categories: Sequence[str] | None = None, since: dt.datetime | None = None,
                    until: dt.datetime | None = None,
                    status: Sequence[str] | None = None) -> list[Open311Request]:  # fmt: skip
    """Requests as the public reads them (newest first, at most 1000): ``categories`` are service codes (a 大类
    takes its 小类 too), ``status`` open / closed."""
    zone = ZoneInfo(timezone)
    mains = [c for c in categories or () if "/" not in c]
    subs = [c for c in categories or () if "/" in c]
    statuses = None
    if status:
        statuses = [s for s in (*wf.OPEN, *INCIDENT_ENDED) if open311_status(s) in status]
    rows = session.execute(_REQUESTS, {
        "codes": list(codes) if codes else None, "by_category": bool(categories), "mains": mains, "subs": subs,
        "since": since, "until": until, "statuses": statuses, "limit": MAX_REQUESTS, "street": LEVELS[0],
        "closed": wf.CLOSED,
    }).all()  # fmt: skip
    out = []
    for r in rows:
        lon, lat = round_place(r.lon, r.lat, round_m)
        code = f"{r.category}/{r.subcategory}" if r.subcategory else r.category
        out.append(Open311Request(
            service_request_id=r.code, status=open311_status(r.status), status_notes=status_notes(r.status),
            service_name=r.subcategory or r.category, service_code=code, agency_responsible=r.agency,
            requested_datetime=_local(r.reported_at, zone), updated_datetime=_local(r.closed_at or r.last_at or
                                                                                  r.reported_at, zone),
            lat=lat, long=lon,
        ))  # fmt: skip
    return out


def _service_codes(session: Session, value: str | None) -> list[str]:
    """Service codes as their canonical 「大类/小类」 or 大类 (synonyms accepted; an unknown one is 400)."""
    out = []
    for code in _list(value, "service_code"):
        category = cases.parse_category(session, code)
        out.append(f"{category.main}/{category.sub}" if category.sub else category.main)
    return out


def _statuses(value: str | None) -> list[str]:
    wanted = _list(value, "status")
    unknown = [s for s in wanted if s not in (OPEN, CLOSED)]
    if unknown:
        raise e.InvalidInput(f"status 只能为 open 或 closed：{'、'.join(unknown)[:60]}")
    return wanted


@router.get(
    "/requests.{fmt}",
    response_class=JSONResponse,
    response_model=None,
    summary="Open311 查询服务请求（公开）",
    description="按条件查询事件，最新的在前，最多 1000 件；未给日期（也未给 service_request_id）时为最近 90 天。"
    + STATUS_HELP,
    responses={**_ok(list[Open311Request]), 400: OPEN311_ERRORS[400], 404: OPEN311_ERRORS[404]},
)
def list_requests(
    session: SessionDep,
    settings: SettingsDep,
    fmt: FormatPath,
    service_request_id: Annotated[str | None, Query(description="事件编码，逗号分隔（给出时忽略其他条件）")] = None,
    service_code: Annotated[str | None, Query(description="服务编码，逗号分隔（大类含其小类）")] = None,
    start_date: Annotated[str | None, Query(description="上报时间起（W3C 格式，如 2026-10-01T00:00:00+08:00）")] = None,
    end_date: Annotated[str | None, Query(description="上报时间止（W3C 格式）")] = None,
    status: Annotated[str | None, Query(description="open、closed，逗号分隔")] = None,
) -> Response:
    """Requests, newest first, at most 1000; without dates (and without ids) the last 90 days."""

    def work() -> Response:
        zone = ZoneInfo(settings.timezone)
        found: list[Open311Request]
        ids = _list(service_request_id, "service_request_id")
        if ids:
            found = public_requests(session, round_m=settings.public_round_m, timezone=settings.timezone, codes=ids)
        else:
            since = _moment(start_date, "start_date", zone, end=False)
            until = _moment(end_date, "end_date", zone, end=True)
            if since is not None and until is not None and since >= until:
                raise e.InvalidInput("start_date 晚于 end_date")
            if since is None and until is None:
                since = dt.datetime.now(zone) - dt.timedelta(days=DEFAULT_DAYS)
            found = public_requests(session, round_m=settings.public_round_m, timezone=settings.timezone,
                                    categories=_service_codes(session, service_code), since=since, until=until,
                                    status=_statuses(status))  # fmt: skip
        return _answer(fmt, "service_requests", "request", found)

    return _open311(fmt, work)


@router.get(
    "/requests/{service_request_id}.{fmt}",
    response_class=JSONResponse,
    response_model=None,
    summary="Open311 查询一个服务请求（公开）",
    description="一件事件（按规范为只含一项的列表）。" + STATUS_HELP,
    responses={**_ok(list[Open311Request]), 404: OPEN311_ERRORS[404]},
)
def get_request(
    session: SessionDep,
    settings: SettingsDep,
    service_request_id: Annotated[str, Path(max_length=40, description="事件编码")],
    fmt: FormatPath,
) -> Response:
    """One request, as a list of one (the spec's shape)."""

    def work() -> Response:
        code = _clean(service_request_id, "service_request_id", 40) or ""
        found = public_requests(session, round_m=settings.public_round_m, timezone=settings.timezone, codes=[code])
        if not found:
            raise e.NotFound(f"事件不存在：{code}")
        return _answer(fmt, "service_requests", "request", found)

    return _open311(fmt, work)
