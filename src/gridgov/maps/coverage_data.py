"""Data of the coverage map: the leaf grids of an area, the patrol team's name, and the incidents of the period
binned into heatmap frames by day or week (points and categories only)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.db import sql
from gridgov.errors import NotFound
from gridgov.grids.service import GridRecord, leaves, list_grids, subtree
from gridgov.incidents.kpi import TimeWindow

__all__ = ["WEEKLY_AFTER_DAYS", "Heat", "area", "heat_frames", "incidents", "rostered", "team_name"]

WEEKLY_AFTER_DAYS = 120
"""Periods longer than this many days get one heatmap frame per week instead of per day."""


@dataclass(frozen=True)
class Heat:
    """Heatmap frames: labels, points [lat, lon] per frame, category index per point, category names."""

    labels: list[str]
    frames: list[list[list[float]]]
    cats: list[list[int]]
    categories: list[str]
    total: int
    weekly: bool


def area(session: Session, parent_code: str | None) -> tuple[list[GridRecord], list[GridRecord], str | None]:
    """Leaves (live grids without live children) under ``parent_code``, the subtree's other grids, its name."""
    grids = subtree(list_grids(session), parent_code)
    leaf = leaves(grids)
    codes = {g.code for g in leaf}
    parent_name = next(g.name for g in grids if g.code == parent_code) if parent_code is not None else None
    return leaf, [g for g in grids if g.code not in codes], parent_name


def team_name(session: Session, team_code: str) -> str:
    """The patrol team's name, or ``NotFound``."""
    name = session.execute(text("SELECT name FROM patrol_team WHERE code = :c AND lineage_id IS NULL"),
                           {"c": team_code}).scalar()  # fmt: skip
    if name is None:
        raise NotFound(f"巡逻队不存在：{team_code}")
    return str(name)


def rostered(
    session: Session, leaf_ids: list[int], date_from: dt.date | None, date_to: dt.date | None,
    team_code: str | None = None,
) -> set[int] | None:  # fmt: skip
    """The leaves (ids) that lay in a rostered team's patrol area on some night of the period; None when the
    period has no roster at all (then every leaf counts: nobody planned otherwise)."""
    params = {"leaf_ids": leaf_ids, "date_from": date_from, "date_to": date_to, "team_code": team_code}
    n, ids = session.execute(text(sql.load("coverage_rostered")), params).one()
    return None if not n else {int(i) for i in ids or ()}


def incidents(
    session: Session, grid_ids: list[int], date_from: dt.date | None, date_to: dt.date | None, tz: str,
    window: TimeWindow | None = None,
) -> list[Any]:  # fmt: skip
    """Incidents of the grids reported in the period (local days) and, when given, in a time window of the day
    (gridgov.incidents.kpi.parse_window): lon, lat, category and local day only."""
    params = {"tz": tz, "grid_ids": grid_ids, "date_from": date_from, "date_to": date_to,
              "t_from": window.start if window else None, "t_to": window.end if window else None}  # fmt: skip
    return list(session.execute(text(sql.load("map_incidents")), params).all())


def heat_frames(
    rows: Sequence[Any], xs: Sequence[float], ys: Sequence[float], date_from: dt.date | None,
    date_to: dt.date | None, today: dt.date,
) -> Heat:  # fmt: skip
    """Bin incident rows (drawn at ``xs``, ``ys``) into frames per day, or per week for long periods."""
    days = [r.day for r in rows]
    start = date_from or (min(days) if days else date_to or today)
    end = max(start, date_to or (max(days) if days else start))
    weekly = (end - start).days + 1 > WEEKLY_AFTER_DAYS
    step = 7 if weekly else 1
    n = (end - start).days // step + 1
    labels = []
    for k in range(n):
        first = start + dt.timedelta(days=k * step)
        last = min(end, first + dt.timedelta(days=step - 1))
        labels.append(f"{first:%Y-%m-%d}～{last:%m-%d}" if weekly else f"{first:%Y-%m-%d}")
    counts = Counter(r.category for r in rows)
    categories = sorted(counts, key=lambda c: (-counts[c], c))
    index = {c: k for k, c in enumerate(categories)}
    frames: list[list[list[float]]] = [[] for _ in range(n)]
    cats: list[list[int]] = [[] for _ in range(n)]
    for r, x, y in zip(rows, xs, ys, strict=True):
        t = (r.day - start).days // step
        frames[t].append([y, x])
        cats[t].append(index[r.category])
    return Heat(labels, frames, cats, categories, len(rows), weekly)
