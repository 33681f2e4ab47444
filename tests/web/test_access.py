"""Who reaches what: every role against every page and GET endpoint, inside and outside its scope.

The factory street: communities …001 (compounds …001001, …001002) and …002 (…002001). Users (tests/web/conftest):
viewer and admin are unscoped, street covers everything, comm1 and patrol1 cover …001, comm2 covers …002, grid1
covers …001001 only. A refusal is a Chinese page in the browser (403 "没有权限", or the login page for an
anonymous visitor) and a 401/403 JSON body from the API. A new GET route fails this test until it is listed.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gridgov.auth.scope import PERMISSIONS, Actor
from gridgov.db.engine import session_scope
from gridgov.records.roles import add_role
from gridgov.records.service import create_record

from tests.factories import X0, Y0, D
from tests.web.conftest import USERS, login

IN, OUT = "610103006001001", "610103006002001"  # a compound of community …001, and one of …002
SCOPE_COVERS = {  # which of IN / OUT each user's scope holds
    "viewer": {IN, OUT}, "admin": {IN, OUT}, "street": {IN, OUT}, "comm1": {IN}, "patrol1": {IN}, "grid1": {IN},
    "comm2": {OUT},
}  # fmt: skip
PUBLIC = "public"
# A household with a resident, a building and a staff member with a post in each of IN and OUT ({household},
# {person}, {building}, {staff} in the URLs below).
HOUSEHOLD = {IN: "H-IN", OUT: "H-OUT"}
PERSON = {IN: "P-IN", OUT: "P-OUT"}
BUILDING = {IN: "B-IN", OUT: "B-OUT"}
STAFF = {IN: "S-IN", OUT: "S-OUT"}
PLACE = {IN: (X0 + D / 4, Y0 + D / 2), OUT: (X0 + 1.5 * D, Y0 + D / 2)}
# GET route → (URL with {code} where the route is scoped, what it needs, whether {code} is checked against the
# scope, whether it is a page). "public": no login at all.
ROUTES: dict[str, tuple[str, str, bool, bool]] = {
    "/": ("/", "read", False, True),
    "/grids": ("/grids", "read", False, True),
    "/grids/{code}": ("/grids/{code}", "read", True, True),
    "/grids/{code}/staff": ("/grids/{code}/staff", "read", True, True),
    "/households": ("/households?grid={code}", "personal", True, True),
    "/households/new": ("/households/new", "write", False, True),
    "/households/{code}": ("/households/{household}", "personal", True, True),
    "/persons/{code}": ("/persons/{person}", "personal", True, True),
    "/ledger": ("/ledger?parent={code}", "read", True, True),
    "/boards": ("/boards", "read", False, True),
    "/boards/preview.png": ("/boards/preview.png?code={code}", "read", True, True),
    "/boards/download": ("/boards/download?code={code}", "read", True, True),
    "/maps": ("/maps", "read", False, True),
    "/maps/open/{kind}": ("/maps/open/grid", "read", False, True),
    "/patrol": ("/patrol", "patrol", False, True),
    "/patrol/teams": ("/patrol/teams", "patrol", False, True),
    "/patrol/teams/{code}": ("/patrol/teams/TX", "patrol", False, True),
    "/patrol/areas/new": ("/patrol/areas/new", "patrol", False, True),
    "/patrol/areas/{code}": ("/patrol/areas/AX", "patrol", False, True),
    "/api/patrol/teams": ("/api/patrol/teams", "read", False, False),
    "/api/patrol/teams/{code}": ("/api/patrol/teams/TX", "read", False, False),
    "/api/patrol/teams/{code}/history": ("/api/patrol/teams/TX/history", "read", False, False),
    "/api/patrol/teams/{code}/members": ("/api/patrol/teams/TX/members", "read", False, False),
    "/api/patrol/areas": ("/api/patrol/areas", "read", False, False),
    "/api/patrol/areas/{code}": ("/api/patrol/areas/AX", "read", False, False),
    "/patrol/roster": ("/patrol/roster?month=2026-10", "read", False, True),
    "/patrol/roster/night": ("/patrol/roster/night?date=2026-10-01", "read", False, True),
    "/patrol/roster/file": ("/patrol/roster/file?month=2026-10&format=xlsx", "read", False, True),
    "/patrol/notice": ("/patrol/notice?date=2026-10-01", "read", False, True),
    "/patrol/notice/file": ("/patrol/notice/file?date=2026-10-01", "read", False, True),
    "/api/patrol/roster": ("/api/patrol/roster?month=2026-10", "read", False, False),
    "/api/patrol/roster/night": ("/api/patrol/roster/night?date=2026-10-01", "read", False, False),
    "/api/patrol/roster/file": ("/api/patrol/roster/file?month=2026-10&format=xlsx", "read", False, False),
    "/api/patrol/notice": ("/api/patrol/notice?date=2026-10-01", "read", False, False),
    "/api/patrol/notice/file": ("/api/patrol/notice/file?date=2026-10-01", "read", False, False),
    "/patrol/report": ("/patrol/report?date=2026-10-01", "read", False, True),
    "/api/patrol/attendance": ("/api/patrol/attendance?date=2026-10-01", "read", False, False),
    "/api/patrol/attendance/file": ("/api/patrol/attendance/file?month=2026-10", "read", False, False),
    "/imports": ("/imports", "patrol", False, True),
    "/imports/template/{entity}.xlsx": ("/imports/template/households.xlsx", "read", False, True),
    "/jobs": ("/jobs", "read", False, True),
    "/users": ("/users", "admin", False, True),
    "/vocab": ("/vocab", "admin", False, True),
    "/api/vocab": ("/api/vocab", "read", False, False),
    "/account/password": ("/account/password", "read", False, True),
    "/editor": ("/editor?parent=610103006001", "write", False, True),
    "/api/ledger": ("/api/ledger?parent={code}", "read", True, False),
    "/api/households": ("/api/households?grid={code}", "personal", True, False),
    "/api/households/{code}": ("/api/households/{household}", "personal", True, False),
    "/api/households/{code}/history": ("/api/households/{household}/history", "personal", True, False),
    "/api/persons": ("/api/persons?grid={code}", "personal", True, False),
    "/api/persons/{code}": ("/api/persons/{person}", "personal", True, False),
    "/api/persons/{code}/history": ("/api/persons/{person}/history", "personal", True, False),
    "/api/buildings": ("/api/buildings?grid={code}", "read", True, False),
    "/api/buildings/{code}": ("/api/buildings/{building}", "read", True, False),
    "/api/buildings/{code}/history": ("/api/buildings/{building}/history", "read", True, False),
    "/api/staff": ("/api/staff?grid={code}", "read", True, False),
    "/api/staff/{code}": ("/api/staff/{staff}", "read", True, False),  # a staff member lies where their posts are
    "/api/staff/{code}/history": ("/api/staff/{staff}/history", "read", True, False),
    # the posts a 公示 board shows; posts held by residents only inside a personal reader's scope
    "/api/grids/{code}/staff": ("/api/grids/{code}/staff", "read", False, False),
    "/api/ledger/file": ("/api/ledger/file?parent={code}", "read", True, False),
    "/maps/grid": ("/maps/grid?layers=party&parent={code}", "personal", True, True),
    # public: grid boundaries, codes, names, public staff and boards are what the 公示 board shows anyway
    "/api/ledger/grid/{code}": ("/api/ledger/grid/{code}", PUBLIC, False, False),
    "/maps/coverage": ("/maps/coverage", PUBLIC, False, True),
    "/maps/patrol": ("/maps/patrol", PUBLIC, False, True),
    "/api/grids": ("/api/grids", PUBLIC, False, False),
    "/api/grids/{code}": ("/api/grids/{code}", PUBLIC, False, False),
    "/api/grids/{code}/history": ("/api/grids/{code}/history", PUBLIC, False, False),
    "/api/grids/findings": ("/api/grids/findings", PUBLIC, False, False),
    "/api/grids/export": ("/api/grids/export", PUBLIC, False, False),
    "/api/boards/{code}": ("/api/boards/{code}", PUBLIC, False, False),
    "/api/boards": ("/api/boards?parent=610103006001", PUBLIC, False, False),
    "/api/tiles/grids/{z}/{x}/{y}.mvt": ("/api/tiles/grids/12/3287/1634.mvt", PUBLIC, False, False),
    "/api/locate": ("/api/locate?lon=108.952&lat=34.245", PUBLIC, False, False),
    "/api/meta": ("/api/meta", PUBLIC, False, False),
    "/healthz": ("/healthz", PUBLIC, False, False),
    "/docs": ("/docs", PUBLIC, False, True),
    "/openapi.json": ("/openapi.json", PUBLIC, False, False),
    "/static/app/{name}": ("/static/app/app.css", PUBLIC, False, False),
    "/static/editor/{name}": ("/static/editor/editor.js", PUBLIC, False, False),
    "/party/check": ("/party/check?parent={code}", "personal", True, True),
    "/party/check/file": ("/party/check/file?parent={code}", "personal", True, True),
    "/api/party/check": ("/api/party/check?parent={code}", "personal", True, False),
    "/api/party/check/file": ("/api/party/check/file?parent={code}", "personal", True, False),
    "/party": ("/party", "personal", False, True),
    "/party/orgs": ("/party/orgs?grid={code}", "personal", True, True),
    "/party/orgs/new": ("/party/orgs/new", "write", False, True),
    "/party/orgs/{code}": ("/party/orgs/OX", "personal", False, True),
    "/party/members": ("/party/members?grid={code}", "personal", True, True),
    "/party/members/{code}": ("/party/members/{person}", "personal", True, True),
    "/party/contacts": ("/party/contacts?grid={code}", "personal", True, True),
    "/party/units": ("/party/units", "personal", False, True),
    "/party/units/{code}": ("/party/units/UX", "personal", False, True),
    "/party/import": ("/party/import", "write", False, True),
    "/party/import/template/{kind}.xlsx": ("/party/import/template/orgs.xlsx", "write", False, True),
    "/api/party/orgs": ("/api/party/orgs?parent={code}", "read", True, False),
    "/api/party/orgs/{code}": ("/api/party/orgs/OX", "read", False, False),
    "/api/party/orgs/{code}/history": ("/api/party/orgs/OX/history", "read", False, False),
    "/api/party/orgs/{code}/members": ("/api/party/orgs/OX/members", "personal", False, False),
    "/api/party/orgs/{code}/posts": ("/api/party/orgs/OX/posts", "personal", False, False),
    "/api/party/members": ("/api/party/members?parent={code}", "personal", True, False),
    "/api/party/members/{code}": ("/api/party/members/{person}", "personal", True, False),
    "/api/party/members/{code}/history": ("/api/party/members/{person}/history", "personal", True, False),
    "/api/party/registers/unreported": ("/api/party/registers/unreported?parent={code}", "personal", True, False),
    "/api/party/registers/flowing": ("/api/party/registers/flowing?parent={code}", "personal", True, False),
    "/api/party/contacts": ("/api/party/contacts?person={person}", "personal", True, False),
    "/api/party/contacts/unlinked": ("/api/party/contacts/unlinked?parent={code}", "personal", True, False),
    "/api/party/units": ("/api/party/units?parent={code}", "read", True, False),
    "/api/party/units/{code}": ("/api/party/units/UX", "read", False, False),
    "/api/party/units/{code}/history": ("/api/party/units/UX/history", "read", False, False),
    "/party/activity": ("/party/activity?parent={code}", "personal", True, True),
    "/party/teams": ("/party/teams?parent={code}", "personal", True, True),
    "/party/teams/{code}": ("/party/teams/VX", "personal", False, True),
    "/party/meetings": ("/party/meetings?parent={code}", "personal", True, True),
    "/party/meetings/{meeting_id}/minutes": ("/party/meetings/999999/minutes", "personal", False, True),
    "/party/duty-areas": ("/party/duty-areas?parent={code}", "personal", True, True),
    "/api/party/teams": ("/api/party/teams?parent={code}", "personal", True, False),
    "/api/party/teams/{code}": ("/api/party/teams/VX", "personal", False, False),
    "/api/party/teams/{code}/history": ("/api/party/teams/VX/history", "personal", False, False),
    "/api/party/teams/{code}/members": ("/api/party/teams/VX/members", "personal", False, False),
    "/api/party/activities": ("/api/party/activities?parent={code}", "personal", True, False),
    "/api/party/activities/figures": ("/api/party/activities/figures?parent={code}", "personal", True, False),
    "/api/party/meetings": ("/api/party/meetings?parent={code}", "personal", True, False),
    "/api/party/meetings/schedule": ("/api/party/meetings/schedule?parent={code}", "personal", True, False),
    "/api/party/meetings/{meeting_id}": ("/api/party/meetings/999999", "personal", False, False),
    "/api/party/meetings/{meeting_id}/minutes": ("/api/party/meetings/999999/minutes", "personal", False, False),
    "/api/party/duty-areas": ("/api/party/duty-areas?parent={code}", "personal", True, False),
    "/api/party/duty-areas/features": ("/api/party/duty-areas/features?parent={code}", "personal", True, False),
    "/api/party/duty-areas/check": ("/api/party/duty-areas/check?parent={code}", "personal", True, False),
    "/api/party/duty-areas/{code}": ("/api/party/duty-areas/DX", "personal", False, False),
    "/api/party/duty-areas/{code}/history": ("/api/party/duty-areas/DX/history", "personal", False, False),
    "/static/vendor/{path:path}": ("/static/vendor/bootstrap/dist/css/bootstrap.min.css", PUBLIC, False, False),
    # incidents: the loop's pages and API, its settings (administrators), Open311 (public, no personal data)
    "/incidents": ("/incidents", "read", False, True),
    "/incidents/new": ("/incidents/new", "report", False, True),
    "/incidents/{code}": ("/incidents/E000", "read", False, True),
    "/incidents/photos/{photo_id}": ("/incidents/photos/0", "read", False, True),
    "/incidents/photos/{photo_id}/thumb": ("/incidents/photos/0/thumb", "read", False, True),
    "/api/incidents": ("/api/incidents?parent={code}", "read", True, False),
    "/api/incidents/{id_or_code}": ("/api/incidents/E000", "read", False, False),
    "/api/incidents/photos/{photo_id}": ("/api/incidents/photos/1", "personal", False, False),
    "/open311/v2/services.{fmt}": ("/open311/v2/services.json", PUBLIC, False, False),
    "/open311/v2/requests.{fmt}": ("/open311/v2/requests.json", PUBLIC, False, False),
    "/open311/v2/requests/{service_request_id}.{fmt}": ("/open311/v2/requests/E000.xml", PUBLIC, False, False),
    "/admin/calendar": ("/admin/calendar", "admin", False, True),
    "/admin/incident-rules": ("/admin/incident-rules", "admin", False, True),
    "/api/admin/calendar": ("/api/admin/calendar?year=2026", "read", False, False),
    "/api/admin/calendar/check": ("/api/admin/calendar/check?date_from=2026-10-01&start=2026-11-06T16:30&add=2.5",
                                  "read", False, False),
    "/api/admin/time-limits": ("/api/admin/time-limits", "read", False, False),
    "/api/admin/dispatch-rules": ("/api/admin/dispatch-rules", "read", False, False),
    "/incident-kpi": ("/incident-kpi?parent={code}", "read", True, True),
    "/incident-kpi/file": ("/incident-kpi/file?parent={code}", "read", True, True),
    "/api/incident-kpi": ("/api/incident-kpi?parent={code}", "read", True, False),
    "/api/incident-kpi/file": ("/api/incident-kpi/file?parent={code}", "read", True, False),
    "/api/incident-kpi/hotspots": ("/api/incident-kpi/hotspots?parent={code}", "read", True, False),
}
# GET routes tested elsewhere, and why.
ELSEWHERE = {
    "/login": "the login form itself (tests/web/test_login.py)",
    "/jobs/{job_id}": "a job is its owner's: another user's is a 404 like a missing one (test below)",
    "/api/jobs/{job_id}": "as /jobs/{job_id} (test below)",
    "/api/jobs/{job_id}/file": "as /jobs/{job_id} (test below)",
    "/maps/files/{path:path}": "files written by gridgov map (public maps; tests/api/test_map_pages.py)",
}
WHO = ["anonymous", *USERS]
DOCS = ("/openapi.json", "/docs")
# The factory street has no tracks, teams or areas: reached, answered with a Chinese 404 (page or JSON).
NO_DATA = {
    "/maps/patrol": "没有",
    "/patrol/teams/{code}": "巡逻队不存在", "/api/patrol/teams/{code}": "巡逻队不存在",
    "/api/patrol/teams/{code}/history": "巡逻队不存在", "/api/patrol/teams/{code}/members": "巡逻队不存在",
    "/patrol/areas/{code}": "巡逻区域不存在", "/api/patrol/areas/{code}": "巡逻区域不存在",
    "/party/orgs/{code}": "党组织不存在", "/party/units/{code}": "驻区单位不存在", "/party/members/{code}": "不是党员",
    "/api/party/orgs/{code}": "党组织不存在", "/api/party/orgs/{code}/history": "党组织不存在",
    "/api/party/orgs/{code}/members": "党组织不存在", "/api/party/orgs/{code}/posts": "党组织不存在",
    "/api/party/members/{code}": "不是党员", "/api/party/members/{code}/history": "不是党员",
    "/api/party/contacts": "不是党员", "/api/party/units/{code}": "驻区单位不存在",
    "/api/party/units/{code}/history": "驻区单位不存在",
    "/party/teams/{code}": "志愿服务队不存在", "/api/party/teams/{code}": "志愿服务队不存在",
    "/api/party/teams/{code}/history": "志愿服务队不存在", "/api/party/teams/{code}/members": "志愿服务队不存在",
    "/party/meetings/{meeting_id}/minutes": "会议记录不存在", "/api/party/meetings/{meeting_id}": "会议记录不存在",
    "/api/party/meetings/{meeting_id}/minutes": "会议记录不存在",
    "/api/party/duty-areas/{code}": "党员责任区不存在", "/api/party/duty-areas/{code}/history": "党员责任区不存在",
    "/incidents/{code}": "事件不存在", "/incidents/photos/{photo_id}": "照片不存在",
    "/incidents/photos/{photo_id}/thumb": "照片不存在",
    "/api/incidents/{id_or_code}": "事件不存在", "/api/incidents/photos/{photo_id}": "照片不存在",
    "/open311/v2/requests/{service_request_id}.{fmt}": "事件不存在",
}  # fmt: skip


def get_routes(app: Any) -> set[str]:
    """Every GET path of the app."""

    def walk(routes: list[Any]) -> Any:
        for r in routes:
            if hasattr(r, "original_router"):
                yield from walk(r.original_router.routes)
            elif (isinstance(r, APIRoute) and "GET" in r.methods) or getattr(r, "path", None) in DOCS:
                yield r.path

    return set(walk(app.router.routes))


def test_every_get_route_is_listed(web: TestClient) -> None:
    found = get_routes(web.app)
    missing = found - set(ROUTES) - set(ELSEWHERE)
    assert not missing, f"GET routes without an access case: {missing}"
    assert not (set(ROUTES) | set(ELSEWHERE)) - found, "cases for routes that no longer exist"


def expected(name: str, need: str, scoped: bool, code: str) -> str:
    """'ok', 'login' or 'forbidden' for this user on this URL."""
    if need == PUBLIC:
        return "ok"
    if name == "anonymous":
        return "login"
    role = USERS[name][0]
    if need not in PERMISSIONS[role]:
        return "forbidden"
    if scoped and code not in SCOPE_COVERS[name]:
        return "forbidden"
    return "ok"


@pytest.fixture
def records(users: dict, clean_engine: Engine) -> None:
    """The households, residents, buildings and staff of ``HOUSEHOLD``, ``PERSON``, ``BUILDING`` and ``STAFF``."""
    op = Actor.system("tests")
    with session_scope(clean_engine) as s:
        for grid, (lon, lat) in PLACE.items():
            create_record(s, "households", {"code": HOUSEHOLD[grid], "kind": "常住户", "lon": lon, "lat": lat}, op)
            create_record(s, "persons", {"code": PERSON[grid], "household_code": HOUSEHOLD[grid], "name": "居民"}, op)
            create_record(s, "buildings", {"code": BUILDING[grid], "name": "楼", "lon": lon, "lat": lat}, op)
            create_record(s, "staff", {"code": STAFF[grid], "name": "网格员", "phone": "13800000001"}, op)
            add_role(s, op, grid_code=grid, role="网格员", staff_code=STAFF[grid])


@pytest.mark.parametrize("name", WHO)
def test_each_role_reaches_exactly_what_it_may(web: TestClient, records: None, name: str) -> None:
    if name != "anonymous":
        login(web, name)
    wrong = []
    for path, (url, need, scoped, page) in ROUTES.items():
        for code in (IN, OUT) if scoped or "{code}" in url else (IN,):
            target = url.format(code=code, household=HOUSEHOLD[code], person=PERSON[code], building=BUILDING[code],
                                staff=STAFF[code])  # fmt: skip
            want = expected(name, need, scoped, code)
            headers = {"Accept": "text/html"} if page else {"Accept": "application/json"}
            r = web.get(target, headers=headers)
            location = r.headers.get("location", "")
            if want == "ok":
                good = r.status_code == 200 or (r.status_code == 303 and not location.startswith("/login")) or (
                    path in NO_DATA and r.status_code == 404 and NO_DATA[path] in r.text)  # fmt: skip
            elif want == "login":
                good = (r.status_code == 303 and location.startswith("/login?next=")) if page else (
                    r.status_code == 401 and "登录" in r.json()["detail"])  # fmt: skip
            else:
                good = r.status_code == 403 and (("没有权限" in r.text and "<html" in r.text) if page else
                                                 r.json()["error"] == "Forbidden")  # fmt: skip
            if not good:
                wrong.append((path, target, want, r.status_code, r.text[:120]))
    assert not wrong, wrong


def test_jobs_belong_to_their_owner(web: TestClient, users: dict) -> None:
    login(web, "comm1")
    page = web.get("/ledger")
    token = web.cookies.get("csrftoken")
    started = web.post("/ledger/file", data={"csrftoken": token, "parent": "610103006001"})
    assert started.status_code == 303 and page.status_code == 200
    job = started.headers["location"]
    assert web.get(job).status_code == 200
    job_id = job.rsplit("/", 1)[1]
    for other in ("comm2", "viewer"):
        client = TestClient(web.app, headers={"Accept": "text/html"}, follow_redirects=False)
        login(client, other)
        assert client.get(job).status_code == 404
        r = client.get(f"/api/jobs/{job_id}", headers={"Accept": "application/json"})
        assert r.status_code == 404 and r.json()["detail"].startswith("任务不存在")
        assert client.get(f"/api/jobs/{job_id}/file", headers={"Accept": "application/json"}).status_code == 404
    admin = TestClient(web.app, headers={"Accept": "text/html"}, follow_redirects=False)
    login(admin, "admin")
    assert admin.get(job).status_code == 200


def test_every_form_needs_the_csrf_token(web: TestClient, users: dict) -> None:
    """Every POST of the workspace (not the API) refuses a logged-in browser that does not send the token."""
    posts = set()

    def walk(routes: list[Any]) -> None:
        for r in routes:
            if hasattr(r, "original_router"):
                walk(r.original_router.routes)
            elif isinstance(r, APIRoute) and "POST" in r.methods and not r.path.startswith("/api/"):
                posts.add(r.path)

    walk(web.app.router.routes)
    assert {"/login", "/logout", "/ledger/file", "/boards/batch", "/imports/check", "/users", "/households/new",
            "/households/{code}/edit", "/persons/{code}/retire", "/grids/{code}/staff/handover"} <= posts
    login(web, "admin")
    for path in sorted(posts):
        url = path.replace("{username}", "comm1").replace("{code}", IN).replace("{role_id}", "1")
        plain = web.post(url, data={"parent": "610103006001", "username": "x"})
        multipart = web.post(url, data={"entity": "households"}, files={"file": ("h.csv", b"code\n")})
        assert plain.status_code == 403 and "CSRF" in plain.text, (path, plain.status_code)
        assert multipart.status_code == 403 and "CSRF" in multipart.text, (path, multipart.status_code)
