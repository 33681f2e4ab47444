"""Small streets anywhere in the world for the coordinate rule's tests: the factory street's layout, moved.

``tests.factories.make_street`` draws 文艺路街道 in Xi'an; these helpers draw the same street → two communities →
three compounds around another corner (Nairobi, Lisbon), with the factories' ``square``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.grids.service import create_grid

from tests.factories import X0, Y0, D, make_street, square

XIAN = (X0, Y0)
NAIROBI = (36.80, -1.30)  # south of the equator, longitude under 90: swapped it is still a WGS84 point
LISBON = (-9.15, 38.70)  # west of Greenwich
STREET = "610103006"


def make_street_at(session: Session, corner: tuple[float, float]) -> None:
    """The factory street (codes 610103006 …) with its south-west corner at ``corner`` (lon, lat)."""
    if corner == XIAN:
        make_street(session)
        return
    x0, y0 = corner
    actor = Actor.system("test")
    for code, name, level, parent, (x, y, w) in (
        (STREET, "测试街道", "street", None, (x0, y0, 2 * D)),
        (f"{STREET}001", "一社区", "community", STREET, (x0, y0, D)),
        (f"{STREET}002", "二社区", "community", STREET, (x0 + D, y0, D)),
        (f"{STREET}001001", "第一网格", "compound", f"{STREET}001", (x0, y0, D / 2)),
        (f"{STREET}001002", "第二网格", "compound", f"{STREET}001", (x0 + D / 2, y0, D / 2)),
        (f"{STREET}002001", "第一网格", "compound", f"{STREET}002", (x0 + D, y0, D)),
    ):
        create_grid(session, code=code, name=name, level=level, parent_code=parent, geometry=square(x, y, w, D),
                    actor=actor)  # fmt: skip


def inside(corner: tuple[float, float]) -> tuple[float, float]:
    """A point inside compound …001001 of the street drawn at ``corner``."""
    return corner[0] + 0.002, corner[1] + 0.005


def away(corner: tuple[float, float], km: float) -> tuple[float, float]:
    """A point about ``km`` kilometres north of the street drawn at ``corner`` (a degree of latitude ≈ 111 km)."""
    return corner[0] + 0.005, corner[1] + D + km / 111.0
