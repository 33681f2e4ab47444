"""Entity imports: formats, encodings, aliases, atomic refusal with row numbers, unassigned rows, assignment."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.geo.crs import GCJ02, from_wgs84
from gridgov.importing.entities import import_entities

from tests.factories import X0, Y0, make_street

IN_A = (X0 + 0.002, Y0 + 0.005)  # inside 610103006001001
IN_C = (X0 + 0.015, Y0 + 0.005)  # inside 610103006002001
OUTSIDE = (X0 - 0.01, Y0 - 0.01)


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.fixture
def street(clean_engine: Engine) -> Engine:
    with session_scope(clean_engine) as s:
        make_street(s)
    return clean_engine


def households_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "编码": ["H1", "H2", "H3"],
            "地址": ["文艺北路45号院1号楼101室", "文艺南路2号院3号楼2单元502室", "城外"],
            "户籍类型": ["常住户", "出租", "底商"],
            "经度": [IN_A[0], IN_C[0], OUTSIDE[0]],
            "纬度": [IN_A[1], IN_C[1], OUTSIDE[1]],
        }
    )


def test_gbk_csv_with_chinese_headers_is_imported_and_assigned(street: Engine, tmp_path: Path) -> None:
    path = tmp_path / "户.csv"
    path.write_bytes(households_frame().to_csv(index=False).encode("gbk"))
    with session_scope(street) as s:
        report = import_entities(s, "households", path, actor=Actor.system("test"))
    assert report.written and report.imported == 3 and report.assigned == 2 and report.unassigned == 1
    assert report.unassigned_rows == [{"row": 4, "code": "H3"}]
    with street.connect() as conn:
        got = dict(
            conn.execute(
                text("SELECT h.code || ':' || h.kind, g.code FROM household h LEFT JOIN grid g ON g.id = h.grid_id")
            ).all()
        )
    assert got == {"H1:常住户": "610103006001001", "H2:租房户": "610103006002001", "H3:底商": None}


def test_a_bad_row_rejects_the_whole_file(street: Engine, tmp_path: Path) -> None:
    df = households_frame()
    df.loc[1, "户籍类型"] = "别墅"
    df.loc[2, "经度"] = float("nan")
    df.loc[0, "纬度"] = IN_A[0]  # lon in the lat column too: swapped/out of range
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    before = count(street, "household"), count(street, "audit_log")
    with session_scope(street) as s:
        report = import_entities(s, "households", path, actor=Actor.system("test"))
    assert report.refused and not report.written
    assert [(e.row, e.column) for e in report.errors] == [(2, "lon/lat"), (3, "kind"), (4, "lon/lat")]
    assert "取值应为" in report.errors[1].reason and "缺少坐标" in report.errors[2].reason
    assert (count(street, "household"), count(street, "audit_log")) == before


def test_xlsx_geojson_and_gcj02(street: Engine, tmp_path: Path) -> None:
    xlsx = tmp_path / "incidents.xlsx"
    pd.DataFrame(
        {
            "事件类别": ["市容环境", "街面秩序"],
            "小类": ["暴露垃圾", "乱停车辆"],
            "上报时间": ["2026-10-01 21:30", "2026-10-02"],
            "状态": ["结案", "立案"],
            "经度": [IN_A[0], IN_C[0]],
            "纬度": [IN_A[1], IN_C[1]],
        }
    ).to_excel(xlsx, index=False)
    with session_scope(street) as s:
        report = import_entities(s, "incidents", xlsx, actor=Actor.system("test"))
    assert report.imported == 2 and report.assigned == 2
    with street.connect() as conn:
        t = conn.execute(text("SELECT reported_at AT TIME ZONE 'Asia/Shanghai' FROM incident WHERE status = '结案'"))
        assert str(t.scalar()) == "2026-10-01 21:30:00"
    gcj = from_wgs84([__import__("shapely").Point(*IN_A)], GCJ02)[0]
    geojson = tmp_path / "b.geojson"
    geojson.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"楼栋编码": "B1", "名称": "1号楼", "层数": 6},
                        "geometry": {"type": "Point", "coordinates": [gcj.x, gcj.y]},
                    }
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    with session_scope(street) as s:
        report = import_entities(s, "buildings", geojson, actor=Actor.system("test"), crs="gcj02")
    assert report.crs == "gcj02" and report.assigned == 1
    with street.connect() as conn:
        d = conn.execute(
            text(
                "SELECT ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography) FROM building"
            ),
            {"x": IN_A[0], "y": IN_A[1]},
        ).scalar()
    assert d < 1.0


def test_persons_and_staff_reference_checks(street: Engine, tmp_path: Path) -> None:
    hh = tmp_path / "hh.csv"
    households_frame().to_csv(hh, index=False)
    persons = tmp_path / "p.csv"
    pd.DataFrame(
        {
            "户编码": ["H1", "H1", "H9"],
            "姓名": ["张伟", "李娜", "王芳"],
            "性别": ["男", "女", "女"],
            "是否党员": ["是", "否", "否"],
            "党员类型": ["离退休", "", ""],
            "身份证号": ["610103195001010018", "", ""],
        }
    ).to_csv(persons, index=False)
    with session_scope(street) as s:
        import_entities(s, "households", hh, actor=Actor.system("test"))
        report = import_entities(s, "persons", persons, actor=Actor.system("test"))
    assert [(e.row, e.column, e.reason) for e in report.errors] == [(4, "household_code", "户不存在：H9")]
    pd.read_csv(persons, dtype=str, keep_default_na=False).iloc[:2].to_csv(persons, index=False)
    with session_scope(street) as s:
        report = import_entities(s, "persons", persons, actor=Actor.system("test"))
    assert report.imported == 2 and count(street, "person") == 2
    staff = tmp_path / "staff.csv"
    pd.DataFrame(
        {
            "姓名": ["赵网格", "赵网格"],
            "电话": ["13900000001"] * 2,
            "网格编码": ["610103006001001"] * 2,
            "职务": ["网格长", "网格党支部书记"],
        }
    ).to_csv(staff, index=False)
    with session_scope(street) as s:
        report = import_entities(s, "staff", staff, actor=Actor.system("test"))
    assert report.imported == 2 and count(street, "staff") == 1 and count(street, "grid_role") == 2


def test_bad_id_number_and_member_type(street: Engine, tmp_path: Path) -> None:
    hh = tmp_path / "hh.csv"
    households_frame().to_csv(hh, index=False)
    persons = tmp_path / "p.csv"
    pd.DataFrame(
        {
            "household_code": ["H1", "H1"],
            "name": ["甲", "乙"],
            "is_party_member": ["1", "0"],
            "member_type": ["", "在职"],
            "id_number": ["610103195001010011", ""],
        }
    ).to_csv(persons, index=False)
    with session_scope(street) as s:
        import_entities(s, "households", hh, actor=Actor.system("test"))
        report = import_entities(s, "persons", persons, actor=Actor.system("test"))
    assert {(e.row, e.column) for e in report.errors} == {(2, "member_type"), (2, "id_number"), (3, "member_type")}


def test_a_roster_with_the_fields_role_names_imports(street: Engine, tmp_path: Path) -> None:
    """网格管理员 and the other names streets use are synonyms; the field posts (医护, 宣传, 调解 …) are roles."""
    roster = tmp_path / "roster.csv"
    rows = [("钱一", "网格管理员"), ("孙二", "文化宣传员"), ("周三", "人民调解员"), ("吴四", "家庭医生"),
            ("郑五", "协管员")]  # fmt: skip
    frame = {"姓名": [n for n, _ in rows], "电话": [f"1390000000{i}" for i in range(len(rows))],
             "网格编码": ["610103006001001"] * len(rows), "职务": [r for _, r in rows]}  # fmt: skip
    pd.DataFrame(frame).to_csv(roster, index=False)
    with session_scope(street) as s:
        report = import_entities(s, "staff", roster, actor=Actor.system("test"))
    assert not report.errors and report.imported == len(rows)
    with street.connect() as conn:
        pairs = conn.execute(text("SELECT s.name, r.role FROM grid_role r JOIN staff s ON s.id = r.staff_id"))
        got = dict(pairs.tuples().all())
    assert got == {"钱一": "网格员", "孙二": "文化宣传员", "周三": "调解员", "吴四": "网格医护员", "郑五": "协管员"}
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"姓名": ["王六"], "网格编码": ["610103006001001"], "职务": ["网格大管家"]}).to_csv(bad, index=False)
    with session_scope(street) as s:
        refused = import_entities(s, "staff", bad, actor=Actor.system("test"))
    assert refused.errors and "网格医护员" in refused.errors[0].reason and "网格大管家" in refused.errors[0].reason
