"""Living records over HTTP (住户、人员、楼栋、网格工作人员): list and search, read with an ``ETag``, history, create,
change with ``If-Match`` (a stale one is 412 and nothing is written, a missing one 428) and retire with a date and
a reason — a retirement, never a delete.

One set of routes per kind of :data:`gridgov.records.kinds.KINDS` (``/api/households``, ``/api/persons``,
``/api/buildings``, ``/api/staff``), with request and response models made from the kind's fields, so the document
names exactly the fields the service takes. The services check the role and the scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model
from pydantic_core import PydanticCustomError

from gridgov.api.dependencies import EditorDep, SessionDep, SettingsDep, ViewerDep
from gridgov.api.params import DateQuery
from gridgov.api.versions import CREATED, TAGGED, WRITE_ERRORS, IfMatch, expected_version, tagged
from gridgov.history import END_REASONS
from gridgov.records import service
from gridgov.records.kinds import KINDS, RecordKind
from gridgov.records.kinds import Field as RecordField
from gridgov.records.service import MAX_PAGE


def _storable(value: str) -> str:
    """Text PostgreSQL can store: no NUL character, no lone surrogate (else a 422, not a database error)."""
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "不能包含空字符（\\0）")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("invalid_text", "含有无法编码的字符") from None
    return value


Text = Annotated[str, AfterValidator(_storable)]
"""A string the database can store."""

# Per kind: the Chinese name of its routes, and the prefix of its models' names.
TAGS = {"households": "住户", "persons": "人员", "buildings": "楼栋", "staff": "网格工作人员"}
MODEL_NAMES = {"households": "Household", "persons": "Person", "buildings": "Building", "staff": "Staff"}
# What a record shows besides its fields (read-only figures the service adds).
_LON = (float | None, "经度（WGS84）")
_LAT = (float | None, "纬度（WGS84）")
COMPUTED: dict[str, dict[str, tuple[Any, str]]] = {
    "households": {"lon": _LON, "lat": _LAT, "residents": (int | None, "在册人数")},
    "persons": {"address": (str | None, "所属户的地址")},
    "buildings": {"lon": _LON, "lat": _LAT, "geometry": (dict[str, Any] | None, "GeoJSON 几何（WGS84）"),
                  "households": (int | None, "在册户数")},  # fmt: skip
    "staff": {"roles": (str | None, "现任岗位：「网格编码 名称：岗位」，以「；」分隔")},
}
CodePath = Annotated[Text, Path(description="记录编码")]

router = APIRouter()


def _describe(f: RecordField) -> str:
    """A field's description: its label, its accepted terms, whether it is personal data."""
    terms = f"，可选：{'、'.join(f.vocab.terms)}（也接受常用同义词）" if f.vocab is not None else ""
    limits = f"，{f.low}–{f.high}" if f.low is not None and f.high is not None else ""
    return f"{f.label}{terms}{limits}{'（个人信息）' if f.private else ''}"


def _input_type(f: RecordField) -> Any:
    return {"int": int, "bool": bool, "tags": list[Text]}.get(f.kind, Text)


def _output_type(f: RecordField) -> Any:
    return {"int": int, "bool": bool, "tags": list[str]}.get(f.kind, str)


class RecordPublic(BaseModel):
    """What every record shows: its identity, version, validity and grid (the fields of its kind follow)."""

    model_config = ConfigDict(extra="allow")
    id: int = Field(description="记录编号（终身不变）")
    code: str = Field(description="编码")
    version: int = Field(description="版本号（ETag 即带引号的版本号）")
    valid_from: dt.datetime = Field(description="此版本生效时间")
    valid_to: dt.datetime | None = Field(description="注销时间（现行记录为 null）")
    retired: bool = Field(description="是否已注销")
    end_reason: str | None = Field(description="注销原因")
    updated_by: str | None = Field(description="最后修改人")
    grid_code: str | None = Field(description="所在网格编码")
    grid_name: str | None = Field(description="所在网格名称")


class RecordRetire(BaseModel):
    """A retirement: why and from which day (either may also come as a query parameter)."""

    model_config = ConfigDict(extra="forbid")
    reason: Text | None = Field(default=None, description="注销原因：" + "、".join(END_REASONS) + " …（必填）")
    effective: DateQuery = Field(default=None, description="注销生效日期 YYYY-MM-DD（默认今天）")


@dataclass(frozen=True)
class KindModels:
    """The request and response models of one kind."""

    create: type[BaseModel]
    update: type[BaseModel]
    public: type[BaseModel]
    page: type[BaseModel]
    history: Any  # list[public]


def kind_models(kind: RecordKind) -> KindModels:
    """The ``…Create``, ``…Update``, ``…Public`` and ``…Page`` models of a kind, made from its fields."""
    name, tag = MODEL_NAMES[kind.name], TAGS[kind.name]

    def inputs(create: bool) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for f in kind.fields:
            if create and f.required:
                fields[f.name] = (_input_type(f), Field(description=_describe(f)))
            else:
                fields[f.name] = (_input_type(f) | None, Field(default=None, description=_describe(f)))
        if kind.spatial:
            fields["lon"] = (float | None, Field(default=None, description="位置：经度（WGS84）"))
            fields["lat"] = (float | None, Field(default=None, description="位置：纬度（WGS84）"))
            fields["geometry"] = (dict[str, Any] | None, Field(default=None, description=(
                "位置：GeoJSON 几何（WGS84，代替经纬度；户为点）")))  # fmt: skip
        fields["effective"] = (DateQuery, Field(default=None, description=(
            "生效日期 YYYY-MM-DD（默认今天；补登过去发生的变更时填写）")))  # fmt: skip
        return fields

    outputs: dict[str, Any] = {
        f.name: (_output_type(f) | None, Field(default=None, description=_describe(f)))
        for f in kind.fields if f.name != "code"
    }  # fmt: skip
    outputs.setdefault("kind", (str, Field(description="记录类型")))
    for extra, (typ, text_) in COMPUTED[kind.name].items():
        outputs[extra] = (typ, Field(default=None, description=text_))
    forbid = ConfigDict(extra="forbid")
    create = create_model(f"{name}Create", __config__=forbid, __doc__=f"新{tag}：其字段（不给的为空）。",
                          **inputs(True))  # fmt: skip
    update = create_model(f"{name}Update", __config__=forbid, __doc__=f"{tag}的修改：只改给出的字段（null 清空）。",
                          **inputs(False))  # fmt: skip
    public = create_model(f"{name}Public", __base__=RecordPublic, __doc__=f"一条{tag}记录。", **outputs)
    page = create_model(f"{name}Page", __doc__=f"{tag}列表的一页。",
                        items=(list[public], Field(description="本页记录")),
                        total=(int, Field(description="符合条件的总数")),
                        limit=(int, Field(description="每页条数")), offset=(int, Field(description="跳过的条数")))
    return KindModels(create, update, public, page, list[public])


def _location(kind: RecordKind, code: str) -> str:
    return f"/api/{kind.name}/{quote(code, safe='')}"


def _with_body(endpoint: Callable[..., Any], model: type[BaseModel]) -> Callable[..., Any]:
    """``endpoint`` with its ``body`` declared as ``model``: FastAPI reads the request model of each kind there."""
    endpoint.__annotations__["body"] = model
    return endpoint


def _register(kind: RecordKind) -> None:
    """Add the routes of one kind to the router."""
    m = kind_models(kind)
    base, tag = f"/api/{kind.name}", TAGS[kind.name]

    def list_records(
        session: SessionDep,
        who: ViewerDep,
        grid: Annotated[Text | None, Query(description="只列此网格及其下级的（默认：您的范围）")] = None,
        household: Annotated[Text | None, Query(description="所属户编码（仅人员：列出一户的成员）")] = None,
        q: Annotated[Text | None, Query(max_length=200, description="搜索：编码、地址、姓名、电话 …")] = None,
        include_retired: Annotated[bool, Query(description="包括已注销的记录")] = False,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="每页条数")] = 50,
        offset: Annotated[int, Query(ge=0, le=10**9, description="跳过的条数")] = 0,
    ) -> dict[str, Any]:
        """One page of the kind's records under a grid (default: the caller's scope), matching ``q``."""
        records, total = service.list_records(session, kind.name, who, grid=grid, household=household, q=q,
                                              include_retired=include_retired, limit=limit, offset=offset)  # fmt: skip
        return {"items": [r.as_dict() for r in records], "total": total, "limit": limit, "offset": offset}

    def get_record(session: SessionDep, who: ViewerDep, response: Response, code: CodePath) -> dict[str, Any]:
        """The record's current state (live or retired), with its ``ETag``."""
        return tagged(response, service.get_record(session, kind.name, code, who))

    def record_history(session: SessionDep, who: ViewerDep, code: CodePath) -> list[dict[str, Any]]:
        """Every state the record has had, oldest first."""
        return [r.as_dict() for r in service.record_history(session, kind.name, code, who)]

    def create_record(
        session: SessionDep, settings: SettingsDep, who: EditorDep, response: Response, body: BaseModel
    ) -> dict[str, Any]:
        """Add a record in the caller's scope (its grid follows from its place), valid from ``effective``."""
        values = body.model_dump(exclude_unset=True)
        effective = values.pop("effective", None)
        rec = service.create_record(session, kind.name, values, who, effective=effective, timezone=settings.timezone)
        return tagged(response, rec, _location(kind, rec.code))

    def update_record(
        session: SessionDep,
        settings: SettingsDep,
        who: EditorDep,
        response: Response,
        code: CodePath,
        body: BaseModel,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        """Change the given fields of the version named by ``If-Match``; the former state stays as history."""
        expected = expected_version(if_match)
        values = body.model_dump(exclude_unset=True)
        effective = values.pop("effective", None)
        rec = service.update_record(session, kind.name, code, values, who, expected_version=expected,
                                    effective=effective, timezone=settings.timezone)  # fmt: skip
        return tagged(response, rec)

    def retire_record(
        session: SessionDep,
        settings: SettingsDep,
        who: EditorDep,
        response: Response,
        code: CodePath,
        if_match: IfMatch = None,
        reason: Annotated[Text | None, Query(description="注销原因（也可放在请求体中）")] = None,
        effective: Annotated[DateQuery, Query(description="注销生效日期 YYYY-MM-DD（默认今天）")] = None,
        body: RecordRetire | None = None,
    ) -> dict[str, Any]:
        """Retire the version named by ``If-Match`` with a reason, as of ``effective``; the row stays."""
        expected = expected_version(if_match)
        given = body or RecordRetire()
        rec = service.retire_record(session, kind.name, code, who, reason=given.reason or reason or "",
                                    expected_version=expected, effective=given.effective or effective,
                                    timezone=settings.timezone)  # fmt: skip
        return tagged(response, rec)

    def add(path: str, endpoint: Callable[..., Any], method: str, summary: str, described: str,
            **extra: Any) -> None:  # fmt: skip
        extra.setdefault("response_model", m.public)
        router.add_api_route(f"{base}{path}", endpoint, methods=[method], tags=[tag], summary=summary,
                             response_description=described, name=f"{kind.name}_{endpoint.__name__}",
                             **extra)  # fmt: skip

    add("", list_records, "GET", f"{tag}列表与搜索", "一页记录及总数", response_model=m.page)
    add("/{code}", get_record, "GET", f"{tag}详情（含 ETag）", "记录的当前状态", responses=TAGGED)
    add("/{code}/history", record_history, "GET", f"{tag}变更历史", "全部版本，最早的在前", response_model=m.history)
    add("", _with_body(create_record, m.create), "POST", f"新增{tag}", "新记录", status_code=status.HTTP_201_CREATED,
        responses=CREATED)
    add("/{code}", _with_body(update_record, m.update), "PATCH", f"修改{tag}（需 If-Match，保留历史）", "修改后的记录",
        responses={**WRITE_ERRORS, **TAGGED})
    add("/{code}", retire_record, "DELETE", f"注销{tag}（需 If-Match 与原因；保留记录与历史，不删除）", "已注销的记录",
        responses={**WRITE_ERRORS, **TAGGED})


for _kind in KINDS.values():
    _register(_kind)
