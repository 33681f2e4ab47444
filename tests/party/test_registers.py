"""Members' registers (gridgov.party.registers): 在职报到, 流动党员, 亮身份; the lists of members not reported and of
flowing members; personal data only in scope, every read logged."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.errors import Forbidden, InvalidInput, NotFound
from gridgov.party import members, registers

from tests.party.test_check import _members
from tests.party.test_orgs import ADMIN, COMMUNITY, OTHER, codes_of, scoped, street  # noqa: F401 - the fixture


def test_registers_are_set_and_listed(street: Engine) -> None:  # noqa: F811
    with Session(street) as s, s.begin():
        working = codes_of(s, _members(s, "A", 3, prefix="W", member_type="在职"))
        flowing = codes_of(s, _members(s, "B", 2, prefix="F", member_type="流动"))
        east = codes_of(s, _members(s, "C", 1, prefix="E", member_type="在职"))
        done = registers.set_register(s, working[0], {"employer": "市统计局", "employer_org": "市统计局机关党委",
                                                      "reported_on": dt.date(2025, 3, 1), "shows_identity": "是",
                                                      "joined_party_on": "1999-07-01"}, ADMIN)  # fmt: skip
        registers.set_register(s, flowing[0], {"flow": "流入", "flow_place": "河南省郑州市", "certificate_no": "HD-1",
                                               "certificate_on": "2025-01-10", "flow_mode": "代管"}, ADMIN)  # fmt: skip
        registers.set_register(s, working[1], {"flow": "流出", "flow_place": "深圳"}, ADMIN)
        again = registers.set_register(s, working[0], {"employer": ""}, ADMIN)
        with pytest.raises(InvalidInput, match="流动方向：未知的取值 外出"):
            registers.set_register(s, working[2], {"flow": "外出"}, ADMIN)
        with pytest.raises(InvalidInput, match="到社区报到日期不能晚于今天"):
            registers.set_register(s, working[2], {"reported_on": dt.date.today() + dt.timedelta(days=1)}, ADMIN)
        comm1 = scoped(s, "community", COMMUNITY)
        missing = [r.person_code for r in registers.unreported(s, comm1)]
        everywhere = [r.person_code for r in registers.unreported(s, ADMIN)]
        flows = {r.person_code: (r.flow, r.certified) for r in registers.flowing(s, comm1)}
        inflow = [r.person_code for r in registers.flowing(s, comm1, flow="流入")]
        logged = s.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'view' "
                               "AND table_name = 'party_register'"))
    assert (done.employer, done.reported_on, done.shows_identity, done.joined_party_on) == \
        ("市统计局", dt.date(2025, 3, 1), True, dt.date(1999, 7, 1))
    assert again.employer is None and again.employer_org == "市统计局机关党委"
    assert missing == working[1:] and everywhere == [*working[1:], *east]
    assert flows == {working[1]: ("流出", False), flowing[0]: ("流入", True), flowing[1]: (None, False)}
    assert inflow == [flowing[0]] and logged == 4


def test_registers_are_personal_data_in_scope(street: Engine) -> None:  # noqa: F811
    with Session(street) as s, s.begin():
        [who] = codes_of(s, _members(s, "A", 1, prefix="W", member_type="在职"))
        s.execute(text("INSERT INTO person (code, household_id, name) SELECT 'NP', household_id, '群众' FROM person "
                       "WHERE code = :c"), {"c": who})  # fmt: skip
        comm2 = scoped(s, "community", OTHER)
        with pytest.raises(Forbidden):
            registers.set_register(s, who, {"employer": "某单位"}, comm2)
        with pytest.raises(Forbidden):
            registers.get_register(s, who, comm2)
        with pytest.raises(Forbidden):
            registers.unreported(s, scoped(s, "viewer", None))
        with pytest.raises(Forbidden):
            registers.unreported(s, comm2, parent=COMMUNITY)
        with pytest.raises(InvalidInput, match="不是党员"):
            registers.set_register(s, "NP", {"employer": "某单位"}, ADMIN)
        with pytest.raises(NotFound, match="不是党员"):
            members.member_profile(s, "NP", ADMIN)
        with pytest.raises(Forbidden):  # out of scope comes first, whether a member or not
            members.member_profile(s, "NP", comm2)
        profile = members.member_profile(s, who, scoped(s, "grid", "610103006001001"), page="/party/members")
        listed, total = members.list_members(s, ADMIN, show="unreported")
    assert profile.member.code == who and profile.register.member_type == "在职" and profile.memberships == []
    assert [m.code for m in listed] == [who] and total == 1
