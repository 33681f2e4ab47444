"""The 楼院党建公示 board on the sample street, checked with poppler: A4 and A3 pages of one page each, the map with
its 责任区, the organisation make-up, secretary and phone, committee, 责任区 duties and the posts' duties, the
监督电话; members named only when they consented to 亮身份 (others counted); its faces: the boards page's kind
picker, preview and download, the API and ``gridgov export board --kind party``."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.config import Settings
from gridgov.errors import InvalidInput
from gridgov.print.board import PAPERS, board_html, export_boards, layout
from gridgov.print.party_data import party_boards_data

from tests.browser import assert_not_blank
from tests.db.test_embedded import run_cli
from tests.web.conftest import app_with_users, csrf_of, login
from tests.web.test_boards_page import _finished

POINTS_PER_MM = 72 / 25.4
COMMUNITY = "610103006001"


def _text(pdf: bytes, path: Path) -> str:
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout  # fmt: skip


def _pdfinfo(path: Path) -> str:
    return subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout


def _url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def board(sample_engine: Engine) -> dict[str, Any]:
    """A compound of the sample whose single branch has groups and members who consented and who did not, with
    what its board must and must not show (from the database, not from the board's own queries)."""
    with sample_engine.connect() as conn:
        grid = conn.execute(text("""
            SELECT g.code FROM grid g JOIN party_org o ON g.id = ANY(o.grid_ids) AND o.valid_to IS NULL
             WHERE g.level = 'compound' AND g.valid_to IS NULL AND o.kind = '党支部'
               AND EXISTS (SELECT 1 FROM party_org c WHERE c.parent_id = o.id AND c.kind = '党小组')
             GROUP BY g.code HAVING count(*) = 1 ORDER BY g.code LIMIT 1""")).scalar_one()  # fmt: skip
        org = conn.execute(text("""
            SELECT o.id, o.name, up.name AS parent, coalesce(s.name, p.name) AS secretary,
                   coalesce(o.phone, s.phone, p.phone) AS phone
              FROM party_org o JOIN grid g ON g.id = ANY(o.grid_ids) AND g.code = :g
              LEFT JOIN party_org up ON up.id = o.parent_id
              LEFT JOIN staff s ON s.id = o.secretary_staff_id LEFT JOIN person p ON p.id = o.secretary_person_id
             WHERE o.valid_to IS NULL"""), {"g": grid}).one()  # fmt: skip
        members = conn.execute(text("""
            SELECT p.code, p.name, p.phone, r.shows_identity FROM party_membership m
              JOIN party_org o ON o.id = m.org_id AND (o.id = :o OR o.parent_id = :o)
              JOIN person p ON p.id = m.person_id AND p.valid_to IS NULL
              JOIN party_register r ON r.person_id = p.id WHERE m.until IS NULL"""), {"o": org.id}).all()  # fmt: skip
        officers = conn.execute(text("""
            SELECT t.post, coalesce(p.name, s.name) FROM party_org_post t LEFT JOIN person p ON p.id = t.person_id
              LEFT JOIN staff s ON s.id = t.staff_id WHERE t.org_id = :o AND t.until IS NULL"""),
                                {"o": org.id}).all()  # fmt: skip
        area = conn.execute(text("SELECT name, duty FROM party_duty_area WHERE code = 'ZR' || :g"), {"g": grid}).one()
    shown = {m.name for m in members if m.shows_identity}
    allowed = shown | {name for _, name in officers} | {org.secretary}
    hidden = [m for m in members if not m.shows_identity and m.name not in allowed]
    return {"grid": grid, "org": org, "members": members, "shown": shown, "officers": officers, "area": area,
            "hidden_names": {m.name for m in hidden if not any(m.name in a for a in allowed)},
            "hidden_numbers": {m.phone for m in hidden if m.phone} | {m.code for m in members}}  # fmt: skip


@pytest.mark.parametrize("paper", ["A4", "A3"])
def test_the_board_shows_the_organisation_and_only_consenting_members(
    sample_engine: Engine, board: dict[str, Any], tmp_path: Path, paper: str
) -> None:
    with Session(sample_engine) as s:
        pdf = export_boards(s, [board["grid"]], paper=paper, kind="party", on=dt.date(2026, 11, 30))[0]
        name = s.execute(text("SELECT name FROM grid WHERE code = :c AND valid_to IS NULL"),
                         {"c": board["grid"]}).scalar_one()  # fmt: skip
        data = party_boards_data(s, [board["grid"]])[0]
    lines = _text(pdf, tmp_path / "b.pdf")
    info = _pdfinfo(tmp_path / "b.pdf")
    w_mm, h_mm = PAPERS[paper]
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert size and abs(float(size[1]) - w_mm * POINTS_PER_MM) < 0.5
    assert abs(float(size[2]) - h_mm * POINTS_PER_MM) < 0.5
    assert "Pages:           1" in info
    words = re.sub(r"\s+", "", lines)
    org, area = board["org"], board["area"]
    assert f"{name}党建公示牌" in words and board["grid"] in words
    assert org.name in words and org.parent in words and "党支部" in words
    assert org.secretary in words and org.phone in words  # the secretary is a public office holder
    for post, holder in board["officers"]:
        assert post in words and holder in words
    assert f"{len(board['members'])}名" in words and f"其中亮身份{len(board['shown'])}名" in words
    assert board["shown"] and all(n in words for n in board["shown"])  # consenting members by name
    assert area.name in words and area.duty in words and "岗位职责" in words and "书记：" in words
    assert "监督电话" in words and "12345" in words and "党员责任区" in words and "图例" in words
    # no one else: names of members who did not consent (lines kept, so no name is made across a line break),
    # nobody's phone but the secretary's, no person code
    html = board_html(data, layout(paper))
    assert board["hidden_names"] and board["hidden_numbers"]
    for out in (lines, html):
        leaked = {n for n in board["hidden_names"] if n in out} | {n for n in board["hidden_numbers"] if n in out}
        assert leaked == set(), leaked
    assert not re.search(r"\d{15}B\d\dH\d{4}P\d", lines + html)


def test_the_png_is_drawn_at_the_dpi(sample_engine: Engine, board: dict[str, Any]) -> None:
    with Session(sample_engine) as s:
        png = export_boards(s, [board["grid"]], paper="A4", fmt="png", dpi=100, kind="party")[0]
        small = export_boards(s, [board["grid"]], paper="A3", fmt="png", dpi=50, kind="party")[0]
    assert Image.open(io.BytesIO(png)).size == (827, 1169) and Image.open(io.BytesIO(small)).size == (585, 827)
    assert_not_blank(png)
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB").resize((413, 584)), dtype=np.int64).reshape(-1, 3)
    assert int(((rgb[:, 2] > 215) & (rgb[:, 2] - rgb[:, 0] > 15)).sum()) > 2_000  # the 责任区 over the grid


def test_a_grid_without_a_branch_says_so(sample_engine: Engine, sample_dir: Path, tmp_path: Path) -> None:
    import json

    bare = json.loads((sample_dir / "sample_meta.json").read_text(encoding="utf-8"))["party_gaps"]["grid_branch"][0]
    with Session(sample_engine) as s:
        words = re.sub(r"\s+", "", _text(export_boards(s, [bare], kind="party")[0], tmp_path / "bare.pdf"))
    assert "本网格暂未建立党组织" in words and "党员责任区" in words
    with Session(sample_engine) as s, pytest.raises(InvalidInput, match="不支持的公示牌类型"):
        export_boards(s, [bare], kind="poster")


def test_cli_and_api(sample_engine: Engine, board: dict[str, Any], tmp_path: Path) -> None:
    env = {"GRIDGOV_DATABASE_URL": _url(sample_engine), "GRIDGOV_HOME": str(tmp_path / "home")}
    out = tmp_path / "party.pdf"
    r = run_cli(["export", "board", "--grid", board["grid"], "--kind", "party", "-o", str(out)], env)
    assert r.returncode == 0, r.stderr
    assert board["org"].name in re.sub(r"\s+", "", _text(out.read_bytes(), out)) and "提醒" not in r.stderr
    bad = run_cli(["export", "board", "--grid", board["grid"], "--kind", "poster", "-o", str(out)], env)
    assert bad.returncode == 1 and "不支持的公示牌类型" in bad.stderr and "Traceback" not in bad.stderr
    settings = Settings(database_url=_url(sample_engine), home=tmp_path / "home", maps_dir=tmp_path / "maps")
    from gridgov.api.factory import create_app

    with TestClient(create_app(settings, sample_engine)) as client:
        one = client.get(f"/api/boards/{board['grid']}", params={"kind": "party"})
        many = client.get("/api/boards", params={"parent": COMMUNITY, "kind": "party"})
        wrong = client.get(f"/api/boards/{board['grid']}", params={"kind": "poster"})
    assert one.status_code == 200 and one.headers["content-type"] == "application/pdf"
    assert "party_board_" in one.headers["content-disposition"] and "x-gridgov-staffing-warnings" not in one.headers
    assert "党建公示牌" in re.sub(r"\s+", "", _text(one.content, tmp_path / "one.pdf"))
    with sample_engine.connect() as conn:
        leaves = conn.execute(text("SELECT count(*) FROM grid WHERE code LIKE :c AND level = 'compound' "
                                   "AND valid_to IS NULL"), {"c": COMMUNITY + "%"}).scalar_one()  # fmt: skip
    (tmp_path / "many.pdf").write_bytes(many.content)
    assert many.status_code == 200 and f"Pages:           {leaves}" in _pdfinfo(tmp_path / "many.pdf")
    assert wrong.status_code == 422


def test_the_boards_page_picks_the_kind(sample_engine: Engine, board: dict[str, Any],
                                        tmp_path_factory: pytest.TempPathFactory) -> None:  # fmt: skip
    grid = board["grid"]
    with app_with_users(sample_engine, tmp_path_factory.mktemp("boards"), {"pboard_viewer": ("viewer", None)}) as app, \
            TestClient(app, headers={"Accept": "text/html"}, follow_redirects=False) as web:  # fmt: skip
        login(web, "pboard_viewer")
        page = web.get("/boards", params={"code": grid, "kind": "party"})
        assert page.status_code == 200
        assert '<option value="party" selected>楼院党建公示牌</option>' in page.text
        assert '<option value="grid">网格公示牌</option>' in page.text
        assert f"preview.png?code={grid}&amp;paper=A4&amp;landscape=false&amp;kind=party" in page.text
        assert "党建公示牌预览" in page.text and 'data-testid="batch-kind"' in page.text
        preview = web.get("/boards/preview.png", params={"code": grid, "kind": "party"})
        assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
        assert_not_blank(preview.content)
        file = web.get("/boards/download", params={"code": grid, "kind": "party", "format": "pdf"})
        assert file.status_code == 200 and file.content.startswith(b"%PDF")
        assert "%E5%85%9A%E5%BB%BA%E5%85%AC%E7%A4%BA%E7%89%8C" in file.headers["content-disposition"]  # 党建公示牌
        assert board["org"].name in re.sub(r"\s+", "", _text(file.content, tmp_path_factory.mktemp("d") / "d.pdf"))
        job = web.post("/boards/batch", data={"csrftoken": csrf_of(page.text), "parent": COMMUNITY, "kind": "party"})
        assert job.status_code == 303 and job.headers["location"].startswith("/jobs/")
        state = _finished(web, int(job.headers["location"].rsplit("/", 1)[1]))
        assert state["status"] == "done" and state["message"].startswith("已完成：")
        assert "张党建公示牌" in state["message"]
        assert "党建公示牌" in state["title"] and "提醒" not in state["message"]  # no staffing warnings on these
