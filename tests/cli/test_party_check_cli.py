"""``gridgov party check`` from the shell on the hand-made community of tests/party/test_check_export.py: the
findings as a JSON list (the same the service finds), the thresholds from the settings (environment), the Chinese
report grouped by rule, the Excel workbook; a scoped token checks its own scope and is refused outside it, a viewer
is refused, and every run is logged as a view of Party data."""

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
from gridgov.party.check import check
from gridgov.party.check_export import finding_dict
from gridgov.party.rules import PartyRules

from tests.db.test_embedded import run_cli
from tests.party.test_check_export import DAY, OTHER, OWN, A, make_check_data


@pytest.fixture
def env(clean_engine: Engine, db_url: str, tmp_path: Path) -> dict[str, str]:
    """The hand-made community and the CLI's environment (the local operator), with tokens of community …001 and
    of a viewer."""
    with Session(clean_engine) as s, s.begin():
        make_check_data(s)
        scoped = create_token(s, Actor.system(), "一社区", "community", OWN)[0]
        viewer = create_token(s, Actor.system(), "只读", "viewer")[0]
    return {"GRIDGOV_DATABASE_URL": db_url, "GRIDGOV_HOME": str(tmp_path / "home"), "scoped": scoped,
            "viewer": viewer}  # fmt: skip


def cli(args: list[str], env: dict[str, str], *, token: str | None = None, code: int = 0, **extra: str) -> Any:
    """Run ``gridgov party check …`` (as the local operator, or with ``token``), asserting the exit code."""
    full = {k: v for k, v in env.items() if k.startswith("GRIDGOV_")} | extra
    if token:
        full["GRIDGOV_TOKEN"] = env[token]
    r = run_cli(["party", "check", *args], full)
    assert r.returncode == code, (args, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    return json.loads(r.stdout) if code == 0 and "--json" in args else r


def _expected(engine: Engine, rules: PartyRules, parent: str) -> list[dict[str, Any]]:
    with Session(engine) as s:
        return [finding_dict(f) for f in check(s, Actor.system("tests"), rules, parent=parent, day=DAY).findings]


def test_json_findings_with_the_settings_thresholds(env: dict[str, str], clean_engine: Engine) -> None:
    found = cli(["--parent", OWN, "--as-of", DAY.isoformat(), "--json"], env)
    assert found == _expected(clean_engine, PartyRules(), OWN)
    branch = [f for f in found if f["rule"] == "branch_min"]
    assert branch == [{"rule": "branch_min", "rule_zh": "党支部党员不少于规定人数", "passed": False, "grid_code": None,
                       "org": "BB", "value": 2, "threshold": 3, "detail": "BB党组织只有 2 名党员，党支部至少需要 3 名",
                       "records": []}]  # fmt: skip
    gap = next(f for f in found if f["rule"] == "duty_area" and f["grid_code"] == A)
    assert gap["value"] == "50%" and gap["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert {f["rule"] for f in found if "geometry" in f} == {"duty_area"}

    stricter = cli(["--parent", OWN, "--json"], env, GRIDGOV_PARTY_BRANCH_MIN="5", GRIDGOV_PARTY_CONTACTS_MIN="3")
    assert stricter == _expected(clean_engine, PartyRules(branch_min=5, contacts_min=3), OWN)
    assert [(f["org"], f["value"], f["threshold"]) for f in stricter if f["rule"] == "branch_min"] == \
        [("BA", 4, 5), ("BB", 2, 5)]
    assert next(f for f in stricter if f["records"] == ["A-P1"])["threshold"] == "3–3 户"  # A-P1 links 2


def test_the_chinese_report_and_the_workbook(env: dict[str, str], tmp_path: Path) -> None:
    report = cli(["--parent", OWN], env).stdout
    assert f"党建网格合规检查：网格 {OWN}，截至 {DAY.isoformat()}" in report
    lines = report.splitlines()
    assert any("支部建在网格上" in x and "通过" in x and "检查 2，未通过 0" in x for x in lines)
    assert any("党支部党员不少于规定人数" in x and "未通过" in x and "检查 2，未通过 1（标准：党支部 ≥ 3 名党员）" in x
               for x in lines)  # fmt: skip
    assert "【党支部党员不少于规定人数】未通过，1 条" in report
    assert "  - 党组织 BB：BB党组织只有 2 名党员，党支部至少需要 3 名（发现 2，标准 3）" in lines
    assert f"  - 网格 {A}：3 名在职党员未到社区报到（发现 3，标准 0）；需处理：A-P2、A-P3、A-P4" in lines
    assert report.index("【组织形式与党员人数相符】") < report.index("【党支部党员不少于规定人数】")

    out = tmp_path / "检查" / "党建.xlsx"
    done = cli(["--parent", OWN, "-o", str(out)], env)
    assert f"已写出 {out}" in done.stdout
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["汇总", "问题清单", "说明"]
    assert wb["汇总"]["A3"].value == "组织形式与党员人数相符" and wb["汇总"]["B3"].value == "未通过"
    bad = cli(["-o", str(tmp_path / "x.csv")], env, code=2)
    assert "须为 .xlsx" in bad.stderr


def test_tokens_check_their_own_scope(env: dict[str, str], clean_engine: Engine) -> None:
    own = cli(["--json"], env, token="scoped")
    assert own == _expected(clean_engine, PartyRules(), OWN)  # no --parent: the token's community
    far = cli(["--parent", OTHER, "--json"], env, token="scoped", code=5)
    assert "超出权限范围" in far.stderr
    viewer = cli(["--json"], env, token="viewer", code=5)
    assert "权限不足" in viewer.stderr and "查看个人信息" in viewer.stderr
    with clean_engine.connect() as conn:
        views = conn.execute(text("SELECT actor, new->>'where' FROM audit_log WHERE action = 'view' "
                                  "AND table_name = 'party_check' ORDER BY id")).all()  # fmt: skip
    assert [tuple(v) for v in views] == [("token:一社区", OWN)]
