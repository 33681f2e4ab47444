"""``gridgov party org|member|post|unit|register|contact|import`` from the shell on the factory street: an
organisation tree with versions and history, members put in it, a post, registers, 联系户 up to the rule (the
next refused quoting it), a resident unit joining the 大党委, the Excel template and an import refused whole with
its row numbers; errors as Chinese messages with the exit codes of gridgov.cli.errors, a scoped token refused
outside its scope."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token

from tests.db.test_embedded import run_cli
from tests.factories import X0, Y0, D, make_street
from tests.party.test_check import _members

OWN, A, C = "610103006001", "610103006001001", "610103006002001"


@pytest.fixture
def env(clean_engine: Engine, db_url: str, tmp_path: Path) -> dict[str, str]:
    """The factory street with members M-P1…M-P4 (在职) and households X-H1…X-H4 in compound A, and the CLI's
    environment (the local operator); a community …001 token under ``token``."""
    with Session(clean_engine) as s, s.begin():
        make_street(s)
        _members(s, "A", 4, prefix="M", member_type="在职")
        _members(s, "A", 4, prefix="X")
        token = create_token(s, Actor.system(), "一社区", "community", OWN)[0]
    return {"GRIDGOV_DATABASE_URL": db_url, "GRIDGOV_HOME": str(tmp_path / "home"), "token": token}


def cli(args: list[str], env: dict[str, str], *, code: int = 0) -> Any:
    """Run a command (``--json`` output parsed when it succeeds), asserting its exit code."""
    r = run_cli(args, {k: v for k, v in env.items() if k != "token"})
    assert r.returncode == code, (args, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    return json.loads(r.stdout) if code == 0 and "--json" in args else r


def test_organisations_members_and_contacts(env: dict[str, str], clean_engine: Engine) -> None:
    cli(["party", "org", "add", "CP", "--name", "一社区党委", "--kind", "党委", "--form", "社区党组织",
         "--grids", OWN, "--json"], env)  # fmt: skip
    made = cli(["party", "org", "add", "BA", "--name", "第一网格党支部", "--kind", "支部", "--form", "楼院党支部",
                "--parent", "CP", "--grids", A, "--secretary", "M-P1", "--founded", "1998-07-01", "--json"], env)
    assert (made["kind"], made["parent_code"], made["secretary_name"], made["founded_on"]) == \
        ("党支部", "CP", "党员M-H1", "1998-07-01")
    bad = cli(["party", "org", "add", "G1", "--name", "小组", "--kind", "党小组", "--form", "楼栋党小组",
               "--parent", "CP"], env, code=1)  # fmt: skip
    assert "党小组的上级组织应为党支部，CP 是党委" in bad.stderr
    cli(["party", "org", "edit", "BA", "--name", "一网格党支部", "--version", "1"], env)
    stale = cli(["party", "org", "edit", "BA", "--name", "又改", "--version", "1"], env, code=6)
    assert "已被他人修改（当前版本 2，您编辑的是版本 1）" in stale.stderr
    for person in ("M-P1", "M-P2", "M-P3"):
        cli(["party", "member", "join", person, "--org", "BA", "--since", "2025-01-01"], env)
    post = cli(["party", "post", "add", "BA", "--post", "书记", "--holder", "M-P1", "--json"], env)
    assert post["holder_code"] == "M-P1"
    tree = cli(["party", "org", "list"], env)
    assert "CP\t一社区党委\t党委" in tree.stdout and "  BA\t一网格党支部\t党支部" in tree.stdout
    assert "3 名党员（含下级 3）" in tree.stdout
    shown = cli(["party", "org", "show", "BA"], env)
    assert "书记\t党员M-H1（M-P1）" in shown.stdout and "名称：第一网格党支部 → 一网格党支部" in shown.stdout
    kept = cli(["party", "org", "dissolve", "CP", "--reason", "合并"], env, code=6)
    assert "下还有 BA" in kept.stderr

    cli(["party", "register", "set", "M-P1", "--employer", "市统计局", "--reported-on", "2025-03-01",
         "--shows-identity"], env)  # fmt: skip
    unreported = cli(["party", "register", "unreported", "--json"], env)
    assert [r["person_code"] for r in unreported] == ["M-P2", "M-P3", "M-P4"]
    for home in ("X-H1", "X-H2", "X-H3"):
        cli(["party", "contact", "link", "M-P1", home], env)
    fourth = cli(["party", "contact", "link", "M-P1", "X-H4"], env, code=6)
    assert "：每名党员联系 1–3 户" in fourth.stderr
    cli(["party", "contact", "visit", "M-P1", "X-H1", "--date", "2025-04-01", "--note", "了解供暖"], env)
    listed = cli(["party", "contact", "list", "M-P1"], env)
    assert "联系 3 户" in listed.stdout and "走访 2025-04-01 户 X-H1：了解供暖" in listed.stdout
    moved = cli(["party", "member", "history", "M-P2", "--json"], env)
    assert [(m["org_code"], m["until"]) for m in moved] == [("BA", None)]
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM party_contact")).scalar() == 3
        assert conn.execute(text("SELECT employer FROM party_register")).scalar() == "市统计局"


def test_units_imports_and_scope(env: dict[str, str], tmp_path: Path, clean_engine: Engine) -> None:
    unit = cli(["party", "unit", "add", "U1", "--name", "市一院", "--kind", "医院", "--lon", str(X0 + D / 4),
                "--lat", str(Y0 + D / 2), "--contact-name", "王联络", "--json"], env)  # fmt: skip
    assert (unit["grid_code"], unit["contact_name"]) == (A, "王联络")
    cli(["party", "org", "add", "CP", "--name", "一社区党委", "--kind", "党委", "--form", "社区党组织", "--grids", OWN],
        env)  # fmt: skip
    joined = cli(["party", "unit", "join", "U1", "--org", "CP", "--date", "2025-01-01", "--json"], env)
    assert (joined["member_of_code"], joined["joined_on"], joined["version"]) == ("CP", "2025-01-01", 2)
    template = tmp_path / "orgs.xlsx"
    cli(["party", "import", "orgs", str(template), "--template"], env)
    book = openpyxl.load_workbook(template)
    sheet = book.worksheets[0]
    assert sheet.cell(1, 1).value == "党组织编码"
    sheet.delete_rows(2)
    sheet.append(["BA", "第一网格党支部", "党支部", "楼院党支部", "CP", A])
    sheet.append(["BB", "第二网格党支部", "党支部", "楼院党支部", "CP", "999"])
    book.save(template)
    refused = cli(["party", "import", "orgs", str(template)], env, code=1)
    assert "已拒绝，未写入任何数据（1 处错误）" in refused.stdout
    assert "第 3 行  grid_codes：网格不存在：999" in refused.stdout
    sheet.delete_rows(3)
    book.save(template)
    done = cli(["party", "import", "orgs", str(template), "--json"], env)
    assert (done["imported"], done["written"]) == (1, True)
    scoped = {**env, "GRIDGOV_TOKEN": env["token"]}
    far = cli(["party", "org", "add", "BC", "--name", "二社区支部", "--kind", "党支部", "--form", "网格党支部",
               "--grids", C], scoped, code=5)  # fmt: skip
    assert "超出权限范围" in far.stderr
    with clean_engine.connect() as conn:
        assert list(conn.execute(text("SELECT code FROM party_org ORDER BY code")).scalars()) == ["BA", "CP"]
