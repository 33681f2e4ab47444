"""Validation findings and the grid input they are computed on (shared by import, validate and repairs), and the
JSON form of the staffing warnings that validation lists beside them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from gridgov.grids.staffing import StaffingFinding
from gridgov.vocab import FINDING_RULES

# Rules that refuse a whole import; the rest are stored and shown, and staff fix them later.
HARD_RULES = frozenset({"invalid_geometry", "orphan", "duplicate_code", "level_mismatch"})
TOPOLOGY_RULES = frozenset({"overlap", "gap", "outside_parent", "sliver"})
ALL_RULES = HARD_RULES | TOPOLOGY_RULES | {"bad_code", "unofficial_code"}

RULE_ZH = dict(FINDING_RULES.labels)
# How staffing warnings are labelled wherever they are listed beside the topology findings.
STAFFING_LABEL = "人员配备"


@dataclass(frozen=True)
class GridInput:
    """A grid to validate: attributes plus a shapely geometry in EPSG:4326; ``row`` is the file feature number."""

    code: str
    name: str
    level: str
    parent_code: str | None
    geometry: BaseGeometry | None
    row: int | None = None
    provisional: bool = False  # an unsaved draft whose code is a placeholder: the code rule is not checked


@dataclass(frozen=True)
class Finding:
    """One problem, reported once, with the exact grid codes involved and a point on it."""

    rule: str
    codes: list[str]
    message: str
    location: list[float] | None = None  # [lon, lat]
    area_m2: float | None = None
    length_m: float | None = None
    rows: list[int] = field(default_factory=list)  # file feature numbers, for imports
    geometry: BaseGeometry | None = field(default=None, compare=False)  # the problem area/line, EPSG:4326

    @property
    def blocking(self) -> bool:
        """True for rules that refuse an import."""
        return self.rule in HARD_RULES

    def as_dict(self) -> dict[str, Any]:
        """JSON form (None fields dropped)."""
        d = asdict(self)
        d.pop("geometry")
        if not self.rows:
            d.pop("rows")
        if self.geometry is not None and not self.geometry.is_empty:
            d["geometry"] = mapping(self.geometry)
        return {k: v for k, v in d.items() if v is not None}


def staffing_as_dict(finding: StaffingFinding) -> dict[str, Any]:
    """JSON form of a staffing warning: the compound, the problem keys and the Chinese message."""
    return {"code": finding.code, "name": finding.name, "problems": list(finding.problems), "message": finding.text}
