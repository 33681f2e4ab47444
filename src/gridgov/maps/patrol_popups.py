"""Popup HTML of the patrol route map: a track's times, length, out-of-area flag and time per grid; a grid's
night (every value escaped here, so the pages may insert it as HTML)."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from shapely.geometry.base import BaseGeometry

from gridgov.grids.service import GridRecord
from gridgov.maps.base import fmt_count
from gridgov.maps.patrol_data import Track
from gridgov.patrol.tracks import OutsideTrack, TrackGridStat

__all__ = ["UNVISITED_TEXT", "grid_features", "km", "local_time", "track_popup"]

UNVISITED_TEXT = "当晚未巡逻"


def local_time(t: dt.datetime, tz: ZoneInfo) -> str:
    """A moment as local date and time (minutes)."""
    return t.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _duration(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    return f"{minutes // 60} 小时 {minutes % 60} 分" if minutes >= 60 else f"{minutes} 分钟"


def km(metres: float) -> str:
    """Metres as kilometres, one decimal."""
    return f"{metres / 1000:.1f} 公里"


def track_popup(
    k: Track,
    stats: Sequence[TrackGridStat],
    grids: dict[str, GridRecord],
    outside: OutsideTrack | None,
    tz: ZoneInfo,
) -> str:
    """Popup HTML: team, shift, times, length, the 越界 flag, and minutes/metres/entries per grid."""
    e = html.escape
    rows = "".join(
        f'<tr data-grid-code="{e(s.grid_code)}"><td>{e(grids[s.grid_code].name if s.grid_code in grids else "")}'
        f"<br><small>{e(s.grid_code)}</small></td>"
        f'<td class="num gridgov-min">{s.seconds_inside / 60:.1f}</td>'
        f'<td class="num">{s.length_m:.0f}</td><td class="num">{s.entries}</td></tr>'
        for s in sorted(stats, key=lambda s: (-s.seconds_inside, s.grid_code))
    )
    total_s = sum(s.seconds_inside for s in stats)
    total_m = sum(s.length_m for s in stats)
    warn = ""
    if outside is not None:
        far = f"，最远 {outside.max_distance_m:.0f} 米" if outside.max_distance_m is not None else ""
        what = "越出巡逻区域" if outside.has_area else "该队未设巡逻区域"
        where = f"区域外 {outside.outside_m:.0f} 米（{outside.share:.0%}）{far}"
        warn = f'<div class="gridgov-warn">⚠ {what}：{where}</div>'
    table = (
        '<div class="gridgov-scroll"><table><thead><tr><th>网格</th><th class="num">分钟</th>'
        f'<th class="num">米</th><th class="num">进入次数</th></tr></thead><tbody>{rows}</tbody>'
        f'<tfoot><tr><th>网格内合计</th><th class="num">{total_s / 60:.1f}</th><th class="num">{total_m:.0f}</th>'
        "<th></th></tr></tfoot></table></div>"
        if stats
        else "<div><small>本条轨迹未进入任何末级网格</small></div>"
    )
    return (
        f'<div class="gridgov-track-popup" data-track-id="{k.id}">'
        f'<div class="gridgov-head">{e(k.team.label)} · {e(k.shift)}</div>'
        f"<div>开始：{local_time(k.started_at, tz)}<br>结束：{local_time(k.ended_at, tz)}"
        f"（{_duration((k.ended_at - k.started_at).total_seconds())}）<br>"
        f"总里程：{km(k.length_m)}（{k.length_m:.0f} 米）"
        + (f"<br>来源：{e(k.source)}" if k.source else "")
        + f"</div>{warn}{table}</div>"
    )


def grid_features(
    grids: Sequence[GridRecord], geoms: Iterable[BaseGeometry], visited: dict[str, list[TrackGridStat]]
) -> dict[str, Any]:
    """GeoJSON of leaf grids with display-ready (escaped) popup properties."""
    features = []
    for g, geom in zip(grids, geoms, strict=True):
        stats = visited.get(g.code, [])
        props = {
            "name": html.escape(g.name),
            "code": html.escape(g.code),
            "visited": bool(stats),
            "status": f"已巡逻（{len({s.track_id for s in stats})} 条轨迹）" if stats else UNVISITED_TEXT,
            "minutes": f"{sum(s.seconds_inside for s in stats) / 60:.1f}",
            "metres": fmt_count(round(sum(s.length_m for s in stats))),
            "tip": html.escape(g.name) + ("" if stats else f"：{UNVISITED_TEXT}"),
        }
        features.append({"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": features}
