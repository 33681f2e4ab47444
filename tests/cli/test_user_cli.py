"""``gridgov user``: the first administrator comes from the shell; passwords are read from standard input."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.passwords import verify_password

from tests.db.test_embedded import GRIDGOV
from tests.factories import make_street


def gridgov(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The real command, with standard input."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("GRIDGOV_")} | env
    return subprocess.run([*GRIDGOV, *args], input=stdin, capture_output=True, text=True, env=full, timeout=180)


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {"GRIDGOV_DATABASE_URL": db_url, "GRIDGOV_HOME": str(tmp_path / "home")}


def test_user_commands_from_first_admin_to_disable(clean_engine: Engine, env: dict[str, str]) -> None:
    with Session(clean_engine) as s, s.begin():
        make_street(s)
    first = gridgov(["user", "add", "admin", "--role", "admin", "--name", "管理员", "--password-stdin"], env,
                    "Gridgov2026pass\n")  # fmt: skip
    assert first.returncode == 0 and "已添加用户 admin（系统管理员）" in first.stdout, first.stderr
    staff = gridgov(["user", "add", "zhang", "--role", "社区工作人员", "--scope", "610103006001", "--password-stdin"],
                    env, "Wenyi2026pass\n")  # fmt: skip
    assert staff.returncode == 0 and "社区工作人员" in staff.stdout, staff.stderr
    no_scope = gridgov(["user", "add", "li", "--role", "grid", "--password-stdin"], env, "Li2026passwd\n")
    assert no_scope.returncode == 1 and "必须指定范围" in no_scope.stderr and "Traceback" not in no_scope.stderr
    weak = gridgov(["user", "add", "li", "--role", "viewer", "--password-stdin"], env, "short\n")
    assert weak.returncode == 1 and "密码长度" in weak.stderr
    listed = gridgov(["user", "list"], env)
    assert "admin\t管理员\t系统管理员\t全部" in listed.stdout and "zhang\t\t社区工作人员\t610103006001" in listed.stdout
    assert "Gridgov2026pass" not in listed.stdout
    assert gridgov(["user", "set-role", "zhang", "--role", "street", "--scope", "610103006"], env).returncode == 0
    assert gridgov(["user", "set-password", "zhang", "--password-stdin"], env, "Newpass2027\n").returncode == 0
    assert gridgov(["user", "disable", "zhang"], env).returncode == 0
    with clean_engine.connect() as conn:
        row = conn.execute(text("SELECT role, password_hash, disabled_at IS NOT NULL FROM app_user "
                                "WHERE username = 'zhang'")).one()  # fmt: skip
        assert row[0] == "street" and verify_password(row[1], "Newpass2027") and row[2]
        actions = conn.execute(text("SELECT action FROM audit_log WHERE table_name = 'app_user' ORDER BY id")).scalars()
        assert list(actions) == ["user_add", "user_add", "user_role", "user_password", "user_disable"]
    last = gridgov(["user", "disable", "admin"], env)
    assert last.returncode != 0 and "最后一个" in last.stderr


def test_help_is_chinese() -> None:
    r = gridgov(["user", "add", "--help"], {})
    assert r.returncode == 0 and "用法：" in r.stdout and "显示此帮助并退出" in r.stdout and "选项" in r.stdout
    assert "Show this message" not in r.stdout and "Options" not in r.stdout and "install-completion" not in r.stdout


def test_a_user_is_linked_to_their_staff_record(clean_engine: Engine, env: dict[str, str]) -> None:
    with Session(clean_engine) as s, s.begin():
        make_street(s)
        s.execute(text("INSERT INTO staff (code, name) VALUES ('S1', '王网格'), ('S2', '李警员')"))
    added = gridgov(["user", "add", "wang", "--role", "grid", "--scope", "610103006001001", "--staff", "S1",
                     "--password-stdin"], env, "Gridwork2026\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "已添加用户 wang（网格员，范围 610103006001001，工作人员 S1）" in added.stdout
    taken = gridgov(["user", "add", "li", "--role", "viewer", "--staff", "S1", "--password-stdin"], env,
                    "Gridwork2026\n")  # fmt: skip
    assert taken.returncode == 6 and "工作人员 S1 已关联用户 wang" in taken.stderr
    missing = gridgov(["user", "edit", "wang", "--staff", "S404"], env)
    assert missing.returncode == 4 and "工作人员不存在或已离职：S404" in missing.stderr
    assert gridgov(["user", "edit", "wang", "--staff", "S2"], env).returncode == 0
    listed = gridgov(["user", "list", "--json"], env)
    assert [u["staff"] for u in json.loads(listed.stdout) if u["username"] == "wang"] == ["S2"]
    assert "\t李警员（S2）" in gridgov(["user", "list"], env).stdout
    neither = gridgov(["user", "edit", "wang"], env)
    assert neither.returncode == 2 and "--staff" in neither.stderr
    assert gridgov(["user", "edit", "wang", "--no-staff"], env).returncode == 0
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT staff_id FROM app_user WHERE username = 'wang'")).scalar() is None
        audit = conn.execute(text("SELECT action, new->>'staff' FROM audit_log WHERE table_name = 'app_user' "
                                  "ORDER BY id")).all()  # fmt: skip
    assert [tuple(a) for a in audit] == [("user_add", "S1"), ("user_staff", "S2"), ("user_staff", None)]
