"""公示 boards as files: one grid's board (PDF or PNG), or a parent's grids in one PDF; ``kind=party`` for the
楼院党建公示 board (the Party organisation on the grid; members by name only with their 亮身份 consent).

A board printed for a compound whose staffing breaks the rule (grids/staffing.py) is still made; the response says
so in two headers, since its body is the file: ``X-Gridgov-Staffing-Warnings`` (how many of the boards' grids, 0
when none) and ``X-Gridgov-Staffing`` (the first of them as ``code=problem+problem``, comma-separated). The whole
list, with Chinese messages, is in ``POST /api/grids/validate`` under ``staffing``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from gridgov.api.dependencies import SessionDep, SettingsDep, Throttled
from gridgov.api.params import DateQuery
from gridgov.grids.staffing import PROBLEMS, staffing_findings
from gridgov.print.board import export_boards
from gridgov.print.data import leaf_codes

router = APIRouter(prefix="/api/boards", tags=["公示牌"])

Paper = Literal["A4", "A3", "A2", "A1"]
Kind = Annotated[Literal["grid", "party"], Query(description="grid（网格公示牌，默认）或 party（楼院党建公示牌："
                                                           "党组织、书记及电话、责任区；党员仅在同意亮身份时公示姓名）")]
FILE_PREFIX = {"grid": "board", "party": "party_board"}
MEDIA = {"pdf": "application/pdf", "png": "image/png"}
DATE_HELP = "公示日期 YYYY-MM-DD：按该日在任的人员生成（默认今天）"
COUNT_HEADER = "X-Gridgov-Staffing-Warnings"
LIST_HEADER = "X-Gridgov-Staffing"
LISTED = 20  # grids named in the list header at most: response headers must stay small
STAFFING_HEADERS: dict[str, Any] = {
    COUNT_HEADER: {"description": "人员配备不全的网格数（0 表示没有）；公示牌照常生成", "schema": {"type": "integer"}},
    LIST_HEADER: {"description": f"其中前 {LISTED} 个：编码=问题+问题，逗号分隔；问题为 "
                  + "、".join(f"{k}（{v}）" for k, v in PROBLEMS.items()), "schema": {"type": "string"}},
}  # fmt: skip


def _staffing_headers(session: Session, codes: Sequence[str], on: dt.date | None = None) -> dict[str, str]:
    """The staffing warnings of the boards' grids as response headers (ASCII: codes, percent-encoded should one
    not be, and problem keys)."""
    found = staffing_findings(session, codes=codes, on=on)
    headers = {COUNT_HEADER: str(len(found))}
    if found:
        headers[LIST_HEADER] = ", ".join(f"{quote(f.code, safe='')}={'+'.join(f.problems)}" for f in found[:LISTED])
    return headers


def _file(data: bytes, fmt: str, name: str, headers: dict[str, str]) -> Response:
    disposition = f"attachment; filename*=UTF-8''{name}.{fmt}"
    return Response(data, media_type=MEDIA[fmt], headers={"Content-Disposition": disposition, **headers})


@router.get("/{code}", dependencies=[Throttled], summary="网格公示牌或楼院党建公示牌（PDF / PNG）",
            response_class=Response, responses={200: {"headers": STAFFING_HEADERS}})
def one_board(
    session: SessionDep,
    settings: SettingsDep,
    code: str,
    paper: Paper = "A4",
    landscape: bool = False,
    format: Annotated[Literal["pdf", "png"], Query(description="pdf 或 png")] = "pdf",  # noqa: A002 - the API's word
    dpi: Annotated[int, Query(ge=36, le=600, description="PNG 分辨率")] = 300,
    date: Annotated[DateQuery, Query(description=DATE_HELP)] = None,
    kind: Kind = "grid",
) -> Response:
    """One grid's board, print-ready; the staffing warning, if any, in the headers (grid boards)."""
    data = export_boards(session, [code], paper=paper, landscape=landscape, fmt=format, dpi=dpi, settings=settings,
                         on=date, kind=kind)  # fmt: skip
    headers = _staffing_headers(session, [code], date) if kind == "grid" else {}
    return _file(data[0], format, f"{FILE_PREFIX[kind]}_{code}", headers)


@router.get("", dependencies=[Throttled], summary="批量公示牌：某网格下每个楼院网格一页（PDF）",
            response_class=Response, responses={200: {"headers": STAFFING_HEADERS}})
def many_boards(
    session: SessionDep,
    settings: SettingsDep,
    parent: Annotated[str, Query(description="街道或社区编码")],
    paper: Paper = "A4",
    landscape: bool = False,
    date: Annotated[DateQuery, Query(description=DATE_HELP)] = None,
    kind: Kind = "grid",
) -> Response:
    """Every leaf grid under ``parent``, one page each, in one PDF; the staffing warnings in the headers (grid
    boards)."""
    codes = leaf_codes(session, parent)
    data = export_boards(session, codes, paper=paper, landscape=landscape, settings=settings, on=date, kind=kind)
    headers = _staffing_headers(session, codes, date) if kind == "grid" else {}
    return _file(data[0], "pdf", f"{FILE_PREFIX[kind]}s_{parent}", headers)
