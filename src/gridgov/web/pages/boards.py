"""公示牌: choose the kind (网格公示牌 or 楼院党建公示牌), a grid or a community, paper and orientation, preview,
download PDF/PNG.

A board printed for a compound whose staffing breaks the rule (grids/staffing.py) is still made, but the page warns
first: each grid of the selects carries its staffing problems, shown in a yellow alert as soon as it is chosen, the
preview repeats them, and the batch job's result names how many boards lack staff.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridgov.api.dependencies import SessionDep, SettingsDep, Throttled, ViewerDep
from gridgov.api.params import DateQuery
from gridgov.auth.scope import Actor, Touches, authorize
from gridgov.config import BoardSettings
from gridgov.errors import InvalidInput
from gridgov.grids.service import GridRecord, get_grid, grids_in_scope
from gridgov.grids.staffing import StaffingFinding, staffing_findings
from gridgov.jobs.runner import Outcome, Progress
from gridgov.print.board import KINDS, export_boards
from gridgov.print.data import leaf_codes
from gridgov.vocab import LEVEL_ZH
from gridgov.web.templating import render

router = APIRouter(include_in_schema=False)

Paper = Literal["A4", "A3"]
Format = Literal["pdf", "png"]
Kind = Literal["grid", "party"]
PAPERS: tuple[str, ...] = ("A4", "A3")
MEDIA = {"pdf": "application/pdf", "png": "image/png"}
PRINT_DPI = 300
PREVIEW_DPI = {"A4": 80, "A3": 56}  # about the same pixel size for both papers: it fits the page either way
CodeQuery = Annotated[str | None, Query(max_length=40)]
NAMED = 10  # unstaffed grids named in a batch warning; the rest are counted


@dataclass
class GridGroup:
    """The grids of one community (or of no community) for the grid select."""

    label: str
    grids: list[GridRecord] = field(default_factory=list)


def _groups(grids: list[GridRecord]) -> list[GridGroup]:
    """The grids below street level, grouped under their community (the community's own board first)."""
    by_code = {g.code: g for g in grids}
    groups: dict[str, GridGroup] = {}
    for g in grids:
        if g.level == "street":
            continue
        top = g
        while top.level != "community" and top.parent_code in by_code:
            top = by_code[top.parent_code]
        label = f"{top.name}（{top.code}）" if top.level == "community" else "您范围内的网格"
        groups.setdefault(top.code if top.level == "community" else "", GridGroup(label)).grids.append(g)
    return list(groups.values())


def _batch_parents(grids: list[GridRecord]) -> list[tuple[GridRecord, int]]:
    """The grids with children (street, communities), each with how many leaf grids lie below it."""
    by_code = {g.code: g for g in grids}
    parents = {g.parent_code for g in grids if g.parent_code}
    below: Counter[str] = Counter()
    for leaf in (g for g in grids if g.code not in parents):  # one walk up per leaf, not a subtree per parent
        up = leaf.parent_code
        while up in by_code:
            below[up] += 1
            up = by_code[up].parent_code
    return [(g, below[g.code]) for g in grids if g.code in parents]


def _unstaffed(f: StaffingFinding) -> str:
    """One grid's staffing problems, e.g. "第二网格（610103006001002）没有网格长、没有网格员"."""
    return f"{f.name}（{f.code}）{f.text}"


def _unstaffed_many(found: list[StaffingFinding]) -> str:
    """The staffing problems of a batch's grids in one line (the first few named), empty when there are none."""
    if not found:
        return ""
    more = f"等 {len(found)} 个" if len(found) > NAMED else ""
    return f"{len(found)} 个网格人员配备不全：{'；'.join(_unstaffed(f) for f in found[:NAMED])}{more}"


def _batch_warnings(grids: list[GridRecord], found: list[StaffingFinding]) -> dict[str, str]:
    """For each grid with children, the staffing problems of the leaf grids below it (the boards of its batch)."""
    by_code = {g.code: g for g in grids}
    parents = {g.parent_code for g in grids if g.parent_code}
    below: dict[str, list[StaffingFinding]] = {}
    for f in found:
        if f.code in parents:  # a compound divided into buildings: its buildings' boards are printed, not its own
            continue
        up = by_code[f.code].parent_code if f.code in by_code else None
        while up in by_code:
            below.setdefault(up, []).append(f)
            up = by_code[up].parent_code
    return {code: _unstaffed_many(fs) for code, fs in below.items()}


def _orientation(landscape: bool) -> str:
    return "横版" if landscape else "竖版"


def _board_name(kind: str) -> str:
    """公示牌 or 党建公示牌, for file names and job titles."""
    return "党建公示牌" if kind == "party" else "公示牌"


def _in_scope(session: Session, actor: Actor, code: str) -> GridRecord:
    """The live grid ``code`` if it lies in the actor's scope (NotFound / Forbidden otherwise)."""
    grid = get_grid(session, code.strip())
    authorize(session, actor, "read", Touches(codes=[grid.code]))
    return grid


def _attachment(data: bytes, fmt: str, name: str, fallback: str) -> Response:
    """A file download with a Chinese name (RFC 5987) and an ASCII fallback for old clients."""
    disposition = f"attachment; filename=\"{fallback}.{fmt}\"; filename*=UTF-8''{quote(f'{name}.{fmt}')}"
    return Response(data, media_type=MEDIA[fmt], headers={"Content-Disposition": disposition,
                                                          "Cache-Control": "no-store"})  # fmt: skip


@router.get("/boards")
def boards_page(
    request: Request,
    session: SessionDep,
    who: ViewerDep,
    code: CodeQuery = None,
    paper: Paper = "A4",
    landscape: bool = False,
    format: Format = "pdf",  # noqa: A002 - the form's word
    date: DateQuery = None,
    kind: Kind = "grid",
) -> Response:
    """The choices (kind, grids in the user's scope, paper, orientation, format, the board's date) and the chosen
    grid's preview, with the staffing warnings of the grids whose boards would lack staff that day."""
    grids = grids_in_scope(session, who)
    chosen = _in_scope(session, who, code) if code and code.strip() else None
    found = staffing_findings(session, codes=[g.code for g in grids], on=date)
    own, below = {f.code: _unstaffed(f) for f in found}, _batch_warnings(grids, found)
    batch = _batch_parents(grids)
    # what each select shows selected at first: the chosen grid, else (batch) the first parent
    batch_code = chosen.code if chosen and any(g.code == chosen.code for g, _ in batch) else (
        batch[0][0].code if batch else "")  # fmt: skip
    return render(request, "boards.html", actor=who, active="boards", title="公示牌", groups=_groups(grids),
                  batch=batch, chosen=chosen, paper=paper, landscape=landscape, fmt=format, papers=PAPERS,
                  level_zh=LEVEL_ZH, staffing=own, batch_warnings=below,
                  batch_staffing=below.get(batch_code, "") if kind == "grid" else "",
                  chosen_staffing=own.get(chosen.code, "") if chosen and kind == "grid" else "",
                  day=date.isoformat() if date else "", kind=kind, kinds=KINDS)  # fmt: skip


@router.get("/boards/preview.png", dependencies=[Throttled])
def board_preview(
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    code: Annotated[str, Query(max_length=40)],
    paper: Paper = "A4",
    landscape: bool = False,
    date: DateQuery = None,
    kind: Kind = "grid",
) -> Response:
    """The first page of one grid's board (of ``kind``) as a small PNG, for the page's preview."""
    grid = _in_scope(session, who, code)
    png = export_boards(session, [grid.code], paper=paper, landscape=landscape, fmt="png", dpi=PREVIEW_DPI[paper],
                        settings=settings, on=date, kind=kind)[0]  # fmt: skip
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/boards/download", dependencies=[Throttled])
def board_download(
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    code: Annotated[str, Query(max_length=40)],
    paper: Paper = "A4",
    landscape: bool = False,
    format: Format = "pdf",  # noqa: A002 - the form's word
    date: DateQuery = None,
    kind: Kind = "grid",
) -> Response:
    """One grid's board (of ``kind``), print-ready, as a PDF or a PNG named after the grid."""
    grid = _in_scope(session, who, code)
    data = export_boards(session, [grid.code], paper=paper, landscape=landscape, fmt=format, dpi=PRINT_DPI,
                         settings=settings, on=date, kind=kind)[0]  # fmt: skip
    name = f"{grid.name}{_board_name(kind)}_{paper}{_orientation(landscape)}"
    return _attachment(data, format, name, f"{'party_' if kind == 'party' else ''}board_{grid.code}")


@router.post("/boards/batch")
def boards_batch(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    parent: Annotated[str, Form(max_length=40)],
    paper: Annotated[Paper, Form()] = "A4",
    landscape: Annotated[bool, Form()] = False,
    kind: Annotated[Kind, Form()] = "grid",
) -> Response:
    """Every leaf grid under a community (or street) in one PDF, made by a background job; on to its progress."""
    grid = _in_scope(session, who, parent)
    codes = leaf_codes(session, grid.code)
    board = _board_name(kind)
    if codes == [grid.code]:
        raise InvalidInput(f"{grid.name} 没有下级网格，请在上方直接下载它的{board}")
    title = f"{board}：{grid.name}全部{len(codes)}个网格（{paper}{_orientation(landscape)}）"
    work = _batch_work(request.app.state.engine, settings, codes, paper, landscape,
                       f"{grid.name}全部网格{board}_{paper}{_orientation(landscape)}.pdf", kind)  # fmt: skip
    params = {"parent": grid.code, "paper": paper, "landscape": landscape, "boards": len(codes), "kind": kind}
    job_id = request.app.state.jobs.start(who, "boards", title, work, params)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


def _batch_work(engine: Engine, settings: BoardSettings, codes: list[str], paper: str, landscape: bool,
                name: str, kind: str = "grid") -> Callable[[Progress], Outcome]:  # fmt: skip
    """The job: the boards (of ``kind``) of ``codes`` in one PDF, progress reported after each board."""
    total = len(codes)

    def work(progress: Progress) -> Outcome:
        done = 0

        def one_more(code: str) -> None:
            nonlocal done
            done += 1
            progress(0.05 + 0.9 * done / total, f"已生成 {done}/{total} 张{_board_name(kind)}（{code}）")

        progress(0.02, f"读取 {total} 个网格的资料…")
        with Session(engine) as s, s.begin():
            unstaffed = staffing_findings(s, codes=codes) if kind == "grid" else []
            pdf = export_boards(s, codes, paper=paper, landscape=landscape, fmt="pdf", settings=settings,
                                progress=one_more, kind=kind)[0]  # fmt: skip
        path = progress.workdir / "boards.pdf"
        path.write_bytes(pdf)
        message = f"已完成：{total} 张{_board_name(kind)}，每张一页"
        if unstaffed:
            message += f"。提醒：{_unstaffed_many(unstaffed)}，这些公示牌上的责任人员不完整"
        return Outcome(path=path, name=name, message=message, result={"boards": total, "staffing": len(unstaffed)})

    return work
