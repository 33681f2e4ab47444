"""A grid's staff posts over HTTP, dated: who holds which post on a day, adding a post, ending one, and handing a
post over from one person to another in one operation (the services check the role and the scope)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from gridgov.api.dependencies import EditorDep, SessionDep, SettingsDep, ViewerDep
from gridgov.api.params import DateQuery, RowId
from gridgov.api.routes.records import Text
from gridgov.records.roles import HAND_OVER_REASON, add_role, end_role, grid_roles, hand_over
from gridgov.vocab import STAFF_ROLES

router = APIRouter(tags=["网格人员"])

ROLE_HELP = f"岗位：{'、'.join(STAFF_ROLES.terms)}（也接受常用同义词，如 网格管理员）"
GridPath = Annotated[Text, Path(description="网格编码")]


class GridRolePublic(BaseModel):
    """A post held on a grid: who, from which day, until which day (exclusive) and why it ended."""

    id: int = Field(description="岗位记录编号（结束岗位时使用）")
    grid_code: str
    grid_name: str
    role: str = Field(description="岗位")
    staff_code: str | None = Field(description="人员编码")
    staff_name: str = Field(description="姓名")
    phone: str | None
    organisation: str | None
    since: dt.date = Field(description="任职起始日")
    until: dt.date | None = Field(description="结束日（当日起不再担任；在任为 null）")
    end_reason: str | None
    public: bool = Field(description="是否在公示牌上公开（否：由居民担任的岗位，属个人信息）")


class GridRoleCreate(BaseModel):
    """A new post: a staff member by code, or a new one by name and phone."""

    model_config = ConfigDict(extra="forbid")
    role: Text = Field(description=ROLE_HELP)
    staff_code: Text | None = Field(default=None, description="已登记人员的编码")
    name: Text | None = Field(default=None, description="新人员的姓名（不给编码时必填）")
    phone: Text | None = Field(default=None, description="新人员的电话")
    since: DateQuery = Field(default=None, description="任职起始日 YYYY-MM-DD（默认今天）")


class GridRoleEnd(BaseModel):
    """The end of a post: why, and the first day it is no longer held."""

    model_config = ConfigDict(extra="forbid")
    reason: Text = Field(description="结束原因：调离、离职、交接、录入错误 …")
    until: DateQuery = Field(default=None, description="结束日 YYYY-MM-DD（当日起不再担任；默认今天）")


class HandOverCreate(BaseModel):
    """A hand-over: the post, the new holder (by code, or a new person), optionally the holder who leaves."""

    model_config = ConfigDict(extra="forbid")
    role: Text = Field(description=ROLE_HELP)
    to_staff_code: Text | None = Field(default=None, description="接任人员的编码")
    to_name: Text | None = Field(default=None, description="接任的新人员姓名（不给编码时必填）")
    to_phone: Text | None = Field(default=None, description="接任的新人员电话")
    from_staff_code: Text | None = Field(default=None, description="交出岗位的人员编码（默认：该岗位的全部现任）")
    on: DateQuery = Field(default=None, description="交接日 YYYY-MM-DD（当日起由接任者担任；默认今天）")
    reason: Text | None = Field(default=None, description=f"原任者的结束原因（默认「{HAND_OVER_REASON}」）")


class HandOverPublic(BaseModel):
    """What a hand-over did: the posts it ended and the post it began."""

    ended: list[GridRolePublic]
    started: GridRolePublic


@router.get("/api/grids/{code}/staff", response_model=list[GridRolePublic], summary="网格人员（某日在任的岗位）",
            response_description="岗位，按岗位顺序")
def list_posts(
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    code: GridPath,
    on: Annotated[DateQuery, Query(description="日期 YYYY-MM-DD（默认今天）")] = None,
    include_ended: Annotated[bool, Query(alias="all", description="列出全部岗位记录（含已结束的）")] = False,
) -> list[GridRolePublic]:
    """The posts on a grid on a day; posts held by residents only for readers with personal-data rights there."""
    posts = grid_roles(session, code, who, on_day=on, include_ended=include_ended, timezone=settings.timezone)
    return [GridRolePublic.model_validate(p.as_dict()) for p in posts]


@router.post("/api/grids/{code}/staff", response_model=GridRolePublic, status_code=status.HTTP_201_CREATED,
             summary="为网格增加岗位", response_description="新岗位")  # fmt: skip
def add_post(
    session: SessionDep, settings: SettingsDep, who: EditorDep, code: GridPath, body: GridRoleCreate
) -> GridRolePublic:
    """Give a staff member (by code, or a new one) a post on the grid from ``since``."""
    post = add_role(session, who, grid_code=code, role=body.role, staff_code=body.staff_code, name=body.name,
                    phone=body.phone, since=body.since, timezone=settings.timezone)  # fmt: skip
    return GridRolePublic.model_validate(post.as_dict())


@router.post("/api/grid-roles/{role_id}/end", response_model=GridRolePublic, summary="结束岗位（保留记录）",
             response_description="已结束的岗位")
def end_post(session: SessionDep, settings: SettingsDep, who: EditorDep, role_id: RowId, body: GridRoleEnd
             ) -> GridRolePublic:  # fmt: skip
    """End a post on ``until`` with a reason; its row stays."""
    post = end_role(session, who, role_id, reason=body.reason, until=body.until, timezone=settings.timezone)
    return GridRolePublic.model_validate(post.as_dict())


@router.post("/api/grids/{code}/handover", response_model=HandOverPublic, summary="岗位交接（一次完成）",
             response_description="结束的岗位与新岗位")
def handover(
    session: SessionDep, settings: SettingsDep, who: EditorDep, code: GridPath, body: HandOverCreate
) -> HandOverPublic:
    """Hand a post on the grid to another person from ``on``: the current holder's post ends that day and the new
    holder's begins, in one transaction."""
    done = hand_over(session, who, grid_code=code, role=body.role, to_staff_code=body.to_staff_code,
                     to_name=body.to_name, to_phone=body.to_phone, from_staff_code=body.from_staff_code,
                     on_day=body.on, reason=body.reason or HAND_OVER_REASON, timezone=settings.timezone)  # fmt: skip
    return HandOverPublic.model_validate(done.as_dict())
