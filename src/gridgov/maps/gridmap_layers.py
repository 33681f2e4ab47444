"""The grid map's optional layers: households in four colours (以房管人), buildings, and the Party layer
(党员户, organisations on their grids, 党员责任区, 联系户)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from gridgov.maps.base import dot_swatch, fmt_count, line_swatch, swatch
from gridgov.maps.basemap import Basemap, display_geoms, display_xy
from gridgov.maps.elements import CircleMarkers, DivMarkers, js_function
from gridgov.maps.gridmap_data import PartyLayer
from gridgov.vocab import HOUSEHOLD_KINDS, PARTY_STAFF_ROLES

__all__ = ["BUILDING_STYLE", "DUTY_STYLE", "HOUSEHOLD_COLOURS", "LINK_STYLE", "PARTY_COLOUR", "add_buildings",
           "add_households", "add_party"]

HOUSEHOLD_COLOURS: dict[str, str] = dict(
    zip(HOUSEHOLD_KINDS, ("#2f9e44", "#f08c00", "#868e96", "#1971c2"), strict=True)
)
"""The customary four colours of the household layer (以房管人), in vocabulary order: green, orange, grey, blue."""

BUILDING_STYLE: dict[str, Any] = {"color": "#495057", "weight": 1, "fillColor": "#adb5bd", "fillOpacity": 0.6}
PARTY_COLOUR = "#c92a2a"
PARTY_STAFF_COLOUR = "#ffd43b"
DUTY_STYLE: dict[str, Any] = {"color": "#e8590c", "weight": 1.5, "dashArray": "5 3", "fillColor": "#ffa94d",
                              "fillOpacity": 0.25}  # fmt: skip
LINK_STYLE: dict[str, Any] = {"color": "#c2255c", "weight": 1.5, "opacity": 0.85}
ORG_LABEL_RANK = 1_000_000  # after every grid label (ranked by area from 0): a grid's own name wins a collision
MAX_ORG_LINES = 2


def add_households(m: folium.Map, households: pd.DataFrame, basemap: Basemap | None) -> list[tuple[str, str]]:
    """One clustered layer per household kind, in its customary colour; returns legend rows."""
    rows = []
    for kind, colour in HOUSEHOLD_COLOURS.items():
        part = households[households["kind"] == kind]
        if part.empty:
            continue
        x, y = display_xy(part["lon"], part["lat"], basemap)
        folium.plugins.FastMarkerCluster(
            np.column_stack([y, x]).tolist(), callback=js_function("household_marker.js", colour=colour, kind=kind),
            name=f"住户：{kind}（{len(part)}）", icon_create_function=js_function("cluster_icon.js", colour=colour),
            disableClusteringAtZoom=18, chunkedLoading=True,
        ).add_to(m)  # fmt: skip
        rows.append((dot_swatch(colour), f"{kind} {len(part)} 户"))
    return rows


def _building_popup(row: dict[str, Any]) -> str:
    """A building's popup: name, code, floors and address (escaped)."""
    popup = f"<b>{html.escape(str(row.get('name') or row['code']))}</b><br>编码：{html.escape(str(row['code']))}"
    if row.get("floors") is not None and row["floors"] == row["floors"]:
        popup += f"<br>层数：{fmt_count(row['floors'])}"
    if row.get("address"):
        popup += f"<br>地址：{html.escape(str(row['address']))}"
    return popup


def add_buildings(m: folium.Map, buildings: gpd.GeoDataFrame, basemap: Basemap | None) -> None:
    """Building footprints (or points) with name, floors and address in the popup."""
    geoms = display_geoms(buildings.geometry.values, basemap)
    features = [
        {"type": "Feature", "properties": {"popup": _building_popup(row)}, "geometry": shapely.geometry.mapping(geom)}
        for row, geom in zip(buildings.to_dict("records"), geoms, strict=True)
    ]
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features}, name=f"楼栋（{len(features)}）",
        style_function=lambda _f: BUILDING_STYLE, marker=folium.CircleMarker(radius=4, **BUILDING_STYLE),
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False), zoom_on_click=False,
    ).add_to(m)  # fmt: skip


def _text(value: Any) -> str:
    """A text cell of a frame: "" for a missing one (pandas reads SQL NULLs of text columns as NaN)."""
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def _popup_rows(grid_orgs: pd.DataFrame | None, grid_staff: pd.DataFrame | None) -> list[str]:
    """A grid's organisations (kind, name, secretary and phone) and its Party roles, as escaped popup lines."""
    lines = []
    if grid_orgs is not None:
        for kind, name, secretary, phone in zip(grid_orgs["kind"], grid_orgs["name"], grid_orgs["secretary"],
                                                grid_orgs["phone"], strict=True):  # fmt: skip
            who = "、".join(x for x in (_text(secretary) and f"书记 {_text(secretary)}", _text(phone)) if x)
            lines.append(html.escape(f"{kind}：{name}" + (f"（{who}）" if who else "")))
    if grid_staff is not None:
        for role, name, phone in zip(grid_staff["role"], grid_staff["name"], grid_staff["phone"], strict=True):
            lines.append(html.escape(f"{role}：{name}" + (f"（{_text(phone)}）" if _text(phone) else "")))
    return lines


def _below(geom: BaseGeometry | None, lat: float, lon: float) -> tuple[float, float]:
    """Where a grid's organisations are labelled: inside the grid below its own label point (the collision
    script hides whichever of the two has to give way), or at the label point when there is no room."""
    if geom is None or geom.is_empty:
        return lat, lon
    minx, miny, maxx, maxy = geom.bounds
    lower = shapely.intersection(geom, shapely.box(minx, miny, maxx, lat - (maxy - miny) * 0.15))
    if lower.is_empty:
        return lat, lon
    p = shapely.point_on_surface(lower)
    return round(float(p.y), 6), round(float(p.x), 6)


def _org_labels(orgs: pd.DataFrame, anchors: Mapping[str, tuple[float, float]],
                shapes: Mapping[str, BaseGeometry]) -> list[tuple[float, float, str]]:  # fmt: skip
    """One label per grid with its organisations (kind and name, two at most and how many more), ranked after
    every grid label so a grid's own name wins where they collide."""
    labels = []
    for i, (code, part) in enumerate(orgs.groupby("grid_code", sort=True)):
        if code not in anchors:
            continue
        names = [f"{k} {n}" for k, n in zip(part["kind"], part["name"], strict=True)]
        shown = "<br>".join(html.escape(x) for x in names[:MAX_ORG_LINES])
        if len(names) > MAX_ORG_LINES:
            shown += f"<br>等 {len(names)} 个党组织"
        lat, lon = _below(shapes.get(str(code)), *anchors[str(code)])
        labels.append((lat, lon, f'<div class="gridgov-label-text" data-rank="{ORG_LABEL_RANK + i}" '
                                 f'style="color:{PARTY_COLOUR};font-weight:bold">{shown}</div>'))  # fmt: skip
    return labels


def _area_popup(row: Mapping[str, Any]) -> str:
    """A 责任区's popup: code and name, duty, organisation and the members responsible (escaped)."""
    cells = [("责任区", f"{row['name']}（{row['code']}）"), ("职责", row["duty"]), ("党组织", _text(row["org"])),
             ("责任党员", "、".join(row["members"]))]  # fmt: skip
    body = "".join(f"<tr><th>{k}</th><td>{html.escape(str(v))}</td></tr>" for k, v in cells if v)
    return f'<table class="gridgov-popup">{body}</table>'


def _geojson(features: list[dict[str, Any]], name: str, style: dict[str, Any]) -> folium.GeoJson:
    """Features whose ``popup`` property is their (escaped) popup, in one style."""
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": features}, name=name, style_function=lambda _f: style,
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False, max_width=360), zoom_on_click=False,
    )  # fmt: skip


def add_party(
    m: folium.Map, party: PartyLayer, anchors: Mapping[str, tuple[float, float]],
    shapes: Mapping[str, BaseGeometry], basemap: Basemap | None,
) -> tuple[list[tuple[str, str]], bool]:  # fmt: skip
    """The Party layer (authorised users only): households with members; on each grid a marker with its
    organisations (secretary and phone) and Party roles, and its organisations' names as labels; the 党员责任区
    with their duty and members; the 联系户 links from each member's home to the households linked.

    Returns the legend rows, and whether labels were added (they need the grid labels' collision script)."""
    group = folium.FeatureGroup(name=f"党建（党员户 {len(party.households)}）", show=True)
    points = party.households
    if not points.empty:
        x, y = display_xy(points["lon"], points["lat"], basemap)
        data = [
            [float(b), float(a), f"党员 {int(n)} 名（{html.escape(str(t))}）"]
            for a, b, n, t in zip(x, y, points["members"], points["types"], strict=True)
        ]
        CircleMarkers(data, PARTY_COLOUR, radius=5).add_to(group)
    orgs_by_grid = {str(c): part for c, part in party.orgs.groupby("grid_code", sort=True)}
    staff_by_grid = {str(c): part for c, part in party.staff.groupby("grid_code", sort=True)}
    markers = []
    for code in sorted(set(orgs_by_grid) | set(staff_by_grid)):
        if code in anchors:
            lines = "<br>".join(_popup_rows(orgs_by_grid.get(code), staff_by_grid.get(code)))
            markers.append([*anchors[code], f"<b>{html.escape(code)}</b><br>{lines}"])
    if markers:
        CircleMarkers(markers, PARTY_STAFF_COLOUR, radius=7, border=PARTY_COLOUR).add_to(group)
    group.add_to(m)
    rows = [(dot_swatch(PARTY_COLOUR), "党员户"),
            (dot_swatch(PARTY_STAFF_COLOUR), "、".join(("党组织", *PARTY_STAFF_ROLES)))]  # fmt: skip

    labels = _org_labels(party.orgs, anchors, shapes)
    if labels:
        orgs = folium.FeatureGroup(name=f"党组织（{party.orgs['code'].nunique()}）", show=True)
        DivMarkers(labels, "gridgov-label gridgov-label-party").add_to(orgs)
        orgs.add_to(m)
        rows.append((f'<span class="gridgov-swatch" style="color:{PARTY_COLOUR};font-weight:bold">党</span>',
                     "党组织名称"))  # fmt: skip

    areas = party.areas
    if not areas.empty:
        geoms = display_geoms(areas.geometry.values, basemap)
        records = areas.drop(columns="geometry").to_dict("records")
        features = [{"type": "Feature", "properties": {"popup": _area_popup(row)}, "geometry": mapping(g)}
                    for row, g in zip(records, geoms, strict=True)]  # fmt: skip
        _geojson(features, f"党员责任区（{len(areas)}）", DUTY_STYLE).add_to(m)
        rows.append((swatch(DUTY_STYLE), f"党员责任区（{len(areas)}）"))

    links = party.links
    if not links.empty:
        x0, y0 = display_xy(links["from_lon"], links["from_lat"], basemap)
        x1, y1 = display_xy(links["lon"], links["lat"], basemap)
        features = []
        for i, row in enumerate(links.to_dict("records")):
            popup = html.escape(f"党员 {row['member']}（{row['member_code']}）联系 {row['household']}"
                                + (f"（{_text(row['address'])}）" if _text(row["address"]) else ""))  # fmt: skip
            line = [[round(float(x0[i]), 6), round(float(y0[i]), 6)], [round(float(x1[i]), 6), round(float(y1[i]), 6)]]
            features.append({"type": "Feature", "properties": {"popup": popup},
                             "geometry": {"type": "LineString", "coordinates": line}})  # fmt: skip
        _geojson(features, f"联系户（{len(links)} 条）", LINK_STYLE).add_to(m)
        rows.append((line_swatch(LINK_STYLE["color"], weight=2), f"联系户（{len(links)} 条）"))
    return rows, bool(labels)
