"""The map of a 公示 board, drawn with matplotlib in the local CGCS2000 3° Gauss-Krüger projection: the grid
highlighted, its neighbours labelled, buildings, a north arrow, a scale bar and a legend. No tiles.

Output is SVG with text kept as text (``svg.fonttype = none``), so WeasyPrint embeds the Chinese font and
the PDF's labels stay searchable."""

from __future__ import annotations

import io
from collections.abc import Sequence

import geopandas as gpd
import matplotlib
import numpy as np
import shapely
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib_scalebar.scalebar import ScaleBar

from gridgov.geo.crs import MetricFrame
from gridgov.print.data import BoardData, Feature

FONT = "Noto Sans CJK SC"
MM_PER_INCH = 25.4

GRID_FILL, GRID_EDGE = "#ffe8cc", "#e03131"
NEIGHBOUR_FILL, NEIGHBOUR_EDGE = "#f1f3f5", "#868e96"
BUILDING_FILL, BUILDING_EDGE = "#adb5bd", "#495057"


def _frame(geoms: Sequence[object], frame: MetricFrame) -> gpd.GeoSeries:
    return gpd.GeoSeries(frame.to_m(np.asarray(geoms, dtype=object)))


def _extent(bounds: Sequence[float], aspect: float, pad: float = 0.18) -> tuple[float, float, float, float]:
    """The grid's bounds padded and widened to the box's aspect (width / height)."""
    x0, y0, x1, y1 = bounds
    w, h = max(x1 - x0, 1.0) * (1 + 2 * pad), max(y1 - y0, 1.0) * (1 + 2 * pad)
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _label(ax: object, point: shapely.Point, text: str, size: float, colour: str, weight: str = "normal") -> None:
    ax.text(  # type: ignore[attr-defined]
        point.x, point.y, text, ha="center", va="center", fontsize=size, color=colour, fontweight=weight,
        path_effects=[patheffects.withStroke(linewidth=size / 3, foreground="white")], clip_on=True, zorder=7,
    )  # fmt: skip


def board_map_svg(data: BoardData, width_mm: float, height_mm: float, *, font_pt: float = 9.0) -> str:
    """The board map as an SVG document of exactly ``width_mm`` × ``height_mm``."""
    frame = MetricFrame.for_geoms([data.geom])
    grid = _frame([data.geom], frame)
    x0, y0, x1, y1 = _extent(grid.total_bounds, width_mm / height_mm)
    view = shapely.box(x0, y0, x1, y1)
    with matplotlib.rc_context({"svg.fonttype": "none", "font.family": [FONT, "sans-serif"], "font.size": font_pt}):
        fig = Figure(figsize=(width_mm / MM_PER_INCH, height_mm / MM_PER_INCH))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.add_patch(matplotlib.patches.Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="white", zorder=0))
        line = font_pt / 9

        neighbours = _frame([n.geom for n in data.neighbours], frame) if data.neighbours else None
        if neighbours is not None:
            neighbours.plot(ax=ax, facecolor=NEIGHBOUR_FILL, edgecolor=NEIGHBOUR_EDGE, linewidth=0.8 * line, zorder=1)
        grid.plot(ax=ax, facecolor=GRID_FILL, edgecolor="none", zorder=2)
        _buildings(ax, data.buildings, frame, line, font_pt)
        grid.boundary.plot(ax=ax, color=GRID_EDGE, linewidth=2.6 * line, zorder=5)
        if neighbours is not None:
            for n, g in zip(data.neighbours, neighbours, strict=True):
                inside = g.intersection(view)
                if inside.is_empty or inside.area <= 0.02 * view.area:
                    continue
                p = inside.point_on_surface()
                fx, fy = (p.x - x0) / (x1 - x0), (p.y - y0) / (y1 - y0)
                if (fx > 0.84 and fy < 0.2) or (fx < 0.26 and fy < 0.1):  # under the legend or the scale bar
                    continue
                _label(ax, p, n.name, font_pt * 0.95, "#495057")
        _label(ax, grid.iloc[0].point_on_surface(), data.name, font_pt * 1.5, "#c92a2a", "bold")

        _north_arrow(ax, font_pt)
        ax.add_artist(
            ScaleBar(1, "m", location="lower left", box_alpha=0.85, length_fraction=0.22, border_pad=0.6,
                     font_properties={"family": FONT, "size": font_pt * 0.95}, width_fraction=0.012)
        )  # fmt: skip
        handles = [
            Patch(facecolor=GRID_FILL, edgecolor=GRID_EDGE, linewidth=2 * line, label="本网格"),
            Patch(facecolor=NEIGHBOUR_FILL, edgecolor=NEIGHBOUR_EDGE, label="相邻网格"),
            Patch(facecolor=BUILDING_FILL, edgecolor=BUILDING_EDGE, label="楼栋"),
            Line2D([], [], color=GRID_EDGE, linewidth=2.6 * line, label="网格边界"),
        ]
        ax.legend(handles=handles, loc="lower right", fontsize=font_pt * 0.95, framealpha=0.9, title="图例",
                  title_fontsize=font_pt)  # fmt: skip
        ax.add_patch(
            matplotlib.patches.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="#343a40",
                                         linewidth=1.2 * line, zorder=10)
        )  # fmt: skip
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def _buildings(ax: object, buildings: list[Feature], frame: MetricFrame, line: float, font_pt: float) -> None:
    """Footprints (points as small squares) of the grid's own buildings, the others' lighter."""
    if not buildings:
        return
    geoms = _frame([b.geom for b in buildings], frame)
    own = np.array([b.own for b in buildings])
    points = geoms.geom_type == "Point"
    geoms = geoms.where(~points, geoms.buffer(4, cap_style="square"))  # a point building: a 8 m square
    gpd.GeoSeries(geoms[~own]).plot(ax=ax, facecolor="#dee2e6", edgecolor="#adb5bd", linewidth=0.5 * line, zorder=3)
    gpd.GeoSeries(geoms[own]).plot(ax=ax, facecolor=BUILDING_FILL, edgecolor=BUILDING_EDGE, linewidth=0.6 * line,
                                   zorder=4)  # fmt: skip
    if own.sum() <= 40:  # names only while they stay readable
        for b, g in zip(buildings, geoms, strict=True):
            if b.own:
                _label(ax, g.point_on_surface(), b.name, font_pt * 0.75, "#212529")


def _north_arrow(ax: object, font_pt: float) -> None:
    """An arrow pointing to grid north (the GK zone's, within a degree of true north) with 北."""
    ax.annotate(  # type: ignore[attr-defined]
        "", xy=(0.95, 0.95), xytext=(0.95, 0.84), xycoords="axes fraction",
        arrowprops={"facecolor": "#212529", "edgecolor": "#212529", "width": font_pt * 0.35,
                    "headwidth": font_pt * 1.3, "headlength": font_pt * 1.3},
    )  # fmt: skip
    ax.text(0.95, 0.965, "北", transform=ax.transAxes, ha="center", va="bottom", fontsize=font_pt * 1.3,  # type: ignore[attr-defined]
            fontweight="bold")  # fmt: skip
