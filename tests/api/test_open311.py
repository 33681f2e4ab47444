"""Open311 GeoReport v2 (/open311/v2) as a city hotline's client uses it: the services, a request submitted with an
API token and read back by id and in the list (JSON and XML), the public read carrying no personal data and a
rounded place, and errors in Open311's shape."""

from __future__ import annotations

import datetime as dt
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.api.factory import create_app
from gridgov.api.open311 import M_PER_DEGREE, round_place
from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.config import Settings
from gridgov.db.engine import session_scope
from gridgov.incidents import cases
from gridgov.vocab import INCIDENT_CATEGORIES, INCIDENT_SUBCATEGORIES
from gridgov.workdays import load_calendar

from tests.factories import X0, Y0, make_street

LON, LAT = X0 + 0.0023, Y0 + 0.0047  # in compound 610103006001001
FORM = {"service_code": "市容环境/暴露垃圾", "lat": str(LAT), "long": str(LON), "description": "小区门口垃圾成堆",
        "address_string": "文艺北路 1 号", "first_name": "小明", "last_name": "李", "phone": "13912345678"}  # fmt: skip
PRIVATE = ("小区门口垃圾成堆", "13912345678", "李小明", "文艺北路")


@pytest.fixture
def hotline(clean_engine: Engine, settings_for: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A cookie-less client (another system) and API tokens: the street's hotline, a viewer and community …002."""
    with session_scope(clean_engine) as s:
        make_street(s)
        keys = {name: create_token(s, Actor.system(), name, role, scope)[0]
                for name, role, scope in (("热线", "street", "610103006"), ("只读", "viewer", None),
                                          ("二社区", "community", "610103006002"))}  # fmt: skip
    with TestClient(create_app(settings_for, clean_engine)) as c:
        yield c, keys


def rows(engine: Engine) -> int:
    """Cases stored."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM incident")).scalar_one())


def test_services_list_every_category_in_json_and_xml(hotline: tuple[TestClient, dict[str, str]]) -> None:
    c, _ = hotline
    r = c.get("/open311/v2/services.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    services = r.json()
    assert len(services) == len(INCIDENT_SUBCATEGORIES.terms) + len(INCIDENT_CATEGORIES.terms)
    by_code = {s["service_code"]: s for s in services}
    assert by_code["市容环境/暴露垃圾"] == {"service_code": "市容环境/暴露垃圾", "service_name": "暴露垃圾",
                                          "description": "市容环境：暴露垃圾", "metadata": False, "type": "realtime",
                                          "keywords": "", "group": "市容环境"}  # fmt: skip
    assert by_code["治安隐患"]["group"] == "治安隐患" and "治安" in by_code["治安隐患"]["keywords"].split(",")
    x = c.get("/open311/v2/services.xml")
    assert x.status_code == 200 and x.headers["content-type"].startswith("text/xml")
    assert x.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.fromstring(x.content)
    assert root.tag == "services" and len(root) == len(services)
    first = root.find("service")
    assert first is not None and {e.tag: e.text for e in first} == {
        k: ("false" if v is False else v or None) for k, v in services[0].items()}  # fmt: skip


def test_a_request_is_submitted_and_read_back(hotline: tuple[TestClient, dict[str, str]], clean_engine: Engine,
                                              settings_for: Settings) -> None:  # fmt: skip
    c, keys = hotline
    r = c.post("/open311/v2/requests.json", data=FORM | {"api_key": keys["热线"], "media_url": "http://x/y.jpg"})
    assert r.status_code == 200, r.text
    [created] = r.json()
    code = created["service_request_id"]
    assert created["account_id"] is None and code in created["service_notice"]
    assert created["service_notice"].startswith(f"已登记为事件 {code}，由第一网格受理，受理时限 ")
    with clean_engine.connect() as conn:
        row = conn.execute(text("SELECT i.category, i.subcategory, i.description, i.reporter_name, i.reporter_phone, "
                                "i.address, i.source, i.reported_by, i.status, g.code FROM incident i "
                                "JOIN grid g ON g.id = i.grid_id WHERE i.code = :c"), {"c": code}).one()  # fmt: skip
    assert tuple(row) == ("市容环境", "暴露垃圾", "小区门口垃圾成堆", "李小明", "13912345678", "文艺北路 1 号",
                          "其他系统", "token:热线", "上报", "610103006001001")  # fmt: skip

    # The same with the token in the Authorization header, answered in XML.
    x = c.post("/open311/v2/requests.xml", data=FORM | {"source": "12345"},
               headers={"Authorization": f"Bearer {keys['热线']}"})  # fmt: skip
    assert x.status_code == 200 and x.headers["content-type"].startswith("text/xml"), x.text
    request = ET.fromstring(x.content).find("request")
    assert request is not None
    second = request.findtext("service_request_id")
    assert second and second != code and request.findtext("account_id") == ""
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT source FROM incident WHERE code = :c"), {"c": second}).scalar() == "12345热线"

    one = c.get(f"/open311/v2/requests/{code}.json")
    assert one.status_code == 200, one.text
    [public] = one.json()
    lon, lat = round_place(LON, LAT, settings_for.public_round_m)
    assert public == {
        "service_request_id": code, "status": "open", "status_notes": "上报（待受理）", "service_name": "暴露垃圾",
        "service_code": "市容环境/暴露垃圾", "agency_responsible": "文艺路街道",
        "requested_datetime": public["requested_datetime"], "updated_datetime": public["requested_datetime"],
        "lat": lat, "long": lon,
    }  # fmt: skip
    assert dt.datetime.fromisoformat(public["requested_datetime"]).utcoffset() == dt.timedelta(hours=8)
    # The place is rounded: on the 100 m grid, off the true point, within the grid's half diagonal of it.
    step_lat = settings_for.public_round_m / M_PER_DEGREE
    assert abs(lat / step_lat - round(lat / step_lat)) < 1e-3 and (lon, lat) != (round(LON, 6), round(LAT, 6))
    metres = math.hypot((lon - LON) * M_PER_DEGREE * math.cos(math.radians(LAT)), (lat - LAT) * M_PER_DEGREE)
    assert metres <= settings_for.public_round_m * 0.75
    for body in (one.text, c.get("/open311/v2/requests.json").text, c.get(f"/open311/v2/requests/{code}.xml").text):
        assert not any(word in body for word in PRIVATE), body

    listed = c.get("/open311/v2/requests.json").json()
    assert [q["service_request_id"] for q in listed] == [second, code]  # newest first
    assert [
        q["service_request_id"]
        for q in c.get("/open311/v2/requests.json", params={"service_request_id": f"{code},E000"}).json()
    ] == [code]
    assert len(c.get("/open311/v2/requests.json", params={"service_code": "市容环境"}).json()) == 2
    assert c.get("/open311/v2/requests.json", params={"service_code": "治安隐患"}).json() == []
    assert c.get("/open311/v2/requests.json", params={"status": "closed"}).json() == []
    assert c.get("/open311/v2/requests.json", params={"start_date": "2000-01-01", "end_date": "2000-12-31"}
                 ).json() == []  # fmt: skip
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    assert len(c.get("/open311/v2/requests.json", params={"start_date": today, "end_date": today}).json()) == 2
    tree = ET.fromstring(c.get("/open311/v2/requests.xml").content)
    assert tree.tag == "service_requests" and [r.findtext("service_request_id") for r in tree] == [second, code]
    assert tree[1].findtext("status") == "open" and tree[1].findtext("lat") == str(lat)

    # Closed: status closed, updated_datetime the closing time.
    with Session(clean_engine) as s, s.begin():
        rules = cases.Rules(load_calendar(s, "Asia/Shanghai"))
        case_id = cases.case_id_of(s, code)
        cases.act(s, Actor.system("t"), case_id, cases.Step("reject", note="重复上报"), rules)
    [closed] = c.get(f"/open311/v2/requests/{code}.json").json()
    assert (closed["status"], closed["status_notes"]) == ("closed", "作废（不予立案）")
    with clean_engine.connect() as conn:
        last = conn.execute(text("SELECT max(e.at) FROM incident_event e JOIN incident i ON i.id = e.incident_id "
                                 "WHERE i.code = :c AND e.action = '不予立案'"), {"c": code}).scalar_one()  # fmt: skip
    assert dt.datetime.fromisoformat(closed["updated_datetime"]) == last.replace(microsecond=0)
    assert [q["service_request_id"] for q in c.get("/open311/v2/requests.json", params={"status": "closed"}).json()
            ] == [code]  # fmt: skip


def test_errors_have_open311_shape_and_write_nothing(hotline: tuple[TestClient, dict[str, str]],
                                                     clean_engine: Engine) -> None:  # fmt: skip
    c, keys = hotline
    cases_ = [
        ("json", {}, 403, "缺少 api_key"),
        ("json", {"api_key": "ggv_nonsense"}, 403, "令牌无效"),
        ("json", {"api_key": keys["只读"]}, 403, "权限不足"),
        ("json", {"api_key": keys["二社区"]}, 403, "超出权限范围"),
        ("json", {"api_key": keys["热线"], "service_code": "外星人"}, 400, "未知的事件类别"),
        ("json", {"api_key": keys["热线"], "service_code": ""}, 400, "缺少 service_code"),
        ("json", {"api_key": keys["热线"], "lat": ""}, 400, "缺少纬度 lat"),
        ("json", {"api_key": keys["热线"], "long": "east"}, 400, "经度 long应为数字"),
        ("json", {"api_key": keys["热线"], "long": str(X0 + 3)}, 400, "事件位置不可信"),
        ("json", {"api_key": keys["热线"], "description": ""}, 400, "请填写事件描述"),
        ("json", {"api_key": keys["热线"], "description": "a\x00b"}, 400, "空字符"),
        ("xml", {"api_key": keys["热线"], "service_code": "外星人"}, 400, "未知的事件类别"),
    ]
    for fmt, fields, status, message in cases_:
        r = c.post(f"/open311/v2/requests.{fmt}", data=FORM | fields)
        assert r.status_code == status, (fields, r.text)
        if fmt == "json":
            assert r.json() == [{"code": status, "description": r.json()[0]["description"]}]
            assert message in r.json()[0]["description"], (fields, r.json())
        else:
            error = ET.fromstring(r.content).find("error")
            assert error is not None and error.findtext("code") == str(status)
            assert message in (error.findtext("description") or "")
    assert rows(clean_engine) == 0
    missing = c.get("/open311/v2/requests/E000.json")
    assert (
        missing.status_code == 404
        and missing.json()[0]["code"] == 404
        and "事件不存在" in missing.json()[0]["description"]
    )
    xml = c.get("/open311/v2/requests/E000.xml")
    assert xml.status_code == 404 and ET.fromstring(xml.content).tag == "errors"
    assert c.get("/open311/v2/services.csv").json()[0]["code"] == 404
    for params, message in (({"status": "pending"}, "open 或 closed"), ({"start_date": "yesterday"}, "start_date"),
                            ({"start_date": "2026-10-02", "end_date": "2026-10-01"}, "晚于")):  # fmt: skip
        bad = c.get("/open311/v2/requests.json", params=params)
        assert bad.status_code == 400 and message in bad.json()[0]["description"], (params, bad.text)


def test_round_place_snaps_to_a_metric_grid() -> None:
    lon, lat = round_place(108.95231, 34.24467, 100)
    step_lat = 100 / M_PER_DEGREE
    step_lon = 100 / (M_PER_DEGREE * math.cos(math.radians(lat)))
    assert abs(lat / step_lat - round(lat / step_lat)) < 1e-3 and abs(lon / step_lon - round(lon / step_lon)) < 1e-3
    assert round_place(108.95231, 34.24467, 0) == (108.95231, 34.24467)
    assert round_place(108.952312345, 34.244671234, 0) == (108.952312, 34.244671)
