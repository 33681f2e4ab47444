"""Party organisations, posts and memberships (gridgov.party.orgs) on the factory street, with members made as the
compliance check's tests make them: history rows, the tree's rules, the scope rule, names only for readers with
personal data rights."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.errors import Conflict, Forbidden, InvalidInput, StaleVersion
from gridgov.party import orgs
from gridgov.party.imports import import_members, import_orgs
from gridgov.party.rules import PartyRules

from tests.factories import make_street
from tests.party.test_check import _members

ADMIN = Actor.system("tests")
COMMUNITY, OTHER = "610103006001", "610103006002"
A, B, C = "610103006001001", "610103006001002", "610103006002001"
TZ = "Asia/Shanghai"


def scoped(s: Session, role: str, code: str | None, name: str = "u") -> Actor:
    """A user of ``role`` scoped to the grid ``code`` (None: unscoped)."""
    gid = s.scalar(text("SELECT id FROM grid WHERE code = :c AND valid_to IS NULL"), {"c": code}) if code else None
    return Actor(f"user:{name}", role, gid, code)


def codes_of(s: Session, ids: list[int]) -> list[str]:
    """The person codes of person ids, in order."""
    found = dict(s.execute(text("SELECT id, code FROM person WHERE id = ANY(:i)"), {"i": ids}).tuples().all())
    return [found[i] for i in ids]


@pytest.fixture
def street(clean_engine: Engine) -> Iterator[Engine]:
    with Session(clean_engine) as s, s.begin():
        make_street(s)
    yield clean_engine


def _tree(s: Session) -> None:
    """CP 社区党委 on community …001, BA 楼院党支部 on compound A under it."""
    orgs.create_org(s, ADMIN, code="CP", name="一社区党委", kind="社区党委", form="社区党组织", grids=[COMMUNITY])
    orgs.create_org(s, ADMIN, code="BA", name="第一网格党支部", kind="支部", form="楼院党支部", parent="CP",
                    grids=A, founded_on="2020-05-01")  # fmt: skip


def test_create_edit_dissolve_keep_history(street: Engine) -> None:
    with Session(street) as s, s.begin():
        _tree(s)
        members = codes_of(s, _members(s, "A", 3, prefix="M"))
        for code in members:
            orgs.join_org(s, code, "BA", ADMIN, since=dt.date(2025, 1, 1))
        ba = orgs.get_org(s, "BA", ADMIN)
        assert (ba.kind, ba.parent_code, ba.grid_codes, ba.members, ba.version) == ("党支部", "CP", [A], 3, 1)
        assert ba.founded_on == dt.date(2020, 5, 1)
        changed = orgs.update_org(s, "BA", {"name": "一网格党支部", "secretary": members[0], "phone": "029-8888888"},
                                  ADMIN, expected_version=1)  # fmt: skip
        assert (changed.name, changed.secretary_code, changed.secretary_kind, changed.version) == \
            ("一网格党支部", members[0], "党员", 2)
        with pytest.raises(StaleVersion, match="已被他人修改"):
            orgs.update_org(s, "BA", {"name": "又改"}, ADMIN, expected_version=1)
        with pytest.raises(Conflict, match="下还有 BA"):
            orgs.dissolve_org(s, "CP", ADMIN, reason="合并")
        gone = orgs.dissolve_org(s, "BA", ADMIN, reason="合并", expected_version=2)
        history = orgs.org_history(s, "BA", ADMIN)
        rows = s.execute(text("SELECT name, version, valid_to IS NOT NULL AS closed, lineage_id IS NOT NULL AS old "
                              "FROM party_org WHERE code = 'BA' ORDER BY lineage_id IS NULL, version")
                         ).all()  # fmt: skip
        ended = s.execute(text("SELECT DISTINCT end_reason, until FROM party_membership")).all()
    assert gone.retired and gone.end_reason == "合并"
    # the two states it had are history rows; the live row is the retired record
    assert [(r.name, r.version, r.closed, r.old) for r in rows] == [
        ("第一网格党支部", 1, True, True), ("一网格党支部", 2, True, True), ("一网格党支部", 3, True, False)]
    assert [orgs.org_changes(a, b) for a, b in zip([None, *history], history, strict=False)][:2] == \
        [["新建"], ["名称：第一网格党支部 → 一网格党支部", f"书记：（空） → 党员{members[0].replace('-P', '-H')}"
                                                   f"（{members[0]}）", "电话：（空） → 029-8888888"]]
    assert [(r.end_reason, r.until) for r in ended] == [("组织撤销", dt.date.today())]


def test_the_tree_rules(street: Engine) -> None:
    with Session(street) as s, s.begin():
        _tree(s)
        orgs.create_org(s, ADMIN, code="G1", name="1号楼党小组", kind="党小组", form="楼栋党小组", parent="BA")
        with pytest.raises(InvalidInput, match="党小组下不能再设组织"):
            orgs.create_org(s, ADMIN, code="X", name="x", kind="党小组", form="楼道党小组", parent="G1")
        with pytest.raises(InvalidInput, match="党小组的上级组织应为党支部，CP 是党委"):
            orgs.create_org(s, ADMIN, code="X", name="x", kind="党小组", form="楼道党小组", parent="CP")
        with pytest.raises(InvalidInput, match="组织关系不能成环"):
            orgs.update_org(s, "CP", {"parent": "BA"}, ADMIN, expected_version=1)
        with pytest.raises(InvalidInput, match="党组织类别：未知的取值 党团"):
            orgs.create_org(s, ADMIN, code="X", name="x", kind="党团", form="其他", grids=[B])
        with pytest.raises(InvalidInput, match="应为党支部"):
            orgs.create_org(s, ADMIN, code="X", name="x", kind="党委", form="网格党支部", grids=[B])
        with pytest.raises(InvalidInput, match="下有党小组 G1"):
            orgs.update_org(s, "BA", {"kind": "党总支", "form": "其他"}, ADMIN, expected_version=1)
        with pytest.raises(InvalidInput, match="网格不存在：999"):
            orgs.create_org(s, ADMIN, code="X", name="x", kind="党支部", form="网格党支部", grids="999")
        tree = [(d, o.code) for d, o in orgs.org_tree(orgs.list_orgs(s, ADMIN))]
    assert tree == [(0, "CP"), (1, "BA"), (2, "G1")]


def test_scope_refusals(street: Engine) -> None:
    with Session(street) as s, s.begin():
        _tree(s)
        comm1 = scoped(s, "community", COMMUNITY)
        with pytest.raises(Forbidden, match="超出权限范围"):
            orgs.create_org(s, comm1, code="X", name="x", kind="党支部", form="网格党支部", grids=[C])
        with pytest.raises(Forbidden, match="超出权限范围"):  # an organisation on no grid lies in no scope
            orgs.create_org(s, comm1, code="X", name="x", kind="党支部", form="其他")
        made = orgs.create_org(s, comm1, code="BB", name="第二网格党支部", kind="党支部", form="楼院党支部",
                               parent="CP", grids=[B])  # fmt: skip
        orgs.create_org(s, ADMIN, code="BC", name="二社区党支部", kind="党支部", form="网格党支部", grids=[C])
        with pytest.raises(Forbidden):
            orgs.update_org(s, "BC", {"name": "改"}, comm1, expected_version=1)
        with pytest.raises(Forbidden):
            orgs.update_org(s, "BB", {"grids": [B, C]}, comm1, expected_version=1)
        with pytest.raises(Forbidden):  # moving one's own branch under another community's organisation
            orgs.update_org(s, "BB", {"parent": "BC", "kind": "党支部"}, comm1, expected_version=1)
        listed = [o.code for o in orgs.list_orgs(s, comm1)]
    assert made.updated_by == "user:u" and listed == ["BA", "BB", "CP"]


def test_a_membership_move_keeps_history(street: Engine) -> None:
    with Session(street) as s, s.begin():
        _tree(s)
        orgs.create_org(s, ADMIN, code="BB", name="第二网格党支部", kind="党支部", form="楼院党支部", parent="CP",
                        grids=[B])  # fmt: skip
        [who] = codes_of(s, _members(s, "A", 1, prefix="M"))
        orgs.join_org(s, who, "BA", ADMIN, since=dt.date(2024, 3, 1))
        with pytest.raises(Conflict, match="已是 BA"):
            orgs.join_org(s, who, "BA", ADMIN)
        with pytest.raises(InvalidInput, match="早于其在现组织的加入日期"):
            orgs.join_org(s, who, "BB", ADMIN, since=dt.date(2024, 1, 1))
        moved = orgs.join_org(s, who, "BB", ADMIN, since=dt.date(2025, 6, 1))
        history = orgs.member_history(s, who, ADMIN)
        left = orgs.leave_org(s, who, ADMIN, reason="转出", until=dt.date(2026, 1, 1))
        s.execute(text("UPDATE person SET is_party_member = false, member_type = NULL WHERE code = :c"), {"c": who})
        with pytest.raises(InvalidInput, match="不是党员"):
            orgs.join_org(s, who, "BA", ADMIN)
    assert moved.org_code == "BB" and moved.in_force
    assert [(m.org_code, m.since, m.until, m.end_reason) for m in history] == [
        ("BB", dt.date(2025, 6, 1), None, None), ("BA", dt.date(2024, 3, 1), dt.date(2025, 6, 1), "转入 BB")]
    assert (left.until, left.end_reason) == (dt.date(2026, 1, 1), "转出")


def test_posts_and_member_counts(street: Engine) -> None:
    with Session(street) as s, s.begin():
        _tree(s)
        people = codes_of(s, _members(s, "A", 52, prefix="M"))
        for code in people:
            orgs.join_org(s, code, "BA", ADMIN, since=dt.date(2025, 1, 1))
        s.execute(text("INSERT INTO staff (code, name, phone) VALUES ('S1', '张委员', '13900000001')"))
        first = orgs.add_post(s, "BA", ADMIN, post="支部书记", holder_code=people[0])
        with pytest.raises(Conflict, match="书记已有人担任"):
            orgs.add_post(s, "BA", ADMIN, post="书记", holder_code=people[1])
        orgs.add_post(s, "CP", ADMIN, post="兼职委员", holder_code="S1")
        ended = orgs.end_post(s, "BA", first.id, ADMIN, reason="换届")
        detail = orgs.org_detail(s, "BA", ADMIN)
        listed = {o.code: o for o in orgs.list_orgs(s, ADMIN)}
    assert (first.post, first.holder_kind, ended.end_reason, ended.in_force) == ("书记", "党员", "换届", False)
    assert len(detail.members) == 52 and detail.posts[0].holder_code == people[0]
    assert (listed["CP"].members, listed["CP"].members_total, listed["BA"].members_total) == (0, 52, 52)
    rules = PartyRules()
    assert orgs.kind_advice(rules, "党支部", 52) == "52 名党员，应设党总支"
    assert orgs.kind_advice(rules, "党委", 52) == "52 名党员，应设党总支"
    assert orgs.kind_advice(rules, "党支部", 2) == "党员不足 3 名"
    assert orgs.kind_advice(rules, "党支部", 3) is None


def test_a_viewer_sees_no_names(street: Engine) -> None:
    with Session(street) as s, s.begin():
        _tree(s)
        [who] = codes_of(s, _members(s, "A", 1, prefix="M"))
        orgs.update_org(s, "BA", {"secretary": who, "phone": "13800000000"}, ADMIN, expected_version=1)
        viewer = scoped(s, "viewer", None)
        comm2 = scoped(s, "community", OTHER)
        seen = orgs.get_org(s, "BA", viewer)
        by_comm2 = orgs.get_org(s, "BA", comm2)
        mine = orgs.get_org(s, "BA", scoped(s, "community", COMMUNITY))
        with pytest.raises(Forbidden):
            orgs.org_detail(s, "BA", viewer)
        with pytest.raises(Forbidden):
            orgs.org_detail(s, "BA", comm2)
        views = s.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'view' AND table_name = 'party_org'"))
        orgs.org_detail(s, "BA", ADMIN, page="/party/orgs/BA")
        logged = s.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'view' AND table_name = 'party_org'"))
    assert (seen.secretary_name, seen.secretary_code, seen.phone, seen.personal) == (None, None, None, False)
    assert by_comm2.secretary_name is None and mine.secretary_name == "党员M-H1" and mine.personal
    assert (views, logged) == (0, 1)


def test_the_past_as_of_a_moment(street: Engine) -> None:
    with Session(street) as s, s.begin():
        _tree(s)
        s.execute(text("UPDATE party_org SET valid_from = TIMESTAMPTZ '2020-01-01 00:00+08'"))
        orgs.update_org(s, "BA", {"name": "改名后"}, ADMIN, expected_version=1, effective=dt.date(2025, 1, 1))
        then = {o.code: o.name for o in orgs.list_orgs(s, ADMIN, as_of_moment=dt.datetime(2024, 6, 1, tzinfo=dt.UTC))}
        now = {o.code: o.name for o in orgs.list_orgs(s, ADMIN)}
    assert then == {"CP": "一社区党委", "BA": "第一网格党支部"} and now["BA"] == "改名后"


def test_organisations_and_memberships_import_atomically(street: Engine, tmp_path: Path) -> None:
    from tests.party.test_contacts import workbook

    with Session(street) as s, s.begin():
        orgs.create_org(s, ADMIN, code="CP", name="一社区党委", kind="党委", form="社区党组织", grids=[COMMUNITY])
        people = codes_of(s, _members(s, "A", 2, prefix="M"))
        header = ["党组织编码", "党组织名称", "类别", "形式", "上级组织编码", "所建网格", "书记", "成立日期"]
        bad = workbook(tmp_path / "bad.xlsx", header, [
            ["BA", "第一网格党支部", "支部", "楼院党支部", "CP", A, people[0], "1998-07-01"],
            ["G1", "1号楼党小组", "党小组", "楼栋党小组", "CP", "", "", ""],  # row 3: a group under a 党委
            ["BB", "第二网格党支部", "党支部", "楼院党支部", "CP", f"{B}、999", "", ""],  # row 4: unknown grid
            ["X1", "甲", "党支部", "其他", "X2", B, "", ""], ["X2", "乙", "党支部", "其他", "X1", B, "", ""],  # 5, 6
            ["CP", "重复", "党委", "社区党组织", "", COMMUNITY, "", ""],  # row 7: exists
        ])  # fmt: skip
        refused = import_orgs(s, ADMIN, bad)
        before = s.scalar(text("SELECT count(*) FROM party_org"))
        good = workbook(tmp_path / "good.xlsx", header, [
            ["G1", "1号楼党小组", "党小组", "楼栋党小组", "BA", "", "", ""],  # its parent comes later in the file
            ["BA", "第一网格党支部", "支部", "楼院党支部", "CP", A, people[0], "1998-07-01"],
        ])  # fmt: skip
        with pytest.raises(Forbidden):  # a community cannot import onto another community's grid
            import_orgs(s, scoped(s, "community", OTHER), good)
        done = import_orgs(s, ADMIN, good)
        imported = {o.code: o for o in orgs.list_orgs(s, ADMIN)}
        moves = workbook(tmp_path / "members.xlsx", ["人员编码", "党组织编码", "加入日期"],
                         [[people[0], "BA", "2024-01-01"], [people[1], "G1", ""]])  # fmt: skip
        orgs.join_org(s, people[1], "CP", ADMIN, since=dt.date(2020, 1, 1))
        joined = import_members(s, ADMIN, moves)
        again = import_members(s, ADMIN, moves)
        history = orgs.member_history(s, people[1], ADMIN)
    errors = {(e.row, e.column) for e in refused.errors}
    assert refused.refused and before == 1
    assert errors == {(3, "parent_code"), (4, "grid_codes"), (5, "parent_code"), (6, "parent_code"), (7, "code")}
    assert done.imported == 2 and imported["G1"].parent_code == "BA" and imported["BA"].parent_code == "CP"
    assert imported["BA"].founded_on == dt.date(1998, 7, 1) and imported["BA"].secretary_code == people[0]
    assert (joined.imported, joined.unchanged, again.imported, again.unchanged) == (2, 0, 0, 2)
    assert [(m.org_code, m.until, m.end_reason) for m in history] == [("G1", None, None),
                                                                      ("CP", dt.date.today(), "转入 G1")]


def test_the_detail_counts_the_members_below(street: Engine) -> None:
    with Session(street) as s, s.begin():
        _tree(s)
        for code in codes_of(s, _members(s, "A", 2, prefix="M")):
            orgs.join_org(s, code, "BA", ADMIN)
        [top] = codes_of(s, _members(s, "B", 1, prefix="T"))
        orgs.join_org(s, top, "CP", ADMIN)
        detail = orgs.org_detail(s, "CP", ADMIN)
    assert (detail.org.members, detail.org.members_total) == (1, 3)
    assert [(c.code, c.members) for c in detail.children] == [("BA", 2)]
