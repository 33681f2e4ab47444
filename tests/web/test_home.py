"""首页: each role sees its own grids' figures and what needs attention there, nothing outside its scope."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.factories import X0, Y0, D
from tests.web.conftest import login


def _data(engine: Engine) -> None:
    """Three households in …001001, one in …002001; a 网格长 on …001001, two of each on …002001; a finding."""
    pts = [(X0 + D / 4, Y0 + D / 2)] * 3 + [(X0 + D * 1.5, Y0 + D / 2)]
    with engine.begin() as conn:
        for i, (x, y) in enumerate(pts):
            conn.execute(text("INSERT INTO household (code, kind, geom) VALUES (:c, '常住户', "
                              "ST_SetSRID(ST_MakePoint(:x, :y), 4326))"), {"c": f"h{i}", "x": x, "y": y})  # fmt: skip
        conn.execute(text("INSERT INTO staff (code, name) VALUES ('s1', '王网格'), ('s2', '李网格')"))
        conn.execute(text("INSERT INTO grid_role (grid_id, staff_id, role) SELECT g.id, s.id, '网格长' FROM grid g, "
                          "staff s WHERE g.code = '610103006001001' AND g.valid_to IS NULL AND s.code = 's1'"))
        conn.execute(text("INSERT INTO grid_role (grid_id, staff_id, role) SELECT g.id, s.id, r FROM grid g, staff s, "
                          "unnest(ARRAY['网格长', '网格员']) r "
                          "WHERE g.code = '610103006002001' AND g.valid_to IS NULL"))  # fmt: skip
        conn.execute(text("INSERT INTO grid_finding (rule, codes, message, source) "
                          "VALUES ('gap', ARRAY['610103006002001'], '二社区有空隙 3.2 平方米', 'test')"))  # fmt: skip


def _figure(html: str, root: str, label: str) -> str:
    section = html[html.index(f'data-testid="root-{root}"'):]
    m = re.search(rf'data-figure="{label}">([^<]*)<', section)
    assert m, label
    return m.group(1)


def test_community_staff_see_their_community_only(web: TestClient, users: dict, clean_engine: Engine) -> None:
    _data(clean_engine)
    page = login(web, "comm1").get("/")
    assert page.status_code == 200
    assert 'data-testid="root-610103006001"' in page.text and "root-610103006\"" not in page.text
    assert _figure(page.text, "610103006001", "户数") == "3"
    assert "文艺北路二社区" not in page.text and "二社区有空隙" not in page.text  # outside the scope
    assert "第一网格" in page.text and "王网格" in page.text  # public staff role on the board anyway
    staffing = page.text[page.text.index('data-testid="staffing"'):]
    staffing = staffing[:staffing.index("</ul>")]
    assert '610103006001002：没有网格长、没有网格员' in staffing  # nobody on it
    assert '610103006001001：没有网格员' in staffing  # a 网格长 but no 网格员
    assert ">首页<" in page.text and ">用户<" not in page.text  # the navigation follows the role


def test_unscoped_viewer_sees_the_street_and_its_findings(web: TestClient, users: dict, clean_engine: Engine) -> None:
    _data(clean_engine)
    page = login(web, "viewer").get("/")
    assert _figure(page.text, "610103006", "户数") == "4"
    assert "文艺北路一社区" in page.text and "文艺北路二社区" in page.text
    assert "二社区有空隙 3.2 平方米" in page.text and "网格间空隙" in page.text
    assert "610103006002001：有多名网格长" in page.text  # two 网格长 (and two 网格员) on it
    assert ">数据导入<" not in page.text and ">用户<" not in page.text


def test_admin_navigation_and_anonymous_redirect(web: TestClient, users: dict) -> None:
    anonymous = web.get("/")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=%2F")
    page = login(web, "admin").get("/")
    assert all(f">{label}<" in page.text for label in ("首页", "网格", "台帐", "公示牌", "地图", "数据导入", "用户"))
