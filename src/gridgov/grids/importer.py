"""Import a grid file atomically: hard errors refuse the whole file; topology findings are stored.

A feature whose code is live already updates that grid (a new version, history kept); other features
create grids, parents before children. Entities in the changed area are re-assigned in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy.orm import Session

from gridgov.assign.points import reassign_area
from gridgov.config import Settings, get_settings
from gridgov.db.models import LEVELS
from gridgov.errors import Forbidden
from gridgov.grids import service
from gridgov.grids.checks import live_inputs, run_checks, store_findings
from gridgov.grids.findings import Finding
from gridgov.grids.io import read_grid_file
from gridgov.grids.service import subtree_codes


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
        """JSON form."""
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
            "findings": [f.as_dict() for f in self.findings],
        }


def import_grids(
    session: Session,
    path: Path,
    *,
    actor: str,
    crs: Any = None,
    field_map: Mapping[str, str] | None = None,
    layer: str | None = None,
    dry_run: bool = False,
    settings: Settings | None = None,
    within: str | None = None,
) -> ImportReport:
    """Read, validate and (unless refused or a dry run) write a grid file in the caller's transaction.

    ``within`` (a scoped editor's street or community code) refuses files that touch grids outside it.
    """
    s = settings or get_settings()
    gf = read_grid_file(path, crs=crs, field_map=field_map, layer=layer)
    report = ImportReport(file=path.name, features=gf.features, crs=gf.crs, dry_run=dry_run)
    file_codes = {g.code for g in gf.inputs}
    live = {g.code: g for g in live_inputs(session)}
    merged = [g for code, g in live.items() if code not in file_codes] + gf.inputs
    if within is not None:
        inside = subtree_codes(merged, within)
        outside = sorted(file_codes - inside)
        if outside:
            raise Forbidden(f"超出令牌范围：{', '.join(outside[:5])} 不在 {within} 之下")
    findings = run_checks(merged, scope=file_codes, settings=s)
    # features already refused while reading (bad geometry, no code) are not checked twice
    report.findings = gf.findings + [
        f for f in findings if not (f.rule == "invalid_geometry" and _seen(f, gf.findings))
    ]
    for g in gf.inputs:
        old = live.get(g.code)
        if old is None:
            report.created.append(g.code)
        elif (
            old.name == g.name
            and g.geometry is not None
            and old.geometry is not None
            and shapely.equals_exact(shapely.normalize(old.geometry), shapely.normalize(g.geometry), 1e-9)
        ):
            report.unchanged.append(g.code)
        else:
            report.updated.append(g.code)
    if report.blocking or dry_run:
        return report
    order = {lvl: i for i, lvl in enumerate(LEVELS)}
    changed = []
    for g in sorted(gf.inputs, key=lambda g: order[g.level]):
        if g.code in report.created:
            service.create_grid(session, code=g.code, name=g.name, level=g.level, parent_code=g.parent_code,
                                geometry=g.geometry, actor=actor, reassign=False)  # fmt: skip
            changed.append(g.geometry)
        elif g.code in report.updated:
            current = service.get_grid(session, g.code)
            service.update_grid(session, g.code, expected_version=current.version, actor=actor, name=g.name,
                                geometry=g.geometry, parent_code=g.parent_code, reassign=False)  # fmt: skip
            changed += [current.geom, g.geometry]
    store_findings(session, report.findings, source="import", scope=file_codes)
    if changed:
        report.reassigned = reassign_area(session, shapely.union_all(changed))
    report.written = True
    return report


def _seen(f: Finding, earlier: list[Finding]) -> bool:
    return any(set(f.codes) & set(e.codes) for e in earlier if e.rule == "invalid_geometry")
