"""The grid map's optional layers: households in four colours (以房管人), buildings, and the Party layer."""

from __future__ import annotations

import html
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgov.maps.base import dot_swatch, fmt_count
from gridgov.maps.basemap import Basemap, display_geoms, display_xy
from gridgov.maps.elements import CircleMarkers, js_function
from gridgov.vocab import HOUSEHOLD_KINDS, PARTY_STAFF_ROLES

__all__ = ["BUILDING_STYLE", "HOUSEHOLD_COLOURS", "PARTY_COLOUR", "add_buildings", "add_households", "add_party"]

HOUSEHOLD_COLOURS: dict[str, str] = dict(
    zip(HOUSEHOLD_KINDS, ("#2f9e44", "#f08c00", "#868e96", "#1971c2"), strict=True)
)
"""The customary four colours of the household layer (以房管人), in vocabulary order: green, orange, grey, blue."""

BUILDING_STYLE: dict[str, Any] = {"color": "#495057", "weight": 1, "fillColor": "#adb5bd", "fillOpacity": 0.6}
PARTY_COLOUR = "#c92a2a"
PARTY_STAFF_COLOUR = "#ffd43b"


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


def add_party(
    m: folium.Map, party: pd.DataFrame, staff: pd.DataFrame | None, anchors: dict[str, tuple[float, float]],
    basemap: Basemap | None,
) -> list[tuple[str, str]]:  # fmt: skip
    """The Party layer (authorised users only): households with members, and each grid's Party roles."""
    group = folium.FeatureGroup(name=f"党建（党员户 {len(party)}）", show=True)
    if not party.empty:
        x, y = display_xy(party["lon"], party["lat"], basemap)
        data = [
            [float(b), float(a), f"党员 {int(n)} 名（{html.escape(str(t))}）"]
            for a, b, n, t in zip(x, y, party["members"], party["types"], strict=True)
        ]
        CircleMarkers(data, PARTY_COLOUR, radius=5).add_to(group)
    if staff is not None and not staff.empty:
        data = []
        for code, part in staff.groupby("grid_code", sort=True):
            if code not in anchors:
                continue
            lines = "<br>".join(
                html.escape(f"{role}：{name}" + (f"（{phone}）" if phone else ""))
                for role, name, phone in zip(part["role"], part["name"], part["phone"], strict=True)
            )
            lat, lon = anchors[str(code)]
            data.append([lat, lon, f"<b>{html.escape(str(code))}</b><br>{lines}"])
        CircleMarkers(data, PARTY_STAFF_COLOUR, radius=7, border=PARTY_COLOUR).add_to(group)
    group.add_to(m)
    return [(dot_swatch(PARTY_COLOUR), "党员户"), (dot_swatch(PARTY_STAFF_COLOUR), "、".join(PARTY_STAFF_ROLES))]
