"""公示 boards as files: one grid's board (PDF or PNG), or a parent's grids in one PDF."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from gridgov.api.dependencies import SessionDep, SettingsDep, Throttled
from gridgov.print.board import export_boards
from gridgov.print.data import leaf_codes

router = APIRouter(prefix="/api/boards", tags=["公示牌"])

Paper = Literal["A4", "A3", "A2", "A1"]
MEDIA = {"pdf": "application/pdf", "png": "image/png"}


def _file(data: bytes, fmt: str, name: str) -> Response:
    return Response(data, media_type=MEDIA[fmt],
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}.{fmt}"})  # fmt: skip


@router.get("/{code}", dependencies=[Throttled], summary="网格公示牌（PDF / PNG）", response_class=Response)
def one_board(
    session: SessionDep,
    settings: SettingsDep,
    code: str,
    paper: Paper = "A4",
    landscape: bool = False,
    format: Annotated[Literal["pdf", "png"], Query(description="pdf 或 png")] = "pdf",  # noqa: A002 - the API's word
    dpi: Annotated[int, Query(ge=36, le=600, description="PNG 分辨率")] = 300,
) -> Response:
    """One grid's board, print-ready."""
    data = export_boards(session, [code], paper=paper, landscape=landscape, fmt=format, dpi=dpi, settings=settings)
    return _file(data[0], format, f"board_{code}")


@router.get("", dependencies=[Throttled], summary="批量公示牌：某网格下每个楼院网格一页（PDF）",
            response_class=Response)
def many_boards(
    session: SessionDep,
    settings: SettingsDep,
    parent: Annotated[str, Query(description="街道或社区编码")],
    paper: Paper = "A4",
    landscape: bool = False,
) -> Response:
    """Every leaf grid under ``parent``, one page each, in one PDF."""
    data = export_boards(session, leaf_codes(session, parent), paper=paper, landscape=landscape, settings=settings)
    return _file(data[0], "pdf", f"boards_{parent}")
