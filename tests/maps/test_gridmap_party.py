"""The grid map's Party layer on the hand-made community of tests/party/test_check_export.py: organisations on
their grids (kind and name as labels that take part in the non-overlapping label placement, the secretary in the
grid's popup), 党员责任区 with duty and members, 联系户 links from each member's home, all only under the map's
grid (the reader's scope); the public map and the API without the layer show none of it, and the layer is logged.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import box
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.config import Settings
from gridgov.maps.assets import save_offline
from gridgov.maps.gridmap import grid_map_from_db
from gridgov.maps.gridmap_data import party_layer

from tests.browser import COUNT_POLYGONS_JS, PageLog, open_page, settle
from tests.factories import X0, Y0, D
from tests.maps.test_gridmap_labels import LABELS_JS, Label, View
from tests.party.test_check_export import OTHER, OWN, SECRETARY, A, B, make_check_data

# What only the Party layer may show: organisation, 责任区 and member names, the secretary's phone, the layers.
PARTY_WORDS = ("CP党组织", "BA党组织", "BB党组织", SECRETARY, "一网格西半区", "13900000001", "党员责任区", "联系户",
               "B-H1")  # fmt: skip
LINES_JS = """(name) => {
    let n = 0;
    window[name].eachLayer((l) => { if (l instanceof L.Polyline && !(l instanceof L.Polygon)) n += 1; });
    return n;
}"""


def shows(page_html: str, word: str) -> bool:
    """The word is in the page, as text or inside the map's JSON data (non-ASCII escaped)."""
    return word in page_html or json.dumps(word)[1:-1] in page_html


@pytest.fixture
def data(clean_engine: Engine) -> Engine:
    with Session(clean_engine) as s, s.begin():
        make_check_data(s)
    return clean_engine


def test_the_layer_data_stays_under_the_grid(data: Engine) -> None:
    with Session(data) as s:
        layer = party_layer(s, OWN)
        assert [tuple(r) for r in layer.orgs.fillna("").itertuples(index=False)] == [
            (OWN, "CP", "党委", "CP党组织", "社区党组织", "", ""),
            (A, "BA", "党支部", "BA党组织", "楼院党支部", SECRETARY, "13900000001"),
            (B, "BB", "党支部", "BB党组织", "楼院党支部", "", "")]  # fmt: skip
        assert layer.areas.drop(columns="geometry").to_dict("records") == [
            {"code": "ZA", "name": "一网格西半区", "duty": "环境维护", "org": "BA党组织", "members": [SECRETARY]}]
        assert shapely.equals(layer.areas.geometry.iloc[0], box(X0, Y0, X0 + D / 4, Y0 + D))
        links = layer.links
        assert [(r.member_code, r.member, r.household) for r in links.itertuples()] == [
            ("A-P1", SECRETARY, "B-H1"), ("A-P1", SECRETARY, "B-H2")]
        assert links["from_lon"].round(6).tolist() == [round(X0 + D / 4 + 1e-6, 6)] * 2  # A-H1's point
        assert len(layer.households) == 6

        compound = party_layer(s, A)  # the compound only: its branch, its part of the 责任区, no link leaves it
        assert compound.orgs["code"].tolist() == ["BA"]
        assert compound.areas["code"].tolist() == ["ZA"] and compound.links.empty
        assert party_layer(s, B).links.empty and party_layer(s, B).areas.empty  # A-P1's home is not under B
        other = party_layer(s, OTHER)
        assert other.orgs.empty and other.areas.empty and other.links.empty and len(other.households) == 1

        moment = party_layer(s, OWN, as_of=dt.datetime.now(dt.UTC))  # the history path gives the same now
        assert moment.orgs.equals(layer.orgs) and moment.links.equals(layer.links)
        assert moment.areas.drop(columns="geometry").equals(layer.areas.drop(columns="geometry"))


def test_the_party_map_and_the_public_map(data: Engine) -> None:
    with Session(data) as s:
        party = grid_map_from_db(s, parent_code=OWN, layers={"party"}).get_root().render()
        public = grid_map_from_db(s, parent_code=OWN, layers={"households", "buildings"}).get_root().render()
    assert [w for w in PARTY_WORDS if not shows(party, w)] == []
    for word in ("党支部 BA党组织", "党支部：BA党组织（书记 党员A-H1、13900000001）", "职责", "环境维护",
                 "党员 党员A-H1（A-P1）联系 B-H1", "党员责任区（1）", "联系户（2 条）", "党组织（3）"):  # fmt: skip
        assert shows(party, word), word
    assert party.count('data-rank=\\"100000') == 3  # one organisation label per grid, after every grid label
    assert [w for w in PARTY_WORDS if shows(public, w)] == []


@pytest.fixture
def client(data: Engine, settings_for: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for, data)) as c:
        yield c


def test_the_served_map_shows_the_layer_to_staff_only(client: TestClient, data: Engine) -> None:
    with Session(data) as s, s.begin():
        plain = {role: create_token(s, Actor.system(), f"t-{role}", role, scope)[0] for role, scope in
                 (("viewer", None), ("community", OWN), ("street", "610103006"))}  # fmt: skip
    bearer = {k: {"Authorization": f"Bearer {v}"} for k, v in plain.items()}
    public = client.get("/maps/grid")
    assert public.status_code == 200 and [w for w in PARTY_WORDS if shows(public.text, w)] == []
    for who in ("viewer", "community"):  # a token without the layer asked for: the public map
        r = client.get("/maps/grid", headers=bearer[who])
        assert r.status_code == 200 and [w for w in PARTY_WORDS if shows(r.text, w)] == []
    assert client.get("/maps/grid", params={"layers": "party"}, headers=bearer["viewer"]).status_code == 403
    far = client.get("/maps/grid", params={"layers": "party", "parent": OTHER}, headers=bearer["community"])
    assert far.status_code == 403
    own = client.get("/maps/grid", params={"layers": "party"}, headers=bearer["community"])
    assert own.status_code == 200 and [w for w in PARTY_WORDS if not shows(own.text, w)] == []
    street = client.get("/maps/grid", params={"layers": "party", "parent": OTHER}, headers=bearer["street"])
    assert street.status_code == 200 and [w for w in PARTY_WORDS if shows(street.text, w)] == []  # …002: none
    with data.connect() as conn:
        views = conn.execute(text("SELECT actor, new->>'where' FROM audit_log WHERE action = 'view' "
                                  "AND table_name = 'party' ORDER BY id")).all()  # fmt: skip
    assert [tuple(v) for v in views] == [("token:t-community", OWN), ("token:t-street", OTHER)]


def _view(page: Any) -> View:
    return View([Label(d["text"], d["community"], d["shown"], tuple(d["box"])) for d in page.evaluate(LABELS_JS)])


def test_labels_never_overlap_with_the_party_layer(browser: Any, data: Engine, tmp_path: Path) -> None:
    with Session(data) as s:
        m = grid_map_from_db(s, parent_code=OWN, layers={"party"})
    path, name = save_offline(m, tmp_path / "party.html"), m.get_name()
    log = PageLog()
    page = open_page(browser, path, log, viewport=(1366, 768))
    try:
        page.wait_for_function(f"() => window['{name}'] && document.querySelector('.gridgov-label-party')")
        settle(page, name)
        assert page.evaluate(COUNT_POLYGONS_JS, name) == 3 + 1  # the community, two compounds, the 责任区
        assert page.evaluate(LINES_JS, name) == 2
        seen = {}
        for zoom in (14, 15, 16, 17):
            page.evaluate(f"() => window['{name}'].setZoom({zoom}, {{animate: false}})")
            settle(page, name)
            view = _view(page)
            assert view.overlaps() == [], zoom
            if zoom >= 15:  # below, every label but the communities' waits for the zoom (grid_map's label_min_zoom)
                assert view.hidden_for_nothing() == [], zoom
            seen[zoom] = {x.text for x in view.shown}
        orgs = {"党委 CP党组织", "党支部 BA党组织", "党支部 BB党组织"}
        assert seen[14] == {"文艺北路一社区"}  # below the compounds' zoom the organisations wait like the compounds
        assert orgs <= seen[16] and {"第一网格610103006001001", "第二网格610103006001002"} <= seen[16]
        page.locator(".leaflet-control-layers-overlays label", has_text="党组织").locator("input").uncheck()
        settle(page, name)
        assert not orgs & {x.text for x in _view(page).labels}
        page.screenshot(path=str(tmp_path / "party-map.png"))
    finally:
        page.context.close()
    log.assert_clean()
