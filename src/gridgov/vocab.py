"""The vocabulary, in one home: every word gridgov stores or shows, its Chinese label, order and synonyms.

Python imports these, SQL receives them as parameters (or CHECKs built from them in ``db.models``), and the
browser reads them from ``GET /api/meta``. Each list is a :class:`Vocabulary` (terms in their customary
order, labels, accepted synonyms), so a later release can load extra terms and synonyms per city from data
without changing the code that uses them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Vocabulary:
    """Terms in their customary order, a label for each (the term itself unless given), and synonyms."""

    name: str
    label: str
    terms: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    synonyms: Mapping[str, str] = field(default_factory=dict)  # accepted spelling → term

    def __iter__(self) -> Any:
        return iter(self.terms)

    def __contains__(self, term: object) -> bool:
        return term in self.terms

    def label_of(self, term: str) -> str:
        """The Chinese label of a term."""
        return self.labels.get(term, term)

    def canonical(self, value: str) -> str | None:
        """The term a spelling stands for (the term itself or a synonym), or None when unknown."""
        value = value.strip()
        return value if value in self.terms else self.synonyms.get(value)

    def as_dict(self) -> dict[str, Any]:
        """JSON form for ``/api/meta``."""
        return {"label": self.label, "terms": [{"term": t, "label": self.label_of(t)} for t in self.terms],
                "synonyms": dict(self.synonyms)}  # fmt: skip


# Grid levels, top down; a level's parent is the one above it.
GRID_LEVELS = Vocabulary(
    "levels", "网格层级", ("street", "community", "compound", "building"),
    labels={"street": "街道", "community": "社区", "compound": "楼院", "building": "楼栋"},
    synonyms={"街道": "street", "乡镇": "street", "社区": "community", "村": "community", "楼院": "compound",
              "网格": "compound", "小区": "compound", "院落": "compound", "楼栋": "building"},
)  # fmt: skip
LEVELS = GRID_LEVELS.terms
LEVEL_ZH = dict(GRID_LEVELS.labels)
PARENT_LEVEL = dict(zip(LEVELS[1:], LEVELS[:-1], strict=True))
CHILD_LEVEL = dict(zip(LEVELS[:-1], LEVELS[1:], strict=True))
# Levels whose Party organisation is sized by membership (党委 / 党总支 / 党支部); below, 党支部 or 党小组.
ORGANISATION_LEVELS = LEVELS[:2]

# Staff roles on a grid, in the order boards, ledgers and popups list them.
# The field's posts beyond the core team (医护, 宣传, 计生, 法律, 调解, 协管) and the names streets use for them.
STAFF_ROLES = Vocabulary(
    "staff_roles", "网格工作人员角色",
    ("网格长", "网格党支部书记", "网格员", "网格警员", "网格消防员", "环境管理员", "网格督导员", "网格医护员",
     "文化宣传员", "计生管理员", "法律咨询员", "调解员", "协管员", "党小组长", "楼栋长"),
    synonyms={"网格管理员": "网格员", "专职网格员": "网格员", "兼职网格员": "网格员", "网格警察": "网格警员",
              "社区民警": "网格警员", "网格指导员": "网格督导员", "家庭医生": "网格医护员", "医护员": "网格医护员",
              "宣传员": "文化宣传员", "计生专干": "计生管理员", "法律顾问": "法律咨询员", "人民调解员": "调解员",
              "楼长": "楼栋长", "单元长": "楼栋长"},
)  # fmt: skip
STAFF_ROLE_ORDER = STAFF_ROLES.terms
# What is public is what the 公示 board shows: the grid's working staff, with names and phones. The Party and
# building posts (网格党支部书记, 党小组长, 楼栋长) are mostly held by residents: their names and phones are
# personal data, shown only to roles whose scope covers their grid (as in the Party layer of the grid map).
PUBLIC_STAFF_ROLES = ("网格长", "网格员", "网格警员", "网格消防员", "环境管理员", "网格督导员", "网格医护员",
                      "文化宣传员", "计生管理员", "法律咨询员", "调解员", "协管员")  # fmt: skip
PARTY_STAFF_ROLES = ("网格党支部书记", "党小组长", "楼栋长")

HOUSEHOLD_KINDS = Vocabulary(
    "household_kinds", "户籍类型", ("常住户", "租房户", "空房户", "底商"),
    synonyms={"常住": "常住户", "自住": "常住户", "租住": "租房户", "出租": "租房户", "租户": "租房户",
              "空房": "空房户", "空置": "空房户", "商户": "底商", "商铺": "底商"},
)  # fmt: skip
MEMBER_TYPES = Vocabulary(
    "member_types", "党员类型", ("在职", "离退休", "流动", "下岗失业", "普通居民"),
    synonyms={"退休": "离退休", "离休": "离退休", "流动党员": "流动", "失业": "下岗失业"},
)  # fmt: skip
SEXES = Vocabulary("sexes", "性别", ("男", "女"), synonyms={"男性": "男", "女性": "女"})

# Tags on residents (特殊人群, 重点人群, 关爱对象): personal data, shown only to staff in scope.
PERSON_TAGS = Vocabulary(
    "person_tags", "人员标签",
    ("低保户", "特困人员", "残疾人", "独居老人", "空巢老人", "高龄老人", "留守儿童", "困境儿童", "失独家庭",
     "退役军人", "优抚对象", "刑满释放人员", "社区矫正对象", "吸毒人员", "严重精神障碍患者", "重点上访人员",
     "重点关注", "孕产妇", "慢性病患者"),
    synonyms={"低保": "低保户", "五保户": "特困人员", "残疾": "残疾人", "独居": "独居老人", "空巢": "空巢老人",
              "军属": "优抚对象", "烈属": "优抚对象", "社区矫正人员": "社区矫正对象", "矫正人员": "社区矫正对象",
              "安置帮教人员": "刑满释放人员", "精神障碍患者": "严重精神障碍患者",
              "肇事肇祸精神病人": "严重精神障碍患者",
              "退伍军人": "退役军人", "上访人员": "重点上访人员", "重点人员": "重点关注"},
)  # fmt: skip
# Incident categories (大类), in the shape of the 数字城管 standard and local practice.
INCIDENT_CATEGORIES = Vocabulary(
    "incident_categories", "事件类别",
    ("市容环境", "宣传广告", "施工管理", "街面秩序", "突发事件", "园林绿化", "治安隐患", "矛盾纠纷", "民生服务",
     "消防安全", "其他"),
    synonyms={"环境卫生": "市容环境", "市容": "市容环境", "广告": "宣传广告", "施工": "施工管理",
              "街面": "街面秩序", "占道经营": "街面秩序", "突发": "突发事件", "绿化": "园林绿化",
              "治安": "治安隐患", "安全隐患": "治安隐患", "纠纷": "矛盾纠纷", "矛盾": "矛盾纠纷",
              "民生": "民生服务", "便民服务": "民生服务", "消防": "消防安全"},
)  # fmt: skip

# Small categories (小类) per 大类: a case names "大类/小类" or the 大类 alone. Seeded with the common 数字城管 and
# 综治 items; the street may add its own (vocabulary "incident_subcategories", terms written "大类/小类").
INCIDENT_SUBCATEGORIES = Vocabulary(
    "incident_subcategories", "事件小类",
    ("市容环境/暴露垃圾", "市容环境/积存垃圾渣土", "市容环境/道路不洁", "市容环境/乱堆物料", "市容环境/私搭乱建",
     "市容环境/油烟污染", "宣传广告/非法小广告", "宣传广告/违规户外广告", "施工管理/施工扰民", "施工管理/道路破损",
     "施工管理/工地扬尘", "街面秩序/占道经营", "街面秩序/店外经营", "街面秩序/乱停车辆", "街面秩序/共享单车乱放",
     "突发事件/路面塌陷", "突发事件/积水", "突发事件/燃气泄漏", "园林绿化/树木倒伏", "园林绿化/绿地脏乱",
     "治安隐患/可疑人员", "治安隐患/群租房", "治安隐患/防盗设施损坏", "矛盾纠纷/邻里纠纷", "矛盾纠纷/物业纠纷",
     "矛盾纠纷/劳资纠纷", "民生服务/井盖缺失", "民生服务/路灯不亮", "民生服务/供水供暖", "民生服务/求助",
     "消防安全/消防通道堵塞", "消防安全/电动车违规充电", "消防安全/楼道堆物"),
)  # fmt: skip
# The vocabularies an administrator may extend (terms and synonyms kept in ``vocab_term``; see gridgov.terms).
CONFIGURABLE = ("staff_roles", "household_kinds", "person_tags", "incident_categories", "incident_subcategories")

# An incident's status is the last step done; the step it waits for is ``INCIDENT_WAITING[status]``.
# 挂账: accepted but cannot be solved now (reviewed on a date); 作废: not accepted (不予立案).
INCIDENT_STATUSES = Vocabulary(
    "incident_statuses", "事件状态", ("上报", "立案", "派遣", "处置", "核查", "结案", "挂账", "作废"),
    synonyms={"待受理": "上报", "已立案": "立案", "已派遣": "派遣", "处置中": "派遣", "已处置": "处置",
              "已核查": "核查", "已结案": "结案", "办结": "结案", "不予立案": "作废"},
)  # fmt: skip
INCIDENT_CLOSED = "结案"
INCIDENT_ENDED = ("结案", "作废")  # nothing waits on these (a closed case may still be reopened)
INCIDENT_LEVELS = Vocabulary("incident_levels", "处置层级", ("网格", "社区", "街道"))
INCIDENT_URGENCIES = Vocabulary("incident_urgencies", "紧急程度", ("一般", "紧急"),
                                synonyms={"急": "紧急", "普通": "一般"})
INCIDENT_SOURCES = Vocabulary(
    "incident_sources", "事件来源", ("网格员上报", "巡逻发现", "居民反映", "12345热线", "其他系统", "导入"),
    synonyms={"网格员": "网格员上报", "巡查": "网格员上报", "网格员巡查": "网格员上报", "巡查发现": "网格员上报",
              "巡逻": "巡逻发现", "居民": "居民反映", "群众反映": "居民反映", "居民上报": "居民反映",
              "热线": "12345热线", "12345": "12345热线", "open311": "其他系统"},
)  # fmt: skip
# The step each status waits for, whose time limit runs (working days, gridgov.workdays): the limits are kept
# per step, category and urgency in ``incident_time_limit``.
INCIDENT_WAITING = {"上报": "受理", "立案": "派遣", "派遣": "处置", "处置": "核查", "核查": "结案"}
INCIDENT_STEPS = Vocabulary("incident_steps", "处置环节", ("受理", "派遣", "处置", "核查", "结案"))
# What a transition is recorded as in a case's timeline (``incident_event.action``).
INCIDENT_ACTIONS = Vocabulary(
    "incident_actions", "事件操作",
    ("上报", "立案", "不予立案", "派遣", "处置", "核查通过", "返工", "结案", "退回", "上报上级", "超期上报", "挂账",
     "解除挂账", "重新打开", "回访", "导入"),
)  # fmt: skip

# Night patrol shifts: start (local time) and length; 下半夜 belongs to the evening's date.
SHIFTS = Vocabulary("shifts", "巡逻班次", ("上半夜", "下半夜"))
SHIFT_WINDOWS: dict[str, tuple[dt.time, dt.timedelta]] = {
    "上半夜": (dt.time(20, 0), dt.timedelta(hours=3, minutes=30)),
    "下半夜": (dt.time(23, 30), dt.timedelta(hours=6, minutes=30)),
}


# Patrol operations (巡逻勤务): who patrols, what a track is, how a rostered shift went.
PATROL_TEAM_KINDS = Vocabulary(
    "patrol_team_kinds", "巡逻队类型", ("机关干部", "社区志愿者", "党员巡回队", "专职"),
    synonyms={"干部": "机关干部", "单位干部": "机关干部", "志愿者": "社区志愿者", "党员": "党员巡回队",
              "专职巡逻队": "专职"},
)  # fmt: skip
TEAM_MEMBER_ROLES = Vocabulary("team_member_roles", "队内职务", ("队长", "队员"))
TRACK_KINDS = Vocabulary(
    "track_kinds", "轨迹类型", ("夜间巡逻", "日巡查"),
    synonyms={"夜巡": "夜间巡逻", "巡逻": "夜间巡逻", "night": "夜间巡逻", "日间巡查": "日巡查", "day": "日巡查"},
)  # fmt: skip
NIGHT_PATROL, DAY_INSPECTION = TRACK_KINDS.terms
# A point of a track the cleaning flagged: a GPS jump (impossible speed: left out of the line and the figures),
# or the first fix after a long gap (the stretch before it was not recorded: not drawn, not counted).
POINT_FLAGS = Vocabulary("point_flags", "轨迹点标记", ("跳点", "断点"))
ROSTER_SOURCES = Vocabulary("roster_sources", "排班来源", ("规则", "手工"))
ROSTER_CHANGES = Vocabulary("roster_changes", "排班变动", ("请假", "替班"))
ATTENDANCE_STATUSES = Vocabulary("attendance_statuses", "考勤状态", ("出勤", "迟到", "早退", "缺勤"))


def shift_hours(shift: str) -> str:
    """A shift's hours as people write them, e.g. 上半夜 → 20:00–23:30, 下半夜 → 23:30–次日 06:00."""
    start, length = SHIFT_WINDOWS[shift]
    end = dt.datetime.combine(dt.date(2000, 1, 1), start) + length
    return f"{start:%H:%M}–{'次日 ' if end.date() > dt.date(2000, 1, 1) else ''}{end:%H:%M}"


# Party organisation on the grid (党建网格).
PARTY_ORG_KINDS = Vocabulary(
    "party_org_kinds", "党组织类别", ("党委", "党总支", "党支部", "党小组"),
    synonyms={"党工委": "党委", "社区党委": "党委", "总支": "党总支", "支部": "党支部", "小组": "党小组"},
)  # fmt: skip
PARTY_COMMITTEE, PARTY_GENERAL_BRANCH, PARTY_BRANCH, PARTY_GROUP = PARTY_ORG_KINDS.terms
# What an organisation is built on or for (its form); the kinds each form may take are PARTY_FORM_KINDS.
PARTY_ORG_FORMS = Vocabulary(
    "party_org_forms", "党组织形式",
    ("社区党组织", "网格党支部", "楼院党支部", "驻区单位党组织", "两新党组织", "离退休党支部", "特设党支部",
     "楼栋党小组", "楼道党小组", "其他"),
    synonyms={"社区党委": "社区党组织", "社区党总支": "社区党组织", "网格支部": "网格党支部",
              "小区党支部": "楼院党支部", "院落党支部": "楼院党支部", "单位党组织": "驻区单位党组织",
              "非公党组织": "两新党组织", "社会组织党组织": "两新党组织", "退休党支部": "离退休党支部",
              "流动党员党支部": "特设党支部", "功能型党支部": "特设党支部", "楼栋党小组长": "楼栋党小组",
              "单元党小组": "楼道党小组"},
)  # fmt: skip
PARTY_POSTS = Vocabulary(
    "party_posts", "党内职务",
    ("书记", "副书记", "组织委员", "宣传委员", "纪检委员", "青年委员", "统战委员", "委员", "兼职委员", "党小组长"),
    synonyms={"支部书记": "书记", "党委书记": "书记", "总支书记": "书记", "组长": "党小组长"},
)  # fmt: skip
PARTY_FLOWS = Vocabulary("party_flows", "流动方向", ("流入", "流出"))
PARTY_FLOW_MODES = Vocabulary("party_flow_modes", "管理方式", ("直管", "代管", "协管"))
UNIT_KINDS = Vocabulary(
    "unit_kinds", "单位类型", ("机关事业单位", "国有企业", "非公企业", "社会组织", "学校", "医院", "其他"),
    synonyms={"驻区单位": "机关事业单位", "机关": "机关事业单位", "事业单位": "机关事业单位", "民营企业": "非公企业",
              "私营企业": "非公企业", "两新组织": "非公企业"},
)  # fmt: skip
VOLUNTEER_TEAM_KINDS = Vocabulary(
    "volunteer_team_kinds", "志愿服务队类型",
    ("治安巡逻", "环境维护", "扶贫助困", "文明宣传", "邻里互助", "为老服务", "应急救援", "其他"),
    synonyms={"巡逻": "治安巡逻", "环境": "环境维护", "帮扶": "扶贫助困", "助困": "扶贫助困", "宣传": "文明宣传",
              "互助": "邻里互助", "助老": "为老服务"},
)  # fmt: skip
# Meetings (三会一课 and others) and how often each is due, in months (None: as needed).
PARTY_MEETING_KINDS = Vocabulary(
    "party_meeting_kinds", "会议类型", ("党员大会", "支部委员会", "党小组会", "党课", "组织生活会", "民主生活会",
                                     "联席会议"),
    synonyms={"支委会": "支部委员会", "委员会": "支部委员会", "党委会": "支部委员会", "小组会": "党小组会",
              "上党课": "党课"},
)  # fmt: skip
PARTY_MEETING_EVERY_MONTHS: dict[str, int | None] = {
    "党员大会": 3, "支部委员会": 1, "党小组会": 1, "党课": 3, "组织生活会": 12, "民主生活会": 6, "联席会议": None,
}  # fmt: skip
PARTY_DUTIES = Vocabulary(
    "party_duties", "责任区职责", ("环境维护", "治安防范", "纠纷调解", "政策宣传", "联系群众", "关爱帮扶", "其他"),
    synonyms={"环境": "环境维护", "治安": "治安防范", "调解": "纠纷调解", "宣传": "政策宣传", "帮扶": "关爱帮扶"},
)  # fmt: skip


# Roles of users and API tokens (the same six), least first. What each may do is ``auth.scope.PERMISSIONS``;
# the grid levels its scope may be, ``ROLE_SCOPE_LEVELS``.
ROLES = Vocabulary(
    "roles", "角色", ("viewer", "patrol", "grid", "community", "street", "admin"),
    labels={"viewer": "只读", "patrol": "巡逻队长", "grid": "网格员", "community": "社区工作人员",
            "street": "街道工作人员", "admin": "系统管理员"},
    synonyms={"只读": "viewer", "巡逻队长": "patrol", "网格员": "grid", "网格管理员": "grid",
              "社区工作人员": "community", "街道工作人员": "street", "系统管理员": "admin", "管理员": "admin"},
)  # fmt: skip
# The grid levels a role's scope may be (None: no scope at all is allowed too; admin: never scoped).
ROLE_SCOPE_LEVELS: dict[str, tuple[str, ...]] = {
    "viewer": LEVELS[:3], "patrol": LEVELS[:2], "grid": LEVELS[2:], "community": ("community",),
    "street": ("street",), "admin": (),
}  # fmt: skip
ROLES_NEEDING_SCOPE = frozenset({"patrol", "grid", "community", "street"})

# Writers the system records by itself (``updated_by``, ``audit_log.actor``), as users should read them.
SYSTEM_ACTORS = {
    "sample": "样例数据", "system": "系统", "cli": "命令行（服务器）", "tests": "测试", "bench": "基准测试",
}  # fmt: skip


def actor_label(raw: str | None, people: Mapping[str, str] | None = None) -> str:
    """Who wrote something, as users read it: a user's display name (``people``: ``user:<name>`` → name), a
    token's name, or a Chinese word for the system."""
    if not raw:
        return "—"
    if raw.startswith("user:"):
        return (people or {}).get(raw, raw.removeprefix("user:"))
    if raw.startswith(("token:", "cli:token:")):
        return f"令牌「{raw.rsplit('token:', 1)[1]}」"
    return SYSTEM_ACTORS.get(raw, raw)


# Topology and code findings.
FINDING_RULES = Vocabulary(
    "finding_rules", "校验问题",
    ("invalid_geometry", "orphan", "duplicate_code", "level_mismatch", "bad_code", "overlap", "gap",
     "outside_parent", "sliver", "unofficial_code"),
    labels={"invalid_geometry": "几何无效", "orphan": "上级网格缺失", "duplicate_code": "编码重复",
            "level_mismatch": "层级不匹配", "bad_code": "编码不符合规则", "overlap": "同级网格重叠",
            "gap": "网格间空隙", "outside_parent": "超出上级网格", "sliver": "狭长碎片",
            "unofficial_code": "与官方区划代码不符"},
)  # fmt: skip

ALL: tuple[Vocabulary, ...] = (GRID_LEVELS, STAFF_ROLES, HOUSEHOLD_KINDS, MEMBER_TYPES, SEXES, PERSON_TAGS,
                               INCIDENT_CATEGORIES, INCIDENT_SUBCATEGORIES, INCIDENT_STATUSES, INCIDENT_LEVELS,
                               INCIDENT_URGENCIES, INCIDENT_SOURCES, INCIDENT_STEPS, INCIDENT_ACTIONS, SHIFTS,
                               PATROL_TEAM_KINDS, TEAM_MEMBER_ROLES, TRACK_KINDS, POINT_FLAGS, ROSTER_SOURCES,
                               ROSTER_CHANGES, ATTENDANCE_STATUSES, PARTY_ORG_KINDS, PARTY_ORG_FORMS, PARTY_POSTS,
                               PARTY_FLOWS, PARTY_FLOW_MODES, UNIT_KINDS, VOLUNTEER_TEAM_KINDS, PARTY_MEETING_KINDS,
                               PARTY_DUTIES, ROLES, FINDING_RULES)  # fmt: skip


def meta() -> dict[str, Any]:
    """Every vocabulary as JSON (for ``GET /api/meta``), plus the derived level relations and shift hours."""
    return {
        "vocabularies": {v.name: v.as_dict() for v in ALL},
        "parent_level": PARENT_LEVEL,
        "child_level": CHILD_LEVEL,
        "public_staff_roles": list(PUBLIC_STAFF_ROLES),
        "shift_hours": {s: shift_hours(s) for s in SHIFTS},
    }
