"""Track cleaning, shared by every track importer: GPS jumps and gaps in the recording, flagged and reported.

A fix is judged against the last fix kept before it (never against a jump):

- **跳点** (GPS jump): reached from the last kept fix faster than ``max_speed_kmh`` (distance on the WGS84
  ellipsoid over the time between them, at least one second: timestamps have a resolution of one second) while
  one of the next :data:`LOOK_AHEAD` fixes is reachable again: a spike off the way, of one fix or a short
  cluster. A run of fast fixes that never comes back is travel (a patrol car), not a jump. The fix stays in
  ``patrol_point`` with its flag but is left out of the line and of every figure.
- **断点** (first fix after a gap): more than ``max_gap_minutes`` after the last kept fix (a phone that stopped
  recording with its screen locked). The line is split there: the stretch ending at a 断点 was not walked, so it
  is neither drawn nor counted.

A first fix that is itself a jump would make every later fix look impossible, so the walk starts at the first
fix from which the next one, or the one after it, is reachable; fixes before it are jumps. The walked parts are
the runs of kept fixes between gaps; a run of fewer than two distinct positions draws no line (its fixes stay as
points).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pyproj import Geod

from gridgov.config import PatrolSettings, defaults
from gridgov.vocab import POINT_FLAGS

JUMP, GAP = POINT_FLAGS.terms
# How many later fixes may show that a fast one was a spike (a GPS jump often lands two or three fixes away).
LOOK_AHEAD = 3
# A vehicle keeps its pace: while travelling faster than the limit, a fix is judged against this much more than
# the pace of the step before it.
TRAVEL_MARGIN = 1.5
DEFAULT_MAX_SPEED_KMH = defaults(PatrolSettings).max_speed_kmh  # faces pass settings.max_speed_kmh
DEFAULT_MAX_GAP_MINUTES = defaults(PatrolSettings).max_gap_minutes  # faces pass settings.max_gap_minutes
MIN_STEP_S = 1.0
_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class Gap:
    """A pause in the recording: the last kept fix before it and the first fix after it (the 断点)."""

    after: dt.datetime
    at: dt.datetime

    @property
    def minutes(self) -> float:
        """How long the recording stopped."""
        return (self.at - self.after).total_seconds() / 60


@dataclass(frozen=True)
class Cleaned:
    """What the cleaning found in one track: a flag per fix, the walked parts (lon/lat arrays), jumps and gaps."""

    flags: list[str | None]
    parts: list[np.ndarray]
    jumps: list[dt.datetime] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)


def _distance_m(lon: np.ndarray, lat: np.ndarray, i: int, j: int) -> float:
    """Metres on the ellipsoid between fixes ``i`` and ``j``."""
    return float(_GEOD.inv(lon[i], lat[i], lon[j], lat[j])[2])


def _speed_ok(metres: float, seconds: float, max_mps: float) -> bool:
    return metres <= max_mps * max(seconds, MIN_STEP_S)


def clean(
    times: Sequence[dt.datetime],
    lonlat: np.ndarray,
    *,
    max_speed_kmh: float = DEFAULT_MAX_SPEED_KMH,
    max_gap_minutes: float = DEFAULT_MAX_GAP_MINUTES,
) -> Cleaned:
    """Flag the jumps and gaps of one track (fixes in time order, WGS84 lon/lat) and cut its walked parts."""
    n = len(times)
    lon = np.ascontiguousarray(lonlat[:, 0], dtype=np.float64)
    lat = np.ascontiguousarray(lonlat[:, 1], dtype=np.float64)
    secs = np.array([t.timestamp() for t in times], dtype=np.float64)
    step_m = np.asarray(_GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])[2], dtype=np.float64) if n > 1 else np.empty(0)
    max_mps = max_speed_kmh / 3.6
    max_gap_s = max_gap_minutes * 60
    flags: list[str | None] = [None] * n

    def reachable(i: int, j: int, limit: float = max_mps) -> bool:
        metres = step_m[i] if j == i + 1 else _distance_m(lon, lat, i, j)
        return _speed_ok(metres, secs[j] - secs[i], limit)

    start = next((i for i in range(n - 1) if reachable(i, i + 1) or (i + 2 < n and reachable(i, i + 2))), 0)
    for i in range(start):
        flags[i] = JUMP
    kept, limit = start, max_mps  # limit: the speed limit, raised to the pace of a vehicle travelling faster
    for i in range(start + 1, n):
        metres = step_m[i - 1] if kept == i - 1 else _distance_m(lon, lat, kept, i)
        seconds = max(secs[i] - secs[kept], MIN_STEP_S)
        fast = not _speed_ok(metres, seconds, limit)
        # the last fix has nothing after it: off the way unless the track was already travelling fast
        comes_back = limit == max_mps if i == n - 1 else any(
            reachable(kept, j, limit) for j in range(i + 1, min(n, i + 1 + LOOK_AHEAD)))  # fmt: skip
        if fast and comes_back:
            flags[i] = JUMP
            continue
        limit = max(max_mps, TRAVEL_MARGIN * metres / seconds)
        if seconds > max_gap_s:
            flags[i] = GAP
        kept = i
    parts: list[np.ndarray] = []
    run: list[int] = []
    for i in range(n + 1):
        if i == n or flags[i] == GAP:
            if len(run) >= 2:
                part = np.column_stack([lon[run], lat[run]])
                if len(np.unique(part, axis=0)) >= 2:
                    parts.append(part)
            run = []
        if i < n and flags[i] != JUMP:
            run.append(i)
    jumps = [times[i] for i in range(n) if flags[i] == JUMP]
    gaps: list[Gap] = []
    last: int | None = None
    for i in range(n):
        if flags[i] == JUMP:
            continue
        if flags[i] == GAP and last is not None:
            gaps.append(Gap(times[last], times[i]))
        last = i
    return Cleaned(flags, parts, jumps, gaps)
