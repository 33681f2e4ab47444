"""The sample street's Party organisation (党建网格), with deliberate gaps for the compliance check to find.

Sized by the rules (``gridgov.party.rules.PartyRules`` with its defaults, the one home of the 50/100/3 rule):

* a 社区党委 (or 党总支, as its members call for) per community, built on the community grid; its secretary the
  community's 网格党支部书记 (a staff member), 副书记 and 委员 from its members; a few resident units joined to it
  (大党委, "1+X");
* branches built on the compounds (支部建在网格上): a compound's members dealt evenly into as many 楼院党支部 as keep
  each below the 党总支 threshold; where a compound's members alone would make a branch with fewer volunteers than
  half or more members aged 60+ than half, it shares a 网格党支部 with neighbouring compounds of its community until
  they do not. The first branch of a compound has the compound's 网格党支部书记 (staff) as secretary, others a
  member; 组织委员 and 宣传委员 are members; a single branch has a 楼栋党小组 for each building with five members
  or more (党小组长: a member of it);
* registers for every member (入党日期; 在职: employer and the day they reported to the community; 流动: inflow or
  outflow, where, 活动证 and management mode; 亮身份 consent, always given by office holders), 1–3 联系户 each
  (households of their compound, never one the sample's history moves out or one outside the street), two
  volunteer teams per community with monthly activities, every meeting its organisation owes held on schedule over
  the last twelve months, and a 党员责任区 on every compound.

The deliberate gaps (``PartyGaps``: rule of gridgov.party.check → the organisation, grid, member or team to fix):
one compound without a branch (its members belong to a neighbour's), a branch of 2 members, one community
organisation of the wrong kind for its size, a member linking no household, two 在职 members not reported, one
流动 member without a 活动证, a team of 12, a team without a 4-hour activity last month, a branch whose 支部委员会
is overdue, a compound partly outside every 责任区 and a branch where members aged 60+ exceed half. Dates are
relative to ``end`` (the sample's last day, the day the check is run as of).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from gridgov.party.rules import PartyRules, months_before
from gridgov.sample.formats import CSV_COLUMNS
from gridgov.sample.generate.arrays import STR_DTYPE, IntArr, random_stream
from gridgov.sample.generate.buildings import Buildings
from gridgov.sample.generate.edge_cases import SpecialHouseholds
from gridgov.sample.generate.frame import Frame
from gridgov.sample.generate.geometry import as_multi
from gridgov.sample.generate.grids import Grids, community_display_name
from gridgov.sample.generate.households import Households
from gridgov.sample.generate.identities import person_names, phone_numbers
from gridgov.sample.generate.persons import Persons
from gridgov.sample.generate.writers import CsvWriter, write_gpkg
from gridgov.vocab import (
    PARTY_BRANCH,
    PARTY_COMMITTEE,
    PARTY_DUTIES,
    PARTY_GENERAL_BRANCH,
    PARTY_GROUP,
    VOLUNTEER_TEAM_KINDS,
)

RULES = PartyRules()
BRANCH_SIZE = 40  # members per branch when a compound's members must be split
GROUP_MIN = 5  # members of one building for a 楼栋党小组
MEETING_MONTHS = 12  # meetings held over this many months up to the end date
ACTIVITY_MONTHS = 6
TEAMS_PER_COMMUNITY = 2
VACANT = 2  # households.kind index of 空房户
OFFICE_POSTS = ("组织委员", "宣传委员")
COMMUNITY_POSTS = ("组织委员", "宣传委员", "纪检委员")
NUMERALS = "一二三四五六七八九十"

EMPLOYERS = (
    ("西安交通大学", "西安交通大学党委"), ("陕西省人民医院", "陕西省人民医院党委"),
    ("西安建筑科技大学", "西安建筑科技大学党委"), ("碑林区教育局", "碑林区教育局机关党委"),
    ("陕西建工集团", "陕西建工集团党委"), ("国网西安供电公司", "国网西安供电公司党委"),
    ("西安银行", "西安银行党委"), ("中国移动西安分公司", "中国移动西安分公司党委"),
    ("碑林区人民法院", "碑林区人民法院机关党委"), ("西安市第一医院", "西安市第一医院党委"),
)  # fmt: skip
FLOW_PLACES = ("咸阳市秦都区", "宝鸡市渭滨区", "渭南市临渭区", "汉中市汉台区", "延安市宝塔区", "榆林市榆阳区",
               "安康市汉滨区", "商洛市商州区", "甘肃省天水市", "河南省洛阳市")  # fmt: skip
# Resident units joined to a community's organisation: name, kind, the community (its serial in the street code).
UNITS = (
    ("西安建筑科技大学", "学校", "011"), ("陕西省测绘地理信息局", "机关事业单位", "014"),
    ("西安市第一医院", "医院", "003"), ("中国建设银行西安文艺路支行", "国有企业", "001"),
    ("西安文艺路物业管理有限公司", "非公企业", "002"), ("碑林区文艺路社会工作服务中心", "社会组织", "006"),
)  # fmt: skip
TOPICS = {
    "党员大会": ("学习贯彻党的路线方针政策", "评议党员、发展党员", "讨论楼院重点工作"),
    "支部委员会": ("研究本月工作安排", "研究党员联系户走访", "研究志愿服务活动"),
    "党小组会": ("学习交流", "楼栋情况通报", "联系户走访情况交流"),
    "党课": ("书记讲党课", "党史学习教育", "基层治理专题党课"),
    "组织生活会": ("年度组织生活会暨民主评议党员",),
    "民主生活会": ("领导班子民主生活会",),
    "联席会议": ("大党委联席会议：共驻共建项目", "大党委联席会议：为民服务清单"),
}
TEAM_TITLES = {
    "治安巡逻": ("夜间治安巡逻", "重点时段巡防", "平安楼院巡查"),
    "环境维护": ("楼院环境清扫", "垃圾分类引导", "绿地清理"),
    "扶贫助困": ("困难家庭走访", "爱心物资发放", "帮扶对接"),
    "文明宣传": ("文明创建宣传", "政策宣讲", "反诈宣传"),
    "邻里互助": ("邻里互助日", "便民维修", "代买代办"),
    "为老服务": ("独居老人探访", "助老理发", "老年人健康讲座"),
    "应急救援": ("应急演练", "消防器材检查", "防汛排查"),
}
SHORT_HOURS = (1.5, 2.0, 2.5, 3.0, 3.5)
LONG_HOURS = (4.0, 4.5, 5.0, 6.0)


@dataclass
class Org:
    """One organisation as written to party_orgs.csv; members, secretary and post holders are indices into the
    members array (direct members only)."""

    code: str
    name: str
    kind: str
    form: str
    parent: str | None
    grids: list[str]
    founded: dt.date
    secretary_staff: str | None = None
    secretary_person: int | None = None
    phone: str = ""
    members: list[int] = field(default_factory=list)
    posts: list[tuple[str, int | None, str | None, dt.date]] = field(default_factory=list)  # post, member, staff

    def people(self, orgs: Sequence[Org]) -> list[int]:
        """Members of this organisation and of those below it."""
        return self.members + [p for o in orgs if o.parent == self.code for p in o.people(orgs)]


@dataclass(frozen=True)
class PartySummary:
    """What the Party files hold (counts for sample_meta.json) and the deliberate gaps by rule."""

    counts: dict[str, int]
    gaps: dict[str, list[str]]
    files: list[str]


@dataclass
class _Street:
    """The inputs of the generator, with each Party member's place and traits (arrays over ``members``)."""

    rng: np.random.Generator
    end: dt.date
    grids: Grids
    bld: Buildings
    hh: Households
    persons: Persons
    members: IntArr
    comp: IntArr
    building: IntArr
    counted: np.ndarray
    old: np.ndarray
    volunteer: np.ndarray

    def day(self, first: dt.date, last: dt.date) -> dt.date:
        """A random day in [first, last]."""
        span = max(0, (last - first).days)
        return first + dt.timedelta(days=int(self.rng.integers(0, span + 1)))


def _deal(people: Sequence[int], old: dict[int, bool], vol: dict[int, bool], counted: dict[int, bool],
          k: int) -> list[list[int]]:  # fmt: skip
    """Members dealt into ``k`` branches in turn, older and non-volunteering ones spread evenly."""
    order = sorted(people, key=lambda p: (not counted[p], not old[p], vol[p], p))
    return [order[i::k] for i in range(k)]


def _branches_needed(n: int) -> int:
    return 1 if RULES.expected_kind(n) in (PARTY_BRANCH, PARTY_GROUP) else math.ceil(n / BRANCH_SIZE)


def _fails(branch: Sequence[int], old: dict[int, bool], vol: dict[int, bool], counted: dict[int, bool]) -> float:
    """How far a branch's counted members break the volunteer-share and ageing rules (0: not at all)."""
    n = sum(counted[p] for p in branch)
    if n == 0:
        return 0.0
    olds = sum(old[p] for p in branch if counted[p])
    vols = sum(vol[p] for p in branch if counted[p])
    return max(0.0, olds - RULES.ageing_share * n) + max(0.0, RULES.volunteer_share * n - vols)


def _cluster_fails(people: Sequence[int], old: dict[int, bool], vol: dict[int, bool],
                   counted: dict[int, bool]) -> float:  # fmt: skip
    n = sum(counted[p] for p in people)
    return sum(_fails(b, old, vol, counted) for b in _deal(people, old, vol, counted, _branches_needed(n)))


def generate_party(seed: int, out: Path, grids: Grids, bld: Buildings, hh: Households, persons: Persons,
                   special: SpecialHouseholds, frame: Frame, end: dt.date,
                   moved_out: Iterable[int] = ()) -> PartySummary:  # fmt: skip
    """Write the Party files of the sample street (see the module docstring); ``moved_out``: the households (sorted
    position, as gridgov.sample.changes picks them) the sample's history moves out later."""
    rng = random_stream(seed, "party")
    members = np.flatnonzero(persons.party)
    home = persons.household[members]
    outside = np.isin(hh.codes, np.asarray([o["code"] for o in special.outside], dtype=STR_DTYPE))
    st = _Street(rng, end, grids, bld, hh, persons, members, bld.comp[hh.building[home]], hh.building[home],
                 ~outside[home], persons.age[members] >= RULES.ageing_age, persons.volunteer[members])
    staff = _staff(out)
    gaps: dict[str, list[str]] = {}
    orgs, units = _organise(st, staff, gaps)
    registers = _registers(st, orgs, staff, gaps)
    contacts = _contacts(st, outside, moved_out, gaps)
    teams, team_members, activities = _teams(st, orgs, gaps)
    meetings = _meetings(st, orgs, gaps)
    areas = _duty_areas(st, orgs, frame, gaps)
    code = persons.codes[members]  # a member's person code by member index
    _write(out / "party_orgs.csv", [
        (o.code, o.name, o.kind, o.form, o.parent or "", ";".join(o.grids),
         o.secretary_staff or ("" if o.secretary_person is None else code[o.secretary_person]), o.phone,
         o.founded.isoformat())
        for o in orgs])  # fmt: skip
    _write(out / "party_org_posts.csv", [
        (o.code, post, "" if p is None else code[p], s or "", since.isoformat())
        for o in orgs for post, p, s, since in o.posts])  # fmt: skip
    _write(out / "party_memberships.csv", [(code[p], o.code, since.isoformat()) for o in orgs
                                           for p, since in zip(o.members, _joined(st, o, registers), strict=True)])
    _write(out / "party_registers.csv", [(code[i], *r) for i, r in sorted(registers.items())])
    _write(out / "party_contacts.csv", [(persons.codes[p], hh.codes[h], since.isoformat())
                                        for p, h, since in contacts])
    _write(out / "resident_units.csv", units)
    _write(out / "volunteer_teams.csv", teams)
    _write(out / "volunteer_team_members.csv", team_members)
    _write(out / "volunteer_activities.csv", activities)
    _write(out / "party_meetings.csv", meetings)
    write_gpkg(out / "party_duty_areas.gpkg", "duty_areas",
               {k: [a[i] for a in areas] for i, k in enumerate(("code", "name", "duty", "org_code", "person_codes",
                                                                 "valid_from"))},
               [a[-1] for a in areas], "MultiPolygon")  # fmt: skip
    counts = {
        "party_orgs": len(orgs), "party_committees": sum(o.kind == PARTY_COMMITTEE for o in orgs),
        "party_general_branches": sum(o.kind == PARTY_GENERAL_BRANCH for o in orgs),
        "party_branches": sum(o.kind == PARTY_BRANCH for o in orgs),
        "party_groups": sum(o.kind == PARTY_GROUP for o in orgs),
        "party_posts": sum(len(o.posts) for o in orgs), "party_memberships": sum(len(o.members) for o in orgs),
        "party_registers": len(registers), "party_contacts": len(contacts), "resident_units": len(units),
        "volunteer_teams": len(teams), "volunteer_team_members": len(team_members),
        "volunteer_activities": len(activities), "party_meetings": len(meetings), "party_duty_areas": len(areas),
    }  # fmt: skip
    files = [*(f for f in CSV_COLUMNS if f.startswith(("party_", "resident_", "volunteer_"))),
             "party_duty_areas.gpkg"]  # fmt: skip
    return PartySummary(counts, {k: sorted(v) for k, v in sorted(gaps.items())}, files)


def _write(path: Path, rows: Sequence[Sequence[object]]) -> None:
    """One of the Party CSV files (columns from gridgov.sample.formats)."""
    header = CSV_COLUMNS[path.name]
    w = CsvWriter(path, header)
    cols = [np.asarray([str(r[i]) for r in rows], dtype=STR_DTYPE) for i in range(len(header))]
    w.write(cols)
    w.close()


def _staff(out: Path) -> dict[tuple[str, str], str]:
    """(grid code, role) → the first staff code holding it, and ("phone", code) → phone, from staff.csv."""
    found: dict[tuple[str, str], str] = {}
    with (out / "staff.csv").open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            found.setdefault((r["grid_code"], r["role"]), r["staff_code"])
            found[("phone", r["staff_code"])] = r["phone"]
    return found


# ------------------------------------------------------------------------------------------------ organisations


def _organise(st: _Street, staff: dict[tuple[str, str], str],
              gaps: dict[str, list[str]]) -> tuple[list[Org], list[tuple[object, ...]]]:  # fmt: skip
    """Community organisations, branches and groups with their members and posts; the resident units."""
    g, rng, end = st.grids, st.rng, st.end
    by_comp: dict[int, list[int]] = {}
    for i, k in enumerate(st.comp.tolist()):
        by_comp.setdefault(k, []).append(i)
    old = {i: bool(st.old[i]) for i in range(len(st.members))}
    vol = {i: bool(st.volunteer[i]) for i in range(len(st.members))}
    counted = {i: bool(st.counted[i]) for i in range(len(st.members))}
    n_comp = {k: sum(counted[i] for i in v) for k, v in by_comp.items()}
    tree = shapely.STRtree(g.comp_m)
    neighbours = {k: {int(j) for j in tree.query(g.comp_m[k], predicate="intersects")
                      if j != k and g.comp_comm[j] == g.comp_comm[k]} for k in range(len(g.comp_codes))}  # fmt: skip
    # the gaps among the branches: a compound without one, a branch of 2, an ageing branch
    comps = sorted(by_comp)
    bare = min((k for k in comps if neighbours[k] & set(comps)), key=lambda k: (n_comp[k], k), default=-1)
    host = min(neighbours[bare] & set(comps)) if bare >= 0 else -1
    biggest = max(comps, key=lambda k: (n_comp[k], -k))
    pair = [i for i in by_comp[biggest] if counted[i] and not old[i] and vol[i]][:2]
    if len(pair) < 2:  # a small sample: no branch of 2
        biggest, pair = -1, []
    else:
        by_comp[biggest] = [i for i in by_comp[biggest] if i not in pair]

    def share(k: int, trait: dict[int, bool]) -> float:
        return sum(trait[i] for i in by_comp[k] if counted[i]) / max(1, n_comp[k])

    ageing = max((k for k in comps if k not in (bare, host, biggest)
                  and 15 <= n_comp[k] < RULES.general_branch_min and share(k, vol) >= RULES.volunteer_share),
                 key=lambda k: (share(k, old), -k), default=-1)  # fmt: skip
    if ageing >= 0 and share(ageing, old) <= RULES.ageing_share:  # no compound is ageing enough for the gap
        ageing = -1
    orgs: list[Org] = []
    units: list[tuple[object, ...]] = []
    busy: set[int] = set()  # members holding a post already
    size = {c: sum(n_comp[k] for k in comps if g.comp_comm[k] == c) for c in range(len(g.comm_codes))}
    smallest = min(size, key=lambda c: (size[c], c))
    for c, comm_code in enumerate(g.comm_codes):
        comm = community_display_name(g.comm_names[c])
        mine = [k for k in comps if g.comp_comm[k] == c]
        kind = RULES.expected_kind(size[c])
        if c == smallest:  # the organisation of the wrong kind for its size
            kind = PARTY_GENERAL_BRANCH if kind == PARTY_COMMITTEE else PARTY_COMMITTEE
            gaps["org_form"] = [f"DJ{comm_code}"]
        top = Org(f"DJ{comm_code}", f"中共{comm}{kind}", kind, "社区党组织", None, [comm_code],
                  st.day(dt.date(2010, 1, 1), dt.date(2016, 12, 31)),
                  secretary_staff=staff.get((comm_code, "网格党支部书记")), phone=f"029-8{rng.integers(0, 10**7):07d}")
        orgs.append(top)
        serial = 0
        for cluster in _clusters(mine, by_comp, neighbours, bare, host, ageing, old, vol, counted):
            built = [k for k in cluster if k != bare]
            people = sorted(i for k in cluster for i in by_comp[k])
            parts = _deal(people, old, vol, counted, _branches_needed(sum(counted[i] for i in people)))
            base = g.comp_names[built[0]] + ("片区" if len(built) > 1 else "")
            for j, part in enumerate(parts):
                serial += 1
                number = "" if len(parts) == 1 else f"第{NUMERALS[j]}"
                b = Org(f"DJ{comm_code}-{serial:02d}", f"{base}{number}党支部", PARTY_BRANCH,
                        "网格党支部" if len(built) > 1 else "楼院党支部", top.code, [g.comp_codes[k] for k in built],
                        st.day(dt.date(2012, 1, 1), dt.date(2022, 12, 31)), members=sorted(part))  # fmt: skip
                if j == 0:
                    b.secretary_staff = staff.get((g.comp_codes[built[0]], "网格党支部书记"))
                else:
                    b.secretary_person = _officer(st, b.members, counted, busy)
                orgs.append(b)
                if ageing in cluster:
                    gaps["ageing"] = [b.code]
                if len(parts) == 1:
                    orgs.extend(_groups(st, b, counted, busy))
            if bare in cluster:
                gaps["grid_branch"] = [g.comp_codes[bare]]
        if biggest in mine:  # the branch of 2 (a 两新 organisation's, founded this year)
            serial += 1
            two = Org(f"DJ{comm_code}-{serial:02d}", f"{g.comp_names[biggest]}物业服务中心党支部", PARTY_BRANCH,
                      "两新党组织", top.code, [g.comp_codes[biggest]], dt.date(end.year, 3, 1), members=pair,
                      secretary_person=pair[0])  # fmt: skip
            busy.add(pair[0])
            orgs.append(two)
            gaps["branch_min"] = [two.code]
        units += _units(st, c, top)
    _posts(st, orgs, staff, counted, busy)
    return orgs, units


def _clusters(mine: list[int], by_comp: dict[int, list[int]], neighbours: dict[int, set[int]], bare: int,
              host: int, ageing: int, old: dict[int, bool], vol: dict[int, bool],
              counted: dict[int, bool]) -> list[list[int]]:  # fmt: skip
    """The community's compounds grouped so that each group's branches keep the volunteer-share and ageing rules:
    a failing group joins the neighbouring (else any) group that fixes it best. The compound without a branch
    starts in its host's group; the ageing one stays alone."""
    clusters: list[list[int]] = [[k] + ([bare] if k == host else []) for k in mine if k != bare]

    def people(c: list[int]) -> list[int]:
        return [i for k in c for i in by_comp[k]]

    while True:
        failing = [c for c in clusters if ageing not in c and _cluster_fails(people(c), old, vol, counted) > 0]
        if not failing:
            return sorted((sorted(c, key=lambda k: (k == bare, k)) for c in clusters), key=lambda c: c[0])
        worst = max(failing, key=lambda c: (_cluster_fails(people(c), old, vol, counted), -c[0]))
        others = [c for c in clusters if c is not worst and ageing not in c]
        if not others:  # a small sample's community may fail the rules as a whole
            return sorted((sorted(c, key=lambda k: (k == bare, k)) for c in clusters), key=lambda c: c[0])
        near = {j for k in worst for j in neighbours[k]}
        best = min(others, key=lambda c: (_cluster_fails(people(worst + c), old, vol, counted), not near & set(c),
                                          len(people(c)), c[0]))  # fmt: skip
        clusters = [c for c in clusters if c is not worst and c is not best] + [worst + best]


def _officer(st: _Street, people: Sequence[int], counted: dict[int, bool], busy: set[int]) -> int:
    """A member to hold a post (marked busy): one of working age with a phone and no other post, volunteering
    first, drawn at random among the best."""
    age = st.persons.age[st.members]
    phone = st.persons.phones[st.members]

    def rank(p: int) -> tuple[bool, bool, bool]:
        return p in busy, not (counted[p] and 30 <= age[p] <= 68 and len(str(phone[p])) > 0), not st.volunteer[p]

    best = min(rank(p) for p in people)
    pick = int(st.rng.choice([p for p in people if rank(p) == best]))
    busy.add(pick)
    return pick


def _groups(st: _Street, branch: Org, counted: dict[int, bool], busy: set[int]) -> list[Org]:
    """楼栋党小组 under a branch (three at most): the branch's members of each building with ``GROUP_MIN`` or
    more of them."""
    by_building: dict[int, list[int]] = {}
    for p in branch.members:
        by_building.setdefault(int(st.building[p]), []).append(p)
    out: list[Org] = []
    for b, people in sorted(by_building.items()):
        if len(people) < GROUP_MIN or len(out) >= 3:
            continue
        name = f"{st.grids.comp_names[st.bld.comp[b]]}{int(st.bld.serial[b])}号楼党小组"
        group = Org(f"{branch.code}-{len(out) + 1:02d}", name, PARTY_GROUP, "楼栋党小组", branch.code, [],
                    st.day(branch.founded, dt.date(2023, 12, 31)), members=people)  # fmt: skip
        group.posts.append(("党小组长", _officer(st, people, counted, busy), None, group.founded))
        branch.members = [p for p in branch.members if p not in people]
        out.append(group)
    return out


def _posts(st: _Street, orgs: list[Org], staff: dict[tuple[str, str], str], counted: dict[int, bool],
           busy: set[int]) -> None:  # fmt: skip
    """书记 (the secretary) and the committee of every community organisation and branch."""
    for o in orgs:
        if o.kind == PARTY_GROUP:
            continue
        since = st.day(max(o.founded, dt.date(2021, 1, 1)), dt.date(2024, 6, 30))
        if o.secretary_staff or o.secretary_person is not None:
            o.posts.append(("书记", o.secretary_person, o.secretary_staff, since))
        people = o.people(orgs)
        if o.kind != PARTY_BRANCH:
            deputy = staff.get((o.grids[0], "网格长"))
            if deputy and deputy != o.secretary_staff:
                o.posts.append(("副书记", None, deputy, since))
        wanted = COMMUNITY_POSTS if o.kind != PARTY_BRANCH else OFFICE_POSTS if len(people) >= 7 else ()
        for post in wanted:
            o.posts.append((post, _officer(st, people, counted, busy), None, since))


def _units(st: _Street, c: int, top: Org) -> list[tuple[object, ...]]:
    """The resident units of community ``c``, joined to its organisation (UNITS; none in a street without it)."""
    out: list[tuple[object, ...]] = []
    for n, (name, kind, serial) in enumerate(UNITS):
        if st.grids.comm_codes[c][-3:] != serial:
            continue
        comps = np.flatnonzero(st.grids.comp_comm == c)
        footprints = np.flatnonzero(np.isin(st.bld.comp, comps) & ~st.bld.is_point)
        if len(footprints) == 0:
            continue
        b = int(footprints[st.rng.integers(len(footprints))])
        p = shapely.get_coordinates(st.bld.geom_ll[b].centroid)[0]
        contact, _ = person_names(st.rng, 1, np.array([st.rng.random() < 0.5]))
        phone = phone_numbers(st.rng, np.array([90_000_000 + n], dtype=np.int64))
        out.append((f"DW{top.grids[0]}-{n + 1:02d}", name, kind, st.grids.comp_addr[st.bld.comp[b]], f"{p[0]:.7f}",
                    f"{p[1]:.7f}", contact[0], phone[0], "0" if kind == "社会组织" else "1", top.code,
                    st.day(dt.date(2018, 1, 1), dt.date(2023, 12, 31)).isoformat()))  # fmt: skip
    return out


# ------------------------------------------------------------------------------------------------ registers


def _registers(st: _Street, orgs: list[Org], staff: dict[tuple[str, str], str],
               gaps: dict[str, list[str]]) -> dict[int, tuple[str, ...]]:  # fmt: skip
    """Each member's register row (member index → the columns after person_code)."""
    rng, end, pers = st.rng, st.end, st.persons
    officers = {p for o in orgs for _, p, _, _ in o.posts if p is not None}
    staff_phones = {staff[("phone", s)] for o in orgs for _, _, s, _ in o.posts if s}
    types = pers.member_type[st.members]
    phones = pers.phones[st.members]
    working = [i for i in range(len(st.members)) if types[i] == "在职" and st.counted[i] and i not in officers]
    flowing = [i for i in range(len(st.members)) if types[i] == "流动" and st.counted[i]]
    unreported = {int(i) for i in rng.choice(working, min(2, len(working)), replace=False)}
    uncertified = int(rng.choice(flowing)) if flowing else -1
    if unreported:
        gaps["reported"] = [str(pers.codes[st.members[i]]) for i in unreported]
    if flowing:
        gaps["flow_certificate"] = [str(pers.codes[st.members[uncertified]])]
    out: dict[int, tuple[str, ...]] = {}
    for i, p in enumerate(st.members.tolist()):
        age = int(pers.age[p])
        year = min(end.year - 1, end.year - age + 18 + int(rng.integers(0, max(1, age - 18))))
        joined = st.day(dt.date(year, 1, 1), dt.date(year, 12, 31))
        employer = employer_org = reported = flow = place = number = issued = mode = ""
        if types[i] == "在职":
            employer, employer_org = EMPLOYERS[int(rng.integers(len(EMPLOYERS)))]
            if i not in unreported:
                reported = st.day(dt.date(2019, 1, 1), end - dt.timedelta(days=20)).isoformat()
        elif types[i] == "流动":
            flow = "流入" if rng.random() < 0.7 else "流出"
            place = FLOW_PLACES[int(rng.integers(len(FLOW_PLACES)))]
            mode = ("直管", "代管", "协管")[int(rng.integers(3))]
            if i != uncertified:
                issued_on = st.day(dt.date(2023, 1, 1), end - dt.timedelta(days=30))
                number, issued = f"LD{issued_on.year}{i:05d}", issued_on.isoformat()
        shown = i in officers or (len(str(phones[i])) > 0 and str(phones[i]) in staff_phones) or rng.random() < 0.55
        out[i] = (joined.isoformat(), employer, employer_org, reported, flow, place, number, issued, mode,
                  "1" if shown else "0")  # fmt: skip
    return out


def _joined(st: _Street, org: Org, registers: dict[int, tuple[str, ...]]) -> list[dt.date]:
    """The day each member of ``org`` joined it: after the organisation was founded and they joined the Party."""
    return [min(max(org.founded, dt.date.fromisoformat(registers[p][0])) + dt.timedelta(days=30),
                st.end - dt.timedelta(days=1)) for p in org.members]  # fmt: skip


def _contacts(st: _Street, outside: np.ndarray, moved_out: Iterable[int],
              gaps: dict[str, list[str]]) -> list[tuple[int, int, dt.date]]:  # fmt: skip
    """1–3 households of the member's compound each (person index, household index, since); one member none."""
    rng, hh = st.rng, st.hh
    later_gone = np.zeros(len(hh.codes), dtype=bool)
    order = np.argsort(hh.codes)
    later_gone[order[[n for n in moved_out if n < len(order)]]] = True
    hcomp = st.bld.comp[hh.building]
    start = np.searchsorted(hcomp, np.arange(len(st.grids.comp_codes)))
    stop = np.searchsorted(hcomp, np.arange(len(st.grids.comp_codes)), side="right")
    home = st.persons.household[st.members]
    none = int(rng.choice(np.flatnonzero(st.counted)))
    gaps["contacts"] = [str(st.persons.codes[st.members[none]])]
    want = rng.choice(np.array([1, 2, 3]), size=len(st.members), p=[0.4, 0.35, 0.25])
    out: list[tuple[int, int, dt.date]] = []
    for i, p in enumerate(st.members.tolist()):
        if i == none:
            continue
        lo, hi = start[st.comp[i]], stop[st.comp[i]]
        cand = lo + (rng.random(8) * (hi - lo)).astype(np.int64)
        picked: list[int] = []
        for h in cand.tolist():
            if h != home[i] and hh.kind[h] != VACANT and not outside[h] and not later_gone[h] and h not in picked:
                picked.append(h)
            if len(picked) == want[i]:
                break
        for h in sorted(picked or [int(home[i])]):
            out.append((p, h, st.day(dt.date(2024, 1, 1), st.end - dt.timedelta(days=30))))
    return out


# ------------------------------------------------------------------------------------------------ activity


def _teams(st: _Street, orgs: list[Org], gaps: dict[str, list[str]]
           ) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]:  # fmt: skip
    """Volunteer teams per community (volunteers living there, a Party member leading), and their activities."""
    rng, end, pers, g = st.rng, st.end, st.persons, st.grids
    kinds = [k for k in VOLUNTEER_TEAM_KINDS.terms if k in TEAM_TITLES]
    home_comp = st.bld.comp[st.hh.building[pers.household]]
    able = pers.volunteer & (pers.age >= 18) & (pers.age <= 75)
    teams: list[tuple[object, ...]] = []
    people: list[tuple[object, ...]] = []
    acts: list[tuple[object, ...]] = []
    checked = months_before(end.replace(day=1), 1)  # the month the check looks at
    small, idle = 0, 1 + TEAMS_PER_COMMUNITY  # the team of 12 (first community), the idle one (second)
    for c, comm_code in enumerate(g.comm_codes):
        top = next(o for o in orgs if o.code == f"DJ{comm_code}")
        pool = np.flatnonzero(able & (g.comp_comm[home_comp] == c))
        party = pool[pers.party[pool]]
        if len(party) == 0:
            continue
        for j, kind in enumerate(rng.choice(kinds, TEAMS_PER_COMMUNITY, replace=False).tolist()):
            n = len(teams)
            code = f"ZY{comm_code}-{j + 1:02d}"
            size = min(len(pool), 12 if n == small else int(rng.integers(RULES.team_min + 1, 29)))
            leader = int(party[rng.integers(len(party))])
            chosen = [leader] + [int(x) for x in rng.choice(pool[pool != leader], size - 1, replace=False)]
            founded = st.day(dt.date(2018, 1, 1), dt.date(2024, 12, 31))
            teams.append((code, f"{community_display_name(g.comm_names[c])}{kind}志愿服务队", kind, comm_code,
                          top.code, pers.codes[leader], founded.isoformat()))  # fmt: skip
            people += [(code, pers.codes[p], st.day(founded, end - dt.timedelta(days=60)).isoformat())
                       for p in sorted(chosen)]
            if n == small:
                gaps["team_size"] = [code]
            if n == idle:
                gaps["team_activity"] = [code]
            for back in range(ACTIVITY_MONTHS - 1, -1, -1):
                month = months_before(end.replace(day=1), back)
                last = min(end, months_before(month, -1) - dt.timedelta(days=1))
                for a in range(int(rng.integers(1, 4))):
                    short = a > 0 or (n == idle and month == checked)
                    hours = (SHORT_HOURS if short else LONG_HOURS)[int(rng.integers(len(SHORT_HOURS if short
                                                                                         else LONG_HOURS)))]
                    acts.append((code, st.day(month, last).isoformat(), f"{hours:.1f}",
                                 TEAM_TITLES[kind][int(rng.integers(len(TEAM_TITLES[kind])))],
                                 int(rng.integers(max(3, size // 3), size + 1))))  # fmt: skip
    return teams, people, acts


def _meetings(st: _Street, orgs: list[Org], gaps: dict[str, list[str]]) -> list[tuple[object, ...]]:
    """Every meeting each organisation owes (PartyRules.meetings_due, and the 大党委's 联席会议 quarterly), held
    on schedule over the last ``MEETING_MONTHS`` months; one branch's 支部委员会 not since two months."""
    rng, end = st.rng, st.end
    branches = [o for o in orgs if o.kind == PARTY_BRANCH and len(o.members) >= 7
                and o.code not in gaps.get("ageing", [])]  # fmt: skip
    late = branches[len(branches) // 2].code if branches else ""
    if late:
        gaps["meetings"] = [late]
    out: list[tuple[object, ...]] = []
    for o in orgs:
        due = dict(RULES.meetings_due(o.kind))
        if o.kind in (PARTY_COMMITTEE, PARTY_GENERAL_BRANCH):
            due["联席会议"] = 3
        people = len(o.people(orgs))
        committee = max(1, sum(1 for post, *_ in o.posts if post != "党小组长"))
        for kind, every in due.items():
            shift = 0 if every <= 3 else 3  # monthly, quarterly: held this month; others 3 (and 9) months back
            for back in range(MEETING_MONTHS - 1, -1, -1):
                if (back + shift) % every or (o.code == late and kind == "支部委员会" and back < 2):
                    continue
                month = months_before(end.replace(day=1), back)
                held = st.day(month, min(end, month.replace(day=25)))
                if held < o.founded:
                    continue
                wanted = committee if kind in ("支部委员会", "民主生活会") else people
                came = max(1, wanted - int(rng.integers(0, max(1, wanted // 6) + 1)))
                topic = TOPICS[kind][int(rng.integers(len(TOPICS[kind])))]
                out.append((o.code, kind, held.isoformat(), topic, came, wanted))
    return out


def _duty_areas(st: _Street, orgs: list[Org], frame: Frame, gaps: dict[str, list[str]]) -> list[tuple[object, ...]]:
    """A 党员责任区 on every compound (its whole area; one compound's without its north-east corner)."""
    g, rng = st.grids, st.rng
    duties = [d for d in PARTY_DUTIES.terms if d != "其他"]
    whole = as_multi(g.comp_ll)
    built = {k: o for o in reversed(orgs) if o.kind == PARTY_BRANCH for k in o.grids}
    holder = {int(st.comp[p]): o for o in orgs for p in o.members}
    skip = set(gaps.get("grid_branch", []))
    part = next((k for k in range(len(g.comp_codes)) if g.comp_codes[k] not in skip and k % 7 == 5), 0)
    gaps["duty_area"] = [g.comp_codes[part]]
    out: list[tuple[object, ...]] = []
    for k, code in enumerate(g.comp_codes):
        org = built.get(code) or holder.get(k)
        geom = whole[k]
        if k == part:
            x0, y0, x1, y1 = g.comp_m[k].bounds
            cut = g.comp_m[k].difference(shapely.box(x0 + 0.6 * (x1 - x0), y0 + 0.6 * (y1 - y0), x1 + 1, y1 + 1))
            geom = as_multi(frame.geoms_to_lonlat(np.asarray([shapely.make_valid(cut)], dtype=object)))[0]
        here = [i for i in range(len(st.members)) if st.comp[i] == k and st.counted[i]]
        chosen = sorted(here, key=lambda i: (not st.volunteer[i], i))[: int(rng.integers(1, 4))]
        out.append((f"ZR{code}", f"{g.comp_names[k]}党员责任区", duties[int(rng.integers(len(duties)))],
                    org.code if org else "", ";".join(str(st.persons.codes[st.members[i]]) for i in chosen),
                    st.day(dt.date(2024, 1, 1), dt.date(2025, 6, 30)).isoformat(), geom))  # fmt: skip
    return out
