"""What changed from one state of a record to the next, in Chinese: one home for the history the pages and the
CLI show."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridgov.records.kinds import RecordKind
from gridgov.records.service import Record

COORD_TOLERANCE = 1e-7  # degrees (about 1 cm): the form shows 7 decimals, so a rounding is not a move


def shown(value: Any) -> str:
    """A stored value as a reader sees it (empty: （空）; flags: 是/否; lists joined with 、)."""
    if value is None or value == "" or value == []:
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def _same(a: Any, b: Any) -> bool:
    """Whether two stored values are the same to a reader (an empty text, list and None are all empty)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    return (None if a in ("", []) else a) == (None if b in ("", []) else b)


def changes_between(kind: RecordKind, before: Record | None, after: Record) -> list[str]:
    """What changed from one state of a record to the next, in Chinese (the first state: 新增)."""
    if before is None:
        return ["新增"]
    out = []
    for f in kind.fields:
        old = before.code if f.name == "code" else before.values.get(f.name)
        new = after.code if f.name == "code" else after.values.get(f.name)
        if not _same(old, new):
            out.append(f"{f.label}：{shown(old)} → {shown(new)}")
    if kind.spatial and moved(before.values, after.values):
        out.append("位置")
    return out or ["未改动（重新保存）"]


def moved(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two states' places differ by more than a form's rounding."""
    pairs = [(a.get(k), b.get(k)) for k in ("lon", "lat")]
    return any((x is None) != (y is None) or (x is not None and abs(x - y) > COORD_TOLERANCE) for x, y in pairs)
