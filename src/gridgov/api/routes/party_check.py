"""Party API: the compliance check (党建合规检查) of a scope as of a day, as JSON and as an Excel workbook.

Party data: the caller needs personal data rights, and a parent outside their scope is refused (403). The
thresholds are the settings' (``PartyRules.of``); every answer is logged as a view of Party data.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from gridgov.api.dependencies import PersonalDep, SessionDep, SettingsDep, Throttled
from gridgov.api.params import DateQuery
from gridgov.api.routes.records import Text
from gridgov.auth.scope import Actor
from gridgov.auth.views import log_view
from gridgov.config import Settings
from gridgov.party.check import Report, check
from gridgov.party.check_export import check_workbook, file_name, report_dict
from gridgov.party.rules import PartyRules

router = APIRouter(prefix="/api/party", tags=["党建网格"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Parent = Annotated[Text | None, Query(description="网格编码：只检查此网格及其下级（默认：调用者的范围）")]
AsOf = Annotated[DateQuery, Query(description="检查哪一天结束时的状态 YYYY-MM-DD（默认今天）")]


class RuleLinePublic(BaseModel):
    """How one rule went over the scope."""

    rule: str = Field(description="规则代码，如 org_form、contacts")
    rule_zh: str = Field(description="规则名称")
    status: str = Field(description="通过、未通过、参考（只有参考数）或 无检查对象")
    passed: bool = Field(description="没有未通过的对象")
    checked: int = Field(description="检查的对象数（组织、网格、党员、队伍或会议）")
    failed: int = Field(description="未通过的对象数")
    findings: int = Field(description="问题清单中此规则的条数")
    threshold: str = Field(description="标准（按本系统设置）")


class FindingPublic(BaseModel):
    """A rule failing for one organisation, grid, member or team, or a figure to act on."""

    rule: str = Field(description="规则代码")
    rule_zh: str = Field(description="规则名称")
    passed: bool | None = Field(description="false 未通过；null 参考数（如未被联系的住户）")
    grid_code: str | None = Field(description="网格编码")
    org: str | None = Field(description="党组织编码")
    value: Any = Field(description="发现值")
    threshold: Any = Field(description="标准")
    detail: str = Field(description="说明")
    records: list[str] = Field(description="需处理的记录：党员的人员编码或志愿服务队编码（仅对有权查看个人信息者列出）")
    geometry: dict[str, Any] | None = Field(default=None, description="责任区未覆盖部分（GeoJSON；仅责任区规则有此键）")


class CheckPublic(BaseModel):
    """The compliance check of a scope as of a day."""

    as_of: dt.date = Field(description="检查日期（当日结束时的状态）")
    parent: str | None = Field(description="检查范围的网格编码（null：全部）")
    rules: list[RuleLinePublic] = Field(description="各项规则的结果")
    findings: list[FindingPublic] = Field(description="问题清单")


def run_check(session: Session, settings: Settings, who: Actor, parent: str | None, day: dt.date | None,
              page: str) -> Report:  # fmt: skip
    """The check with the settings' thresholds, logged as a view of Party data (the API and the page)."""
    report = check(session, who, PartyRules.of(settings), parent=parent or None, day=day, timezone=settings.timezone)
    log_view(session, who, "party_check", report.parent, page=page, rows=len(report.findings))
    return report


def workbook_response(report: Report, settings: Settings) -> Response:
    """The report's workbook as a download."""
    data = check_workbook(report, made=dt.datetime.now(ZoneInfo(settings.timezone)))
    fallback = f"party-check-{report.day:%Y%m%d}.xlsx"
    return Response(data, media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name(report))}",
        "Cache-Control": "no-store"})  # fmt: skip


@router.get("/check", response_model=CheckPublic, dependencies=[Throttled], summary="党建合规检查")
def get_check(session: SessionDep, settings: SettingsDep, who: PersonalDep, parent: Parent = None,
              as_of: AsOf = None) -> JSONResponse:  # fmt: skip
    """Every rule of Party building on the grid over the scope: each rule's result with the numbers behind it,
    and the findings with the records to fix (``geometry`` only on 责任区 gaps, as ``gridgov party check``)."""
    return JSONResponse(report_dict(run_check(session, settings, who, parent, as_of, "/api/party/check")))


@router.get("/check/file", dependencies=[Throttled], response_class=Response, summary="党建合规检查（Excel）",
            responses={200: {"content": {XLSX: {}}, "description": "汇总、问题清单、说明三张表"}})  # fmt: skip
def get_check_file(session: SessionDep, settings: SettingsDep, who: PersonalDep, parent: Parent = None,
                   as_of: AsOf = None) -> Response:  # fmt: skip
    """The compliance check as an Excel workbook: 汇总 (rules), 问题清单 (findings), 说明 (thresholds, rules)."""
    return workbook_response(run_check(session, settings, who, parent, as_of, "/api/party/check/file"), settings)
