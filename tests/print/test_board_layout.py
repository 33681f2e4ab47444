"""Board layout: building names beside small footprints with leader lines (placement on shapely geometries and in
the drawn figure of a sample grid), and the portrait map grown into the height the panel leaves free, still one
page for a long staff list (measured in WeasyPrint's layout and on the rasterised page)."""

from __future__ import annotations

import base64
import dataclasses
import io
import itertools
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import shapely
import shapely.affinity
from matplotlib.text import Text
from PIL import Image
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridgov.config import BoardSettings, defaults
from gridgov.print.board import (
    PX_PER_MM,
    board_document,
    board_html,
    export_boards,
    layout,
    panel_height,
    pdf_to_pngs,
)
from gridgov.print.boardmap import BoardMap, draw_board_map, label_size, place_labels
from gridgov.print.data import BoardData, StaffLine, board_data

GRID = "610103006001001"
TOUCH = 1e-6  # m²: boxes that merely touch a footprint do not hide it


def _square(x: float, y: float, side: float) -> shapely.Polygon:
    return shapely.box(x, y, x + side, y + side)


def test_small_footprints_are_labelled_beside_them_and_large_ones_inside() -> None:
    view = shapely.box(0, 0, 200, 120)
    small = [_square(20 + 30 * i, 20 + 30 * j, 6) for i in range(6) for j in range(3)]
    small.append(_square(193, 60, 6))  # at the view's right edge: its name must go elsewhere than east
    large = shapely.box(40, 100, 120, 118)
    legend = shapely.box(176, 0, 200, 24)  # where the east spot of the square at (170, 20) would be
    footprints = [*small, large]
    size = (14.0, 4.0)
    spots = place_labels(footprints, [size] * len(footprints), view, [legend])

    assert len(spots) == len(footprints)
    inside = spots[-1]
    assert inside.leader_to is None and large.contains(inside.box)  # fits: centred, no leader
    assert abs(inside.x - 80) < 0.5 and abs(inside.y - 109) < 0.5
    for g, spot in zip(small, spots, strict=False):
        assert spot.leader_to is not None  # 6 m footprints, 14 m labels: beside them
        assert g.distance(shapely.Point(spot.leader_to)) < 1e-6  # the leader line ends on its own footprint
        assert view.contains(spot.box) and not spot.box.intersects(legend)
        assert all(spot.box.intersection(f).area <= TOUCH for f in footprints)
        assert spot.box.distance(g) < 3 * size[1]  # near the building it names
    assert spots[len(small) - 1].x < 193  # the edge building's name is not pushed out of the view
    for a, b in itertools.combinations(spots, 2):
        assert a.box.intersection(b.box).area <= TOUCH


def test_crowded_footprints_still_get_a_spot_in_the_view() -> None:
    view = shapely.box(0, 0, 60, 40)
    footprints = [_square(4 + 9 * i, 4 + 9 * j, 6) for i in range(6) for j in range(4)]
    spots = place_labels(footprints, [(14.0, 4.0)] * len(footprints), view)
    assert len(spots) == len(footprints)  # no room for all: the least covering spots, never outside the view
    assert all(view.contains(s.box) and s.leader_to is not None for s in spots)


@pytest.fixture(scope="module")
def sample_board(sample_engine: Engine) -> BoardData:
    with Session(sample_engine) as s:
        return board_data(s, GRID)


def _metres(board: BoardMap, text: Text) -> shapely.Polygon:
    """The drawn text's box (its own, without an annotation's arrow) in map metres."""
    renderer = board.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    (x0, y0), (x1, y1) = board.axes.transData.inverted().transform(Text.get_window_extent(text, renderer).get_points())
    return shapely.box(x0, y0, x1, y1)


def test_sample_grid_building_names_do_not_hide_footprints(sample_board: BoardData) -> None:
    page = layout("A4")
    board = draw_board_map(sample_board, page.map_w, 187.0, font_pt=page.font_pt * 0.85)
    board.figure.canvas.draw()  # annotations know where their text is only once drawn
    own = [b for b in sample_board.buildings if b.own]
    assert len(own) >= 10 and len(board.footprints) == len(own) == len(board.labels)
    texts = {t.get_text(): t for t in board.axes.texts}
    leaders = 0
    for b, g, spot in zip(own, board.footprints, board.labels, strict=True):
        assert spot is not None
        drawn = _metres(board, texts[b.name])
        assert abs(drawn.centroid.x - spot.x) < 0.5 and abs(drawn.centroid.y - spot.y) < 0.5
        assert spot.box.buffer(0.5).contains(drawn)  # the planned box holds the drawn text
        if spot.leader_to is None:
            assert g.contains(drawn)
            continue
        leaders += 1
        assert all(drawn.intersection(f).area <= TOUCH for f in board.footprints), b.name
        assert not any(drawn.intersects(z) for z in board.reserved), b.name
        assert board.view.contains(drawn)
    assert leaders >= 10  # the sample's footprints are small on an A4 board
    name = _metres(board, texts[sample_board.name])
    assert all(name.intersection(f).area <= TOUCH for f in board.footprints)  # the grid's name covers none either

    svg = board.svg()
    assert len(re.findall(r'<g id="leader-\d+"', svg)) == leaders
    assert sum(f">{b.name}</text>" in svg for b in own) == len(own)  # text stays text


def test_too_many_buildings_are_drawn_unnamed(sample_board: BoardData) -> None:
    many = dataclasses.replace(sample_board, buildings=[
        dataclasses.replace(sample_board.buildings[0], code=f"b{i}", name=f"{i}号楼",
                            geom=shapely.affinity.translate(sample_board.buildings[0].geom, 1e-5 * i))
        for i in range(41)])  # fmt: skip
    board = draw_board_map(many, 190, 150)
    assert board.labels == [None] * 41 and "号楼" not in board.svg()


def test_label_size_follows_the_map_scale() -> None:
    w1, h1 = label_size("12号楼", 6, 0.5)
    w2, h2 = label_size("12号楼", 6, 1.0)
    assert w2 == pytest.approx(2 * w1) and h2 == pytest.approx(2 * h1) and w1 > 2 * h1


def _svg_size_mm(html: str) -> tuple[float, float]:
    uri = re.search(r'<div class="map" id="map-\d+"><img src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert uri is not None
    head = base64.b64decode(uri[1]).decode()[:2000]
    m = re.search(r'<svg[^>]*width="([\d.]+)pt" height="([\d.]+)pt"', head)
    assert m is not None
    return float(m[1]) * 25.4 / 72, float(m[2]) * 25.4 / 72


def _shown(doc: object, code: str) -> tuple[float, float]:
    """The map's shown height and the page's empty band under the panel, in mm, from the layout's anchors."""
    anchors = doc.pages[0].anchors  # type: ignore[attr-defined]
    map_top, side_top = anchors[f"map-{code}"][1], anchors[f"side-{code}"][1]
    bottom = max(a[1] for k, a in anchors.items() if k.startswith(f"side-end-{code}-"))
    return (side_top - map_top) / PX_PER_MM, doc.pages[0].height / PX_PER_MM - bottom / PX_PER_MM  # type: ignore[attr-defined]


def test_a4_map_fills_the_page(sample_board: BoardData, tmp_path: Path) -> None:
    page = layout("A4")
    settings = defaults(BoardSettings)
    doc = board_document(sample_board, page, settings)
    assert len(doc.pages) == 1
    map_and_gap, band = _shown(doc, GRID)
    shown_map = map_and_gap - page.gap_mm
    assert shown_map >= 0.7 * (page.inner_h - page.header_h) and shown_map > page.map_h + 30  # was 136 mm
    assert band < page.margin_mm + 4  # the panel reaches the bottom margin (was 36 mm of white)

    probe = board_html(sample_board, page, settings, measure=True)
    import weasyprint

    panel = panel_height(weasyprint.HTML(string=probe).render(), GRID)
    assert panel is not None
    fitted = page.fitted(panel)
    assert fitted.map_h == pytest.approx(shown_map, abs=0.5)
    w, h = _svg_size_mm(board_html(sample_board, fitted, settings))
    assert w == pytest.approx(fitted.map_w, abs=0.1) and h == pytest.approx(fitted.map_h, abs=0.1)  # drawn as shown

    pdf = doc.write_pdf()
    (tmp_path / "a4.pdf").write_bytes(pdf)
    words = subprocess.run(["pdftotext", str(tmp_path / "a4.pdf"), "-"], check=True, capture_output=True,
                           text=True).stdout.replace(" ", "")  # fmt: skip
    assert all(b.name in words for b in sample_board.buildings if b.own)  # map labels are searchable text
    assert words.count(sample_board.name) >= 2  # the title and the map

    png = pdf_to_pngs(pdf, 100)[0]
    grey = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    last_ink = np.nonzero((grey < 240).any(axis=1))[0][-1] / 100 * 25.4
    assert page.height_mm - last_ink < page.margin_mm + 4
    (tmp_path / "a4.png").write_bytes(png)


def test_a4_board_with_many_staff_and_all_duties_is_one_page(sample_board: BoardData, tmp_path: Path) -> None:
    roles = ["网格长", "网格员", "网格员", "网格员", "网格警员", "网格消防员", "环境管理员", "网格法律顾问"]
    staff = [StaffLine(r, f"工作人员{i}", f"1391234567{i}") for i, r in enumerate(roles)]
    crowded = dataclasses.replace(sample_board, staff=staff, counts={"户数": 483, "人数": 1283, "党员数": 82})
    duties = tmp_path / "duties.txt"
    duty = "掌握网格内户籍、人口、房屋、单位等基础信息，做到底数清、情况明，按月更新台账。"
    duties.write_text("\n".join([duty] * 12), encoding="utf-8")
    page = layout("A4")
    plain = defaults(BoardSettings)
    long = plain.model_copy(update={"board_duties_path": duties, "board_qr_url": "http://10.1.2.3/{code}"})
    for settings in (plain, long):
        doc = board_document(crowded, page, settings)
        path = tmp_path / "crowded.pdf"
        path.write_bytes(doc.write_pdf())
        info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
        assert re.search(r"Pages:\s+1\n", info), info
        words = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
        assert all(f"工作人员{i}" in words for i in range(8)) and "网格法律顾问" in words
        map_and_gap, band = _shown(doc, GRID)
        assert map_and_gap - page.gap_mm >= page.map_h - 0.5 and band > page.margin_mm  # never below the old share


def test_landscape_map_keeps_the_full_body_height(sample_board: BoardData) -> None:
    page = layout("A3", landscape=True)
    doc = board_document(sample_board, page, defaults(BoardSettings))
    assert len(doc.pages) == 1
    anchors = doc.pages[0].anchors
    map_top, side_top = anchors[f"map-{GRID}"][1], anchors[f"side-{GRID}"][1]
    assert side_top == pytest.approx(map_top)  # side by side
    assert page.map_h == pytest.approx(page.body_h - page.safety_mm)
    drawn = _svg_size_mm(board_html(sample_board, page, defaults(BoardSettings)))
    assert drawn == pytest.approx((page.map_w, page.map_h), abs=0.1)


def test_export_of_the_sample_a4_board_is_one_page(sample_engine: Engine) -> None:
    with Session(sample_engine) as s:
        pdf = export_boards(s, [GRID], paper="A4")[0]
    assert pdf.startswith(b"%PDF") and len(pdf_to_pngs(pdf, 36)) == 1
