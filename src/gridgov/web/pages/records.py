"""住户 and 人员: a grid's households (search, add, edit, move out) and their residents (add, edit, move to another
household, retire), each with its history (生效时间, 操作人).

Residents' data is for roles with personal-data rights, inside their scope: the records services check both, log
the views, and refuse a change made on a stale version (412) without writing anything. A refused form comes back
with the reason in Chinese and what was typed; a done one redirects (303) to the page with a notice.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from gridgov.api.dependencies import EditorDep, PersonalDep, SessionDep, SettingsDep
from gridgov.auth.scope import Actor, may
from gridgov.auth.users import display_names
from gridgov.errors import InvalidInput
from gridgov.grids.service import grids_in_scope
from gridgov.history import day_of
from gridgov.records.changes import changes_between, shown
from gridgov.records.changes import moved as place_moved
from gridgov.records.kinds import KINDS, RecordKind
from gridgov.records.service import (
    MAX_PAGE,
    Record,
    create_record,
    get_record,
    list_records,
    record_history,
    retire_record,
    update_record,
)
from gridgov.terms import stored_vocabulary
from gridgov.vocab import CONFIGURABLE, LEVEL_ZH, MEMBER_TYPES, SEXES, actor_label
from gridgov.web.forms import (
    OTHER,
    Done,
    DoneQuery,
    Short,
    effective_day,
    end_reason,
    notices,
    page_write,
    reasons,
    run_form,
    words_of,
)
from gridgov.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


HOUSEHOLD_REASONS = reasons("搬离", "拆迁", "合并", "录入错误", OTHER)
PERSON_REASONS = reasons("搬离", "死亡", "录入错误", OTHER)
Long = Annotated[str, Field(max_length=2000)]


# ----------------------------------------------------------------------------------------------- history


@dataclass(frozen=True)
class Version:
    """One line of a record's history: the state (or its retirement), what changed, when and who."""

    number: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    changes: str
    who: str
    retirement: bool = False


def versions_of(session: Session, kind: RecordKind, records: Sequence[Record]) -> list[Version]:
    """A record's history for the table, newest first: each state, and its retirement. Since migration 0010 the
    last state before a retirement is a history row of its own (with its editor), and the retired live row is the
    retirement itself, in force at no moment: it is listed once, as the retirement, never as a state."""
    people = display_names(session, [r.updated_by for r in records])
    out = []
    last = len(records) - 1
    for i, r in enumerate(records):
        if i == last and r.valid_to is not None:
            out.append(Version(r.version, r.valid_to, None, f"注销：{r.end_reason or ''}",
                               actor_label(r.updated_by, people), retirement=True))  # fmt: skip
            continue
        out.append(Version(r.version, r.valid_from, r.valid_to,
                           "；".join(changes_between(kind, records[i - 1] if i else None, r)),
                           actor_label(r.updated_by, people)))  # fmt: skip
    return out[::-1]


# ------------------------------------------------------------------------------------------------ forms


class HouseholdForm(BaseModel):
    """The household fields of the add and edit forms (a browser sends every field, filled or not; a field not
    sent at all is left as it is)."""

    code: Short = ""
    kind: Short | None = None
    address: Long | None = None
    building_code: Short | None = None
    lon: Short | None = None
    lat: Short | None = None
    effective: Short = ""
    version: int | None = None

    def values(self) -> dict[str, Any]:
        """The record fields sent, as the records service takes them."""
        return self.model_dump(exclude={"code", "effective", "version"}, exclude_none=True)


class PersonForm(BaseModel):
    """The resident fields of the add and edit forms (an unchecked box is not sent: False; a text field not sent
    at all is left as it is)."""

    code: Short = ""
    name: Short | None = None
    sex: Short | None = None
    birth_year: Short | None = None
    phone: Short | None = None
    id_number: Short | None = None
    is_resident_rep: bool = False
    is_volunteer: bool = False
    is_party_member: bool = False
    member_type: Short | None = None
    tags: Long | None = None
    effective: Short = ""
    version: int | None = None

    def values(self) -> dict[str, Any]:
        """The record fields sent (without code and household), as the records service takes them."""
        return self.model_dump(exclude={"code", "effective", "version"}, exclude_none=True)


class RetireForm(BaseModel):
    """Moving out / retiring: the reason (from the list, or typed with 其他), the day and the version read."""

    reason: Short = ""
    reason_other: Short = ""
    effective: Short = ""
    version: int | None = None


class MoveForm(BaseModel):
    """A resident moving to another household."""

    household_code: Short = ""
    effective: Short = ""
    version: int | None = None


def changed(session: Session, kind: RecordKind, current: Record, submitted: Mapping[str, Any]) -> dict[str, Any]:
    """The submitted fields whose value differs from the record's as the kind's rules read them (a field the rules
    refuse is kept, for the service to refuse with its reason)."""
    out: dict[str, Any] = {}
    for name, raw in submitted.items():
        if name in ("lon", "lat"):
            continue
        f = kind.field(name)
        configurable = f.vocab is not None and f.vocab.name in CONFIGURABLE
        words = stored_vocabulary(session, f.vocab.name).vocabulary if f.vocab and configurable else None
        try:
            new = f.parse(raw, words)
        except InvalidInput:
            out[name] = raw
            continue
        if new != (current.code if name == "code" else current.values.get(name)):
            out[name] = raw
    if kind.spatial and (str(submitted.get("lon", "")).strip() or str(submitted.get("lat", "")).strip()):
        try:
            lon, lat = float(submitted["lon"]), float(submitted["lat"])
            moved = place_moved(current.values, {"lon": lon, "lat": lat})
        except (TypeError, ValueError, KeyError):
            moved = True
        if moved:
            out["lon"], out["lat"] = submitted.get("lon"), submitted.get("lat")
    return out


def _grid_choices(session: Session, who: Actor) -> list[tuple[str, str]]:
    """The grids of the actor's scope for the picker (buildings are left to the search)."""
    return [(g.code, f"{'　' * max(0, ('street', 'community', 'compound').index(g.level))}{LEVEL_ZH[g.level]} "
             f"{g.name}（{g.code}）") for g in grids_in_scope(session, who) if g.level != "building"]  # fmt: skip


# --------------------------------------------------------------------------------------------- 住户 list


@router.get("/households")
def households_page(
    request: Request,
    session: SessionDep,
    who: PersonalDep,
    grid: Annotated[str, Query(max_length=40)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    retired: bool = False,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    done: DoneQuery = None,
) -> Response:
    """The households of a grid (default: the user's scope), searched by address, household code, resident name
    or phone, with the moved-out ones on request; a page at a time."""
    grid = grid.strip()
    records, total = list_records(session, "households", who, grid=grid or None, q=q, include_retired=retired,
                                  limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
                                  viewed_from=request.url.path)  # fmt: skip
    pages = max(1, math.ceil(total / PAGE_SIZE))

    def link(p: int) -> str:
        ask = {"grid": grid, "q": q, "retired": "1" if retired else "", "page": str(p) if p > 1 else ""}
        return "/households?" + urlencode({k: v for k, v in ask.items() if v})

    return render(request, "households.html", actor=who, active="households", title="住户", records=records,
                  total=total, grid=grid, q=q, retired=retired, page=page, pages=pages, link=link,
                  first=(page - 1) * PAGE_SIZE + 1, grids=_grid_choices(session, who), can_write=may(who, "write"),
                  messages=notices(done))  # fmt: skip


# ------------------------------------------------------------------------------------------ 添加住户


def _new_page(request: Request, session: SessionDep, settings: SettingsDep, who: Actor, *, status_code: int = 200,
              messages: Sequence[tuple[str, str]] = (), form: Mapping[str, Any] | None = None) -> Response:  # fmt: skip
    return render(request, "household_new.html", actor=who, active="households", title="添加住户",
                  status_code=status_code, messages=list(messages), form=form or {},
                  kinds=words_of(session, "household_kinds"), today=day_of(None, settings.timezone))  # fmt: skip


@router.get("/households/new")
def household_new_page(request: Request, session: SessionDep, settings: SettingsDep, who: EditorDep) -> Response:
    """The form to add a household (code, kind, address, building, place, the day it came)."""
    return _new_page(request, session, settings, who)


@router.post("/households/new")
def household_add(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: EditorDep,
    form: Annotated[HouseholdForm, Form()],
) -> Response:
    """Add a household; its grid follows from its place (or its building's)."""

    def write() -> Done:
        rec = create_record(session, "households", {"code": form.code, **form.values()}, who,
                            effective=effective_day(form.effective, settings.timezone),
                            timezone=settings.timezone)  # fmt: skip
        where = f"（{rec.grid_name} {rec.grid_code}）" if rec.grid_code else "（不在任何网格内）"
        return Done(_household_url(rec.code), f"已添加户 {rec.code}{where}")

    return run_form(session, write, what="未添加", again=partial(_new_page, request, session, settings, who),
                    keep={"form": form.model_dump()})  # fmt: skip


# ------------------------------------------------------------------------------------------ one household


def _household_page(
    request: Request,
    session: Session,
    settings: SettingsDep,
    who: Actor,
    code: str,
    *,
    status_code: int = 200,
    messages: Sequence[tuple[str, str]] = (),
    edit: Mapping[str, Any] | None = None,
    add: Mapping[str, Any] | None = None,
) -> Response:
    rec = get_record(session, "households", code, who, viewed_from=request.url.path)
    residents, _ = list_records(session, "persons", who, household=rec.code, include_retired=True, limit=MAX_PAGE,
                                viewed_from=request.url.path)  # fmt: skip
    residents.sort(key=lambda p: (p.retired, p.code))
    kind = KINDS["households"]
    history = versions_of(session, kind, record_history(session, "households", rec.code, who))
    values = rec.values
    current = {"kind": values["kind"], "address": values.get("address") or "",
               "building_code": values.get("building_code") or "", "lon": _coord(values.get("lon")),
               "lat": _coord(values.get("lat"))}  # fmt: skip
    return render(request, "household.html", actor=who, active="households", title=f"户 {rec.code} · 住户",
                  status_code=status_code, messages=list(messages), rec=rec, residents=residents, history=history,
                  edit={**current, **(edit or {})}, add=add or {}, kinds=words_of(session, "household_kinds"),
                  sexes=SEXES.terms, member_types=MEMBER_TYPES.terms, tags=words_of(session, "person_tags"),
                  reasons=HOUSEHOLD_REASONS, other=OTHER, today=day_of(None, settings.timezone),
                  can_write=may(who, "write"))  # fmt: skip


def _coord(value: float | None) -> str:
    return "" if value is None else f"{value:.7f}"


@router.get("/households/{code}")
def household_page(request: Request, session: SessionDep, settings: SettingsDep, who: PersonalDep, code: str,
                   done: DoneQuery = None) -> Response:  # fmt: skip
    """One household: its fields, residents and history, and the forms to edit it, add a resident, move it out."""
    return _household_page(request, session, settings, who, code, messages=notices(done))


def _household_url(code: str) -> str:
    return f"/households/{quote(code)}"


_household_write = page_write(_household_page, _household_url)  # one write on a household: back to its page


def _save(request: Request, session: Session, settings: SettingsDep, who: Actor, kind: str, code: str,
          form: HouseholdForm | PersonForm) -> tuple[str, Record]:  # fmt: skip
    """Save the fields of an edit form that differ from the record's (on the version read): what changed, as the
    notice names it (empty: nothing), and the record."""
    rules = KINDS[kind]
    current = get_record(session, kind, code, who, viewed_from=request.url.path)
    changes = changed(session, rules, current, form.values())
    rec = update_record(session, kind, code, changes, who, expected_version=form.version,
                        effective=effective_day(form.effective, settings.timezone),
                        timezone=settings.timezone)  # fmt: skip
    return "、".join(dict.fromkeys("位置" if n in ("lon", "lat") else rules.field(n).label for n in changes)), rec


@router.post("/households/{code}/edit")
def household_edit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: EditorDep,
    code: str,
    form: Annotated[HouseholdForm, Form()],
) -> Response:
    """Change a household (the version read must still be the current one: else 412, nothing written)."""

    def write() -> str:
        labels, rec = _save(request, session, settings, who, "households", code, form)
        return f"已保存户 {code} 的修改（{labels}），现为第 {rec.version} 版" if labels else "未作改动"

    return _household_write(request, session, settings, who, code, write, "未保存", edit=form.values())


@router.post("/households/{code}/retire")
def household_retire(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: EditorDep,
    code: str,
    form: Annotated[RetireForm, Form()],
) -> Response:
    """Move a household out (迁出/注销) with a reason and a day; its residents end with it."""

    def write() -> str:
        rec = _retire(session, settings, who, "households", code, form)
        return f"户 {code} 已注销（{rec.end_reason}），其在册人员一并注销"

    return _household_write(request, session, settings, who, code, write, "未注销")


@router.post("/households/{code}/persons")
def household_add_person(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: EditorDep,
    code: str,
    form: Annotated[PersonForm, Form()],
) -> Response:
    """Add a resident to the household."""

    def write() -> str:
        rec = create_record(session, "persons", {"code": form.code, "household_code": code, **form.values()}, who,
                            effective=effective_day(form.effective, settings.timezone),
                            timezone=settings.timezone)  # fmt: skip
        return f"已添加人员 {rec.values['name']}（{rec.code}）"

    return _household_write(request, session, settings, who, code, write, "未添加人员", add=form.model_dump())


def _retire(session: Session, settings: SettingsDep, who: Actor, kind: str, code: str, form: RetireForm) -> Record:
    """Retire a household or a resident as the retire form says (reason, day, version read)."""
    return retire_record(session, kind, code, who, reason=end_reason(form.reason, form.reason_other),
                         expected_version=form.version, effective=effective_day(form.effective, settings.timezone),
                         timezone=settings.timezone)  # fmt: skip


# ------------------------------------------------------------------------------------------ one person


def _person_page(
    request: Request,
    session: Session,
    settings: SettingsDep,
    who: Actor,
    code: str,
    *,
    status_code: int = 200,
    messages: Sequence[tuple[str, str]] = (),
    edit: Mapping[str, Any] | None = None,
    move: Mapping[str, Any] | None = None,
) -> Response:
    rec = get_record(session, "persons", code, who, viewed_from=request.url.path)
    kind = KINDS["persons"]
    history = versions_of(session, kind, record_history(session, "persons", rec.code, who))
    v = rec.values
    current = {f.name: ("；".join(v.get(f.name) or []) if f.kind == "tags" else v.get(f.name))
               for f in kind.fields if f.name not in ("code", "household_code")}  # fmt: skip
    current = {k: ("" if val is None else val) for k, val in current.items()}
    return render(request, "person.html", actor=who, active="households", title=f"{v['name']} · 人员",
                  status_code=status_code, messages=list(messages), rec=rec, kind=kind, history=history,
                  edit={**current, **(edit or {})}, move=move or {}, sexes=SEXES.terms,
                  member_types=MEMBER_TYPES.terms, tags=words_of(session, "person_tags"), reasons=PERSON_REASONS,
                  other=OTHER, today=day_of(None, settings.timezone), can_write=may(who, "write"),
                  shown=shown)  # fmt: skip


@router.get("/persons/{code}")
def person_page(request: Request, session: SessionDep, settings: SettingsDep, who: PersonalDep, code: str,
                done: DoneQuery = None) -> Response:  # fmt: skip
    """One resident: fields, history, and the forms to edit, move to another household, retire."""
    return _person_page(request, session, settings, who, code, messages=notices(done))


def _person_url(code: str) -> str:
    return f"/persons/{quote(code)}"


_person_write = page_write(_person_page, _person_url)  # one write on a resident: back to their page


@router.post("/persons/{code}/edit")
def person_edit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: EditorDep,
    code: str,
    form: Annotated[PersonForm, Form()],
) -> Response:
    """Change a resident's fields (the version read must still be the current one)."""

    def write() -> str:
        labels, rec = _save(request, session, settings, who, "persons", code, form)
        return f"已保存修改（{labels}），现为第 {rec.version} 版" if labels else "未作改动"

    return _person_write(request, session, settings, who, code, write, "未保存", edit=form.values())


@router.post("/persons/{code}/move")
def person_move(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: EditorDep,
    code: str,
    form: Annotated[MoveForm, Form()],
) -> Response:
    """Move a resident to another household (by its code)."""

    def write() -> str:
        target = form.household_code.strip()
        if not target:
            raise InvalidInput("请填写迁入的户编码")
        rec = update_record(session, "persons", code, {"household_code": target}, who,
                            expected_version=form.version,
                            effective=effective_day(form.effective, settings.timezone),
                            timezone=settings.timezone)  # fmt: skip
        return f"已迁入户 {rec.values['household_code']}（{rec.values.get('address') or '无地址'}）"

    return _person_write(request, session, settings, who, code, write, "未迁移", move=form.model_dump())


@router.post("/persons/{code}/retire")
def person_retire(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: EditorDep,
    code: str,
    form: Annotated[RetireForm, Form()],
) -> Response:
    """Retire a resident (死亡, 搬离 …) as of a day."""

    def write() -> str:
        return f"人员 {code} 已注销（{_retire(session, settings, who, 'persons', code, form).end_reason}）"

    return _person_write(request, session, settings, who, code, write, "未注销")
