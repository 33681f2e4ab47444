"""The ledger (网格台帐) as JSON, Excel or CSV."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from gridgov.api.dependencies import OptionalActorDep, SessionDep, SettingsDep, Throttled, ViewerDep
from gridgov.api.params import DateQuery
from gridgov.api.schemas import LedgerPublic, LedgerRowPublic, Level
from gridgov.auth.scope import readable_root
from gridgov.grids import service
from gridgov.ledger.export import unit_name, write_ledger
from gridgov.ledger.report import build_ledger
from gridgov.party.rules import PartyRules
from gridgov.periods import as_of_moment, day_range

router = APIRouter(prefix="/api/ledger", tags=["台帐"])


@router.get("", dependencies=[Throttled], response_model=LedgerPublic, summary="网格台帐（JSON）")
def ledger_json(
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    level: Level | None = None,
    parent: Annotated[str | None, Query(description="只统计此网格及其下级")] = None,
    as_of: Annotated[DateQuery, Query(description="历史时点（按当时的网格划分统计），YYYY-MM-DD")] = None,
    date_from: Annotated[DateQuery, Query(alias="from", description="事件与巡逻统计起始日期，YYYY-MM-DD")] = None,
    date_to: Annotated[DateQuery, Query(alias="to", description="统计截止日期（含当日），YYYY-MM-DD")] = None,
) -> LedgerPublic:
    """Counts per grid at every level (a viewer token or better), inside the caller's scope; parents equal the sums
    of their children."""
    start, end = day_range(date_from, date_to, settings.timezone)
    as_of_at = as_of_moment(as_of, settings.timezone)
    parent = readable_root(session, who, parent)
    ledger = build_ledger(session, level=level, parent=parent, as_of=as_of_at, date_from=start, date_to=end,
                          reader=who, patrol_buffer_m=settings.patrol_buffer_m,
                          party_rules=PartyRules.of(settings))  # fmt: skip
    return LedgerPublic.model_validate(ledger.as_dict())


@router.get("/file", dependencies=[Throttled], summary="下载网格台帐（xlsx / csv）", response_class=FileResponse)
def ledger_file(
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    fmt: Annotated[str, Query(alias="format", pattern="^(xlsx|csv)$")] = "xlsx",
    level: Level | None = None,
    parent: str | None = None,
    as_of: DateQuery = None,
    date_from: Annotated[DateQuery, Query(alias="from")] = None,
    date_to: Annotated[DateQuery, Query(alias="to")] = None,
) -> FileResponse:
    """The same ledger as an Excel workbook (a sheet per level) or CSV, inside the caller's scope."""
    start, end = day_range(date_from, date_to, settings.timezone)
    as_of_at = as_of_moment(as_of, settings.timezone)
    parent = readable_root(session, who, parent)
    result = build_ledger(session, level=level, parent=parent, as_of=as_of_at, date_from=start,
                          date_to=end, reader=who, patrol_buffer_m=settings.patrol_buffer_m,
                          viewed_from="/api/ledger/file", party_rules=PartyRules.of(settings))  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="gridgov-ledger-"))
    path = write_ledger(result, tmp / f"网格台帐.{fmt}", unit=unit_name(session, parent, as_of_at),
                        made_at=dt.datetime.now(ZoneInfo(settings.timezone)))  # fmt: skip
    media = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv"}[fmt]
    return FileResponse(path, media_type=media, filename=path.name, background=BackgroundTask(shutil.rmtree, tmp))


@router.get("/grid/{code}", dependencies=[Throttled], response_model=LedgerRowPublic,
            summary="单个网格的台帐行（公开）")
def ledger_row(session: SessionDep, settings: SettingsDep, who: OptionalActorDep, code: str) -> LedgerRowPublic:
    """One grid's ledger line, as the public grid map shows it (private staff only to a caller whose scope covers
    the grid); for map popups, without a token."""
    level = service.get_grid(session, code).level
    rows = build_ledger(session, level=level, parent=code, with_patrol=False, reader=who).rows
    return LedgerRowPublic.model_validate(next(r for r in rows if r.code == code).as_dict())
