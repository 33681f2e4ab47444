"""Staffing warnings beside the topology findings: in validation (service, CLI and API) and before a board is printed;
the rule itself is grids/staffing.py's (tests/web/test_home.py shows it on the 首页)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.config import Settings
from gridgov.db.engine import session_scope
from gridgov.grids.checks import check_staffing, validate_and_store
from gridgov.grids.findings import GridInput
from gridgov.importing.entities import import_entities

from tests.db.test_embedded import run_cli
from tests.factories import make_street

WEST, EAST, OTHER = "610103006001001", "610103006001002", "610103006002001"
# …001001 fully staffed, …001002 nobody, …002001 two 网格长 and a 网格员
ROSTER = (("王长", WEST, "网格长"), ("李员", WEST, "网格员"), ("张长", OTHER, "网格长"), ("赵长", OTHER, "网格长"),
          ("钱员", OTHER, "网格员"))  # fmt: skip


def staff_the_street(engine: Engine, folder: Path) -> None:
    """Staff the factory street as ``ROSTER`` says, through the staff import (as users do)."""
    path = folder / "roster.csv"
    lines = [f"{name},1390000000{i},{grid},{role}" for i, (name, grid, role) in enumerate(ROSTER)]
    path.write_text("姓名,电话,网格编码,职务\n" + "\n".join(lines) + "\n", encoding="utf-8")
    with session_scope(engine) as s:
        report = import_entities(s, "staff", path, actor=Actor.system("tests"))
    assert not report.errors and report.imported == len(ROSTER)


@pytest.fixture
def street(clean_engine: Engine, tmp_path: Path) -> Engine:
    """The factory street (topology clean) with the staff of ``ROSTER``."""
    with session_scope(clean_engine) as s:
        make_street(s)
    staff_the_street(clean_engine, tmp_path)
    return clean_engine


def test_validation_lists_staffing_apart_and_stores_only_the_topology(street: Engine) -> None:
    with session_scope(street) as s:
        result = validate_and_store(s, Actor.system("tests"))
    assert result.findings == []  # topology clean: the street passes, whatever its staff
    assert [(f.code, f.problems) for f in result.staffing] == [(EAST, ("no_head", "no_worker")),
                                                               (OTHER, ("several_heads",))]  # fmt: skip
    assert result.as_dict() == {
        "findings": [],
        "staffing": [
            {"code": EAST, "name": "第二网格", "problems": ["no_head", "no_worker"],
             "message": "没有网格长、没有网格员"},
            {"code": OTHER, "name": "第一网格", "problems": ["several_heads"], "message": "有多名网格长"},
        ],
        "summary": {"findings": 0, "staffing": 2},
    }
    with street.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grid_finding")).scalar_one() == 0  # warnings are not stored

    with session_scope(street) as s:
        community = validate_and_store(s, Actor.system("tests"), parent_code="610103006001", store=False)
        drafts = [GridInput(OTHER, "第一网格", "compound", "610103006002", None),
                  GridInput("draft-1", "新院", "compound", "610103006002", None)]  # fmt: skip
        drafted = check_staffing(s, drafts=drafts)
    assert [f.code for f in community.staffing] == [EAST]  # the subtree only
    assert [f.code for f in drafted] == [OTHER]  # a drafted grid's live staff; a new draft has none to check


def test_api_validate_carries_staffing_under_its_own_key(street: Engine, settings_for: Settings) -> None:
    with session_scope(street) as s:
        token = create_token(s, Actor.system(), "查看", "viewer")[0]
    with TestClient(create_app(settings_for, street)) as client:
        r = client.post("/api/grids/validate", json={"parent": "610103006"},
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["findings"] == [] and body["summary"] == {"findings": 0, "staffing": 2}
    assert [(f["code"], f["problems"], f["message"]) for f in body["staffing"]] == [
        (EAST, ["no_head", "no_worker"], "没有网格长、没有网格员"),
        (OTHER, ["several_heads"], "有多名网格长"),
    ]


def test_the_json_of_cli_validate_keeps_the_kinds_apart(street: Engine, db_url: str, tmp_path: Path) -> None:
    env = {"GRIDGOV_DATABASE_URL": db_url, "GRIDGOV_HOME": str(tmp_path / "home")}
    r = run_cli(["grids", "validate", "--parent", "610103006002", "--json"], env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {
        "findings": [],
        "staffing": [{"code": OTHER, "name": "第一网格", "problems": ["several_heads"], "message": "有多名网格长"}],
        "summary": {"findings": 0, "staffing": 1},
    }
