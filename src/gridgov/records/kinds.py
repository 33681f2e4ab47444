"""The records staff keep by hand (住户, 人员, 楼栋, 网格工作人员): their fields, labels and value rules, in one home
for the API, the CLI and the pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gridgov.errors import InvalidInput
from gridgov.ids import id_check_digit
from gridgov.importing.entities import ID_RE, MAX_LEN, PHONE_RE
from gridgov.vocab import HOUSEHOLD_KINDS, MEMBER_TYPES, PERSON_TAGS, SEXES, Vocabulary

TRUE_WORDS = ("1", "是", "true", "yes", "y", "t", "√", "on")
FALSE_WORDS = ("0", "否", "false", "no", "n", "f", "", "off")
TAG_SPLIT = re.compile("[;；,，、]")  # as the importer splits a tags cell


@dataclass(frozen=True)
class Field:
    """One editable field: its API name, Chinese label, type and rules."""

    name: str
    label: str
    kind: str = "text"  # text | int | bool | enum | tags | phone | id_number
    required: bool = False
    vocab: Vocabulary | None = None
    private: bool = False  # a resident's personal data
    low: int | None = None
    high: int | None = None

    def parse(self, value: Any, words: Vocabulary | None = None) -> Any:
        """The value as stored (None for empty), or ``InvalidInput`` naming the field in Chinese; ``words`` is the
        vocabulary in force (with the street's additions) for enum and tag fields, else the built-in one."""
        words = words or self.vocab
        if value is None or (isinstance(value, str) and value.strip() == ""):
            if self.required:
                raise InvalidInput(f"{self.label}：必填项为空")
            return False if self.kind == "bool" else None
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            word = str(value).strip().lower()
            if word in TRUE_WORDS or word in FALSE_WORDS:
                return word in TRUE_WORDS
            raise InvalidInput(f"{self.label}：应为 是/否：{value}")
        if self.kind == "int":
            try:
                number = int(str(value).strip())
            except ValueError:
                raise InvalidInput(f"{self.label}：应为整数：{value}") from None
            if (self.low is not None and number < self.low) or (self.high is not None and number > self.high):
                raise InvalidInput(f"{self.label}：应在 {self.low}–{self.high} 之间：{number}")
            return number
        if self.kind == "tags":
            parts = value if isinstance(value, list | tuple) else TAG_SPLIT.split(str(value))
            tags = [str(t).strip() for t in parts if str(t).strip()]
            if words is not None:
                unknown = [t for t in tags if words.canonical(t) is None]
                if unknown:
                    accepted = "、".join(words.terms)
                    raise InvalidInput(f"{self.label}：未知的标签 {'、'.join(unknown)}（可选：{accepted}）")
                tags = list(dict.fromkeys(str(words.canonical(t)) for t in tags))
            return tags or None
        text_ = str(value).strip()
        limit = MAX_LEN.get(self.name, 2000)
        if len(text_) > limit:
            raise InvalidInput(f"{self.label}：过长（最多 {limit} 个字符）")
        if self.kind == "enum" and words is not None:
            term = words.canonical(text_)
            if term is None:
                raise InvalidInput(f"{self.label}：取值应为 {' / '.join(words.terms)}：{text_}")
            return term
        if self.kind == "phone" and not PHONE_RE.match(text_):
            raise InvalidInput(f"{self.label}：电话号码格式错误：{text_}")
        if self.kind == "id_number":
            text_ = text_.upper()
            if not ID_RE.match(text_) or id_check_digit(text_[:17]) != text_[17]:
                raise InvalidInput(f"{self.label}：身份证号码格式或校验位错误")
        return text_


@dataclass(frozen=True)
class RecordKind:
    """A kind of record: its table, Chinese name, fields, and whether it has a place."""

    name: str
    table: str
    label: str
    fields: tuple[Field, ...]
    spatial: bool

    def field(self, name: str) -> Field:
        """The field called ``name``, or ``InvalidInput`` listing the fields there are."""
        for f in self.fields:
            if f.name == name:
                return f
        extra = ("lon", "lat", "geometry") if self.spatial else ()
        known = ", ".join([f.name for f in self.fields] + list(extra))
        raise InvalidInput(f"{self.label}没有字段 {name}（可用：{known}）")


CODE = Field("code", "编码", required=True)
KINDS: dict[str, RecordKind] = {
    k.name: k
    for k in (
        RecordKind("households", "household", "户", (
            CODE, Field("address", "地址"), Field("building_code", "所属楼栋"),
            Field("kind", "户类型", "enum", True, HOUSEHOLD_KINDS),
        ), spatial=True),
        RecordKind("persons", "person", "人员", (
            CODE, Field("household_code", "所属户", required=True), Field("name", "姓名", required=True, private=True),
            Field("sex", "性别", "enum", vocab=SEXES), Field("birth_year", "出生年份", "int", low=1880, high=2100),
            Field("phone", "电话", "phone", private=True), Field("id_number", "身份证号", "id_number", private=True),
            Field("is_resident_rep", "居民代表", "bool"), Field("is_volunteer", "志愿者", "bool"),
            Field("is_party_member", "党员", "bool"), Field("member_type", "党员类型", "enum", vocab=MEMBER_TYPES),
            Field("tags", "标签（特殊人群等）", "tags", vocab=PERSON_TAGS, private=True),
        ), spatial=False),
        RecordKind("buildings", "building", "楼栋", (
            CODE, Field("name", "名称"), Field("address", "地址"), Field("floors", "层数", "int", low=1, high=200),
        ), spatial=True),
        RecordKind("staff", "staff", "网格工作人员", (
            CODE, Field("name", "姓名", required=True), Field("phone", "电话", "phone"),
            Field("organisation", "单位"),
        ), spatial=False),
    )
}  # fmt: skip
# Singular forms the CLI and URLs use.
ALIASES = {"household": "households", "person": "persons", "building": "buildings", "staff": "staff"}


def record_kind(name: str) -> RecordKind:
    """The kind called ``name`` (plural or singular), or ``InvalidInput``."""
    kind = KINDS.get(ALIASES.get(name, name))
    if kind is None:
        raise InvalidInput(f"未知的记录类型：{name}（可用 {', '.join(KINDS)}）")
    return kind
