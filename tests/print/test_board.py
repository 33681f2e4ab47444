"""公示 boards checked with poppler (pdfinfo, pdffonts, pdftotext): page sizes, embedded fonts, searchable
text, no resident data; PNG pixel sizes; batch page counts; the CLI and API faces."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.api.factory import create_app
from gridgov.config import Settings
from gridgov.errors import InvalidInput, NotFound
from gridgov.grids.staffing import staffing_findings
from gridgov.print.board import PAPERS, export_boards, layout
from gridgov.vocab import PUBLIC_STAFF_ROLES

from tests.browser import assert_not_blank
from tests.db.test_embedded import run_cli

GRID = "610103006001001"
COMMUNITY = "610103006001"
POINTS_PER_MM = 72 / 25.4


def _poppler(tool: str, pdf: Path, *args: str) -> str:
    stdout = ["-"] if tool == "pdftotext" else []  # pdftotext writes FILE.txt unless told "-"
    return subprocess.run([tool, *args, str(pdf), *stdout], check=True, capture_output=True, text=True).stdout


def _page_size(pdf: Path) -> tuple[float, float]:
    m = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", _poppler("pdfinfo", pdf))
    assert m is not None
    return float(m[1]), float(m[2])


def _pages(pdf: Path) -> int:
    m = re.search(r"Pages:\s+(\d+)", _poppler("pdfinfo", pdf))
    assert m is not None
    return int(m[1])


def _url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def private(sample_engine: Engine) -> dict[str, set[str]]:
    """Residents' names, phones and ID numbers, and the public staff's names and phones (as working staff their
    contact details belong on the board; a 楼栋长 who is also a 网格员 is public as the 网格员)."""
    with sample_engine.connect() as conn:
        staff = conn.execute(text("SELECT s.name, s.phone FROM staff s JOIN grid_role r ON r.staff_id = s.id "
                                  "WHERE r.role = ANY(:public)"), {"public": list(PUBLIC_STAFF_ROLES)}).all()
        rows = conn.execute(text("SELECT name, phone, id_number FROM person")).all()
    return {
        "names": {r.name for r in rows if r.name},
        "numbers": {v for r in rows for v in (r.phone, r.id_number) if v},
        "staff": {v for r in staff for v in (r.name, r.phone) if v},
    }


def _staff(engine: Engine, code: str) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT r.role, s.name, s.phone FROM grid_role r JOIN staff s ON s.id = r.staff_id "
            "JOIN grid g ON g.id = r.grid_id WHERE g.code = :c AND g.valid_to IS NULL"), {"c": code})]  # fmt: skip


@pytest.mark.parametrize(("paper", "landscape"), [("A4", False), ("A3", True), ("A2", False), ("A1", True)])
def test_board_pdf_per_paper(
    sample_engine: Engine, tmp_path: Path, private: dict[str, set[str]], paper: str, landscape: bool
) -> None:
    with Session(sample_engine) as s:
        pdf = export_boards(s, [GRID], paper=paper, landscape=landscape)[0]
        name = s.execute(text("SELECT name FROM grid WHERE code = :c AND valid_to IS NULL"), {"c": GRID}).scalar_one()
    path = tmp_path / f"{paper}.pdf"
    path.write_bytes(pdf)
    w_mm, h_mm = PAPERS[paper]
    if landscape:
        w_mm, h_mm = h_mm, w_mm
    w, h = _page_size(path)
    assert _pages(path) == 1
    assert abs(w - w_mm * POINTS_PER_MM) < 0.5 and abs(h - h_mm * POINTS_PER_MM) < 0.5, (w, h)

    fonts = _poppler("pdffonts", path).splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts  # the "emb" column
    assert any("Noto-Sans-CJK" in line for line in fonts)

    words = _poppler("pdftotext", path, "-layout").replace(" ", "")
    assert name in words and GRID in words and "网格公示牌" in words and "监督电话" in words and "12345" in words
    staff = _staff(sample_engine, GRID)
    shown = [r for r in staff if r[0] in PUBLIC_STAFF_ROLES]
    assert shown and len(shown) < len(staff)  # the sample grid has 楼栋长 and Party posts too
    for role, person, phone in shown:
        assert person in words and role in words and phone in words
    hidden = {v for r in staff if r[0] not in PUBLIC_STAFF_ROLES for v in r[1:]} - {v for r in shown for v in r[1:]}
    assert hidden and not {v for v in hidden if v in words}
    assert "北" in words and "图例" in words and "文艺北路一社区" in words  # map text is text too
    public = words
    for v in sorted(private["staff"], key=len, reverse=True):
        public = public.replace(v, "")
    leaked = {w for w in private["names"] if w in public} | {n for n in private["numbers"] if n in public}
    assert leaked == set()


def test_png_is_not_blank_and_sized_for_the_dpi(sample_engine: Engine) -> None:
    with Session(sample_engine) as s:
        png = export_boards(s, [GRID], paper="A4", fmt="png", dpi=300)[0]
        small = export_boards(s, [GRID], paper="A3", landscape=True, fmt="png", dpi=72)[0]
    image = Image.open(io.BytesIO(png))
    assert image.size == (2480, 3508)  # 210 × 297 mm at 300 dpi
    assert Image.open(io.BytesIO(small)).size == (1191, 842)
    assert_not_blank(png)
    pixels = image.convert("RGB").resize((620, 877))
    reds = sum(1 for r, g, b in pixels.getdata() if r > 180 and g < 90 and b < 90)
    assert reds > 500  # the grid's red boundary and the title are drawn
    Path("/tmp/board_A4.png").write_bytes(png)


def test_batch_export_of_a_community(sample_engine: Engine, tmp_path: Path) -> None:
    with sample_engine.connect() as conn:
        leaves = conn.execute(text(
            "SELECT count(*) FROM grid g WHERE g.valid_to IS NULL AND g.code LIKE :c AND g.level = 'compound'"),
            {"c": COMMUNITY + "%"}).scalar_one()  # fmt: skip
    env = {"GRIDGOV_DATABASE_URL": _url(sample_engine), "GRIDGOV_HOME": str(tmp_path / "home")}
    out = tmp_path / "boards" / "community.pdf"
    r = run_cli(["export", "board", "--parent", COMMUNITY, "--paper", "A4", "-o", str(out)], env)
    assert r.returncode == 0, r.stderr
    assert _pages(out) == leaves and f"共 {leaves} 页" in r.stdout
    text_ = _poppler("pdftotext", out)
    with sample_engine.connect() as conn:
        sql = "SELECT code FROM grid WHERE code LIKE :c AND level = 'compound' AND valid_to IS NULL"
        codes = conn.execute(text(sql), {"c": COMMUNITY + "%"}).scalars().all()
    assert all(c in text_ for c in codes)
    with Session(sample_engine) as s:  # one stderr line per unstaffed grid of the batch (none when all are staffed)
        unstaffed = staffing_findings(s, codes=codes)
    assert [line for line in r.stderr.splitlines() if line.startswith("提醒：")] == [
        f"提醒：{f.name}（{f.code}）{f.text}，公示牌上的责任人员不完整。" for f in unstaffed]  # fmt: skip

    pngs = tmp_path / "png" / "board.png"
    r = run_cli(["export", "board", "--parent", COMMUNITY, "--format", "png", "--dpi", "50", "-o", str(pngs)], env)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in pngs.parent.glob("*.png")) == sorted(f"board_{c}.png" for c in codes)

    bad = run_cli(["export", "board", "--grid", GRID, "--parent", COMMUNITY, "-o", str(out)], env)
    assert bad.returncode == 1 and "二者选一" in bad.stderr
    bad = run_cli(["export", "board", "--grid", GRID, "--paper", "B5", "-o", str(out)], env)
    assert bad.returncode == 1 and "不支持的纸张" in bad.stderr and "Traceback" not in bad.stderr


def test_api_returns_the_files(sample_engine: Engine, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    settings = Settings(database_url=_url(sample_engine), home=tmp_path / "home", maps_dir=tmp_path / "maps")
    with TestClient(create_app(settings, sample_engine)) as client:
        r = client.get(f"/api/boards/{GRID}", params={"paper": "A3", "landscape": True})
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        with Session(sample_engine) as s:  # the sample's compounds are staffed (the warnings: see the next test)
            assert r.headers["x-gridgov-staffing-warnings"] == str(len(staffing_findings(s, codes=[GRID])))
        (tmp_path / "a3.pdf").write_bytes(r.content)
        w, h = _page_size(tmp_path / "a3.pdf")
        assert abs(w - 1190.55) < 0.5 and abs(h - 841.89) < 0.5
        r = client.get(f"/api/boards/{GRID}", params={"format": "png", "dpi": 72})
        assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == (595, 842)
        r = client.get("/api/boards", params={"parent": COMMUNITY})
        (tmp_path / "batch.pdf").write_bytes(r.content)
        assert r.status_code == 200 and _pages(tmp_path / "batch.pdf") >= 2
        assert client.get(f"/api/boards/{GRID}", params={"paper": "B5"}).status_code == 422
        assert client.get("/api/boards/610103006999999").status_code == 404
        assert client.get(f"/api/boards/{GRID}", params={"format": "png", "dpi": 5000}).status_code == 422


def test_an_unstaffed_grid_is_warned_and_its_board_still_made(
    clean_engine: Engine, db_url: str, tmp_path: Path, settings_for: Settings
) -> None:
    from fastapi.testclient import TestClient

    from gridgov.auth.scope import Actor
    from gridgov.auth.tokens import create_token
    from gridgov.db.engine import session_scope

    from tests.factories import make_street
    from tests.grids.test_staffing_checks import EAST, OTHER, WEST, staff_the_street

    with session_scope(clean_engine) as s:
        make_street(s)
        token = create_token(s, Actor.system(), "查看", "viewer")[0]
    staff_the_street(clean_engine, tmp_path)  # WEST staffed, EAST nobody, OTHER two 网格长
    env = {"GRIDGOV_DATABASE_URL": db_url, "GRIDGOV_HOME": str(tmp_path / "home")}
    out = tmp_path / "east.pdf"
    r = run_cli(["export", "board", "--grid", EAST, "-o", str(out)], env)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == f"提醒：第二网格（{EAST}）没有网格长、没有网格员，公示牌上的责任人员不完整。"
    assert _pages(out) == 1 and "第二网格" in _poppler("pdftotext", out) and f"已写出 {out}" in r.stdout
    r = run_cli(["export", "board", "--grid", WEST, "-o", str(tmp_path / "west.pdf")], env)
    assert r.returncode == 0 and "提醒" not in r.stderr  # staffed: no warning
    r = run_cli(["export", "board", "--parent", "610103006", "-o", str(tmp_path / "all.pdf")], env)
    assert r.returncode == 0 and _pages(tmp_path / "all.pdf") == 3
    assert [line for line in r.stderr.splitlines() if line.startswith("提醒：")] == [
        f"提醒：第二网格（{EAST}）没有网格长、没有网格员，公示牌上的责任人员不完整。",
        f"提醒：第一网格（{OTHER}）有多名网格长，公示牌上的责任人员不完整。"]  # fmt: skip

    with TestClient(create_app(settings_for, clean_engine)) as client:
        auth = {"Authorization": f"Bearer {token}"}
        one = client.get(f"/api/boards/{EAST}", headers=auth)
        many = client.get("/api/boards", params={"parent": "610103006"}, headers=auth)
        staffed = client.get(f"/api/boards/{WEST}", headers=auth)
    assert one.status_code == 200 and one.content.startswith(b"%PDF")
    assert one.headers["x-gridgov-staffing-warnings"] == "1"
    assert one.headers["x-gridgov-staffing"] == f"{EAST}=no_head+no_worker"
    assert many.status_code == 200 and many.headers["x-gridgov-staffing-warnings"] == "2"
    assert many.headers["x-gridgov-staffing"] == f"{EAST}=no_head+no_worker, {OTHER}=several_heads"
    assert staffed.headers["x-gridgov-staffing-warnings"] == "0" and "x-gridgov-staffing" not in staffed.headers


def test_duties_template_counts_and_qr_are_configurable(sample_engine: Engine, tmp_path: Path) -> None:
    duties = tmp_path / "duties.txt"
    duties.write_text("# 注释不打印\n{grid}网格员每周走访不少于两次。\n", encoding="utf-8")
    settings = Settings(board_duties_path=duties, board_show_counts=True, board_hotline="029-87654321",
                        board_qr_url="http://10.1.2.3:8000/maps/grid?parent={code}")  # fmt: skip
    with Session(sample_engine) as s:
        pdf = export_boards(s, [GRID], settings=settings)[0]
        name = s.execute(text("SELECT name FROM grid WHERE code = :c AND valid_to IS NULL"), {"c": GRID}).scalar_one()
        households = s.execute(text(
            "SELECT count(*) FROM household h JOIN grid g ON g.id = h.grid_id WHERE g.code = :c"), {"c": GRID}
        ).scalar_one()  # fmt: skip
    (tmp_path / "b.pdf").write_bytes(pdf)
    words = _poppler("pdftotext", tmp_path / "b.pdf").replace(" ", "").replace("\n", "")
    assert f"{name}网格员每周走访不少于两次。" in words and "注释不打印" not in words
    assert "029-87654321" in words and f"户数{households}" in words and "扫码查看网格图" in words


def test_bad_options_are_domain_errors(sample_engine: Engine) -> None:
    with pytest.raises(InvalidInput, match="不支持的纸张"):
        layout("Letter")
    with Session(sample_engine) as s:
        with pytest.raises(NotFound, match="网格不存在"):
            export_boards(s, ["610103006999999"])
        with pytest.raises(InvalidInput, match="不支持的格式"):
            export_boards(s, [GRID], fmt="tiff")
        with pytest.raises(InvalidInput, match="图片过大"):
            export_boards(s, [GRID], paper="A1", fmt="png", dpi=600)


def test_a_board_dated_before_a_hand_over_names_the_previous_holder(sample_engine: Engine) -> None:
    import datetime as dt

    from gridgov.print.data import board_data

    with Session(sample_engine) as s:
        code, before, after, day = s.execute(text(
            """SELECT g.code, old.name, new.name, r.until FROM grid_role r
                 JOIN grid g ON g.id = r.grid_id JOIN staff old ON old.id = r.staff_id
                 JOIN grid_role n ON n.grid_id = r.grid_id AND n.role = r.role AND n.since = r.until
                 JOIN staff new ON new.id = n.staff_id
                WHERE r.end_reason = '交接' ORDER BY r.until LIMIT 1""")).one()  # fmt: skip
        then = [x.name for x in board_data(s, code, on_day=day - dt.timedelta(days=1)).staff]
        now = [x.name for x in board_data(s, code).staff]
    assert before in then and after not in then and after in now and before not in now
