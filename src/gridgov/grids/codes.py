"""Grid code scheme (网格编码规则): checking, renumbering and allocating codes.

Default scheme (configurable per city, see :class:`CodeScheme`):

* street (街道) — 9 digits: 6-digit county code + 3-digit township code (NBS 统计用区划代码), e.g. ``610103006``;
* community (社区) — 12 digits starting with its street's code (NBS village-level code), e.g. ``610103006001``;
* compound (楼院) — community code + 3-digit serial ``001``–``999``, e.g. ``610103006001012``;
* building (楼栋) — compound code + 2-digit serial ``01``–``99``, e.g. ``61010300600101203``.
  (The sample generator's building *records* use ``<compound>B<2 digits>``; a city using that form for
  building grids sets ``{"building": {"separator": "B"}}``.)

Serials are numbered west→east within rows and rows north→south (DB11/DB6101 practice): a child's row is
``floor((N - lat) / row_band_deg)`` with ``N`` the parent's northern bound (max latitude) and ``lat`` the latitude
of the child's centroid in EPSG:4326; the sample generator uses the same rule. Codes are stable: new grids get
the serial after the highest one ever used (:func:`next_code`); only an explicit :func:`renumber` reorders them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from shapely.geometry.base import BaseGeometry

from gridgov.errors import Conflict, InvalidInput
from gridgov.grids.findings import GridInput
from gridgov.vocab import LEVEL_ZH, LEVELS

_DIGITS = re.compile(r"[0-9]+")
_PARENT = "{parent}"


class LevelRule(BaseModel):
    """How the codes of one level are formed.

    ``code = parent_code + separator + serial`` when ``prefix_parent``; the part after the parent code and the
    separator (the whole code when not ``prefix_parent``) must be ASCII digits when ``digits``, and exactly
    ``serial_digits`` long and not all zeros when ``serial_digits`` is set. ``length`` fixes the total length.
    ``pattern`` is an extra regular expression the whole code must match, with ``{parent}`` standing for the
    (escaped) parent code. ``row_band_deg`` is the row height used by :func:`renumber`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    prefix_parent: bool = True
    separator: str = ""
    serial_digits: int | None = Field(default=3, ge=1, le=9)
    digits: bool = True
    length: int | None = Field(default=None, ge=1, le=32)
    pattern: str | None = None
    row_band_deg: float = Field(default=0.002, gt=0)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value.replace(_PARENT, "0"))
            except re.error as exc:
                raise ValueError(f"正则表达式无效：{exc}") from exc
        return value

    @property
    def can_generate(self) -> bool:
        """True when codes of this level can be produced from a parent code and a serial."""
        return self.prefix_parent and self.serial_digits is not None

    @property
    def max_serial(self) -> int:
        """The highest serial that fits in ``serial_digits``."""
        return 10 ** (self.serial_digits or 0) - 1


_DEFAULT_RULES: dict[str, dict[str, Any]] = {
    "street": {"prefix_parent": False, "serial_digits": None, "length": 9},
    "community": {"length": 12},
    "compound": {},
    "building": {"serial_digits": 2, "row_band_deg": 0.0002},
}


class CodeScheme(BaseModel):
    """The code rule of every level; build from JSON with :meth:`from_json` (missing levels/fields keep defaults)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    street: LevelRule = LevelRule(**_DEFAULT_RULES["street"])
    community: LevelRule = LevelRule(**_DEFAULT_RULES["community"])
    compound: LevelRule = LevelRule(**_DEFAULT_RULES["compound"])
    building: LevelRule = LevelRule(**_DEFAULT_RULES["building"])

    @model_validator(mode="before")
    @classmethod
    def _merge_level_defaults(cls, data: Any) -> Any:
        # A partial rule such as {"building": {"separator": "B"}} keeps the building's own defaults
        # (2-digit serial), not the generic LevelRule defaults.
        if not isinstance(data, Mapping):
            return data
        merged: dict[str, Any] = dict(data)
        for level, defaults in _DEFAULT_RULES.items():
            value = merged.get(level)
            if isinstance(value, Mapping):
                merged[level] = {**defaults, **value}
        return merged

    @classmethod
    def from_json(cls, value: str | bytes | Mapping[str, Any] | None) -> CodeScheme:
        """A scheme from a JSON string or dict such as ``{"building": {"separator": "B"}}``; None → default."""
        if value is None or (isinstance(value, str | bytes) and not value.strip()):
            return cls()
        try:
            data = json.loads(value) if isinstance(value, str | bytes) else value
            if not isinstance(data, Mapping):
                raise InvalidInput('编码规则配置应为 JSON 对象，如 {"building": {"serial_digits": 2}}')
            return cls.model_validate(data)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"编码规则配置不是有效的 JSON：{exc.msg}（第 {exc.lineno} 行）") from exc
        except ValidationError as exc:
            problems = "；".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise InvalidInput(f"编码规则配置无效：{problems}") from exc

    def rule(self, level: str) -> LevelRule:
        """The rule of a level (``InvalidInput`` for an unknown level)."""
        if level not in LEVELS:
            raise InvalidInput(f"未知层级：{level}（可选 {'、'.join(LEVELS)}）")
        rule: LevelRule = getattr(self, level)
        return rule


DEFAULT_SCHEME = CodeScheme()


def check_code(code: str, level: str, parent_code: str | None, scheme: CodeScheme | None = None) -> str | None:
    """Why ``code`` breaks the scheme for a grid of ``level`` under ``parent_code`` (Chinese), or None."""
    scheme = scheme or DEFAULT_SCHEME
    if level not in LEVELS:
        return f"未知层级：{level}"
    rule = scheme.rule(level)
    if not code:
        return "编码为空"
    if code != code.strip():
        return "编码含首尾空格"
    if rule.length is not None and len(code) != rule.length:
        return f"{LEVEL_ZH[level]}编码应为 {rule.length} 位，实际为 {len(code)} 位"
    own: str | None = code
    if rule.prefix_parent:
        if parent_code:
            head = parent_code + rule.separator
            if not code.startswith(head) or len(code) == len(head):
                return f"{LEVEL_ZH[level]}编码应以上级编码加分隔符“{head}”开头，后接序号"
            own = code[len(head) :]
        else:
            # No parent to compare with (reported as an orphan): check only what can be checked.
            own = code[-rule.serial_digits :] if rule.serial_digits else None
    if own is not None:
        if rule.digits and not _DIGITS.fullmatch(own):
            return f"{LEVEL_ZH[level]}编码{'序号' if rule.prefix_parent else ''}应为数字，实际为“{own}”"
        if rule.serial_digits is not None and rule.prefix_parent:
            if len(own) != rule.serial_digits:
                return (
                    f"{LEVEL_ZH[level]}序号应为 {rule.serial_digits} 位"
                    f"（{1:0{rule.serial_digits}d}–{rule.max_serial}），实际为“{own}”"
                )
            if _DIGITS.fullmatch(own) and int(own) == 0:
                return f"{LEVEL_ZH[level]}序号不能为全零"
        elif rule.serial_digits is not None and len(own) != rule.serial_digits:
            return f"{LEVEL_ZH[level]}编码应为 {rule.serial_digits} 位，实际为 {len(own)} 位"
    if rule.pattern is not None:
        parent_re = re.escape(parent_code) if parent_code else ".+"
        if not re.fullmatch(rule.pattern.replace(_PARENT, parent_re), code):
            return f"{LEVEL_ZH[level]}编码不符合格式 {rule.pattern}"
    return None


def _generating_rule(level: str, scheme: CodeScheme) -> LevelRule:
    rule = scheme.rule(level)
    if not rule.can_generate:
        raise InvalidInput(f"{LEVEL_ZH[level]}编码不能自动生成（编码规则未规定“上级编码 + 序号”），请按当地标准填写")
    return rule


def _format(parent_code: str, serial: int, level: str, rule: LevelRule, scheme: CodeScheme) -> str:
    if serial > rule.max_serial:
        raise Conflict(f"上级 {parent_code} 下的{LEVEL_ZH[level]}序号已用尽（最大 {rule.max_serial}）")
    code = f"{parent_code}{rule.separator}{serial:0{rule.serial_digits}d}"
    reason = check_code(code, level, parent_code, scheme)
    if reason:
        raise InvalidInput(f"无法为上级 {parent_code} 生成{LEVEL_ZH[level]}编码：{reason}")
    return code


def renumber(
    children: Sequence[GridInput],
    parent_code: str,
    scheme: CodeScheme | None = None,
    *,
    row_band_deg: float | None = None,
    parent_geometry: BaseGeometry | None = None,
) -> dict[str, str]:
    """Old code → new code for all children of one parent: rows north→south, west→east within a row."""
    scheme = scheme or DEFAULT_SCHEME
    if not children:
        return {}
    levels = {c.level for c in children}
    if len(levels) != 1:
        raise InvalidInput(f"重新编号的网格应属于同一层级，实际包含：{'、'.join(sorted(levels))}")
    level = levels.pop()
    rule = _generating_rule(level, scheme)
    band = row_band_deg if row_band_deg is not None else rule.row_band_deg
    codes = [c.code for c in children]
    if len(set(codes)) != len(codes):
        raise InvalidInput("待重新编号的网格中有重复编码，请先处理编码重复")
    missing = [c.code for c in children if c.geometry is None or c.geometry.is_empty]
    if missing:
        raise InvalidInput(f"以下网格没有几何，无法按位置编号：{'、'.join(missing)}")
    geoms = np.asarray([c.geometry for c in children], dtype=object)
    centroid = shapely.get_coordinates(shapely.centroid(geoms))
    # The parent's northern bound; children that tile their parent share it.
    north = (
        float(shapely.bounds(parent_geometry)[3])
        if parent_geometry is not None
        else float(shapely.bounds(geoms)[:, 3].max())
    )
    row = np.floor((north - centroid[:, 1]) / band).astype(np.int64)
    order = sorted(range(len(children)), key=lambda i: (int(row[i]), float(centroid[i, 0]), codes[i]))
    return {codes[i]: _format(parent_code, k, level, rule, scheme) for k, i in enumerate(order, start=1)}


def next_code(existing_codes: Iterable[str], parent_code: str, level: str, scheme: CodeScheme | None = None) -> str:
    """The code for a new grid: the serial after the highest one under the parent (retired codes included)."""
    scheme = scheme or DEFAULT_SCHEME
    rule = _generating_rule(level, scheme)
    head = parent_code + rule.separator
    width = rule.serial_digits or 0
    highest = 0
    for code in existing_codes:
        own = code[len(head) :]
        if code.startswith(head) and len(own) == width and _DIGITS.fullmatch(own):
            highest = max(highest, int(own))
    return _format(parent_code, highest + 1, level, rule, scheme)
