"""Party data never reaches a public output without consent, on the sample street (2,900 members): the anonymous
grid map without the Party layer and the map files ``gridgov map grid`` writes under maps/, the grid 公示 board,
the public API (grids, boards, a grid's ledger line and staff, Open311) hold no member's name, phone or person code;
the 楼院党建公示 board names exactly the members who consented to 亮身份 (and the office holders), nobody else.

A member who is also public grid staff (a 网格长 living in the compound) is on the grid board as staff, not as a
member: public staff names and grid names are taken out of a text before members' names are looked for in it."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gridgov.api.factory import create_app
from gridgov.config import Settings
from gridgov.vocab import PUBLIC_STAFF_ROLES

from tests.db.test_embedded import run_cli

COMMUNITY = "610103006001"
PERSON_CODE = re.compile(r"\d{12,15}B\d\dH\d{4}P\d+")
ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def _url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pdf_text(pdf: bytes, path: Path) -> str:
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def party(sample_engine: Engine) -> dict[str, Any]:
    """The members' names, phones and codes, and what public outputs show anyway: public staff (names and phones:
    a resident 网格长 may be a member too) and grid names."""
    with sample_engine.connect() as conn:
        members = conn.execute(text("""
            SELECT p.code, p.name, p.phone, coalesce(r.shows_identity, false) AS shown FROM person p
              LEFT JOIN party_register r ON r.person_id = p.id WHERE p.is_party_member AND p.valid_to IS NULL""")).all()
        staff = conn.execute(text("SELECT DISTINCT s.name, s.phone FROM staff s JOIN grid_role r ON r.staff_id = s.id "
                                  "WHERE r.role = ANY(:public)"), {"public": list(PUBLIC_STAFF_ROLES)}).all()
        grids = set(conn.execute(text("SELECT name FROM grid")).scalars())
    public_names = {s.name for s in staff}
    assert len(members) > 2_800 and sum(m.shown for m in members) > 1_000
    return {
        "members": members,
        "names": {m.name for m in members} - public_names,
        "phones": {m.phone for m in members if m.phone} - {s.phone for s in staff},
        "codes": {m.code for m in members},
        "known": sorted(public_names | grids, key=len, reverse=True),  # longest first: no half names left behind
    }


def _plain(out: str) -> str:
    """Text with JSON's \\uXXXX escapes decoded (the maps embed their data as JSON)."""
    return ESCAPE.sub(lambda m: chr(int(m[1], 16)), out)


def _leaks(out: str, party: dict[str, Any], allowed: Iterable[str] = ()) -> set[str]:
    """The members' names, phones and person codes found in ``out`` (after the names it may show)."""
    out = _plain(out)
    rest = out
    for known in sorted({*party["known"], *allowed}, key=len, reverse=True):
        rest = rest.replace(known, "")
    names = {n for n in party["names"] - set(allowed) if n in rest}
    return names | {p for p in party["phones"] if p in out} | set(PERSON_CODE.findall(out))


@pytest.fixture(scope="module")
def anonymous(sample_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app on the sample street, without a login or token."""
    home = tmp_path_factory.mktemp("privacy")
    settings = Settings(database_url=_url(sample_engine), home=home / "home", maps_dir=home / "maps")
    with TestClient(create_app(settings, sample_engine)) as client:
        yield client


def test_the_public_grid_map_and_its_files_show_no_member(anonymous: TestClient, party: dict[str, Any],
                                                          sample_engine: Engine, tmp_path: Path) -> None:  # fmt: skip
    maps = [anonymous.get("/maps/grid"), anonymous.get("/maps/grid", params={"layers": "households,buildings"}),
            anonymous.get("/maps/grid", params={"parent": COMMUNITY, "layers": "households,buildings"})]
    assert [r.status_code for r in maps] == [200, 200, 200]
    assert all("文艺北路一社区" in _plain(r.text) for r in maps)  # the maps are there, with their popups' data
    for r in maps:
        assert _leaks(r.text, party) == set()
    refused = anonymous.get("/maps/grid", params={"layers": "party"})
    assert refused.status_code == 401 and _leaks(refused.text, party) == set()
    env = {"GRIDGOV_DATABASE_URL": _url(sample_engine), "GRIDGOV_HOME": str(tmp_path / "home"),
           "GRIDGOV_MAPS_DIR": str(tmp_path / "maps")}  # fmt: skip
    for args in (["map", "grid"], ["map", "grid", "--layers", "households,buildings", "-o",
                                   str(tmp_path / "maps" / "layers.html")]):  # fmt: skip
        r = run_cli(args, env)
        assert r.returncode == 0, r.stderr
    files = [p for p in (tmp_path / "maps").rglob("*") if p.is_file() and "lib" not in p.relative_to(
        tmp_path / "maps").parts]  # fmt: skip
    assert {p.name for p in files} >= {"grid.html", "layers.html"}
    for path in files:
        assert _leaks(path.read_text(encoding="utf-8", errors="replace"), party) == set(), path


def test_the_grid_board_and_the_public_api_show_no_member(anonymous: TestClient, party: dict[str, Any],
                                                          sample_engine: Engine, tmp_path: Path) -> None:  # fmt: skip
    with sample_engine.connect() as conn:
        compounds = list(conn.execute(text("SELECT code FROM grid WHERE parent_id = (SELECT id FROM grid WHERE code "
                                           "= :c AND valid_to IS NULL) AND valid_to IS NULL ORDER BY code"),
                                      {"c": COMMUNITY}).scalars())  # fmt: skip
        case = conn.execute(text("SELECT code FROM incident ORDER BY reported_at DESC LIMIT 1")).scalar_one()
    boards = anonymous.get("/api/boards", params={"parent": COMMUNITY})
    assert boards.status_code == 200
    words = re.sub(r"\s+", "", _pdf_text(boards.content, tmp_path / "boards.pdf"))  # names wrapped are joined
    assert all(c in words for c in compounds) and "网格公示牌" in words
    assert _leaks(words, party) == set()
    answers = [anonymous.get(url) for url in (
        "/api/grids", "/api/grids/findings", "/api/grids/export", "/open311/v2/services.json",
        "/open311/v2/requests.json", f"/open311/v2/requests/{case}.json",
        *(f"{prefix}{code}{suffix}" for code in [COMMUNITY, *compounds] for prefix, suffix in (
            ("/api/grids/", ""), ("/api/grids/", "/history"), ("/api/ledger/grid/", ""))),
    )]  # fmt: skip
    assert [r.status_code for r in answers] == [200] * len(answers), [r.url for r in answers if r.status_code != 200]
    assert any(case in r.text for r in answers) and any("网格长" in r.text for r in answers)
    for r in answers:
        assert _leaks(r.text, party) == set(), r.url
    one = anonymous.get(f"/api/boards/{compounds[0]}", params={"format": "png", "dpi": 40})
    assert one.status_code == 200 and one.headers["content-type"] == "image/png"


def test_the_party_board_names_only_the_consenting_members(anonymous: TestClient, party: dict[str, Any],
                                                           sample_engine: Engine, tmp_path: Path) -> None:  # fmt: skip
    with sample_engine.connect() as conn:
        orgs = [int(i) for i in conn.execute(text("""
            SELECT DISTINCT o.id FROM party_org o JOIN grid g ON g.id = ANY(o.grid_ids) AND g.valid_to IS NULL
             WHERE g.code LIKE :c AND g.level = 'compound' AND o.valid_to IS NULL"""),
                                             {"c": COMMUNITY + "%"}).scalars()]  # fmt: skip
        tree = "SELECT id FROM party_org WHERE id = ANY(:o) OR parent_id = ANY(:o)"
        shown = set(conn.execute(text(f"""
            SELECT p.name FROM party_membership m JOIN person p ON p.id = m.person_id AND p.valid_to IS NULL
              JOIN party_register r ON r.person_id = p.id AND r.shows_identity
             WHERE m.until IS NULL AND m.org_id IN ({tree})"""), {"o": orgs}).scalars())  # fmt: skip
        officers = conn.execute(text(f"""
            SELECT coalesce(p.name, s.name) AS name, coalesce(p.phone, s.phone) AS phone FROM party_org_post t
              LEFT JOIN person p ON p.id = t.person_id LEFT JOIN staff s ON s.id = t.staff_id
             WHERE t.until IS NULL AND t.org_id IN ({tree})"""), {"o": orgs}).all()  # fmt: skip
        hidden = conn.execute(text(f"""
            SELECT count(*) FROM party_membership m JOIN party_register r ON r.person_id = m.person_id
             WHERE NOT r.shows_identity AND m.until IS NULL AND m.org_id IN ({tree})"""), {"o": orgs}).scalar_one()
    assert len(orgs) >= 5 and len(shown) > 50 and hidden > 50
    r = anonymous.get("/api/boards", params={"parent": COMMUNITY, "kind": "party"})
    assert r.status_code == 200
    words = re.sub(r"\s+", "", _pdf_text(r.content, tmp_path / "party.pdf"))  # names wrapped are joined
    assert "党建公示牌" in words and "亮身份" in words
    assert {n for n in shown if n not in words} == set()  # every consenting member by name
    allowed = shown | {o.name for o in officers}
    party_public = {**party, "phones": party["phones"] - {o.phone for o in officers if o.phone}}
    assert _leaks(words, party_public, allowed) == set()  # nobody else, no phone but the offices', no code
