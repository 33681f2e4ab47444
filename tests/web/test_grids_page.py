"""The 网格 pages: the tree inside the user's scope, the search, and one grid's page (ledger figures, staff, history,
the way to the editor), on the factory street and on the sample street."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.users import add_user
from gridgov.config import Settings
from gridgov.db.engine import session_scope
from gridgov.grids.service import get_grid, update_grid
from gridgov.grids.staffing import staffing_findings
from gridgov.ledger.report import build_ledger
from gridgov.vocab import PARTY_STAFF_ROLES, PUBLIC_STAFF_ROLES

from tests.web.conftest import PASSWORD, login

LoginAs = Callable[[str], TestClient]  # a user name → a new client logged in as that user
STREET, COMM1, COMM2 = "610103006", "610103006001", "610103006002"
WEST, EAST, OTHER = "610103006001001", "610103006001002", "610103006002001"


def tree_codes(html: str) -> list[str]:
    """The grid codes of the tree, in page order."""
    tree = html.split('data-testid="tree"', 1)[1]
    return re.findall(r'<li data-code="(\d+)"', tree)


def hit_codes(html: str) -> list[str]:
    """The grid codes of the search results, in page order."""
    part = html.split('data-testid="search-results"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<tr data-code="(\d+)"', part)


def cell(html: str, testid: str) -> str:
    """The text of the element with that data-testid."""
    m = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</', html, re.S)
    assert m, f"no {testid} on the page"
    return m.group(1).strip()


def history_row(html: str, version: int) -> str:
    """The history table's row of one version, tags removed."""
    m = re.search(rf'<tr data-version="{version}">(.*?)</tr>', html, re.S)
    assert m, f"version {version} not in the history"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(1))).strip()


# ------------------------------------------------------------------------------------- factory street


@pytest.fixture
def as_user(web: TestClient, users: dict) -> LoginAs:
    """A function: a new client of the app, logged in as that user (one client per user, as browsers are)."""
    return lambda name: login(TestClient(web.app, headers=dict(web.headers), follow_redirects=False), name)


def test_the_tree_shows_only_the_users_scope(as_user: LoginAs) -> None:
    page = as_user("comm1").get("/grids")
    assert page.status_code == 200, page.text[:300]
    assert tree_codes(page.text) == [COMM1, WEST, EAST]
    assert "文艺北路一社区" in page.text and "2 个楼院" in page.text and "文艺北路二社区" not in page.text
    assert 'href="/grids/610103006001001"' in page.text and 'aria-current="page">网格<' in page.text

    page = as_user("street").get("/grids")
    assert tree_codes(page.text) == [STREET, COMM1, WEST, EAST, COMM2, OTHER]
    assert "2 个社区" in page.text and "1 个楼院" in page.text
    assert tree_codes(as_user("grid1").get("/grids").text) == [WEST]
    assert tree_codes(as_user("viewer").get("/grids").text) == [STREET, COMM1, WEST, EAST, COMM2, OTHER]


def test_search_by_name_or_code_inside_the_scope(as_user: LoginAs, clean_engine: Engine) -> None:
    comm1 = as_user("comm1")
    page = comm1.get("/grids", params={"q": "第一网格"})
    assert hit_codes(page.text) == [WEST]  # the other community's 第一网格 is outside comm1's scope
    assert "查找结果：1 个" in page.text and ">楼院</td>" in page.text
    assert 'value="第一网格"' in page.text
    assert hit_codes(comm1.get("/grids", params={"q": "006002"}).text) == []
    assert "没有名称或编码包含“006002”的网格" in comm1.get("/grids", params={"q": "006002"}).text

    street = as_user("street")
    assert hit_codes(street.get("/grids", params={"q": "第一网格"}).text) == [WEST, OTHER]
    assert hit_codes(street.get("/grids", params={"q": "006002"}).text) == [COMM2, OTHER]  # codes, levels first
    with session_scope(clean_engine) as s:
        update_grid(s, EAST, expected_version=1, actor=Actor.system("tests"), name="文艺北路ABC院")
    assert hit_codes(street.get("/grids", params={"q": " abc院 "}).text) == [EAST]  # case-insensitive, trimmed
    assert tree_codes(street.get("/grids", params={"q": "abc"}).text)[:2] == [STREET, COMM1]  # the tree stays


def test_pages_need_login_and_scope(web: TestClient, users: dict, as_user: LoginAs) -> None:
    r = web.get("/grids")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Fgrids")
    r = web.get(f"/grids/{WEST}")
    assert r.status_code == 303 and r.headers["location"].startswith(f"/login?next=%2Fgrids%2F{WEST}")

    comm2 = as_user("comm2")
    r = comm2.get(f"/grids/{WEST}")
    assert r.status_code == 403
    assert "没有权限" in r.text and f"超出权限范围：网格 {WEST} 不在您的范围（{COMM2}）内" in r.text
    assert comm2.get(f"/grids/{OTHER}").status_code == 200
    r = comm2.get("/grids/610103006009")
    assert r.status_code == 404 and "网格不存在：610103006009" in r.text


def test_grid_page_parts_and_the_way_to_the_editor(as_user: LoginAs) -> None:
    comm1 = as_user("comm1")
    page = comm1.get(f"/grids/{WEST}")
    assert page.status_code == 200, page.text[:300]
    html = page.text
    assert cell(html, "grid-name") == "第一网格"
    assert "文艺北路一社区" in cell(html, "parent") and f'href="/grids/{COMM1}"' in html
    assert 'href="/grids/610103006"' not in html  # the street is above comm1's scope: named, not linked
    assert cell(html, "households") == "0" and cell(html, "patrol_coverage") == "0%"
    assert f'src="/maps/grid?parent={WEST}"' in html and "<iframe" in html
    assert "尚未登记工作人员" in html
    assert re.search(r'href="/editor\?parent=610103006001"[^>]*>编辑边界<', html)  # siblings in the editor

    community = comm1.get(f"/grids/{COMM1}").text
    assert re.search(r'href="/editor\?parent=610103006001"[^>]*>编辑边界<', community)  # its compounds
    assert "下级网格（2 个楼院）" in community and f'href="/grids/{EAST}"' in community

    for name in ("viewer", "grid1", "patrol1"):  # no write permission, or the community is beyond the scope
        html = as_user(name).get(f"/grids/{WEST}").text
        assert "编辑边界" not in html and "/editor" not in html, name
    assert "编辑边界" in as_user("street").get(f"/grids/{WEST}").text


def test_history_lists_a_rename_with_its_date_and_who(
    as_user: LoginAs, clean_engine: Engine, settings_for: Settings
) -> None:
    with session_scope(clean_engine) as s:
        me = Actor(name="user:comm1", role="community", scope_grid_id=get_grid(s, COMM1).id, scope_code=COMM1)
        update_grid(s, WEST, expected_version=1, actor=me, name="文艺北路45号院")
    with clean_engine.connect() as conn:
        renamed = conn.execute(
            text("SELECT valid_from FROM grid WHERE code = :c AND valid_to IS NULL AND lineage_id IS NULL"), {"c": WEST}
        ).scalar_one()
    when = renamed.astimezone(ZoneInfo(settings_for.timezone)).strftime("%Y-%m-%d %H:%M")

    html = as_user("comm1").get(f"/grids/{WEST}").text
    assert cell(html, "grid-name") == "文艺北路45号院"
    new, old = history_row(html, 2), history_row(html, 1)
    assert new == f"第 2 版 文艺北路45号院 {when} 至今 名称：第一网格 → 文艺北路45号院 测试comm1", new
    assert old.startswith("第 1 版 第一网格 ") and f" {when} 创建 " in old, old  # closed when the rename began
    assert html.index('data-version="2"') < html.index('data-version="1"')  # newest first


def test_a_compounds_staffing_problems_show_on_its_page_and_its_parents(
    as_user: LoginAs, clean_engine: Engine, tmp_path: Path
) -> None:
    from tests.grids.test_staffing_checks import staff_the_street

    staff_the_street(clean_engine, tmp_path)  # WEST staffed, EAST nobody, OTHER two 网格长
    comm1 = as_user("comm1")
    east = comm1.get(f"/grids/{EAST}").text
    assert cell(east, "staffing-warning") == "人员配备不全：没有网格长、没有网格员。"
    assert "尚未登记工作人员" in east
    west = comm1.get(f"/grids/{WEST}").text
    assert 'data-testid="staffing-warning"' not in west and "王长" in west and "李员" in west
    children = comm1.get(f"/grids/{COMM1}").text.split('data-testid="children"', 1)[1].split("</ul>", 1)[0]
    assert re.findall(r'data-staffing="(\d+)">([^<]*)<', children) == [(EAST, "人员配备：没有网格长、没有网格员")]
    other = as_user("comm2").get(f"/grids/{OTHER}").text
    assert cell(other, "staffing-warning") == "人员配备不全：有多名网格长。"


# -------------------------------------------------------------------------------------- sample street

SAMPLE_USERS = {
    "gp_street": ("street", "610103006"),
    "gp_viewer": ("viewer", None),
}


@pytest.fixture(scope="module")
def sample_web(sample_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoginAs]:
    """A function: a client of the app on the sample street logged in as a street user or a viewer (both removed
    afterwards)."""
    with Session(sample_engine) as s, s.begin():
        for name, (role, scope) in SAMPLE_USERS.items():
            add_user(s, Actor.system("tests"), name, PASSWORD, role, scope, f"测试{name}")
    home: Path = tmp_path_factory.mktemp("grids-page")
    url = sample_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, home=home / "home", maps_dir=home / "maps"), sample_engine)
    try:
        with TestClient(app):
            yield lambda name: login(TestClient(app, headers={"Accept": "text/html"}, follow_redirects=False), name)
    finally:
        names = list(SAMPLE_USERS)
        with sample_engine.begin() as conn:
            sessions = "DELETE FROM user_session WHERE user_id IN (SELECT id FROM app_user WHERE username = ANY(:n))"
            conn.execute(text(sessions), {"n": names})
            conn.execute(text("DELETE FROM app_user WHERE username = ANY(:n)"), {"n": names})
            audit = (
                "DELETE FROM audit_log WHERE actor = ANY(:a)"
                " OR (table_name = 'app_user' AND new->>'username' = ANY(:n))"
            )
            conn.execute(text(audit), {"a": [f"user:{n}" for n in names], "n": names})


@pytest.fixture(scope="module")
def compound(sample_engine: Engine) -> str:
    """A sample compound with households and private staff (楼栋长 or Party posts held by residents)."""
    with sample_engine.connect() as conn:
        return str(conn.execute(text(
            """SELECT g.code FROM grid g
                WHERE g.level = 'compound' AND g.valid_to IS NULL AND g.lineage_id IS NULL
                  AND EXISTS (SELECT 1 FROM grid_role r WHERE r.grid_id = g.id AND r.role = ANY(:private))
                  AND EXISTS (SELECT 1 FROM household h WHERE h.grid_id = g.id)
                ORDER BY g.code LIMIT 1"""), {"private": list(PARTY_STAFF_ROLES)}).scalar_one())  # fmt: skip


def staff_names(engine: Engine, code: str, roles: tuple[str, ...]) -> set[str]:
    """Names holding one of ``roles`` on live grid ``code``."""
    with engine.connect() as conn:
        return set(conn.execute(text(
            """SELECT s.name FROM grid_role r JOIN staff s ON s.id = r.staff_id JOIN grid g ON g.id = r.grid_id
                WHERE g.code = :c AND g.valid_to IS NULL AND g.lineage_id IS NULL AND r.role = ANY(:roles)"""),
            {"c": code, "roles": list(roles)}).scalars())  # fmt: skip


def views_of(engine: Engine, username: str, code: str) -> int:
    """Audit rows of personal-data views by that user on that grid."""
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM audit_log WHERE action = 'view' AND table_name = 'grid_role' AND actor = :a "
            "AND new->>'where' = :c"),
            {"a": f"user:{username}", "c": code}).scalar_one())  # fmt: skip


def test_grid_page_shows_the_ledger_figures(sample_web: LoginAs, sample_engine: Engine, compound: str) -> None:
    with Session(sample_engine) as s, s.begin():
        row = next(r for r in build_ledger(s, level="compound", parent=compound, with_patrol=False).rows
                   if r.code == compound)  # fmt: skip
        warned = [f"人员配备不全：{f.text}。" for f in staffing_findings(s, codes=[compound])]
    assert row.households > 0
    html = sample_web("gp_street").get(f"/grids/{compound}").text
    assert re.findall(r'data-testid="staffing-warning">([^<]*)<', html) == warned  # the sample's staff are complete
    assert cell(html, "households") == f"{row.households:,}"
    assert cell(html, "persons") == f"{row.persons:,}"
    assert cell(html, "party_members") == f"{row.party_members:,}"
    assert cell(html, "buildings") == f"{row.buildings:,}"
    assert cell(html, "incidents_open") == f"{row.incidents_open:,}"


def test_private_staff_only_for_personal_readers_and_their_view_is_logged(
    sample_web: LoginAs, sample_engine: Engine, compound: str
) -> None:
    public = staff_names(sample_engine, compound, PUBLIC_STAFF_ROLES)
    private = staff_names(sample_engine, compound, PARTY_STAFF_ROLES) - public  # residents without a public post
    assert public and private

    html = sample_web("gp_viewer").get(f"/grids/{compound}").text
    staff = html.split('data-testid="staff"', 1)[1].split("</table>", 1)[0]
    assert all(name in staff for name in public)
    assert not [name for name in private if name in html]
    assert not any(role in staff for role in PARTY_STAFF_ROLES)
    assert "编辑边界" not in html
    assert views_of(sample_engine, "gp_viewer", compound) == 0

    before = views_of(sample_engine, "gp_street", compound)
    html = sample_web("gp_street").get(f"/grids/{compound}").text
    staff = html.split('data-testid="staff"', 1)[1].split("</table>", 1)[0]
    assert all(name in staff for name in public | private)
    assert "属个人信息" in html and "编辑边界" in html
    assert views_of(sample_engine, "gp_street", compound) == before + 1  # one page view, one audit row


def test_sample_history_names_the_loader_in_chinese(sample_web: LoginAs, compound: str) -> None:
    html = sample_web("gp_viewer").get(f"/grids/{compound}").text
    first = history_row(html, 1)
    assert first.endswith("创建 样例数据"), first
    assert "sample" not in html
