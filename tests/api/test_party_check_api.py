"""``GET /api/party/check`` and ``/api/party/check/file`` on the hand-made community of
tests/party/test_check_export.py: each rule's result with the numbers and the settings' threshold, the findings as
the service finds them, an earlier day, the Excel workbook read back; Party data: viewers and anonymous callers are
refused, a scoped token only checks inside its scope, and each answer is logged."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from urllib.parse import quote

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.config import Settings
from gridgov.party.check import RULES, check
from gridgov.party.check_export import finding_dict
from gridgov.party.rules import PartyRules

from tests.party.test_check_export import DAY, OTHER, OWN, A, B, make_check_data

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def bearer(clean_engine: Engine) -> dict[str, dict[str, str]]:
    """The hand-made community; tokens of community …001, of …002 and of a viewer."""
    with Session(clean_engine) as s, s.begin():
        make_check_data(s)
        made = {name: create_token(s, Actor.system(), name, role, scope)[0] for name, role, scope in (
            ("一社区", "community", OWN), ("二社区", "community", OTHER), ("只读", "viewer", None))}  # fmt: skip
    return {k: {"Authorization": f"Bearer {v}"} for k, v in made.items()}


@pytest.fixture
def strict(clean_engine: Engine, settings_for: Settings) -> Iterator[TestClient]:
    """The app with a branch minimum of 5 members."""
    app = create_app(settings_for.model_copy(update={"party_branch_min": 5}), clean_engine)
    with TestClient(app) as c:
        yield c


def test_the_check_as_json(client: TestClient, strict: TestClient, bearer: dict[str, dict[str, str]],
                           clean_engine: Engine) -> None:  # fmt: skip
    r = client.get("/api/party/check", headers=bearer["一社区"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["as_of"], body["parent"]) == (DAY.isoformat(), OWN)
    with Session(clean_engine) as s:
        expected = check(s, Actor.system("tests"), PartyRules(), parent=OWN, day=DAY)
    assert body["findings"] == [finding_dict(f) for f in expected.findings]
    rules = {x["rule"]: x for x in body["rules"]}
    assert list(rules) == list(RULES)
    assert rules["branch_min"] == {"rule": "branch_min", "rule_zh": "党支部党员不少于规定人数", "status": "未通过",
                                   "passed": False, "checked": 2, "failed": 1, "findings": 1,
                                   "threshold": "党支部 ≥ 3 名党员"}  # fmt: skip
    assert (rules["grid_branch"]["status"], rules["grid_branch"]["checked"]) == ("通过", 2)
    assert rules["unlinked_households"]["status"] == "参考"
    gaps = [f for f in body["findings"] if f["rule"] == "duty_area"]
    assert [(f["grid_code"], f["value"]) for f in gaps] == [(A, "50%"), (B, "0%")]
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in gaps)

    stricter = strict.get("/api/party/check", params={"parent": OWN}, headers=bearer["一社区"]).json()
    assert [(f["org"], f["value"], f["threshold"]) for f in stricter["findings"] if f["rule"] == "branch_min"] == \
        [("BA", 4, 5), ("BB", 2, 5)]
    assert next(x for x in stricter["rules"] if x["rule"] == "branch_min")["threshold"] == "党支部 ≥ 5 名党员"

    before = client.get("/api/party/check", params={"as_of": (DAY - dt.timedelta(days=1)).isoformat()},
                        headers=bearer["一社区"]).json()  # fmt: skip
    assert before["as_of"] == (DAY - dt.timedelta(days=1)).isoformat()  # the grids were drawn today: nothing then
    assert before["findings"] == [] and {x["checked"] for x in before["rules"]} == {0}
    bad = client.get("/api/party/check", params={"as_of": "2026-13-01"}, headers=bearer["一社区"])
    assert bad.status_code == 422 and bad.json()["error"] == "InvalidInput"


def test_the_workbook(client: TestClient, bearer: dict[str, dict[str, str]]) -> None:
    r = client.get("/api/party/check/file", params={"parent": A}, headers=bearer["一社区"])
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    assert f"filename*=UTF-8''{quote(f'党建合规检查_{A}_{DAY:%Y%m%d}.xlsx')}" in r.headers["content-disposition"]
    findings = client.get("/api/party/check", params={"parent": A}, headers=bearer["一社区"]).json()["findings"]
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["汇总", "问题清单", "说明"]
    listed = list(wb["问题清单"].iter_rows(min_row=3, values_only=True))
    assert [(row[0], row[2], row[3], row[6]) for row in listed] == \
        [(f["rule_zh"], f["grid_code"], f["org"], f["detail"] + ("（未覆盖部分见合规检查页面的地图）"
                                                               if "geometry" in f else "")) for f in findings]


def test_party_data_needs_personal_rights_in_scope(client: TestClient, bearer: dict[str, dict[str, str]],
                                                   clean_engine: Engine) -> None:  # fmt: skip
    for url in ("/api/party/check", "/api/party/check/file"):
        assert client.get(url).status_code == 401
        viewer = client.get(url, headers=bearer["只读"])
        assert viewer.status_code == 403 and "查看个人信息" in viewer.json()["detail"]
        far = client.get(url, params={"parent": OWN}, headers=bearer["二社区"])
        assert far.status_code == 403 and "超出权限范围" in far.json()["detail"]
    assert client.get("/api/party/check", params={"parent": "999"}, headers=bearer["一社区"]).status_code == 404
    own = client.get("/api/party/check", headers=bearer["二社区"]).json()
    assert own["parent"] == OTHER and {f["grid_code"] for f in own["findings"]} == {"610103006002001"}
    with clean_engine.connect() as conn:
        views = conn.execute(text("SELECT actor, new->>'where', new->>'page' FROM audit_log WHERE action = 'view' "
                                  "AND table_name = 'party_check' ORDER BY id")).all()  # fmt: skip
    assert [tuple(v) for v in views] == [("token:二社区", OTHER, "/api/party/check")]
