"""The map of a 公示 board, drawn with matplotlib in the local CGCS2000 3° Gauss-Krüger projection: the grid
highlighted, its neighbours labelled, buildings, a north arrow, a scale bar and a legend. No tiles.

Labels are placed in map metres against their size on paper: a building's name sits inside its footprint
when it fits there, else next to it with a thin leader line, clear of the other footprints, of the other
labels and of the legend, scale-bar and north-arrow corners (greedy, first free spot).

Output is SVG with text kept as text (``svg.fonttype = none``), so WeasyPrint embeds the Chinese font and
the PDF's labels stay searchable."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import matplotlib
import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.textpath import text_to_path
from matplotlib.transforms import Bbox
from matplotlib_scalebar.scalebar import ScaleBar
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points, polylabel

from gridgov.geo.crs import MetricFrame
from gridgov.print.data import BoardData, Feature

FONT = "Noto Sans CJK SC"
MM_PER_INCH = 25.4
PT_PER_MM = 72 / MM_PER_INCH

GRID_FILL, GRID_EDGE = "#ffe8cc", "#e03131"
NEIGHBOUR_FILL, NEIGHBOUR_EDGE = "#f1f3f5", "#868e96"
BUILDING_FILL, BUILDING_EDGE = "#adb5bd", "#495057"
AREA_FILL, AREA_EDGE = "#a5d8ff", "#1971c2"  # 党员责任区 on the 楼院党建公示 board
LEADER = "#495057"
CHIP_PAD = 0.15  # a label's white backing reaches this many font sizes around its text

MAX_BUILDING_NAMES = 40
"""More own buildings than this and their names are left off (they would no longer be readable)."""

# Leader-line label spots: east, west, north, south first (the line stays short), then the diagonals; at
# these distances from the footprint's bounds, in label heights.
DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1))
DISTANCES = (0.5, 1.2, 2.2, 3.5, 5.5)


@dataclass(frozen=True)
class LabelSpot:
    """Where one label goes, in map metres: its centre, its box, and the point of its footprint that a leader
    line reaches (None: the label sits inside its footprint)."""

    x: float
    y: float
    box: shapely.Polygon
    leader_to: tuple[float, float] | None = None


@dataclass
class BoardMap:
    """A drawn board map: the figure and, for tests and callers, what its labels were placed against."""

    figure: Figure
    axes: Axes
    view: shapely.Polygon
    metres_per_pt: float
    footprints: list[BaseGeometry] = field(default_factory=list)  # the grid's own buildings, in metres
    labels: list[LabelSpot | None] = field(default_factory=list)  # per own building (None: name left off)
    reserved: list[shapely.Polygon] = field(default_factory=list)  # legend, scale bar, north arrow, in metres

    def svg(self) -> str:
        """The figure as an SVG document, text kept as text."""
        buf = io.StringIO()
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            self.figure.savefig(buf, format="svg", metadata={"Date": None})
        return buf.getvalue()


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


def label_size(text: str, size_pt: float, metres_per_pt: float, weight: str = "normal") -> tuple[float, float]:
    """Width and height in map metres of a label's box on paper, its white backing included."""
    font = FontProperties(family=[FONT, "sans-serif"], size=size_pt, weight=weight)
    w, h, _ = text_to_path.get_text_width_height_descent(text, font, ismath=False)
    pad = 2 * CHIP_PAD * size_pt
    return (w + pad) * metres_per_pt, (max(h, size_pt) + pad) * metres_per_pt


def _box(x: float, y: float, size: tuple[float, float]) -> shapely.Polygon:
    w, h = size
    return shapely.box(x - w / 2, y - h / 2, x + w / 2, y + h / 2)


def label_points(geom: BaseGeometry) -> list[shapely.Point]:
    """Where a name sits best inside a footprint: its centroid (when inside), then the point farthest from its
    edges (for an L- or U-shaped one)."""
    centre = geom.centroid
    points = [centre] if geom.contains(centre) else []
    if isinstance(geom, shapely.MultiPolygon):
        geom = max(geom.geoms, key=lambda g: g.area)
    if isinstance(geom, shapely.Polygon):
        return [*points, polylabel(geom, tolerance=max(0.05, 0.01 * np.sqrt(geom.area)))]
    return points or [geom.point_on_surface()]


def _around(bounds: Sequence[float], size: tuple[float, float]) -> Iterator[tuple[float, float]]:
    """Label centres next to a footprint's bounds: 8 directions at growing distances."""
    bx0, by0, bx1, by1 = bounds
    w, h = size
    cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
    for k in DISTANCES:
        d = k * h
        for dx, dy in DIRECTIONS:
            x = cx if dx == 0 else (bx1 + d + w / 2 if dx > 0 else bx0 - d - w / 2)
            y = cy if dy == 0 else (by1 + d + h / 2 if dy > 0 else by0 - d - h / 2)
            yield x, y


def place_labels(
    footprints: Sequence[BaseGeometry],
    sizes: Sequence[tuple[float, float]],
    view: shapely.Polygon,
    obstacles: Sequence[BaseGeometry] = (),
) -> list[LabelSpot]:
    """A spot per footprint for a label of ``sizes[i]`` (metres): centred inside the footprint when its box fits
    there, else next to it with a leader line, on the first spot (8 directions, growing distances) that stays
    inside ``view`` and overlaps no footprint, no obstacle and no label placed before; when every spot is taken,
    the one that covers least (footprints first)."""
    spots: list[LabelSpot | None] = [None] * len(footprints)
    shapes = np.asarray(footprints, dtype=object)
    blocked = np.asarray(list(obstacles), dtype=object)
    placed: list[shapely.Polygon] = []
    outside: list[int] = []
    for i, (g, size) in enumerate(zip(footprints, sizes, strict=True)):
        for p in label_points(g):
            box = _box(p.x, p.y, size)
            if g.contains(box):
                spots[i] = LabelSpot(p.x, p.y, box)
                placed.append(box)
                break
        else:
            outside.append(i)
    for i in outside:
        g, size = footprints[i], sizes[i]
        others = np.asarray(placed, dtype=object)
        best: tuple[float, float, float] | None = None  # x, y, how much it covers
        for x, y in _around(g.bounds, size):
            box = _box(x, y, size)
            if not view.contains(box):
                continue
            if not any(shapely.intersects(box, a).any() for a in (shapes, others, blocked)):
                best = (x, y, 0.0)
                break
            score = sum(w * float(shapely.area(shapely.intersection(box, a)).sum())
                        for w, a in ((4, shapes), (2, blocked), (1, others)))  # fmt: skip
            if best is None or score < best[2]:
                best = (x, y, score)
        if best is None:  # a view smaller than the label: keep it on its footprint
            p = label_points(g)[0]
            best = (p.x, p.y, 0.0)
        x, y, _ = best
        box = _box(x, y, size)
        target = nearest_points(g, shapely.Point(x, y))[0]
        spots[i] = LabelSpot(x, y, box, (target.x, target.y))
        placed.append(box)
    return [s for s in spots if s is not None]


def _place_name(
    region: BaseGeometry, size: tuple[float, float], view: shapely.Polygon, avoid: Sequence[BaseGeometry]
) -> LabelSpot:
    """The grid's own name: at its centre, or moved (8 directions) to the nearest spot inside the grid and the
    view that covers none of ``avoid`` (its buildings); the centre when there is none."""
    inside = region.intersection(view)
    p = label_points(inside if not inside.is_empty else region)[-1]
    h = size[1]
    shapes = np.asarray(list(avoid), dtype=object)
    for r in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.5):
        for dx, dy in DIRECTIONS if r else ((0, 0),):
            x, y = p.x + dx * r * h * 2, p.y + dy * r * h  # sideways twice as far: a name is wider than tall
            box = _box(x, y, size)
            if region.contains(box) and view.contains(box) and not shapely.intersects(box, shapes).any():
                return LabelSpot(x, y, box)
    return LabelSpot(p.x, p.y, _box(p.x, p.y, size))


def _chip() -> dict[str, Any]:
    """A label's white backing: a box, not a stroked halo (path effects would turn the text into outlines)."""
    return {"boxstyle": f"round,pad={CHIP_PAD}", "facecolor": "white", "edgecolor": "none", "alpha": 0.8}


def _label(ax: Axes, x: float, y: float, text: str, size: float, colour: str, weight: str = "normal") -> Text:
    return ax.text(x, y, text, ha="center", va="center", fontsize=size, color=colour, fontweight=weight,
                   bbox=_chip(), clip_on=True, zorder=7)  # fmt: skip


def _zone(ax: Axes, bbox: Bbox) -> shapely.Polygon:
    """A display-space box as a box in map metres."""
    (x0, y0), (x1, y1) = ax.transData.inverted().transform(bbox.get_points())
    return shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def draw_board_map(data: BoardData, width_mm: float, height_mm: float, *, font_pt: float = 9.0,
                   areas: Sequence[Feature] = ()) -> BoardMap:  # fmt: skip
    """The board map drawn on a figure of exactly ``width_mm`` × ``height_mm``; ``areas``: 党员责任区 drawn over
    the grid (translucent, dashed edge) and in the legend."""
    frame = MetricFrame.for_geoms([data.geom])
    grid = _frame([data.geom], frame)
    x0, y0, x1, y1 = _extent(grid.total_bounds, width_mm / height_mm)
    view = shapely.box(x0, y0, x1, y1)
    m_per_pt = (x1 - x0) / (width_mm * PT_PER_MM)
    with matplotlib.rc_context({"svg.fonttype": "none", "font.family": [FONT, "sans-serif"], "font.size": font_pt}):
        fig = Figure(figsize=(width_mm / MM_PER_INCH, height_mm / MM_PER_INCH))
        FigureCanvasAgg(fig)  # a renderer to measure the legend and the north arrow with
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.add_patch(matplotlib.patches.Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="white", zorder=0))
        line = font_pt / 9
        board = BoardMap(fig, ax, view, m_per_pt, reserved=_furniture(ax, font_pt, line, m_per_pt, bool(areas)))

        neighbours = _frame([n.geom for n in data.neighbours], frame) if data.neighbours else None
        if neighbours is not None:
            neighbours.plot(ax=ax, facecolor=NEIGHBOUR_FILL, edgecolor=NEIGHBOUR_EDGE, linewidth=0.8 * line, zorder=1)
        grid.plot(ax=ax, facecolor=GRID_FILL, edgecolor="none", zorder=2)
        if areas:
            _frame([a.geom for a in areas], frame).plot(ax=ax, facecolor=AREA_FILL, edgecolor=AREA_EDGE, alpha=0.55,
                                                        linewidth=1.4 * line, linestyle="--", zorder=3)  # fmt: skip
        own = _buildings(ax, board, data.buildings, frame, line)
        grid.boundary.plot(ax=ax, color=GRID_EDGE, linewidth=2.6 * line, zorder=5)

        name_pt = font_pt * 1.5
        name = _place_name(grid.iloc[0], label_size(data.name, name_pt, m_per_pt, "bold"), view, own)
        _label(ax, name.x, name.y, data.name, name_pt, "#c92a2a", "bold")
        taken = [*board.reserved, name.box]
        if neighbours is not None:
            size = font_pt * 0.95
            for n, g in zip(data.neighbours, neighbours, strict=True):
                inside = g.intersection(view)
                if inside.is_empty or inside.area <= 0.02 * view.area:
                    continue
                p = inside.point_on_surface()
                w, h = label_size(n.name, size, m_per_pt)
                x, y = np.clip(p.x, x0 + w / 2, x1 - w / 2), np.clip(p.y, y0 + h / 2, y1 - h / 2)  # not cut off
                box = _box(x, y, (w, h))
                if shapely.intersects(box, np.asarray(taken, dtype=object)).any():
                    continue  # under the legend, the scale bar or the grid's name
                _label(ax, x, y, n.name, size, "#495057")
                taken.append(box)
        _building_names(ax, board, data.buildings, font_pt * 0.75, line, taken)
        ax.add_patch(
            matplotlib.patches.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="#343a40",
                                         linewidth=1.2 * line, zorder=10)
        )  # fmt: skip
    return board


def board_map_svg(data: BoardData, width_mm: float, height_mm: float, *, font_pt: float = 9.0,
                  areas: Sequence[Feature] = ()) -> str:  # fmt: skip
    """The board map as an SVG document of exactly ``width_mm`` × ``height_mm`` (``areas``: 党员责任区)."""
    return draw_board_map(data, width_mm, height_mm, font_pt=font_pt, areas=areas).svg()


def _furniture(ax: Axes, font_pt: float, line: float, m_per_pt: float, areas: bool = False) -> list[shapely.Polygon]:
    """North arrow, scale bar and legend (with 党员责任区 when ``areas``); returns the corners they take, in map
    metres."""
    arrow, north = _north_arrow(ax, font_pt)
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
    if areas:
        handles.append(Patch(facecolor=AREA_FILL, edgecolor=AREA_EDGE, linestyle="--", linewidth=1.4 * line,
                             alpha=0.55, label="党员责任区"))  # fmt: skip
    legend = ax.legend(handles=handles, loc="lower right", fontsize=font_pt * 0.95, framealpha=0.9, title="图例",
                       title_fontsize=font_pt)  # fmt: skip
    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    x0, x1 = ax.get_xlim()
    y0, _ = ax.get_ylim()
    # The scale bar keeps no box of its own: its bar, its label and its padding, measured once on paper.
    scale_bar = shapely.box(x0, y0, x0 + 0.22 * (x1 - x0) + font_pt * 2.2 * m_per_pt, y0 + font_pt * 4.2 * m_per_pt)
    return [
        _zone(ax, legend.get_window_extent(renderer)),
        _zone(ax, Bbox.union([arrow.get_window_extent(renderer), north.get_window_extent(renderer)])),
        scale_bar,
    ]


def _buildings(ax: Axes, board: BoardMap, buildings: list[Feature], frame: MetricFrame, line: float
               ) -> list[BaseGeometry]:  # fmt: skip
    """Footprints (points as small squares) of the grid's own buildings, the others' lighter; returns the own."""
    if not buildings:
        return []
    geoms = _frame([b.geom for b in buildings], frame)
    own = np.array([b.own for b in buildings])
    points = geoms.geom_type == "Point"
    geoms = geoms.where(~points, geoms.buffer(4, cap_style="square"))  # a point building: a 8 m square
    if (~own).any():
        gpd.GeoSeries(geoms[~own]).plot(ax=ax, facecolor="#dee2e6", edgecolor="#adb5bd", linewidth=0.5 * line,
                                        zorder=3)  # fmt: skip
    if own.any():
        gpd.GeoSeries(geoms[own]).plot(ax=ax, facecolor=BUILDING_FILL, edgecolor=BUILDING_EDGE, linewidth=0.6 * line,
                                       zorder=4)  # fmt: skip
    board.footprints = list(geoms[own])
    return board.footprints


def _building_names(ax: Axes, board: BoardMap, buildings: list[Feature], size: float, line: float,
                    taken: list[shapely.Polygon]) -> None:  # fmt: skip
    """Own buildings' names: inside a footprint they fit in, else beside it with a leader line."""
    names = [b.name for b in buildings if b.own]
    if not names or len(names) > MAX_BUILDING_NAMES:
        board.labels = [None] * len(names)
        return
    sizes = [label_size(n, size, board.metres_per_pt) for n in names]
    board.labels = list(place_labels(board.footprints, sizes, board.view, taken))
    for i, (name, spot) in enumerate(zip(names, board.labels, strict=True)):
        if spot is None:
            continue
        if spot.leader_to is None:  # on its footprint's grey, which stays visible around the letters
            ax.text(spot.x, spot.y, name, ha="center", va="center", fontsize=size, color="#212529", zorder=7,
                    gid=f"building-label-{i}")  # fmt: skip
            continue
        note = ax.annotate(
            name, xy=spot.leader_to, xytext=(spot.x, spot.y), ha="center", va="center", fontsize=size,
            color="#212529", bbox=_chip(), zorder=7, annotation_clip=False,
            arrowprops={"arrowstyle": "-", "color": LEADER, "linewidth": 0.5 * line, "shrinkA": 1, "shrinkB": 0},
        )  # fmt: skip
        note.set_gid(f"building-label-{i}")
        if note.arrow_patch is not None:
            note.arrow_patch.set_gid(f"leader-{i}")


def _north_arrow(ax: Axes, font_pt: float) -> tuple[Text, Text]:
    """An arrow pointing to grid north (the GK zone's, within a degree of true north) with 北."""
    arrow = ax.annotate(
        "", xy=(0.95, 0.95), xytext=(0.95, 0.84), xycoords="axes fraction",
        arrowprops={"facecolor": "#212529", "edgecolor": "#212529", "width": font_pt * 0.35,
                    "headwidth": font_pt * 1.3, "headlength": font_pt * 1.3},
    )  # fmt: skip
    north = ax.text(0.95, 0.965, "北", transform=ax.transAxes, ha="center", va="bottom", fontsize=font_pt * 1.3,
                    fontweight="bold")  # fmt: skip
    return arrow, north
