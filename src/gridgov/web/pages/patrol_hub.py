"""巡逻勤务: the patrol leader's start page, linking the teams, the roster, the notice list, the daily report and
the patrol maps."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gridgov.api.dependencies import PatrolDep
from gridgov.web.templating import render

router = APIRouter(include_in_schema=False)

# (title, link, what it is for): the order a patrol leader's day follows.
SECTIONS = (
    ("巡逻日报", "/patrol/report", "昨夜各巡逻队出勤、迟到、早退、缺勤，未巡到的网格。"),
    ("排班", "/patrol/roster", "按月生成和调整上半夜、下半夜排班，登记请假与替班，导出月排班表。"),
    ("通知名单", "/patrol/notice", "今晚需要通知的单位和人员（15:00–16:00 电话通知），可打印。"),
    ("巡逻队与区域", "/patrol/teams", "巡逻队、队员、巡逻区域和计划路线。"),
    ("巡逻地图", "/maps", "巡逻路线图和巡逻覆盖率图。"),
)


@router.get("/patrol")
def patrol_home(request: Request, who: PatrolDep) -> Response:
    """The patrol pages, in the order of a patrol leader's day."""
    return render(request, "patrol.html", actor=who, active="patrol", title="巡逻勤务", sections=SECTIONS)
