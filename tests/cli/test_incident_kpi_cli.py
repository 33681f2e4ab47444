"""``gridgov incident kpi`` on the hand-made cases of tests/incidents/test_kpi.py: JSON with English keys, --as-of,
--level, the Chinese table, and a token's scope."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.db.engine import session_scope

from tests.db.test_embedded import run_cli
from tests.incidents.test_kpi import A, B, C, build

OCTOBER = ["--from", "2026-10-01", "--to", "2026-10-31"]


@pytest.fixture
def env(clean_engine: Engine, tmp_path: Path) -> dict[str, str]:
    with session_scope(clean_engine) as s:
        build(s)
    url = clean_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(tmp_path / "home")}


def test_json_per_grid_with_last_year(env: dict[str, str]) -> None:
    r = run_cli(["incident", "kpi", *OCTOBER, "--as-of", "2026-10-31", "--json"], env)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [x["code"] for x in rows] == [A, B, C]
    a = rows[0]
    assert {k: a[k] for k in ("name", "level", "reported", "closed", "on_time_rate", "overdue_now", "rework", "parked",
                              "closed_at_grid_rate", "closed_in_community_rate")} == {  # fmt: skip
        "name": "第一网格", "level": "compound", "reported": 1, "closed": 2, "on_time_rate": 0.5, "overdue_now": 1,
        "rework": 0, "parked": 0, "closed_at_grid_rate": 1.0, "closed_in_community_rate": 1.0}
    assert a["avg_days"] == {"受理": 0.5, "派遣": 0.5, "处置": 3.25, "核查": 0.5, "结案": 0.5}
    assert a["last_year"]["reported"] == 2 and a["last_year"]["on_time_rate"] == 1.0
    assert rows[1]["rework"] == 1 and rows[1]["parked"] == 1
    assert rows[2]["closed_at_grid_rate"] == 0.0 and rows[2]["closed_in_community_rate"] == 1.0


def test_as_of_and_level(env: dict[str, str]) -> None:
    r = run_cli(["incident", "kpi", *OCTOBER, "--as-of", "2026-10-20T18:00", "--level", "street", "--json"], env)
    assert r.returncode == 0, r.stderr
    (street,) = json.loads(r.stdout)
    assert (street["code"], street["reported"], street["closed"], street["overdue_now"], street["parked"]) == \
        ("610103006", 3, 3, 2, 0)
    later = json.loads(run_cli(["incident", "kpi", *OCTOBER, "--as-of", "2026-10-31", "--level", "社区", "--json"],
                               env).stdout)  # fmt: skip
    assert [(x["code"], x["reported"], x["overdue_now"], x["parked"]) for x in later] == [
        ("610103006001", 3, 1, 1), ("610103006002", 2, 1, 0)]


def test_chinese_table(env: dict[str, str]) -> None:
    r = run_cli(["incident", "kpi", *OCTOBER, "--as-of", "2026-10-31", "--level", "all"], env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == ("统计期间：2026-10-01 至 2026-10-31；统计时点：2026-10-31 23:59；"
                        "去年同期：2025-10-01 至 2025-10-31")  # fmt: skip
    assert "按期结案率" in r.stdout and "网格内结案率" in r.stdout and "处置用时" in r.stdout
    street = next(x for x in lines if x.startswith("610103006 "))
    assert "文艺路街道" in street and "75.0%" in street and "1.90" in street
    assert any("去年同期" in x for x in lines)


def test_a_token_reads_its_scope_only(env: dict[str, str], clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        token = create_token(s, Actor.system("t"), "c2", "community", "610103006002")[0]
    scoped = env | {"GRIDGOV_TOKEN": token}
    mine = json.loads(run_cli(["incident", "kpi", *OCTOBER, "--as-of", "2026-10-31", "--json"], scoped).stdout)
    assert [x["code"] for x in mine] == [C]
    r = run_cli(["incident", "kpi", "--parent", "610103006001", "--json"], scoped)
    assert r.returncode == 5 and "超出权限范围" in r.stderr
    bad = run_cli(["incident", "kpi", "--from", "2026-10-31", "--to", "2026-10-01"], env)
    assert bad.returncode != 0 and "起始日期" in bad.stderr and "Traceback" not in bad.stderr
