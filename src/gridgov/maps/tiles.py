"""Vector tiles (MVT) of the grids straight from PostGIS (``ST_AsMVT``), for areas too large to inline."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.db import sql
from gridgov.errors import InvalidInput

MAX_ZOOM = 22


def grid_tile(session: Session, z: int, x: int, y: int, *, level: str | None = None) -> bytes:
    """The grids of web-mercator tile z/x/y as MVT bytes (empty bytes when the tile holds no grid)."""
    if not 0 <= z <= MAX_ZOOM or not (0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidInput(f"瓦片坐标无效：{z}/{x}/{y}")
    tile = session.execute(text(sql.load("grid_tile")), {"z": z, "x": x, "y": y, "level": level}).scalar_one()
    return bytes(tile or b"")
