"""Entity imports: formats, encodings, aliases, atomic refusal with row numbers, unassigned rows, assignment."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import shapely
from shapely.geometry import mapping
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.errors import InvalidInput
from gridgov.geo.crs import GCJ02, from_wgs84
from gridgov.importing.entities import TABLES, import_entities

from tests.factories import X0, Y0, make_street
from tests.geo.streets import LISBON, NAIROBI, STREET, XIAN, away, inside, make_street_at

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
            "事件编号": ["E1", "E2"],
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
            "人员编码": ["P1", "P2", "P3"],
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
            "code": ["P1", "P2"],
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


# --------------------------------------------------------------------------------------------- coordinate rule


def located_rows(engine: Engine) -> tuple[int, int, int, int]:
    """Households, buildings, incidents and audit rows in the database."""
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT (SELECT count(*) FROM household), (SELECT count(*) FROM building), "
            "(SELECT count(*) FROM incident), (SELECT count(*) FROM audit_log)")).one())  # type: ignore[return-value]  # fmt: skip


def households_at(points: list[tuple[float, float]]) -> pd.DataFrame:
    return pd.DataFrame({"编码": [f"H{i}" for i in range(1, len(points) + 1)], "户籍类型": ["常住户"] * len(points),
                         "经度": [p[0] for p in points], "纬度": [p[1] for p in points]})  # fmt: skip


@pytest.mark.parametrize("corner", [XIAN, NAIROBI, LISBON], ids=["xian", "nairobi", "lisbon"])
def test_swapped_and_far_away_files_are_refused_for_a_street_anywhere(
    clean_engine: Engine, tmp_path: Path, corner: tuple[float, float]
) -> None:
    with session_scope(clean_engine) as s:
        make_street_at(s, corner)
    near = [inside(corner), (inside(corner)[0] + 0.01, inside(corner)[1]), away(corner, 5)]
    before = located_rows(clean_engine)

    def refused(entity: str, frame: pd.DataFrame | None = None, *, path: Path | None = None) -> list[str]:
        if path is None:
            path = tmp_path / f"{entity}.csv"
            assert frame is not None
            frame.to_csv(path, index=False)
        with session_scope(clean_engine) as s:
            report = import_entities(s, entity, path, actor=Actor.system("test"))
        assert report.refused and not report.written and report.error_count == len(report.errors)
        assert located_rows(clean_engine) == before  # nothing written, not even an audit row
        return [e.reason for e in report.errors]

    swapped = refused("households", households_at([(y, x) for x, y in near]))
    assert len(swapped) == 3 and all(r.startswith("经纬度颠倒") and "请交换经度和纬度" in r for r in swapped)
    far = refused("households", households_at([(x + 1.0, y) for x, y in near]))  # ~90 km east
    assert len(far) == 3 and all(r.startswith("远离本街道") and "坐标系可能选错" in r for r in far)
    one_far = refused("households", households_at([*near[:2], away(corner, 30)]))  # one row is enough
    assert len(one_far) == 1 and one_far[0].startswith("远离本街道")
    metres = refused("households", households_at([(500_000.0 + i, 3_800_000.0) for i in range(3)]))
    assert all(r.startswith("坐标超出范围") for r in metres)
    incidents = pd.DataFrame({"编号": ["E1", "E2"], "事件类别": ["市容环境"] * 2, "上报时间": ["2026-10-01 21:30"] * 2,
                              "经度": [near[0][1], near[1][0] + 2], "纬度": [near[0][0], near[1][1]]})  # fmt: skip
    assert [r[:5] for r in refused("incidents", incidents)] == ["经纬度颠倒", "远离本街道"]
    x, y = near[0]
    footprints = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": f"B{i}"}, "geometry": mapping(geom)}
        for i, geom in enumerate([shapely.box(y, x, y + 1e-4, x + 1e-4), shapely.box(x + 3, y, x + 3.0001, y + 1e-4)])]}
    geojson = tmp_path / "buildings.geojson"
    geojson.write_text(json.dumps(footprints), encoding="utf-8")
    assert [r[:5] for r in refused("buildings", path=geojson)] == ["经纬度颠倒", "远离本街道"]

    good = tmp_path / "good.csv"
    households_at(near).to_csv(good, index=False)
    with session_scope(clean_engine) as s:
        report = import_entities(s, "households", good, actor=Actor.system("test"))
    assert report.written and (report.imported, report.assigned, report.unassigned) == (3, 2, 1)
    with clean_engine.connect() as conn:
        grids = dict(conn.execute(text("SELECT h.code, g.code FROM household h "
                                       "LEFT JOIN grid g ON g.id = h.grid_id")).tuples().all())  # fmt: skip
    assert grids == {"H1": f"{STREET}001001", "H2": f"{STREET}002001", "H3": None}


def test_the_distance_is_the_callers(street: Engine, tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    households_at([IN_A, (X0 + 0.005, Y0 + 0.01 + 10 / 111)]).to_csv(path, index=False)  # 10 km north
    with session_scope(street) as s:
        strict = import_entities(s, "households", path, actor=Actor.system("test"), max_distance_m=5_000)
    assert strict.refused and [(e.row, e.column) for e in strict.errors] == [(3, "lon/lat")]
    assert "超过 5 公里" in strict.errors[0].reason and count(street, "household") == 0
    with session_scope(street) as s:
        report = import_entities(s, "households", path, actor=Actor.system("test"))
    assert report.written and report.unassigned == 1 and count(street, "household") == 2


# --------------------------------------------------------------------------------------------- large reports


def test_a_large_bad_file_lists_the_first_100_errors_and_counts_the_rest(street: Engine, tmp_path: Path) -> None:
    n = 320
    frame = households_at([IN_A] * n)
    frame.loc[20:169, "户籍类型"] = "宿舍"  # 150 unknown kinds
    frame.loc[170:, "经度"] = IN_A[0] + 2  # 150 far away
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    before = count(street, "household"), count(street, "audit_log")
    with session_scope(street) as s:
        report = import_entities(s, "households", path, actor=Actor.system("test"))
    assert report.refused and report.error_count == 300 and len(report.errors) == 100
    assert [e.row for e in report.errors] == list(range(22, 122))  # file rows (the heading is row 1), in order
    assert {e.column for e in report.errors} == {"kind"}
    kinds = "取值应为 常住户 / 租房户 / 空房户 / 底商"
    assert report.error_summary == [{"column": "kind", "reason": kinds, "count": 150},
                                    {"column": "lon/lat", "reason": "远离本街道", "count": 150}]  # fmt: skip
    body = report.as_dict()
    assert body["error_count"] == 300 and len(body["errors"]) == 100 and body["refused"]
    assert sum(k["count"] for k in body["error_summary"]) == 300
    assert (count(street, "household"), count(street, "audit_log")) == before


# --------------------------------------------------------------------------------------------- identity


@pytest.mark.parametrize("entity", ["households", "buildings", "persons", "incidents"])
def test_every_record_needs_its_own_code(street: Engine, tmp_path: Path, entity: str) -> None:
    base = {
        "households": {"户籍类型": "常住户", "经度": IN_A[0], "纬度": IN_A[1]},
        "buildings": {"名称": "1号楼", "经度": IN_A[0], "纬度": IN_A[1]},
        "persons": {"户编码": "H1", "姓名": "张三"},
        "incidents": {"事件类别": "市容环境", "上报时间": "2026-10-01 21:30", "经度": IN_A[0], "纬度": IN_A[1]},
    }[entity]
    with session_scope(street) as s:  # persons join household H1
        s.execute(text("INSERT INTO household (code, address, kind, geom) VALUES ('H1', '甲', '常住户', "
                       "ST_Point(:x, :y, 4326))"), {"x": IN_A[0], "y": IN_A[1]})  # fmt: skip
    table = TABLES[entity]
    before = count(street, table)
    path = tmp_path / f"{entity}.csv"
    pd.DataFrame([base] * 4).to_csv(path, index=False)
    with session_scope(street) as s, pytest.raises(InvalidInput) as err:
        import_entities(s, entity, path, actor=Actor.system("test"))
    assert "缺少必需列：编码（code）" in err.value.message and "每条记录都须有唯一编码" in err.value.message
    pd.DataFrame([base] * 4).assign(编码=["X1", "", "X2", "X1"]).to_csv(path, index=False)
    with session_scope(street) as s:
        report = import_entities(s, entity, path, actor=Actor.system("test"))
    assert report.refused and not report.written
    twice = "文件内编码重复：X1（第 2、5 行）"
    assert [(e.row, e.column, e.reason) for e in report.errors] == [
        (2, "code", twice), (3, "code", "必填项为空"), (5, "code", twice)]
    assert count(street, table) == before
    with street.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table} WHERE code IS NULL")).scalar_one() == 0


# --------------------------------------------------------------------------------------------- field map


def test_a_field_map_names_the_columns_the_aliases_miss(street: Engine, tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    pd.DataFrame({"编码": ["旧1", "旧2"], "户号": ["H1", "H2"], "门牌": ["一号", "二号"], "类别": ["常住户", "出租"],
                  "东经": [IN_A[0], IN_C[0]], "北纬": [IN_A[1], IN_C[1]]}).to_csv(path, index=False)  # fmt: skip
    with session_scope(street) as s, pytest.raises(InvalidInput, match="缺少必需列：户籍类型（kind）"):
        import_entities(s, "households", path, actor=Actor.system("test"))
    mapping = {"户号": "code", "门牌": "address", "类别": "kind", "东经": "lon", "北纬": "lat"}
    with session_scope(street) as s:
        report = import_entities(s, "households", path, actor=Actor.system("test"), field_map=mapping)
    assert report.written and report.assigned == 2
    with street.connect() as conn:
        rows = conn.execute(text("SELECT code, address, kind FROM household ORDER BY code")).tuples().all()
    assert rows == [("H1", "一号", "常住户"), ("H2", "二号", "租房户")]  # 户号 wins over the 编码 alias
    with session_scope(street) as s, pytest.raises(InvalidInput) as err:
        import_entities(s, "households", path, actor=Actor.system("test"), field_map={"户号": "household_no"})
    assert err.value.message == ("列名对应 户号=household_no：没有目标列 household_no"
                                 "（可用：code, address, building_code, kind, lon, lat, geometry）")  # fmt: skip
    with session_scope(street) as s, pytest.raises(InvalidInput, match="h.csv 中没有列 门牌号"):
        import_entities(s, "households", path, actor=Actor.system("test"), field_map={"门牌号": "address"})
    assert count(street, "household") == 2
