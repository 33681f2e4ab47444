"""Import patrol tracks from a CSV file of fixes: ``time, lon, lat[, person]`` (Chinese headings too: 时间, 经度, 纬度,
人员/人员编码), UTF-8 or GBK.

Each row is one fix. A time without a zone is local (the installation's zone, as a phone's export writes it); an
ISO time with an offset is taken as written. Rows need not be in time order: each person's fixes are sorted by
time. The file is cut into tracks: one per person (the ``person`` column: a staff code, or a name borne by one
staff member; rows without one belong to the person or team the import names) and per shift (a night patrol:
each fix goes to the night window it falls in, a fix outside every window to the nearest one) or per day (a
daytime inspection: the local date). Everything else — the coordinate rule, who walked, the cleaning, scope,
duplicates, writing — is :mod:`gridgov.patrol.track_import`'s, so the file is imported whole or not at all, and
every error names its row.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.errors import InvalidInput
from gridgov.geo.extent import MAX_DISTANCE_M
from gridgov.importing.columns import Column
from gridgov.importing.read import read_table
from gridgov.patrol.cleaning import DEFAULT_MAX_GAP_MINUTES, DEFAULT_MAX_SPEED_KMH
from gridgov.patrol.shifts import shift_window
from gridgov.patrol.track_import import Problems, RawTrack, TrackImportReport, check_crs, resolve_target, write_tracks
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.vocab import DAY_INSPECTION, SHIFTS

COLUMNS = (
    Column("time", "datetime", True, ("时间", "定位时间", "采集时间", "timestamp", "datetime")),
    Column("lon", "float", True, ("经度", "longitude", "lng", "x")),
    Column("lat", "float", True, ("纬度", "latitude", "y")),
    Column("person", "text", False, ("人员", "人员编码", "人员编号", "工作人员", "姓名", "staff", "staff_code")),
)
Bucket = tuple[dt.date, str | None]


def _time(value: str, tz: dt.tzinfo) -> tuple[dt.datetime | None, str | None]:
    """A cell as an aware time (naive: local), or the reason it is not one."""
    if value == "":
        return None, "时间为空"
    try:
        t = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return None, f"无法识别的时间：{value}"
    if pd.isna(t):
        return None, f"无法识别的时间：{value}"
    return (t.tz_localize(tz) if t.tzinfo is None else t).to_pydatetime(), None


def _number(value: str) -> float:
    """A coordinate cell as a number (NaN when empty or not a number: the coordinate rule names it)."""
    try:
        return float(value)
    except ValueError:
        return float("nan")


def _shift_of(t: dt.datetime, tz: dt.tzinfo) -> Bucket:
    """The night window a fix falls in, or the nearest one."""
    local = t.astimezone(tz)
    best: tuple[dt.timedelta, dt.date, str] | None = None
    for night in (local.date() - dt.timedelta(days=1), local.date()):
        for shift in SHIFTS:
            a, b = shift_window(night, shift, tz)
            away = dt.timedelta(0) if a <= local < b else min(abs(local - a), abs(local - b))
            if best is None or away < best[0]:
                best = (away, night, shift)
    assert best is not None
    return best[1], best[2]


def read_csv_tracks(path: Path, kind: str, person: str | None, tz: dt.tzinfo, problems: Problems) -> list[RawTrack]:
    """The file's fixes cut into raw tracks (per person and shift, or per person and day); rows whose time cannot
    be read are reported in ``problems`` and left out."""
    table = read_table(path, COLUMNS)
    frame = table.frame
    if frame.empty:
        raise InvalidInput(f"CSV 文件中没有轨迹点：{path.name}")
    cells = {c: [str(v) for v in frame[c].to_numpy(dtype=object)] for c in ("time", "lon", "lat")}
    persons = [str(v) for v in frame["person"].to_numpy(dtype=object)] if "person" in frame else [""] * len(frame)
    fixes: dict[tuple[str, Bucket], list[tuple[dt.datetime, int, float, float]]] = {}
    for i, row in enumerate(table.rows.tolist()):
        t, reason = _time(cells["time"][i], tz)
        if t is None:
            problems.add(reason or "时间为空", row=row)
            continue
        who = persons[i] or person or ""
        bucket: Bucket = (t.astimezone(tz).date(), None) if kind == DAY_INSPECTION else _shift_of(t, tz)
        fixes.setdefault((who, bucket), []).append((t, row, _number(cells["lon"][i]), _number(cells["lat"][i])))
    groups = sorted(fixes.items(), key=lambda kv: min(f[1] for f in kv[1]))
    out: list[RawTrack] = []
    for index, ((who, (night, shift)), found) in enumerate(groups, start=1):
        found.sort(key=lambda f: f[0])  # stable: equal times keep the file's order
        name = " ".join(p for p in (who, night.isoformat(), shift) if p)
        out.append(RawTrack(
            index=index,
            label=f"{name} 的轨迹（自第 {min(f[1] for f in found)} 行）",
            name=name,
            lon=np.array([f[2] for f in found], dtype=np.float64),
            lat=np.array([f[3] for f in found], dtype=np.float64),
            times=[f[0] for f in found],
            rows=[f[1] for f in found],
            person=who or None,
        ))  # fmt: skip
    return out


def import_csv_tracks(
    session: Session,
    path: Path,
    *,
    actor: Actor,
    team_code: str | None = None,
    staff_code: str | None = None,
    kind: str | None = None,
    crs: Any = None,
    dry_run: bool = False,
    timezone: str = DEFAULT_TIMEZONE,
    buffer_m: float | None = None,
    max_distance_m: float = MAX_DISTANCE_M,
    max_speed_kmh: float = DEFAULT_MAX_SPEED_KMH,
    max_gap_minutes: float = DEFAULT_MAX_GAP_MINUTES,
) -> TrackImportReport:
    """Import a CSV of fixes as tracks of ``kind`` (night patrol by default) of a team, a person (``staff_code``)
    or the persons of its ``person`` column; atomic, every error with its row number."""
    path = Path(path)
    target = resolve_target(session, actor, kind=kind, team_code=team_code, staff_code=staff_code)
    check_crs(crs, "CSV")
    problems = Problems("CSV")
    raw = read_csv_tracks(path, target.kind, target.staff_code, ZoneInfo(timezone), problems)
    return write_tracks(session, target, raw, file=path.name, fmt="CSV", actor=actor, problems=problems, crs=crs,
                        dry_run=dry_run, timezone=timezone, buffer_m=buffer_m, max_distance_m=max_distance_m,
                        max_speed_kmh=max_speed_kmh, max_gap_minutes=max_gap_minutes)  # fmt: skip
