"""Small hand-made grids for tests (a street with two communities and three compounds)."""

from __future__ import annotations

from typing import Any

from shapely.geometry import box, mapping
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.grids.service import create_grid

X0, Y0 = 108.95, 34.24
D = 0.01


def square(x: float, y: float, w: float = D, h: float = D) -> dict[str, Any]:
    """A GeoJSON rectangle with its south-west corner at (x, y)."""
    r = lambda v: round(v, 7)  # noqa: E731 - exact shared edges despite float sums
    return dict(mapping(box(r(x), r(y), r(x + w), r(y + h))))


def make_street(session: Session) -> None:
    """Street 610103006 → communities …001 (west) and …002 (east) → compounds …001001, …001002, …002001."""
    create_grid(
        session,
        code="610103006",
        name="文艺路街道",
        level="street",
        parent_code=None,
        geometry=square(X0, Y0, 2 * D, D),
        actor=Actor.system("test"),
    )
    create_grid(
        session,
        code="610103006001",
        name="文艺北路一社区",
        level="community",
        parent_code="610103006",
        geometry=square(X0, Y0),
        actor=Actor.system("test"),
    )
    create_grid(
        session,
        code="610103006002",
        name="文艺北路二社区",
        level="community",
        parent_code="610103006",
        geometry=square(X0 + D, Y0),
        actor=Actor.system("test"),
    )
    create_grid(
        session,
        code="610103006001001",
        name="第一网格",
        level="compound",
        parent_code="610103006001",
        geometry=square(X0, Y0, D / 2, D),
        actor=Actor.system("test"),
    )
    create_grid(
        session,
        code="610103006001002",
        name="第二网格",
        level="compound",
        parent_code="610103006001",
        geometry=square(X0 + D / 2, Y0, D / 2, D),
        actor=Actor.system("test"),
    )
    create_grid(
        session,
        code="610103006002001",
        name="第一网格",
        level="compound",
        parent_code="610103006002",
        geometry=square(X0 + D, Y0),
        actor=Actor.system("test"),
    )
