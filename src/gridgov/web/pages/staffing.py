"""网格人员: a grid's posts on a day and its other posts (ended, or not begun yet), with the forms to add a post,
end one, change its role (end + add) and hand a post over to another person in one step (``records.roles`` does
the work and the scope rule). Posts held by residents (楼栋长 …) only for readers of personal data in their scope,
and their views are logged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from gridgov.api.dependencies import EditorDep, SessionDep, SettingsDep, ViewerDep
from gridgov.auth.scope import Actor, covers, may
from gridgov.auth.views import log_view
from gridgov.errors import Forbidden, InvalidInput, NotFound
from gridgov.grids.service import get_grid
from gridgov.history import day_of
from gridgov.records.roles import RoleAssignment, add_role, end_role, grid_roles, hand_over
from gridgov.records.service import MAX_PAGE, list_records
from gridgov.terms import stored_vocabulary
from gridgov.vocab import LEVEL_ZH
from gridgov.web.forms import OTHER, DoneQuery, Short, end_reason, form_day, notices, page_write, reasons, words_of
from gridgov.web.templating import render

router = APIRouter(include_in_schema=False)

POST_REASONS = reasons("调离", "离职", "录入错误", OTHER)


class PersonForm(BaseModel):
    """Who takes a post: a staff member on record (by code), or a new one by name and phone; from which day."""

    role: Short = ""
    staff_code: Short = ""
    name: Short = ""
    phone: Short = ""
    day: Short = ""


class EndForm(BaseModel):
    """Ending a post: the reason (from the list, or typed with 其他) and the day the holder no longer holds it."""

    reason: Short = ""
    reason_other: Short = ""
    until: Short = ""


class ChangeForm(BaseModel):
    """Changing a post's role: the new role, from which day."""

    role: Short = ""
    day: Short = ""


def _page(
    request: Request,
    session: Session,
    settings: SettingsDep,
    who: Actor,
    code: str,
    *,
    day_text: str = "",
    status_code: int = 200,
    messages: Sequence[tuple[str, str]] = (),
    form: Mapping[str, Any] | None = None,
) -> Response:
    grid = get_grid(session, code)
    if not covers(session, who, grid.id):
        raise Forbidden(f"超出权限范围：网格 {code} 不在您的范围（{who.scope_code}）内")
    tz = settings.timezone
    today = day_of(None, tz)
    day = form_day(day_text) or today
    on_day = grid_roles(session, code, who, on_day=day, timezone=tz)
    held = {r.id for r in on_day}
    others = [r for r in grid_roles(session, code, who, include_ended=True, timezone=tz) if r.id not in held]
    private = [r for r in (*on_day, *others) if not r.public]
    if private:
        log_view(session, who, "grid_role", code, page=request.url.path, rows=len(private))
    can_write = may(who, "write")
    staff = list_records(session, "staff", who, limit=MAX_PAGE)[0] if can_write else []
    return render(request, "grid_staff.html", actor=who, active="grids", title=f"{grid.name} · 网格人员",
                  status_code=status_code, messages=list(messages), grid=grid, level=LEVEL_ZH[grid.level],
                  day=day, today=today, on_day=on_day, others=others, roles=words_of(session, "staff_roles"),
                  reasons=POST_REASONS, other=OTHER, can_write=can_write, staff=staff,
                  form=form or {})  # fmt: skip


def _staff_url(code: str) -> str:
    return f"/grids/{quote(code)}/staff"


_staff_write = page_write(_page, _staff_url)  # one change of the grid's posts: back to its staff page, or the refusal


def _post_of(session: Session, who: Actor, code: str, role_id: int, timezone: str) -> RoleAssignment:
    """The post ``role_id`` of grid ``code`` (posts of other grids are not found here)."""
    found = next((r for r in grid_roles(session, code, who, include_ended=True, timezone=timezone)
                  if r.id == role_id), None)  # fmt: skip
    if found is None:
        raise NotFound(f"网格 {code} 没有这条任职记录：{role_id}")
    return found


def _who(r: RoleAssignment) -> str:
    return f"{r.staff_name}（{r.staff_code}）" if r.staff_code else r.staff_name


@router.get("/grids/{code}/staff")
def grid_staff_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    code: str,
    day: Annotated[str, Query(max_length=20)] = "",
    done: DoneQuery = None,
) -> Response:
    """The grid's posts on a day (today by default) and its other posts; the forms for those who may edit."""
    return _page(request, session, settings, who, code, day_text=day, messages=notices(done))


@router.post("/grids/{code}/staff")
def grid_staff_add(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: EditorDep,
    code: str,
    form: Annotated[PersonForm, Form()],
) -> Response:
    """Give a staff member (on record, or new by name and phone) a post on the grid from a day."""

    def write() -> str:
        r = add_role(session, who, grid_code=code, role=form.role, staff_code=form.staff_code.strip() or None,
                     name=form.name, phone=form.phone.strip() or None, since=form_day(form.day),
                     timezone=settings.timezone)  # fmt: skip
        return f"已添加：{_who(r)} 自 {r.since:%Y-%m-%d} 起任{r.role}"

    return _staff_write(request, session, settings, who, code, write, "未添加", form={"add": form.model_dump()})


@router.post("/grids/{code}/staff/handover")
def grid_staff_hand_over(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: EditorDep,
    code: str,
    form: Annotated[PersonForm, Form()],
) -> Response:
    """Hand a post over in one step: the current holder's post ends on the day and the new holder's begins."""

    def write() -> str:
        h = hand_over(session, who, grid_code=code, role=form.role, to_staff_code=form.staff_code.strip() or None,
                      to_name=form.name.strip() or None, to_phone=form.phone.strip() or None,
                      on_day=form_day(form.day), timezone=settings.timezone)  # fmt: skip
        before = "、".join(_who(r) for r in h.ended) or "（原无人）"
        return f"{h.started.role}已交接：{before} → {_who(h.started)}，自 {h.started.since:%Y-%m-%d} 起"

    return _staff_write(request, session, settings, who, code, write, "未交接",
                        form={"handover": form.model_dump()})  # fmt: skip


@router.post("/grids/{code}/staff/{role_id}/end")
def grid_staff_end(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: EditorDep,
    code: str,
    role_id: int,
    form: Annotated[EndForm, Form()],
) -> Response:
    """End a post with a reason, from a day (the holder no longer holds it that day)."""

    def write() -> str:
        _post_of(session, who, code, role_id, settings.timezone)
        r = end_role(session, who, role_id, reason=end_reason(form.reason, form.reason_other),
                     until=form_day(form.until), timezone=settings.timezone)  # fmt: skip
        return f"{_who(r)} 的{r.role}岗位自 {r.until:%Y-%m-%d} 起结束（{r.end_reason}）"

    return _staff_write(request, session, settings, who, code, write, "未结束")


@router.post("/grids/{code}/staff/{role_id}/change")
def grid_staff_change(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: EditorDep,
    code: str,
    role_id: int,
    form: Annotated[ChangeForm, Form()],
) -> Response:
    """Change the role of a post from a day: the old post ends that day and the same person's new one begins."""

    def write() -> str:
        post = _post_of(session, who, code, role_id, settings.timezone)
        term = stored_vocabulary(session, "staff_roles").vocabulary.canonical(form.role)
        if term == post.role:
            raise InvalidInput(f"新岗位与原岗位相同：{post.role}")
        day = form_day(form.day) or day_of(None, settings.timezone)
        end_role(session, who, role_id, reason=f"改任{term or form.role}", until=day, timezone=settings.timezone)
        r = add_role(session, who, grid_code=code, role=form.role, staff_code=post.staff_code,
                     name=post.staff_name, phone=post.phone, since=day, timezone=settings.timezone)  # fmt: skip
        return f"{_who(r)} 自 {r.since:%Y-%m-%d} 起由{post.role}改任{r.role}"

    return _staff_write(request, session, settings, who, code, write, "未改任")
