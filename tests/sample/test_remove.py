"""``gridgov sample remove``: the sample street and everything that belongs to it go in one transaction; another
street in the same database, the accounts and the audit log stay; users and tokens scoped to the sample are
disabled and revoked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.auth.users import add_user
from gridgov.db.models import Base
from gridgov.errors import Conflict
from gridgov.grids.service import create_grid
from gridgov.importing.entities import import_entities
from gridgov.sample.remove import CACHES, KEPT, SAMPLE_STREET, SETTINGS, remove_sample, uncovered

from tests.conftest import sample_database
from tests.factories import square

OP = Actor.system("tests")
X, Y, D = 109.10, 34.30, 0.01  # the other street lies well east of the sample street
OTHER = {"grid": "610103001%", "household": "QT-%", "person": "QT-%", "staff": "QT-%", "incident": "QT-%"}
REMOVABLE = [t.name for t in Base.metadata.sorted_tables if t.name not in KEPT | SETTINGS | CACHES]


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real ``gridgov`` command in a subprocess with a controlled environment."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("GRIDGOV_")} | env
    return subprocess.run([sys.executable, "-m", "gridgov.cli", *args], capture_output=True, text=True, env=full,
                          timeout=600)  # fmt: skip


def counts(eng: Engine) -> dict[str, int]:
    """Rows per removable table."""
    with eng.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in REMOVABLE}


def other_ledger(eng: Engine) -> dict[str, list[str]]:
    """Every row of the other street's grids, households, persons, staff and incidents (and posts), as JSON."""
    with eng.connect() as conn:
        rows = {t: sorted(conn.execute(text(f"SELECT to_jsonb(x)::text FROM {t} x WHERE code LIKE :p"), {"p": p})
                          .scalars()) for t, p in OTHER.items()}  # fmt: skip
        rows["grid_role"] = sorted(conn.execute(text(
            "SELECT to_jsonb(r)::text FROM grid_role r JOIN staff s ON s.id = r.staff_id WHERE s.code LIKE 'QT-%'"))
            .scalars())  # fmt: skip
    return rows


def add_other_street(eng: Engine, tmp: Path) -> None:
    """Street 610103001 (one community, one compound) with households, persons, staff and a case."""
    files = {
        "households.csv": f"code,address,kind,lon,lat\nQT-H1,东一,常住户,{X + 0.002},{Y + 0.005}\n"
                          f"QT-H2,东二,常住户,{X + 0.004},{Y + 0.005}\n",
        "persons.csv": "code,household_code,name,sex,birth_year\nQT-P1,QT-H1,张三,男,1980\nQT-P2,QT-H2,李四,女,1990\n",
        "staff.csv": "staff_code,name,phone,grid_code,role\nQT-S1,王五,13800000000,610103001001001,网格员\n",
        "incidents.csv": "code,category,reported_at,lon,lat\n"
                         f"QT-E1,市容环境,2026-10-01 10:00,{X + 0.003},{Y + 0.004}\n",
    }  # fmt: skip
    with Session(eng) as s, s.begin():
        for code, name, level, parent in (("610103001", "东关南街街道", "street", None),
                                          ("610103001001", "东关社区", "community", "610103001"),
                                          ("610103001001001", "第一网格", "compound", "610103001001")):  # fmt: skip
            create_grid(s, code=code, name=name, level=level, parent_code=parent, geometry=square(X, Y), actor=OP)
        for entity in ("households", "persons", "staff", "incidents"):
            (tmp / f"{entity}.csv").write_text(files[f"{entity}.csv"], encoding="utf-8")
            report = import_entities(s, entity, tmp / f"{entity}.csv", actor=OP)
            assert report.written and not report.errors, (entity, report.errors)
        add_user(s, OP, "sample-comm", "Gridgov2026pw", "community", "610103006001")
        add_user(s, OP, "other-comm", "Gridgov2026pw", "community", "610103001001")
        add_user(s, OP, "boss", "Gridgov2026pw", "admin")
        create_token(s, OP, "样例社区令牌", "community", "610103006002")
        create_token(s, OP, "东关令牌", "community", "610103001001")


def test_every_table_is_covered() -> None:
    """A new table must refer to what it belongs to, or be declared kept, a setting or a cache; the street removed
    is the one the generator draws."""
    from gridgov.ops import install
    from gridgov.sample.generate.constants import STREET_CODE

    assert uncovered() == []
    assert SAMPLE_STREET == install.SAMPLE_STREET == STREET_CODE


def test_remove_takes_out_the_sample_and_only_it(server_url: str, sample_dir: Path, tmp_path: Path) -> None:
    with sample_database(server_url, sample_dir, "gridgov_remove") as eng:
        sample_only = counts(eng)
        with eng.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM grid WHERE code LIKE '610103006%'")).scalar_one() > 80
        add_other_street(eng, tmp_path)
        both = counts(eng)
        other_only = {t: both[t] - sample_only[t] for t in REMOVABLE}
        ledger = other_ledger(eng)
        assert len(ledger["household"]) == 2 and len(ledger["grid"]) == 3 and len(ledger["grid_role"]) == 1
        with eng.connect() as conn:
            audit_before = conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
        with Session(eng) as s, s.begin():  # an installation of the sample's own street refuses
            s.execute(text("INSERT INTO installation (id, street_code, street_name) VALUES (1, '610103006', '文艺路')"))
            with pytest.raises(Conflict, match="不能作为样例删除"):
                remove_sample(s, OP, apply=True)
            s.rollback()

        url = eng.url.set(drivername="postgresql").render_as_string(hide_password=False)
        env = {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(tmp_path / "home")}
        with Session(eng) as s, s.begin():
            editor = create_token(s, OP, "东关编辑", "community", "610103001001")[0]
        refused = run_cli(["sample", "remove", "--yes"], env | {"GRIDGOV_TOKEN": editor})
        assert refused.returncode == 5 and "权限不足" in refused.stderr, refused.stderr
        preview = run_cli(["sample", "remove", "--json"], env)  # no --yes: lists, changes nothing
        assert preview.returncode == 0, preview.stderr
        plan = json.loads(preview.stdout)
        assert plan["applied"] is False and plan["disabled_users"] == ["sample-comm"]
        assert plan["revoked_tokens"] == ["样例社区令牌"]
        assert counts(eng) == both
        asked = run_cli(["sample", "remove"], env)  # no answer on stdin: the confirmation aborts
        assert asked.returncode != 0 and "确定删除吗" in asked.stdout and counts(eng) == both

        done = run_cli(["sample", "remove", "--yes", "--json"], env)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        expected = {t: n for t, n in sample_only.items() if n}
        assert result["counts"] == expected == plan["counts"]
        assert result["counts"]["grid"] > 80 and result["counts"]["household"] >= 20_000
        assert result["counts"]["person"] >= 52_000 and result["counts"]["patrol_point"] > 0
        assert result["total"] == sum(expected.values())
        assert result["disabled_users"] == ["sample-comm"] and result["revoked_tokens"] == ["样例社区令牌"]

        assert counts(eng) == other_only  # no table keeps a row of the sample
        assert other_ledger(eng) == ledger  # the other street is untouched
        with eng.connect() as conn:
            users = {u: (d, n) for u, d, n in conn.execute(text(
                "SELECT username, disabled_at IS NOT NULL, scope_grid_id IS NULL FROM app_user"))}  # fmt: skip
            assert users == {"sample-comm": (True, True), "other-comm": (False, False), "boss": (False, True)}
            tokens = dict(conn.execute(text("SELECT name, revoked_at IS NOT NULL FROM api_token")).all())
            assert tokens == {"样例社区令牌": True, "东关令牌": False, "东关编辑": False}
            assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() > audit_before
            assert conn.execute(text("SELECT count(*) FROM grid WHERE code LIKE '610103006%'")).scalar_one() == 0

        again = run_cli(["sample", "remove", "--yes"], env)
        assert again.returncode == 0 and "数据库中没有样例街道（610103006），无需删除" in again.stdout
        assert counts(eng) == other_only
