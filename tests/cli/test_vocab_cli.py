"""``gridgov vocab``: list, add, synonym and retire from the shell, with ``--json`` output that matches
``vocab_term``, Chinese refusals with the exit codes of gridgov.cli.errors, and administrators only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token

from tests.factories import make_street

GRIDGOV = [sys.executable, "-m", "gridgov.cli"]
SAFETY = "网格安全员"


def gridgov(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``gridgov`` with these arguments in a controlled environment."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("GRIDGOV_")} | env
    return subprocess.run([*GRIDGOV, *args], capture_output=True, text=True, env=full, timeout=180)


def cli_json(args: list[str], env: dict[str, str]) -> Any:
    """Run a command with ``--json``; its parsed output (asserting it succeeded)."""
    r = gridgov([*args, "--json"], env)
    assert r.returncode == 0, (args, r.stderr)
    return json.loads(r.stdout)


@pytest.fixture
def env(clean_engine: Engine, db_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The factory street, and the CLI's environment (the local operator); afterwards the synonyms added to
    built-in terms are removed (clean_engine keeps built-in rows as they are)."""
    with Session(clean_engine) as s, s.begin():
        make_street(s)
    yield {"GRIDGOV_DATABASE_URL": db_url, "GRIDGOV_HOME": str(tmp_path / "home")}


def table(engine: Engine, vocabulary: str) -> list[tuple[Any, ...]]:
    """The vocabulary's rows in force: (term, synonyms, public, builtin), in order."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT term, synonyms, public, builtin FROM vocab_term WHERE vocabulary = :v AND retired_at IS NULL "
            "ORDER BY position, term"), {"v": vocabulary})]  # fmt: skip


def test_add_synonym_retire_and_list_match_the_table(clean_engine: Engine, env: dict[str, str]) -> None:
    listed = cli_json(["vocab", "list"], env)
    assert [v["name"] for v in listed] == ["staff_roles", "household_kinds", "person_tags", "incident_categories",
                                           "incident_subcategories"]
    staff = listed[0]
    assert [t["term"] for t in staff["terms"]] == [r[0] for r in table(clean_engine, "staff_roles")]
    grid_worker = next(t for t in staff["terms"] if t["term"] == "网格员")
    assert "网格管理员" in grid_worker["synonyms"] and grid_worker["builtin"] and grid_worker["public"] is True

    added = cli_json(["vocab", "add", "staff_roles", SAFETY, "--synonym", "安全员", "-s", "平安员", "--public"], env)
    assert added["terms"][-1] == {"term": SAFETY, "builtin": False, "public": True, "synonyms": ["安全员", "平安员"],
                                  "added_synonyms": ["安全员", "平安员"]}  # fmt: skip
    assert table(clean_engine, "staff_roles")[-1] == (SAFETY, ["安全员", "平安员"], True, False)
    kind = cli_json(["vocab", "add", "户籍类型", "群租房"], env)  # the Chinese name of the vocabulary works too
    assert kind["name"] == "household_kinds" and kind["terms"][-1]["public"] is None
    assert table(clean_engine, "household_kinds")[-1] == ("群租房", [], None, False)

    more = cli_json(["vocab", "synonym", "incident_categories", "街面秩序", "流动摊贩", "马路市场"], env)
    street = next(t for t in more["terms"] if t["term"] == "街面秩序")
    assert street["added_synonyms"] == ["流动摊贩", "马路市场"] and street["synonyms"][0] == "街面"
    categories = {r[0]: r[1] for r in table(clean_engine, "incident_categories")}
    assert categories["街面秩序"] == ["流动摊贩", "马路市场"] and categories["市容环境"] == []

    one = cli_json(["vocab", "list", "staff_roles"], env)
    assert one["name"] == "staff_roles" and one["terms"][-1]["term"] == SAFETY
    text_out = gridgov(["vocab", "list", "incident_categories"], env)
    assert text_out.returncode == 0 and "事件类别（incident_categories）：11 个词条" in text_out.stdout
    assert "街面秩序\t内置\t同义词：街面、占道经营、流动摊贩＊、马路市场＊" in text_out.stdout

    retired = cli_json(["vocab", "retire", "staff_roles", SAFETY], env)
    assert SAFETY not in [t["term"] for t in retired["terms"]]
    assert SAFETY not in [r[0] for r in table(clean_engine, "staff_roles")]
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT retired_at IS NOT NULL FROM vocab_term WHERE term = :t"),
                            {"t": SAFETY}).scalar_one()  # fmt: skip


def test_refusals_are_messages_with_exit_codes(clean_engine: Engine, env: dict[str, str]) -> None:
    taken = gridgov(["vocab", "add", "staff_roles", "网格管理员"], env)
    assert taken.returncode == 6 and "已在网格工作人员角色中（即「网格员」）" in taken.stderr
    public_kind = gridgov(["vocab", "add", "household_kinds", "群租房", "--public"], env)
    assert public_kind.returncode == 1 and "只有网格工作人员角色有" in public_kind.stderr
    built_in = gridgov(["vocab", "retire", "staff_roles", "网格员"], env)
    assert built_in.returncode == 1 and "内置" in built_in.stderr
    unknown = gridgov(["vocab", "list", "colours"], env)
    assert unknown.returncode == 1 and "未知的词表：colours" in unknown.stderr
    missing = gridgov(["vocab", "synonym", "staff_roles", "总经理", "老总"], env)
    assert missing.returncode == 4 and "没有「总经理」" in missing.stderr
    for r in (taken, public_kind, built_in, unknown, missing):
        assert "Traceback" not in r.stderr
    assert [r[0] for r in table(clean_engine, "household_kinds")] == ["常住户", "租房户", "空房户", "底商"]

    with Session(clean_engine) as s, s.begin():
        token = create_token(s, Actor.system("tests"), "街道", "street", "610103006")[0]
    as_street = env | {"GRIDGOV_TOKEN": token}
    refused = gridgov(["vocab", "add", "staff_roles", SAFETY], as_street)
    assert refused.returncode == 5 and "权限不足" in refused.stderr
    assert gridgov(["vocab", "synonym", "staff_roles", "网格员", "网格联络员"], as_street).returncode == 5
    assert SAFETY not in [r[0] for r in table(clean_engine, "staff_roles")]
    assert cli_json(["vocab", "list", "staff_roles"], as_street)["terms"][0]["term"] == "网格长"  # reading is allowed


def test_help_is_chinese(env: dict[str, str]) -> None:
    r = gridgov(["vocab", "add", "--help"], env)
    assert r.returncode == 0 and "添加词条（系统管理员）" in r.stdout and "在公示牌显示" in r.stdout
    assert "Options" not in r.stdout and "Show this message" not in r.stdout
