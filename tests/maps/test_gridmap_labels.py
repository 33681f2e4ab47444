"""The grid map's labels never overlap on screen: the sample street's communities are named at the opening view,
compounds as room allows, and a label hidden for lack of room comes back when zooming in (offline Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.maps.assets import save_offline
from gridgov.maps.gridmap import LABEL_PADDING_PX, grid_map_from_db

from tests.browser import PageLog, open_page, settle

STREET = "610103006"
OFFICE_SCREEN = (1366, 768)

# Every grid label in the page: its text, level, whether it shows, and its box on screen.
LABELS_JS = """() => Array.from(document.querySelectorAll('.gridgov-label')).map((icon) => {
    const text = icon.firstElementChild;
    const r = text.getBoundingClientRect();
    return {text: text.textContent, community: icon.classList.contains('gridgov-label-community'),
            shown: getComputedStyle(text).visibility === 'visible' && r.width > 0,
            box: [r.left, r.top, r.right, r.bottom]};
})"""


@dataclass(frozen=True)
class Label:
    """One label as the browser lays it out."""

    text: str
    community: bool
    shown: bool
    box: tuple[float, float, float, float]


def _overlap(a: Label, b: Label, grow: float = -1.0) -> bool:
    """The two boxes intersect, each grown by ``grow`` px (the default, -1, tolerates one pixel of contact)."""
    return (a.box[0] - grow < b.box[2] + grow and b.box[0] - grow < a.box[2] + grow
            and a.box[1] - grow < b.box[3] + grow and b.box[1] - grow < a.box[3] + grow)  # fmt: skip


@dataclass(frozen=True)
class View:
    """The labels of one view of the map."""

    labels: list[Label]

    @property
    def shown(self) -> list[Label]:
        """The labels the user sees."""
        return [x for x in self.labels if x.shown]

    def compounds_shown(self) -> int:
        """How many compound labels the user sees."""
        return sum(1 for x in self.shown if not x.community)

    def overlaps(self) -> list[tuple[str, str]]:
        """Pairs of shown labels that overlap by more than a pixel."""
        s = self.shown
        return [(a.text, b.text) for i, a in enumerate(s) for b in s[i + 1 :] if _overlap(a, b)]

    def hidden_for_nothing(self) -> list[str]:
        """Hidden labels whose box (with the kept-clear margin) touches no shown label: none may be."""
        s = self.shown
        return [h.text for h in self.labels if not h.shown and not any(_overlap(h, x, LABEL_PADDING_PX) for x in s)]


@pytest.fixture(scope="module")
def street_map(sample_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The sample street's grid map saved offline, and its map's JavaScript name."""
    with Session(sample_engine) as s:
        m = grid_map_from_db(s, parent_code=STREET)
    return save_offline(m, tmp_path_factory.mktemp("labels") / "grid.html"), m.get_name()


@pytest.fixture(scope="module")
def names(sample_engine: Engine) -> dict[str, set[str]]:
    """The sample street's community and compound names."""
    with sample_engine.connect() as conn:
        rows = conn.execute(text("SELECT level, name FROM grid WHERE valid_to IS NULL AND lineage_id IS NULL "
                                 "AND level IN ('community', 'compound')")).all()  # fmt: skip
    return {level: {r.name for r in rows if r.level == level} for level in ("community", "compound")}


@pytest.fixture
def page(browser: Any, street_map: tuple[Path, str]) -> Iterator[tuple[Any, str, PageLog]]:
    """The map opened on an office screen, settled at its opening view."""
    path, name = street_map
    log = PageLog()
    p = open_page(browser, path, log, viewport=OFFICE_SCREEN)
    try:
        p.wait_for_function(f"() => window['{name}'] && document.querySelector('.gridgov-label')")
        settle(p, name)
        yield p, name, log
    finally:
        p.context.close()
    log.assert_clean()


def _view(page: Any) -> View:
    return View([Label(d["text"], d["community"], d["shown"], tuple(d["box"])) for d in page.evaluate(LABELS_JS)])


def _zoom_by(page: Any, name: str, levels: int) -> int:
    page.evaluate(f"() => {{ const m = window['{name}']; m.setZoom(m.getZoom() + {levels}, {{animate: false}}); }}")
    settle(page, name)
    return int(page.evaluate(f"() => window['{name}'].getZoom()"))


def test_opening_view_names_every_community_and_no_label_overlaps(
    page: tuple[Any, str, PageLog], names: dict[str, set[str]]
) -> None:
    p, name, _log = page
    opening = _view(p)
    assert {x.text for x in opening.labels if x.community} == names["community"]
    assert len([x for x in opening.labels if not x.community]) == len(names["compound"])
    assert opening.overlaps() == []
    assert {x.text for x in opening.shown if x.community} == names["community"]
    assert 0 < opening.compounds_shown() < len(names["compound"])  # dense: some compounds wait for room
    assert opening.hidden_for_nothing() == []
    p.screenshot(path="/tmp/gridmap_labels_open.png")

    zoom = p.evaluate(f"() => window['{name}'].getZoom()")
    assert _zoom_by(p, name, 2) == zoom + 2
    closer = _view(p)
    assert closer.overlaps() == []
    assert closer.hidden_for_nothing() == []
    assert closer.compounds_shown() > opening.compounds_shown()
    p.screenshot(path="/tmp/gridmap_labels_zoomed.png")

    assert _zoom_by(p, name, -2) == zoom  # zooming back out hides the same labels again
    assert {x.text for x in _view(p).shown} == {x.text for x in opening.shown}


def test_a_label_with_room_always_shows(page: tuple[Any, str, PageLog], sample_engine: Engine) -> None:
    p, name, _log = page
    with sample_engine.connect() as conn:
        code, label = conn.execute(text(
            "SELECT code, name FROM grid WHERE valid_to IS NULL AND lineage_id IS NULL AND level = 'compound' "
            "ORDER BY ST_Area(geom::geography), code LIMIT 1"
        )).one()  # fmt: skip
    # the smallest compound, zoomed in until it fills the screen
    p.evaluate(
        """([name, code]) => {
            const map = window[name];
            map.eachLayer((l) => {
                if (l instanceof L.Polygon && l.feature && l.feature.properties.code === code) {
                    map.fitBounds(l.getBounds(), {animate: false, maxZoom: 20});
                }
            });
        }""",
        [name, code],
    )
    settle(p, name)
    view = _view(p)
    assert f"{label}{code}" in {x.text for x in view.shown}
    assert view.overlaps() == [] and view.hidden_for_nothing() == []


def test_hiding_the_communities_gives_their_room_to_compounds(
    page: tuple[Any, str, PageLog], names: dict[str, set[str]]
) -> None:
    p, name, _log = page
    before = _view(p)
    p.locator(".leaflet-control-layers-overlays label", has_text="社区").locator("input").uncheck()
    settle(p, name)
    without = _view(p)
    assert [x for x in without.labels if x.community] == []
    assert without.overlaps() == [] and without.hidden_for_nothing() == []
    assert without.compounds_shown() > before.compounds_shown()

    p.locator(".leaflet-control-layers-overlays label", has_text="社区").locator("input").check()
    settle(p, name)
    again = _view(p)
    assert {x.text for x in again.shown} == {x.text for x in before.shown}
    assert {x.text for x in again.shown if x.community} == names["community"]
