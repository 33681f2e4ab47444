"""Canonical columns per entity, their Chinese aliases, types and allowed values."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from gridgov.errors import InvalidInput
from gridgov.vocab import (
    HOUSEHOLD_KINDS,
    INCIDENT_CATEGORIES,
    INCIDENT_LEVELS,
    INCIDENT_SOURCES,
    INCIDENT_STATUSES,
    INCIDENT_URGENCIES,
    MEMBER_TYPES,
    SEXES,
    STAFF_ROLES,
    Vocabulary,
)

# How an import treats codes already stored (the CLI, the page and the importer read this; no heavy import here).
MODES = {"insert": "仅新增", "upsert": "新增并更新", "sync": "同步（文件即全部）"}


@dataclass(frozen=True)
class Column:
    """One canonical column: its type, whether it is required, aliases and allowed values."""

    name: str
    kind: str = "text"  # text | int | float | bool | datetime | enum
    required: bool = False
    aliases: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    synonyms: tuple[tuple[str, str], ...] = ()  # accepted spellings → canonical value


def _words(v: Vocabulary) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """A vocabulary's terms and synonyms, as an enum column takes them."""
    return v.terms, tuple(v.synonyms.items())


LON = Column("lon", "float", aliases=("经度", "longitude", "lng", "x"))
LAT = Column("lat", "float", aliases=("纬度", "latitude", "y"))
CODE = ("编码", "编号", "代码")  # every entity but staff names its records by a code (required: an identity)
ADDRESS = Column("address", aliases=("地址", "详细地址", "门牌地址"))

BOOL_TRUE = ("1", "是", "true", "yes", "y", "t", "√")
BOOL_FALSE = ("0", "否", "false", "no", "n", "f", "")

ENTITIES: dict[str, tuple[Column, ...]] = {
    "households": (
        Column("code", required=True, aliases=(*CODE, "户编码", "户编号", "户号")),
        ADDRESS,
        Column("building_code", aliases=("楼栋编码", "楼栋编号", "所属楼栋")),
        Column("kind", "enum", True, ("户籍类型", "户类型", "住户类型", "类型"), *_words(HOUSEHOLD_KINDS)),
        LON,
        LAT,
    ),
    "buildings": (
        Column("code", required=True, aliases=(*CODE, "楼栋编码", "楼栋编号")),
        Column("name", aliases=("名称", "楼栋名称", "楼号")),
        ADDRESS,
        Column("floors", "int", aliases=("层数", "楼层数", "楼层")),
        LON,
        LAT,
    ),
    "persons": (
        Column("code", required=True, aliases=(*CODE, "人员编码", "人员编号")),
        Column("household_code", required=True, aliases=("户编码", "户编号", "所属户")),
        Column("name", required=True, aliases=("姓名",)),
        Column("sex", "enum", False, ("性别",), *_words(SEXES)),
        Column("birth_year", "int", aliases=("出生年份", "出生年")),
        Column("phone", aliases=("电话", "手机", "手机号", "联系电话")),
        Column("id_number", aliases=("身份证号", "身份证号码", "公民身份号码")),
        Column("is_resident_rep", "bool", aliases=("是否居民代表", "居民代表")),
        Column("is_volunteer", "bool", aliases=("是否志愿者", "志愿者")),
        Column("is_party_member", "bool", aliases=("是否党员", "党员")),
        Column("member_type", "enum", False, ("党员类型", "人员类别", "党员类别"), *_words(MEMBER_TYPES)),
        Column("tags", aliases=("标签", "特殊人群")),
    ),
    "incidents": (
        Column("code", required=True, aliases=(*CODE, "事件编码", "事件编号")),
        Column("category", "enum", True, ("事件类别", "大类", "类别"), *_words(INCIDENT_CATEGORIES)),
        Column("subcategory", aliases=("小类", "子类")),
        Column("description", aliases=("描述", "事件描述", "内容")),
        LON,
        LAT,
        Column("reported_at", "datetime", True, ("上报时间", "发生时间", "时间")),
        Column("status", "enum", False, ("状态", "处置状态"), *_words(INCIDENT_STATUSES)),
        Column("level", "enum", False, ("级别", "处置级别"), *_words(INCIDENT_LEVELS)),
        Column("source", "enum", False, ("来源", "事件来源"), *_words(INCIDENT_SOURCES)),
        Column("urgency", "enum", False, ("紧急程度", "缓急程度", "缓急"), *_words(INCIDENT_URGENCIES)),
        Column("address", aliases=(*ADDRESS.aliases, "事发地址", "事件地址", "发生地点")),
        Column("reporter_name", aliases=("反映人", "反映人姓名", "来电人", "联系人")),
        Column("reporter_phone", aliases=("反映人电话", "来电号码", "联系电话", "联系人电话")),
    ),
    "staff": (
        Column("staff_code", aliases=("人员编码", "工号", "code", "编码")),
        Column("name", required=True, aliases=("姓名",)),
        Column("phone", aliases=("电话", "手机", "联系电话")),
        Column("grid_code", required=True, aliases=("网格编码", "所属网格")),
        Column("role", "enum", True, ("角色", "职务", "岗位"), *_words(STAFF_ROLES)),
    ),
}

# Entities located by a point (lon/lat or a geometry column); buildings may also be polygons.
SPATIAL = {"households": True, "buildings": True, "incidents": True, "persons": False, "staff": False}
ENTITY_ZH = {"households": "户", "buildings": "楼栋", "persons": "人员", "incidents": "事件", "staff": "网格工作人员"}
# Enum columns whose words a street extends (gridgov.terms): the import reads them as in force.
STORED_VOCABULARIES = {("households", "kind"): "household_kinds", ("staff", "role"): "staff_roles",
                       ("incidents", "category"): "incident_categories"}  # fmt: skip
TAGS_VOCABULARY = "person_tags"  # a persons file's tags cell: several of these words


def parse_field_map(items: Iterable[str], accepted: Collection[str] | None = None) -> dict[str, str]:
    """``源列=目标列`` items (CLI ``--map``, the API's ``map`` fields, the import page's lines) as {source: target};
    blank items are skipped, a malformed one or (given ``accepted``) an unknown target is refused."""
    out: dict[str, str] = {}
    for item in items:
        if not item.strip():
            continue
        src, sep, target = (part.strip() for part in item.partition("="))
        if not sep or not src or not target:
            raise InvalidInput(f"列名对应的格式应为 源列=目标列（如 档案号=code）：{item}")
        if accepted is not None and target not in accepted:
            raise InvalidInput(f"列名对应 {item}：没有目标列 {target}（可用：{', '.join(accepted)}）")
        if src in out:
            raise InvalidInput(f"列名对应中源列 {src} 出现了两次")
        out[src] = target
    return out
