"""Point lookup: the live grid at every level that covers a point, from an in-process index of the live grids.

The rule is the database's (``gridgov_leaf_for_point``, migration 0003): the live leaf grid (a live grid
without live children) that covers the point — ``ST_Covers``, so a point on a boundary counts — and on a
shared edge or vertex the one whose code sorts first; its ancestors give the other levels. A point outside
every leaf has no grid.

The index holds every live grid (code, name, level, parent) and an STRtree over the prepared leaf polygons.
The leaves are stored in the database's ``ORDER BY code`` order (its collation, not Python's), so the
smallest tree index among the covering leaves is the smallest code, exactly as in SQL.

Freshness: the index remembers the grid data revision it was built from (``data_revision`` ``grid``, raised
by triggers on every change of a live grid's geometry, parent, level or life) together with the highest grid
row id (every versioned edit — a rename or recode too, which the revision ignores — inserts a history row,
and writers are serialised by the writers' lock, so the id only grows). A lookup uses the index when it
was checked less than ``max_age_s`` ago; otherwise one thread re-reads both (one small query), and rebuilds
the index in one REPEATABLE READ snapshot if they changed, while the other threads keep answering from the
old index. So a committed grid change is seen by every lookup that starts more than ``max_age_s`` plus
one check-and-rebuild later (the rebuild reads every live grid: about 2 s at 10^5 compounds). The first
lookup waits for the first build. If the database cannot be reached, the thread that checks raises (the API
answers 503) while the others keep answering from the last index.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import prcoords
import shapely
from pyproj import CRS, Transformer
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.db.revisions import GRID, revision
from gridgov.errors import InvalidInput
from gridgov.geo.crs import GCJ02, parse_crs, to_wgs84
from gridgov.vocab import LEVEL_ZH

DEFAULT_MAX_AGE_S = 1.0
# Live grids in the database's code order (that order is the tie rule). A leaf has no live child.
LIVE_GRIDS = """
SELECT g.id, g.code, g.name, g.level, g.parent_id,
       NOT EXISTS (SELECT 1 FROM grid c
                    WHERE c.parent_id = g.id AND c.valid_to IS NULL AND c.lineage_id IS NULL) AS leaf,
       ST_AsBinary(g.geom) AS wkb
  FROM grid g
 WHERE g.valid_to IS NULL AND g.lineage_id IS NULL
 ORDER BY g.code
"""
MAX_ROW_ID = "SELECT coalesce(max(id), 0) FROM grid"
MAX_DEPTH = 16  # more levels than any hierarchy has
FETCH_BATCH = 10_000
Key = tuple[int, int]  # (grid data revision, highest grid row id)


@dataclass(frozen=True, slots=True)
class LocatedGrid:
    """One level of a point's grids."""

    level: str
    level_zh: str
    code: str
    name: str


@dataclass(frozen=True)
class Located:
    """The grids covering a point (EPSG:4326), street first; empty when the point is outside every grid."""

    lon: float
    lat: float
    grids: list[LocatedGrid]

    @property
    def leaf(self) -> LocatedGrid | None:
        """The lowest grid (the one the point is assigned to), or None outside every grid."""
        return self.grids[-1] if self.grids else None


WGS84_NAMES = frozenset({"4326", "epsg:4326", "wgs84"})


def is_wgs84(crs: str | None) -> bool:
    """True for the default CRS spellings (no conversion, no CRS parsing)."""
    return crs is None or crs.strip().lower() in WGS84_NAMES


@lru_cache(maxsize=16)
def _converter(value: str) -> Callable[[float, float], tuple[float, float]] | None:
    """A cached converter to EPSG:4326 for an accepted geographic CRS (None: already EPSG:4326)."""
    crs = parse_crs(value)
    if crs == GCJ02:
        return _from_gcj02
    assert isinstance(crs, CRS)
    if not crs.is_geographic:
        raise InvalidInput(f"按经纬度查询只接受地理坐标系（EPSG:4326、EPSG:4490 或 gcj02），不接受投影坐标系：{value}")
    if crs.to_epsg() == 4326:
        return None
    transformer = Transformer.from_crs(crs, 4326, always_xy=True)
    return lambda x, y: tuple(map(float, transformer.transform(x, y)))  # type: ignore[return-value]


def _from_gcj02(x: float, y: float) -> tuple[float, float]:
    """GCJ-02 → EPSG:4326 through gridgov.geo.crs (the offset is defined inside China only)."""
    if not prcoords.sanity_in_china_p(prcoords.Coords(y, x)):
        raise InvalidInput(f"gcj02（高德/腾讯）坐标只适用于中国境内：{x}, {y}")
    p = to_wgs84([shapely.Point(x, y)], GCJ02)[0]
    return float(p.x), float(p.y)


def check_lonlat(lon: float, lat: float) -> tuple[float, float]:
    """``(lon, lat)`` as floats, or ``InvalidInput`` unless finite and within ±180 / ±90."""
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"经纬度必须是数字：{lon!r}, {lat!r}") from exc
    if not (math.isfinite(x) and -180.0 <= x <= 180.0):
        raise InvalidInput(f"经度应在 -180 到 180 之间：{lon}")
    if not (math.isfinite(y) and -90.0 <= y <= 90.0):
        raise InvalidInput(f"纬度应在 -90 到 90 之间：{lat}")
    return x, y


def to_lonlat(lon: float, lat: float, crs: str | None = None) -> tuple[float, float]:
    """A checked point in ``crs`` (default EPSG:4326; also ``4490`` and ``gcj02``) as EPSG:4326 lon/lat."""
    x, y = check_lonlat(lon, lat)
    if is_wgs84(crs):
        return x, y
    assert crs is not None
    convert = _converter(crs.strip().lower())
    if convert is None:
        return x, y
    try:
        return check_lonlat(*convert(x, y))
    except (ValueError, ArithmeticError) as exc:
        raise InvalidInput(f"坐标无法从 {crs} 换算为 WGS84：{x}, {y}") from exc


class _Snapshot:
    """The live grids at one key: each leaf's chain of grids (street first), and an STRtree over the leaves."""

    def __init__(self, key: Key, rows: Sequence[tuple[Any, ...]], leaf_geoms: np.ndarray) -> None:
        """From the rows of LIVE_GRIDS without their WKB, and the leaves' polygons in row order."""
        self.key = key
        ids, codes, names, levels, parent_ids, is_leaf = list(zip(*rows, strict=True)) or [()] * 6
        pos = {gid: i for i, gid in enumerate(ids)}
        grids = [LocatedGrid(lv, LEVEL_ZH.get(lv, lv), c, n) for lv, c, n in zip(levels, codes, names, strict=True)]
        parent = [-1 if p is None else pos.get(p, -1) for p in parent_ids]
        memo: dict[int, tuple[LocatedGrid, ...]] = {}

        def chain(i: int, depth: int = 0) -> tuple[LocatedGrid, ...]:
            if i < 0 or depth > MAX_DEPTH:  # a live grid's parent is live; the depth only stops a corrupt cycle
                return ()
            c = memo.get(i)
            if c is None:
                c = memo[i] = chain(parent[i], depth + 1) + (grids[i],)
            return c

        leaves = [i for i, leaf in enumerate(is_leaf) if leaf]  # ascending, so in the database's code order
        self.chains = [chain(i) for i in leaves]
        if len(leaf_geoms) != len(leaves):
            raise ValueError("one polygon per leaf expected")
        shapely.prepare(leaf_geoms)
        self.tree = shapely.STRtree(leaf_geoms)

    def leaf_chain(self, lon: float, lat: float) -> tuple[LocatedGrid, ...]:
        """The chain street → … → leaf of the leaf covering the point (smallest code on a boundary), or ()."""
        hits = self.tree.query(shapely.Point(lon, lat), predicate="covered_by")
        return self.chains[int(hits.min())] if hits.size else ()

    @property
    def leaves(self) -> int:
        """How many leaves the tree holds."""
        return len(self.chains)


class LocateIndex:
    """A thread-safe in-process index of the live grids for point lookups, rebuilt when the grids change."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
        on_build: Callable[[], object] | None = None,
    ) -> None:
        """``on_build`` runs after each (re)build, in the building thread (the server passes ``gc.freeze``)."""
        self.engine = engine
        self._on_build = on_build
        self.max_age_s = max_age_s
        self._clock = clock
        self._snapshot: _Snapshot | None = None
        self._checked_at = -math.inf
        self._lock = threading.Lock()
        self.builds = 0

    def due(self) -> bool:
        """True when the next lookup must first check the database (never built, or checked too long ago)."""
        return self._snapshot is None or self._clock() - self._checked_at >= self.max_age_s

    def refresh(self, *, force: bool = False) -> None:
        """Re-read the grids' key if due (or ``force``) and rebuild on a change; blocking (database work).

        One thread does it at a time; while it runs, the others return at once and keep using the old index
        (only the very first build makes them wait).
        """
        if not (force or self.due()):
            return
        if not self._lock.acquire(blocking=self._snapshot is None or force):
            return  # another thread is checking: answer from the old index meanwhile
        try:
            if not (force or self.due()):
                return  # it was checked while we waited for the lock
            started = self._clock()
            with Session(self.engine) as s:
                key = _key(s)
            if self._snapshot is None or key != self._snapshot.key:
                self._snapshot = _build(self.engine)
                self.builds += 1
                if self._on_build is not None:
                    self._on_build()
            self._checked_at = started
        finally:
            self._lock.release()

    def locate(self, lon: float, lat: float, crs: str | None = None) -> Located:
        """The grids at every level covering (lon, lat) in ``crs`` (default EPSG:4326); checks freshness first."""
        x, y = to_lonlat(lon, lat, crs)
        self.refresh()
        return self.lookup(x, y)

    def lookup(self, lon: float, lat: float) -> Located:
        """The same from the current index, without touching the database (call :meth:`refresh` when due)."""
        snap = self._snapshot
        if snap is None:
            raise RuntimeError("LocateIndex.lookup before the first refresh")
        return Located(lon, lat, list(snap.leaf_chain(lon, lat)))

    def chain(self, lon: float, lat: float) -> tuple[LocatedGrid, ...]:
        """The leaf's chain street → … → leaf for an EPSG:4326 point from the current index (no checks)."""
        snap = self._snapshot
        if snap is None:
            raise RuntimeError("LocateIndex.chain before the first refresh")
        return snap.leaf_chain(lon, lat)

    @property
    def key(self) -> Key | None:
        """(grid data revision, highest grid row id) the index was built from; None before the first build."""
        return self._snapshot.key if self._snapshot else None

    @property
    def leaves(self) -> int:
        """How many leaf grids the index holds (0 before the first build)."""
        return self._snapshot.leaves if self._snapshot else 0


def _key(session: Session) -> Key:
    """The grids' current key: the data revision and the highest grid row id."""
    return revision(session, GRID), int(session.execute(text(MAX_ROW_ID)).scalar_one())


def _build(engine: Engine) -> _Snapshot:
    """A snapshot of the live grids and their key, read in one consistent (REPEATABLE READ) transaction."""
    with Session(engine) as s:
        conn = s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        key = _key(s)
        rows: list[tuple[Any, ...]] = []
        geoms: list[np.ndarray] = [np.empty(0, dtype=object)]
        # A server-side cursor in psycopg's binary format: the WKB arrives as bytes (no hex text to decode: half
        # the fetch time) and in batches, each turned into polygons at once, so the whole result never sits in
        # memory as bytes (~140 MB at 10^5 compounds).
        with conn.connection.driver_connection.cursor("gridgov_locate", binary=True) as cur:  # type: ignore[union-attr]
            cur.execute(LIVE_GRIDS)
            while batch := cur.fetchmany(FETCH_BATCH):
                rows += [r[:6] for r in batch]
                geoms.append(shapely.from_wkb([r[6] for r in batch if r[5]]))
    return _Snapshot(key, rows, np.concatenate(geoms))
