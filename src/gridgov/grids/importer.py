"""Import a grid file atomically: hard errors refuse the whole file; topology findings are stored.

A feature whose code is live already updates that grid (a new version, history kept); other features
create grids, parents before children. Entities in the changed area are re-assigned in the same
transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.assign.points import reassign_area
from gridgov.auth.scope import Actor, authorize
from gridgov.config import GridSettings, defaults
from gridgov.db.locks import writers_lock
from gridgov.grids import service
from gridgov.grids.checks import live_inputs, run_checks, store_findings
from gridgov.grids.findings import RULE_ZH, Finding, GridInput
from gridgov.grids.io import read_grid_file
from gridgov.grids.service import GridChange, touches_of_change
from gridgov.vocab import LEVEL_ZH

MAX_FINDINGS_LISTED = 100  # findings a report lists in full; all are stored and counted per rule


@dataclass
class ImportReport:
    """The outcome of an import or a dry run."""

    file: str
    features: int
    crs: str
    dry_run: bool
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    reassigned: dict[str, int] = field(default_factory=dict)
    written: bool = False

    @property
    def blocking(self) -> list[Finding]:
        """Findings that refuse the file."""
        return [f for f in self.findings if f.blocking]

    def as_dict(self) -> dict[str, Any]:
        """JSON form: the first ``MAX_FINDINGS_LISTED`` findings in full, their total and the count per rule."""
        per_rule = Counter(f.rule for f in self.findings)
        return {
            "file": self.file,
            "features": self.features,
            "crs": self.crs,
            "dry_run": self.dry_run,
            "written": self.written,
            "refused": bool(self.blocking),
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "reassigned": self.reassigned,
            "findings": [f.as_dict() for f in self.findings[:MAX_FINDINGS_LISTED]],
            "finding_count": len(self.findings),
            "finding_summary": [{"rule": r, "reason": RULE_ZH.get(r, r), "count": n}
                                for r, n in sorted(per_rule.items(), key=lambda k: (-k[1], k[0]))],  # fmt: skip
        }


def import_grids(
    session: Session,
    path: Path,
    *,
    actor: Actor,
    crs: Any = None,
    field_map: Mapping[str, str] | None = None,
    layer: str | None = None,
    dry_run: bool = False,
    settings: GridSettings | None = None,
) -> ImportReport:
    """Read, validate and (unless refused or a dry run) write a grid file in the caller's transaction.

    Everything the file touches must lie in the actor's scope: the grids it names, their current parents and
    the parents it gives them, and the area of every geometry in it (dry runs are checked the same way).
    """
    s = settings or defaults(GridSettings)
    gf = read_grid_file(path, crs=crs, field_map=field_map, layer=layer, max_vertices=s.max_grid_vertices)
    report = ImportReport(file=path.name, features=gf.features, crs=gf.crs, dry_run=dry_run)
    file_codes = {g.code for g in gf.inputs}
    writers_lock(session)  # before reading what the checks compare with, and before any row lock (db.locks)
    records = service.list_grids(session)
    versions = {g.code: g.version for g in records}
    live = {g.code: g for g in live_inputs(session, records)}
    merged = [g for code, g in live.items() if code not in file_codes] + gf.inputs
    touches = touches_of_change(session, [(g.code, g.parent_code, g.geometry) for g in gf.inputs])
    authorize(session, actor, "write", touches, tolerance_m=s.tolerance_m,
              anywhere=any(g.parent_code is None for g in gf.inputs))  # fmt: skip
    findings = run_checks(merged, scope=file_codes, settings=s)
    # features already refused while reading (bad geometry, no code) are not checked twice
    report.findings = gf.findings + [
        f for f in findings if not (f.rule == "invalid_geometry" and _seen(f, gf.findings))
    ] + official_findings(gf.inputs, official_divisions(session))
    for g in gf.inputs:
        old = live.get(g.code)
        if old is None:
            report.created.append(g.code)
        elif (
            old.name == g.name
            and old.parent_code == g.parent_code
            and g.geometry is not None
            and old.geometry is not None
            and shapely.equals_exact(shapely.normalize(old.geometry), shapely.normalize(g.geometry), 1e-9)
        ):
            report.unchanged.append(g.code)
        else:
            report.updated.append(g.code)
    if report.blocking or dry_run:
        return report
    # Set-based writes: the new grids (one INSERT per level, parents first), then the changed ones (one
    # history INSERT, one UPDATE), at the versions read above under the writers' lock.
    created, updated = set(report.created), set(report.updated)
    service.insert_grids(session, [g for g in gf.inputs if g.code in created], actor=actor.name)
    service.change_grids(
        session,
        [
            GridChange(g.code, versions[g.code], name=g.name, geometry=g.geometry, parent_code=g.parent_code)
            for g in gf.inputs
            if g.code in updated
        ],
        actor=actor.name,
    )
    changed = [g.geometry for g in gf.inputs if g.code in created]
    changed += [geom for g in gf.inputs if g.code in updated for geom in (live[g.code].geometry, g.geometry)]
    store_findings(session, report.findings, source="import", scope=file_codes)
    if changed:
        report.reassigned = reassign_area(session, shapely.union_all(changed))
    report.written = True
    return report


def official_findings(inputs: list[GridInput], official: Mapping[str, tuple[str, str]]) -> list[Finding]:
    """Warnings (they do not refuse the file) for street and community grids whose code is not in the street's
    official division list that ``gridgov init`` recorded (``official``: code → (level, name); empty: no list),
    or whose name differs from the official one."""
    out: list[Finding] = []
    if not official:
        return out
    for g in inputs:
        if g.level not in ("street", "community"):
            continue
        where = [float(c) for c in g.geometry.representative_point().coords[0]] if g.geometry is not None else None
        rows = [g.row] if g.row is not None else []
        label = LEVEL_ZH[g.level]
        known = official.get(g.code)
        if known is None or known[0] != g.level:
            listed = "、".join(f"{c} {n}" for c, (lv, n) in sorted(official.items()) if lv == g.level)[:300]
            out.append(Finding("unofficial_code", [g.code], f"{label} {g.code}（{g.name}）不在本街道的官方区划代码中"
                               f"（统计用区划代码：{listed}）：请核对编码", where, rows=rows))  # fmt: skip
        elif known[1] != g.name:
            out.append(Finding("unofficial_code", [g.code], f"{label} {g.code} 的名称「{g.name}」与官方名称"
                               f"「{known[1]}」不同：如非有意改名，请核对", where, rows=rows))  # fmt: skip
    return out


def official_divisions(session: Session) -> dict[str, tuple[str, str]]:
    """The street's official divisions recorded by ``gridgov init``: code → (level, name); empty before it."""
    rows = session.execute(text("SELECT code, level, name FROM division"))
    return {r.code: (r.level, r.name) for r in rows}


def _seen(f: Finding, earlier: list[Finding]) -> bool:
    return any(set(f.codes) & set(e.codes) for e in earlier if e.rule == "invalid_geometry")
