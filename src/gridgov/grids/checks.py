"""Validate grids against the live hierarchy and keep the findings staff must fix.

A validation also lists the staffing warnings (grids/staffing.py: compounds without exactly one 网格长 or without
a 网格员) of the same grids. They are reminders, kept apart from the topology and code findings: they are not
stored with them and do not make a grid fail validation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyogrio
import shapely
from geoalchemy2.shape import from_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, func, insert
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, Touches, authorize
from gridgov.config import GridSettings, defaults
from gridgov.db.models import GridFinding
from gridgov.errors import InvalidInput
from gridgov.geo.crs import parse_crs, to_wgs84
from gridgov.grids.codes import CodeScheme
from gridgov.grids.findings import Finding, GridInput, staffing_as_dict
from gridgov.grids.service import GridRecord, list_grids, subtree_codes
from gridgov.grids.staffing import StaffingFinding, staffing_findings
from gridgov.grids.topology import validate


@dataclass(frozen=True)
class Validation:
    """What a validation found: topology and code findings (stored, to be fixed) and staffing warnings (reminders)."""

    findings: list[Finding]
    staffing: list[StaffingFinding]

    def as_dict(self) -> dict[str, Any]:
        """JSON form: each kind under its own key, and how many of each."""
        return {
            "findings": [f.as_dict() for f in self.findings],
            "staffing": [staffing_as_dict(f) for f in self.staffing],
            "summary": {"findings": len(self.findings), "staffing": len(self.staffing)},
        }


def scheme_from(settings: GridSettings) -> CodeScheme:
    """The configured code scheme (default NBS scheme when unset)."""
    return CodeScheme.from_json(settings.code_scheme) if settings.code_scheme else CodeScheme()


def live_inputs(session: Session, records: Sequence[GridRecord] | None = None) -> list[GridInput]:
    """Every live grid as a GridInput (EPSG:4326), from ``records`` (a :func:`list_grids` result) when given."""
    grids = list_grids(session) if records is None else records
    return [GridInput(g.code, g.name, g.level, g.parent_code, g.geom) for g in grids]


def load_allowed_gaps(path: Path) -> list[BaseGeometry]:
    """The allowed-gaps layer (rivers, parks, roads) from any readable file, in EPSG:4326."""
    if not path.exists():
        raise InvalidInput(f"允许空隙图层不存在：{path}")
    try:
        frame = pyogrio.read_dataframe(path)
    except Exception as exc:  # noqa: BLE001 - GDAL raises many types for unreadable files
        raise InvalidInput(f"无法读取允许空隙图层 {path.name}：{exc}") from exc
    crs = parse_crs(frame.crs) if frame.crs is not None else parse_crs("EPSG:4326")
    return [g for g in to_wgs84(frame.geometry.values, crs) if g is not None and not g.is_empty]


def run_checks(
    grids: Sequence[GridInput],
    *,
    scope: Iterable[str] | None = None,
    settings: GridSettings | None = None,
    allowed_gaps: Sequence[BaseGeometry] | None = None,
) -> list[Finding]:
    """All findings on ``grids``, limited to those touching ``scope`` when given."""
    s = settings or defaults(GridSettings)
    if allowed_gaps is None:
        allowed_gaps = load_allowed_gaps(s.allowed_gaps_path) if s.allowed_gaps_path else ()
    return validate(
        grids,
        allowed_gaps=allowed_gaps,
        tolerance_m=s.tolerance_m,
        min_gap_area_m2=s.min_gap_area_m2,
        sliver_width_m=s.sliver_width_m,
        scheme=scheme_from(s),
        scope=scope,
        max_vertices=s.max_grid_vertices,
    )


def check_live(
    session: Session,
    *,
    parent_code: str | None = None,
    drafts: Sequence[GridInput] = (),
    settings: GridSettings | None = None,
) -> list[Finding]:
    """Validate live grids (optionally with unsaved drafts replacing or adding grids) under a parent."""
    drafted = {d.code for d in drafts}
    grids = [g for g in live_inputs(session) if g.code not in drafted] + list(drafts)
    scope: set[str] | None = None
    if drafts:
        scope = drafted  # what the editor changed: findings that touch the drafts
    elif parent_code:
        scope = subtree_codes(grids, parent_code)
    return run_checks(grids, scope=scope, settings=settings)


def check_staffing(
    session: Session, *, parent_code: str | None = None, drafts: Sequence[GridInput] = ()
) -> list[StaffingFinding]:
    """The staffing warnings of the grids :func:`check_live` reports on: the drafted ones (their live staff) when
    there are drafts, else the live grids under ``parent_code`` (all when None)."""
    if drafts:
        codes = {d.code for d in drafts}
    else:
        grids = list_grids(session, with_geometry=False)
        codes = subtree_codes(grids, parent_code) if parent_code else {g.code for g in grids}
    return staffing_findings(session, codes=sorted(codes))


def validate_and_store(
    session: Session, actor: Actor, *, parent_code: str | None = None, settings: GridSettings | None = None,
    store: bool = True,
) -> Validation:
    """Validate the live grids under ``parent_code`` and (when ``store``) keep the findings for the pages,
    replacing the stored ones of that subtree; storing is a write inside the actor's scope. The staffing warnings
    of the same grids come with them and are never stored."""
    findings = check_live(session, parent_code=parent_code, settings=settings)
    if store:
        authorize(session, actor, "write", Touches(codes=[parent_code] if parent_code else []),
                  anywhere=parent_code is None)  # fmt: skip
        grids = live_inputs(session)
        scope = subtree_codes(grids, parent_code) if parent_code else {g.code for g in grids}
        store_findings(session, findings, source="validate", scope=scope)
    return Validation(findings, check_staffing(session, parent_code=parent_code))


def store_findings(session: Session, findings: Sequence[Finding], *, source: str, scope: Iterable[str]) -> int:
    """Replace the stored findings that touch ``scope`` with ``findings``; returns how many were stored."""
    codes = sorted(set(scope))
    session.execute(delete(GridFinding).where(GridFinding.codes.overlap(codes)))  # type: ignore[attr-defined]
    rows = [
        {
            "rule": f.rule,
            "codes": f.codes,
            "message": f.message,
            "location": from_shape(shapely.Point(f.location), srid=4326) if f.location else None,
            "area_m2": f.area_m2,
            "length_m": f.length_m,
            "geom": from_shape(f.geometry, srid=4326) if f.geometry is not None else None,
            "source": source,
        }
        for f in findings
    ]
    if rows:
        session.execute(insert(GridFinding), rows)
    return len(rows)


def stored_findings(session: Session, code: str | None = None) -> list[Finding]:
    """Stored findings, all or those involving one grid code."""
    q = session.query(
        GridFinding.rule,
        GridFinding.codes,
        GridFinding.message,
        func.ST_X(GridFinding.location),
        func.ST_Y(GridFinding.location),
        GridFinding.area_m2,
        GridFinding.length_m,
    ).order_by(GridFinding.id)
    if code:
        q = q.filter(GridFinding.codes.contains([code]))
    return [Finding(r[0], list(r[1]), r[2], [r[3], r[4]] if r[3] is not None else None, r[5], r[6]) for r in q.all()]
