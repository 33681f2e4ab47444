"""党建 pages: the hub (/party), the organisations as a tree under the user's scope (with what the rules say of
each one's form), a new organisation, one organisation (posts, members, sub-organisations, member units,
history, edit and dissolve), the members (filtered to what needs doing) and one member (organisations over time,
registers, 联系户 and visits), the resident units and one unit, the households no member links, and the Excel
imports with their templates.

All of it is Party data: the pages need personal data rights (viewers and patrol leaders get 403), names show
only inside the user's scope and every page that shows them is logged (the services do both). The services do
every write and check its scope; a refused form comes back with the reason in Chinese and what was typed, a done
one redirects (303) with a notice.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from gridgov.api.dependencies import EditorDep, PersonalDep, SessionDep, SettingsDep, Throttled
from gridgov.api.uploads import save_upload
from gridgov.auth.scope import Actor
from gridgov.config import Settings
from gridgov.errors import InvalidInput
from gridgov.history import day_of
from gridgov.party import contacts, imports, members, orgs, registers, units
from gridgov.party.rules import PartyRules
from gridgov.vocab import PARTY_FLOW_MODES, PARTY_FLOWS, PARTY_ORG_FORMS, PARTY_ORG_KINDS, PARTY_POSTS, UNIT_KINDS
from gridgov.web.forms import (
    OTHER,
    Done,
    DoneQuery,
    RetireForm,
    Short,
    end_reason,
    form_day,
    notices,
    page_write,
    refused,
    run_form,
)
from gridgov.web.pages.patrol_teams import history_lines
from gridgov.web.templating import render
from gridgov.web.versioned_pages import add_edit_page, add_retire_page

router = APIRouter(include_in_schema=False)

Typed = Annotated[str | None, Field(max_length=200)]
GridQuery = Annotated[str | None, Query(max_length=40)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# (title, link, what it is for): the hub's sections; 志愿服务 and 合规检查 are their own pages.
SECTIONS = (
    ("党组织", "/party/orgs", "党委、党总支、党支部、党小组的组织树：所建网格、书记、党员人数，组织形式是否相符。"),
    ("党员", "/party/members", "党员名单与登记：在职党员报到、流动党员活动证、亮身份，组织关系转接。"),
    ("党员联系户", "/party/contacts", "每名党员联系 1–3 户，走访记录；未被任何党员联系的住户。"),
    ("驻区单位与两新组织", "/party/units", "驻区单位、两新组织的位置、党建联系人，加入社区大党委（1+X）。"),
    ("志愿服务与会议", "/party/activity", "志愿服务队与活动、三会一课等会议、党员责任区。"),
    ("合规检查", "/party/check", "按党建网格的各项规定逐条检查，列出不合格的组织、网格和党员。"),
    ("数据导入", "/party/import", "从 Excel 导入党组织、党员组织关系和党员联系户（附模板）。"),
)
ORG_REASONS = ("合并", "调整", "换届改建", "录入错误", OTHER)
UNIT_REASONS = ("搬迁", "注销", "录入错误", OTHER)
ORG_LABELS = orgs.FIELD_LABELS


# ------------------------------------------------------------------------------------------------ forms


class OrgForm(BaseModel):
    """The fields of the add and edit forms of an organisation (a browser sends every field; a field a request
    does not send is left as it is)."""

    code: Typed = None
    name: Typed = None
    kind: Typed = None
    form: Typed = None
    parent: Typed = None
    grids: Typed = None
    unit: Typed = None
    secretary: Typed = None
    phone: Typed = None
    founded_on: Typed = None
    effective: Short = ""
    version: int | None = None

    def changes(self, current: orgs.Org) -> dict[str, str]:
        """The fields sent whose value differs from the organisation's (the secretary as the page showed it)."""
        now = {"name": current.name, "kind": current.kind, "form": current.form, "parent": current.parent_code,
               "grids": "、".join(current.grid_codes), "unit": current.unit_code,
               "secretary": current.secretary_code, "phone": current.phone,
               "founded_on": current.founded_on.isoformat() if current.founded_on else None}  # fmt: skip
        typed = self.model_dump(include=set(now), exclude_none=True)
        if typed.get("grids"):
            typed["grids"] = "、".join(c for c in orgs.SPLIT.split(typed["grids"]) if c)
        return {k: v.strip() for k, v in typed.items() if v.strip() != (now[k] or "")}


class PersonForm(BaseModel):
    """A member and a day: joining an organisation, taking a post (``post``, ``unit``)."""

    person: Short = ""
    org: Short = ""
    post: Short = ""
    unit: Short = ""
    day: Short = ""


class RegisterForm(BaseModel):
    """A member's registers as the form sends them (a field not sent is left as it is; the page sends
    ``shows_identity`` false before its checkbox)."""

    joined_party_on: Typed = None
    employer: Typed = None
    employer_org: Typed = None
    reported_on: Typed = None
    flow: Typed = None
    flow_place: Typed = None
    certificate_no: Typed = None
    certificate_on: Typed = None
    flow_mode: Typed = None
    shows_identity: bool | None = None


class LinkForm(BaseModel):
    """A link to a household, or a visit to it."""

    household: Short = ""
    day: Short = ""
    note: Annotated[str, Field(max_length=1000)] = ""


class UnitForm(BaseModel):
    """The fields of the add and edit forms of a unit (a field a request does not send is left as it is; the page
    sends ``has_party_org`` false before its checkbox)."""

    code: Typed = None
    name: Typed = None
    kind: Typed = None
    address: Typed = None
    lon: Typed = None
    lat: Typed = None
    crs: Typed = None
    contact_name: Typed = None
    contact_phone: Typed = None
    has_party_org: bool | None = None
    version: int | None = None

    def values(self) -> dict[str, Any]:
        """The unit's fields as sent."""
        return self.model_dump(exclude={"code", "version"}, exclude_none=True)


# ------------------------------------------------------------------------------------------------ helpers


def _page(request: Request, who: Actor, template: str, title: str, **context: Any) -> Response:
    return render(request, template, actor=who, active="party", title=title, **context)


def _url(kind: str, code: str) -> str:
    return f"/party/{kind}/{quote(code, safe='')}"


def _choices(session: Session, who: Actor) -> dict[str, Any]:
    """What the forms offer: vocabularies, the organisations and grids the user may name, the units."""
    return {"kinds": PARTY_ORG_KINDS.terms, "forms": PARTY_ORG_FORMS.terms, "posts": PARTY_POSTS.terms,
            "flows": PARTY_FLOWS.terms, "flow_modes": PARTY_FLOW_MODES.terms, "unit_kinds": UNIT_KINDS.terms,
            "org_choices": orgs.org_choices(session, who), "grid_choices": orgs.grid_choice_codes(session, who),
            "unit_choices": [(u.code, u.name) for u in units.list_units(session, who)],
            "member_reasons": orgs.MEMBER_END_REASONS, "post_reasons": orgs.POST_END_REASONS,
            "other": OTHER}  # fmt: skip


# ------------------------------------------------------------------------------------------------ hub


@router.get("/party")
def party_home(request: Request, who: PersonalDep) -> Response:
    """The Party pages, as the work goes: organisations, members, 联系户, units, activity, the check, imports."""
    return _page(request, who, "party.html", "党建网格", sections=SECTIONS)


# ------------------------------------------------------------------------------------------------ organisations


@router.get("/party/orgs")
def orgs_page(request: Request, session: SessionDep, settings: SettingsDep, who: PersonalDep, grid: GridQuery = None,
              retired: bool = False, as_of: Annotated[str, Query(max_length=10)] = "",
              done: DoneQuery = None) -> Response:  # fmt: skip
    """The organisations under the user's scope (or a grid in it) as a tree, with what the rules say of each."""
    from gridgov.periods import as_of_moment

    moment = as_of_moment(form_day(as_of), settings.timezone)
    found = orgs.list_orgs(session, who, parent=grid or None, include_retired=retired, as_of_moment=moment,
                           page=request.url.path, timezone=settings.timezone)  # fmt: skip
    rules = PartyRules.of(settings)
    tree = [(depth, o, orgs.kind_advice(rules, o.kind, o.members_total)) for depth, o in orgs.org_tree(found)]
    return _page(request, who, "party_orgs.html", "党组织", tree=tree, grid=grid or "", retired=retired,
                 as_of=as_of, messages=notices(done), grid_choices=orgs.grid_choice_codes(session, who),
                 rules=rules)  # fmt: skip


def _new_org_page(request: Request, session: Session, who: Actor, *, status_code: int = 200,
                  messages: Sequence[tuple[str, str]] = (),
                  form: Mapping[str, Any] | None = None) -> Response:  # fmt: skip
    return render(request, "party_org_new.html", actor=who, active="party", title="新建党组织",
                  status_code=status_code, messages=list(messages), form=form or {},
                  **_choices(session, who))  # fmt: skip


@router.get("/party/orgs/new")
def org_new_page(request: Request, session: SessionDep, who: EditorDep,
                 parent: Annotated[str, Query(max_length=40)] = "") -> Response:  # fmt: skip
    """The form to add an organisation (under ``parent`` when given)."""
    return _new_org_page(request, session, who, form={"parent": parent})


@router.post("/party/orgs/new")
def org_add(request: Request, session: SessionDep, settings: SettingsDep, who: EditorDep,
            form: Annotated[OrgForm, Form()]) -> Response:  # fmt: skip
    """Add an organisation."""

    def write() -> Done:
        org = orgs.create_org(session, who, code=form.code or "", name=form.name or "", kind=form.kind or "",
                              form=form.form or "", parent=form.parent or None, grids=form.grids or (),
                              unit=form.unit or None,
                              secretary=form.secretary or None, phone=form.phone or None,
                              founded_on=form.founded_on or None, effective=form_day(form.effective),
                              timezone=settings.timezone)  # fmt: skip
        return Done(_url("orgs", org.code), f"已新建党组织 {org.code} {org.name}")

    return run_form(session, write, what="未新建", again=partial(_new_org_page, request, session, who),
                    keep={"form": form.model_dump()})  # fmt: skip


def _org_page(request: Request, session: Session, settings: Settings, who: Actor, code: str, *,
              status_code: int = 200, messages: Sequence[tuple[str, str]] = (),
              edit: Mapping[str, Any] | None = None, typed: Mapping[str, Any] | None = None) -> Response:  # fmt: skip
    detail = orgs.org_detail(session, code, who, page=request.url.path, timezone=settings.timezone)
    o = detail.org
    current = {"name": o.name, "kind": o.kind, "form": o.form, "parent": o.parent_code or "",
               "grids": "、".join(o.grid_codes), "unit": o.unit_code or "", "secretary": o.secretary_code or "",
               "phone": o.phone or "", "founded_on": o.founded_on.isoformat() if o.founded_on else ""}  # fmt: skip
    history = history_lines(session, detail.history, orgs.org_changes)
    advice = orgs.kind_advice(PartyRules.of(settings), o.kind, o.members_total)
    return render(request, "party_org.html", actor=who, active="party", title=f"{o.name} · 党组织",
                  status_code=status_code, messages=list(messages), d=detail, org=o, history=history, advice=advice,
                  edit={**current, **(edit or {})}, typed=typed or {}, today=day_of(None, settings.timezone),
                  reasons=ORG_REASONS, **_choices(session, who))  # fmt: skip


@router.get("/party/orgs/{code}")
def org_page(request: Request, session: SessionDep, settings: SettingsDep, who: PersonalDep, code: str,
             done: DoneQuery = None) -> Response:  # fmt: skip
    """One organisation: its fields, posts, members, sub-organisations, member units and history, and the forms."""
    return _org_page(request, session, settings, who, code, messages=notices(done))


_org_write = page_write(_org_page, partial(_url, "orgs"))  # one write on an organisation: back to its page

add_edit_page(router, "/party/orgs/{code}/edit", name="org_edit", writer=EditorDep, form_model=OrgForm,
              get=orgs.get_org, update=orgs.update_org, labels=ORG_LABELS, run=_org_write,
              doc="Change an organisation (the version read must still be the current one).")  # fmt: skip
add_retire_page(router, "/party/orgs/{code}/dissolve", name="org_dissolve", writer=EditorDep, form_model=RetireForm,
                retire=orgs.dissolve_org, noun="党组织", run=_org_write,
                doc="Dissolve an organisation as of a day (its posts and memberships end that day).")  # fmt: skip


@router.post("/party/orgs/{code}/members")
def org_join(request: Request, session: SessionDep, settings: SettingsDep, who: EditorDep, code: str,
             form: Annotated[PersonForm, Form()]) -> Response:  # fmt: skip
    """A member joins the organisation from a day (their membership elsewhere ends that day)."""

    def write() -> str:
        m = orgs.join_org(session, form.person, code, who, since=form_day(form.day), timezone=settings.timezone)
        return f"已编入：{m.person_name}（{m.person_code}），自 {m.since:%Y-%m-%d} 起"

    return _org_write(request, session, settings, who, code, write, "未编入", typed=form.model_dump())


def _leave(session: Session, settings: Settings, who: Actor, person: str, form: RetireForm) -> orgs.Membership:
    """A member leaves their organisation as the end form says (reason, day)."""
    return orgs.leave_org(session, person, who, reason=end_reason(form.reason, form.reason_other),
                          until=form_day(form.day), timezone=settings.timezone)  # fmt: skip


@router.post("/party/orgs/{code}/members/{person}/leave")
def org_leave(request: Request, session: SessionDep, settings: SettingsDep, who: EditorDep, code: str, person: str,
              form: Annotated[RetireForm, Form()]) -> Response:  # fmt: skip
    """A member leaves the organisation from a day, with a reason."""

    def write() -> str:
        m = _leave(session, settings, who, person, form)
        return f"{m.person_name}（{m.person_code}）自 {m.until:%Y-%m-%d} 起离开 {m.org_code}（{m.end_reason}）"

    return _org_write(request, session, settings, who, code, write, "未办理")


@router.post("/party/orgs/{code}/posts")
def post_add(request: Request, session: SessionDep, settings: SettingsDep, who: EditorDep, code: str,
             form: Annotated[PersonForm, Form()]) -> Response:  # fmt: skip
    """Someone takes a post of the organisation from a day."""

    def write() -> str:
        p = orgs.add_post(session, code, who, post=form.post, holder_code=form.person, unit=form.unit or None,
                          since=form_day(form.day), timezone=settings.timezone)  # fmt: skip
        return f"已任职：{p.post} {p.holder_name}（{p.holder_code}），自 {p.since:%Y-%m-%d} 起"

    return _org_write(request, session, settings, who, code, write, "未任职", typed=form.model_dump())


@router.post("/party/orgs/{code}/posts/{post_id}/end")
def post_end(request: Request, session: SessionDep, settings: SettingsDep, who: EditorDep, code: str, post_id: int,
             form: Annotated[RetireForm, Form()]) -> Response:  # fmt: skip
    """A post ends on a day."""

    def write() -> str:
        p = orgs.end_post(session, code, post_id, who, until=form_day(form.day),
                          reason=end_reason(form.reason or "换届", form.reason_other),
                          timezone=settings.timezone)  # fmt: skip
        return f"{p.post} {p.holder_name} 自 {p.until:%Y-%m-%d} 起不再担任（{p.end_reason}）"

    return _org_write(request, session, settings, who, code, write, "未结束")


# ------------------------------------------------------------------------------------------------ members


@router.get("/party/members")
def members_page(request: Request, session: SessionDep, who: PersonalDep, grid: GridQuery = None,
                 show: Annotated[str, Query(max_length=20)] = "all", done: DoneQuery = None) -> Response:  # fmt: skip
    """The members under the user's scope (or a grid in it): all, or those with something to do."""
    rows, total = members.list_members(session, who, parent=grid or None, show=show, page=request.url.path)
    return _page(request, who, "party_members.html", "党员", rows=rows, total=total, grid=grid or "", show=show,
                 shows=members.SHOWS, messages=notices(done),
                 grid_choices=orgs.grid_choice_codes(session, who))  # fmt: skip


def _member_page(request: Request, session: Session, settings: Settings, who: Actor, code: str, *,
                 status_code: int = 200, messages: Sequence[tuple[str, str]] = (),
                 register: Mapping[str, Any] | None = None,
                 typed: Mapping[str, Any] | None = None) -> Response:  # fmt: skip
    profile = members.member_profile(session, code, who, page=request.url.path, timezone=settings.timezone)
    rules = PartyRules.of(settings)
    current = {k: ("" if v is None else v.isoformat() if hasattr(v, "isoformat") else v)
               for k, v in profile.register.as_dict().items() if k in registers.REGISTER_FIELDS}  # fmt: skip
    return render(request, "party_member.html", actor=who, active="party",
                  title=f"{profile.member.name} · 党员", status_code=status_code, messages=list(messages),
                  profile=profile, register={**current, **(register or {})}, typed=typed or {},
                  today=day_of(None, settings.timezone), rules=rules, rule_text=contacts.rule_text(rules),
                  current_org=next((m for m in profile.memberships if m.in_force), None),
                  **_choices(session, who))  # fmt: skip


@router.get("/party/members/{code}")
def member_page(request: Request, session: SessionDep, settings: SettingsDep, who: PersonalDep, code: str,
                done: DoneQuery = None) -> Response:  # fmt: skip
    """One member: organisations over time, registers, 联系户 and visits, and the forms to change them."""
    return _member_page(request, session, settings, who, code, messages=notices(done))


_member_write = page_write(_member_page, partial(_url, "members"))  # one write on a member: back to their page


@router.post("/party/members/{code}/join")
def member_join(request: Request, session: SessionDep, settings: SettingsDep, who: EditorDep, code: str,
                form: Annotated[PersonForm, Form()]) -> Response:  # fmt: skip
    """The member joins an organisation from a day (转入: the current membership ends that day)."""

    def write() -> str:
        m = orgs.join_org(session, code, form.org, who, since=form_day(form.day), timezone=settings.timezone)
        return f"已编入 {m.org_name}（{m.org_code}），自 {m.since:%Y-%m-%d} 起"

    return _member_write(request, session, settings, who, code, write, "未编入", typed=form.model_dump())


@router.post("/party/members/{code}/leave")
def member_leave(request: Request, session: SessionDep, settings: SettingsDep, who: EditorDep, code: str,
                 form: Annotated[RetireForm, Form()]) -> Response:  # fmt: skip
    """The member leaves their organisation from a day, with a reason (转出, 去世 …)."""

    def write() -> str:
        m = _leave(session, settings, who, code, form)
        return f"自 {m.until:%Y-%m-%d} 起离开 {m.org_name}（{m.end_reason}）"

    return _member_write(request, session, settings, who, code, write, "未办理")


@router.post("/party/members/{code}/register")
def member_register(request: Request, session: SessionDep, settings: SettingsDep, who: EditorDep, code: str,
                    form: Annotated[RegisterForm, Form()]) -> Response:  # fmt: skip
    """Save the member's registers (every field as the form shows it)."""

    def write() -> str:
        registers.set_register(session, code, form.model_dump(exclude_none=True), who, timezone=settings.timezone)
        return "已保存党员登记信息"

    return _member_write(request, session, settings, who, code, write, "未保存",
                         register=form.model_dump(exclude_none=True))


@router.post("/party/members/{code}/contacts")
def member_link(request: Request, session: SessionDep, settings: SettingsDep, who: EditorDep, code: str,
                form: Annotated[LinkForm, Form()]) -> Response:  # fmt: skip
    """Link the member to a household (refused beyond PartySettings.party_contacts_max, quoting the rule)."""

    def write() -> str:
        x = contacts.link_household(session, code, form.household, who, rules=PartyRules.of(settings),
                                    since=form_day(form.day), timezone=settings.timezone)  # fmt: skip
        return f"已联系户 {x.household_code}{f'（{x.address}）' if x.address else ''}，自 {x.since:%Y-%m-%d} 起"

    return _member_write(request, session, settings, who, code, write, "未联系", typed=form.model_dump())


@router.post("/party/members/{code}/contacts/{household}/unlink")
def member_unlink(request: Request, session: SessionDep, settings: SettingsDep, who: EditorDep, code: str,
                  household: str) -> Response:  # fmt: skip
    """Remove the member's link to a household (visits stay)."""

    def write() -> str:
        x = contacts.unlink_household(session, code, household, who)
        return f"已取消联系户 {x.household_code}"

    return _member_write(request, session, settings, who, code, write, "未取消")


@router.post("/party/members/{code}/contacts/{household}/visit")
def member_visit(request: Request, session: SessionDep, settings: SettingsDep, who: EditorDep, code: str,
                 household: str, form: Annotated[LinkForm, Form()]) -> Response:  # fmt: skip
    """Record the member's visit to a household they link."""

    def write() -> str:
        v = contacts.record_visit(session, code, household, who, day=form_day(form.day), note=form.note,
                                  timezone=settings.timezone)  # fmt: skip
        return f"已登记 {v.visited_on:%Y-%m-%d} 走访户 {v.household_code}"

    return _member_write(request, session, settings, who, code, write, "未登记")


# ------------------------------------------------------------------------------------------------ 联系户


@router.get("/party/contacts")
def contacts_page(request: Request, session: SessionDep, settings: SettingsDep, who: PersonalDep,
                  grid: GridQuery = None) -> Response:  # fmt: skip
    """The households under the user's scope (or a grid in it) no Party member links, and the members who link
    none."""
    homes, total = contacts.unlinked_households(session, who, parent=grid or None, page=request.url.path)
    loose, loose_total = members.list_members(session, who, parent=grid or None, show="unlinked",
                                              page=request.url.path)  # fmt: skip
    rules = PartyRules.of(settings)
    return _page(request, who, "party_contacts.html", "党员联系户", homes=homes, total=total, loose=loose,
                 loose_total=loose_total, grid=grid or "", rule_text=contacts.rule_text(rules),
                 grid_choices=orgs.grid_choice_codes(session, who))  # fmt: skip


# ------------------------------------------------------------------------------------------------ units


def _units_page(request: Request, session: Session, who: Actor, *, include_retired: bool = False,
                status_code: int = 200, messages: Sequence[tuple[str, str]] = (),
                form: Mapping[str, Any] | None = None) -> Response:  # fmt: skip
    found = units.list_units(session, who, include_retired=include_retired, page=request.url.path)
    return render(request, "party_units.html", actor=who, active="party", title="驻区单位与两新组织",
                  status_code=status_code, messages=list(messages), units=found, include_retired=include_retired,
                  form=form or {}, unit_kinds=UNIT_KINDS.terms)  # fmt: skip


@router.get("/party/units")
def units_page(request: Request, session: SessionDep, who: PersonalDep, retired: bool = False,
               done: DoneQuery = None) -> Response:  # fmt: skip
    """The resident units and 两新 organisations under the user's scope, and the form to add one."""
    return _units_page(request, session, who, include_retired=retired, messages=notices(done))


@router.post("/party/units")
def unit_add(request: Request, session: SessionDep, settings: SettingsDep, who: EditorDep,
             form: Annotated[UnitForm, Form()]) -> Response:  # fmt: skip
    """Add a unit (its grid follows from its place)."""

    def write() -> Done:
        u = units.create_unit(session, who, code=form.code or "", **{"name": "", "kind": "", "lon": None,
                                                                      "lat": None, **form.values()},
                              timezone=settings.timezone)  # fmt: skip
        return Done(_url("units", u.code), f"已新建 {u.code} {u.name}（{u.grid_name or '不在任何网格内'}）")

    return run_form(session, write, what="未新建", again=partial(_units_page, request, session, who),
                    keep={"form": form.model_dump()})  # fmt: skip


def _unit_page(request: Request, session: Session, settings: Settings, who: Actor, code: str, *,
               status_code: int = 200, messages: Sequence[tuple[str, str]] = (),
               edit: Mapping[str, Any] | None = None) -> Response:  # fmt: skip
    unit = units.get_unit(session, code, who, page=request.url.path)
    history = history_lines(session, units.unit_history(session, unit.code, who), units.unit_changes)
    current = {"name": unit.name, "kind": unit.kind, "address": unit.address or "", "lon": unit.lon or "",
               "lat": unit.lat or "", "crs": "", "contact_name": unit.contact_name or "",
               "contact_phone": unit.contact_phone or "", "has_party_org": unit.has_party_org}  # fmt: skip
    committees = orgs.org_choices(session, who, forms=(units.GRAND_COMMITTEE_FORM,))
    return render(request, "party_unit.html", actor=who, active="party", title=f"{unit.name} · 驻区单位",
                  status_code=status_code, messages=list(messages), unit=unit, history=history,
                  edit={**current, **(edit or {})}, unit_kinds=UNIT_KINDS.terms, committees=committees,
                  reasons=UNIT_REASONS, other=OTHER, today=day_of(None, settings.timezone))


@router.get("/party/units/{code}")
def unit_page(request: Request, session: SessionDep, settings: SettingsDep, who: PersonalDep, code: str,
              done: DoneQuery = None) -> Response:  # fmt: skip
    """One unit: its fields, Party contact, the 大党委 it joined, its history, and the forms to change it."""
    return _unit_page(request, session, settings, who, code, messages=notices(done))


_unit_write = page_write(_unit_page, partial(_url, "units"))  # one write on a unit: back to its page


@router.post("/party/units/{code}/edit")
def unit_edit(request: Request, session: SessionDep, settings: SettingsDep, who: EditorDep, code: str,
              form: Annotated[UnitForm, Form()]) -> Response:  # fmt: skip
    """Change a unit (the version read must still be the current one); a new place moves it to its grid."""

    def write() -> str:
        current = units.get_unit(session, code, who)
        now = {"name": current.name, "kind": current.kind, "address": current.address or "",
               "contact_name": current.contact_name or "", "contact_phone": current.contact_phone or "",
               "has_party_org": current.has_party_org}  # fmt: skip
        typed = form.values()
        changes = {k: v for k, v in typed.items() if k in now and v != now[k]}
        place = (typed.get("lon", str(current.lon)), typed.get("lat", str(current.lat)))
        if place != (str(current.lon), str(current.lat)):
            changes |= {"lon": place[0], "lat": place[1], "crs": typed.get("crs")}
        unit = units.update_unit(session, code, changes, who, expected_version=form.version,
                                 timezone=settings.timezone)  # fmt: skip
        return f"已保存修改，现为第 {unit.version} 版" if changes else "未作改动"

    return _unit_write(request, session, settings, who, code, write, "未保存", edit=form.model_dump())


add_retire_page(router, "/party/units/{code}/retire", name="unit_retire", writer=EditorDep, form_model=RetireForm,
                retire=units.retire_unit, noun="", run=_unit_write, doc="Retire a unit as of a day.")  # fmt: skip


@router.post("/party/units/{code}/join")
def unit_join(request: Request, session: SessionDep, settings: SettingsDep, who: EditorDep, code: str,
              form: Annotated[PersonForm, Form()]) -> Response:  # fmt: skip
    """The unit joins a community 大党委 from a day, or (no organisation chosen) leaves the one it joined."""

    def write() -> str:
        u = units.join_unit(session, code, who, org=form.org or None, joined_on=form.day or None,
                            timezone=settings.timezone)  # fmt: skip
        return f"已加入 {u.member_of_name}（{u.member_of_code}）" if u.member_of_code else "已退出大党委"

    return _unit_write(request, session, settings, who, code, write, "未办理")


# ------------------------------------------------------------------------------------------------ imports


def _import_page(request: Request, who: Actor, *, status_code: int = 200, messages: Sequence[tuple[str, str]] = (),
                 report: imports.PartyImportReport | None = None, kind: str = "orgs") -> Response:  # fmt: skip
    return render(request, "party_import.html", actor=who, active="party", title="党建数据导入",
                  status_code=status_code, messages=list(messages), kinds=imports.KINDS, kind=kind, report=report,
                  columns=imports.COLUMNS, meaning=imports.MEANING)  # fmt: skip


@router.get("/party/import")
def import_page(request: Request, who: EditorDep) -> Response:
    """The import form, the templates and what each column means."""
    return _import_page(request, who)


@router.post("/party/import", dependencies=[Throttled])
def import_upload(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: EditorDep,
    kind: Annotated[str, Form(max_length=20)] = "orgs",
    dry_run: Annotated[bool, Form()] = False,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Import an uploaded file (all or nothing): the report with the rows refused, or what was written."""
    if kind not in imports.KINDS:
        raise InvalidInput(f"未知的导入类型：{kind}")
    try:
        if file is None or not file.filename:
            raise InvalidInput("请选择要导入的文件（XLSX 或 CSV）")
        with save_upload(file, settings.max_upload_mb) as path, session.begin_nested():
            report = imports.import_file(session, who, kind, path, rules=PartyRules.of(settings), dry_run=dry_run,
                                         timezone=settings.timezone)  # fmt: skip
    except InvalidInput as exc:
        return _import_page(request, who, kind=kind, **refused(exc, "未导入"))
    if report.refused:
        message = ("danger", f"{report.file}：已拒绝，未写入任何数据（{report.error_count} 处错误，见下表）")
        return _import_page(request, who, kind=kind, report=report, messages=[message], status_code=422)
    what = "检查通过（未写入）" if dry_run else "已导入"
    count = f"{report.imported} 条{imports.KINDS[kind]}，未变 {report.unchanged} 条"
    message = ("success", f"{report.file}：{what} {count}")
    return _import_page(request, who, kind=kind, report=report, messages=[message])


@router.get("/party/import/template/{kind}.xlsx")
def import_template(kind: str, who: EditorDep) -> Response:
    """The Excel template of an import: Chinese headings, one example row, drop-downs and a 说明 sheet."""
    with tempfile.TemporaryDirectory(prefix="gridgov-template-") as tmp:
        data = imports.write_template(kind, Path(tmp) / "template.xlsx").read_bytes()
    name = imports.template_name(kind)
    return Response(data, media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"party-{kind}.xlsx\"; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "no-store"})  # fmt: skip
