"""What people type into a form, a command or a request, checked in one place: a record's code, a short text, a
vocabulary term (or one of its synonyms) and the reason a record ends. Each refusal is ``InvalidInput`` naming
the field in Chinese."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from gridgov.errors import InvalidInput
from gridgov.vocab import Vocabulary

CODE_RE = re.compile(r"[^\s/\\?#%]{1,40}")
MAX_TEXT = 200
EARLIEST = dt.date(1900, 1, 1)  # days of the past people record (joined the Party, founded) reach back this far


def parse_code(value: Any, label: str) -> str:
    """A record's code: 1–40 characters, no blanks and none of ``/ \\ ? # %`` (it goes into URLs)."""
    code = str(value or "").strip()
    if not code:
        raise InvalidInput(f"{label}：必填项为空")
    if not CODE_RE.fullmatch(code):
        raise InvalidInput(f"{label}：应为 1–40 个字符，不含空格和 / \\ ? # %：{code[:60]}")
    return code


def parse_text(value: Any, label: str, *, required: bool = False) -> str | None:
    """A short text (at most ``MAX_TEXT`` characters), None when left empty (``InvalidInput`` when ``required``)."""
    clean = str(value).strip() if value is not None else ""
    if not clean:
        if required:
            raise InvalidInput(f"{label}：必填项为空")
        return None
    if len(clean) > MAX_TEXT:
        raise InvalidInput(f"{label}：过长（最多 {MAX_TEXT} 个字符）")
    if "\x00" in clean:
        raise InvalidInput(f"{label}：不能包含空字符")
    return clean


def parse_term(words: Vocabulary, value: Any, label: str) -> str | None:
    """A vocabulary term from what a user typed (the term or a synonym); None when left empty."""
    raw = str(value).strip() if value is not None else ""
    if not raw:
        return None
    term = words.canonical(raw)
    if term is None:
        raise InvalidInput(f"{label}：未知的取值 {raw[:40]}（可选：{'、'.join(words.terms)}）")
    return term


def parse_reason(value: str | None, default: str | None = None) -> str:
    """Why a record or a membership ends (``default`` when none is typed); required."""
    reason = (value or "").strip() or (default or "")
    if not reason:
        raise InvalidInput("请填写撤销原因（如 合并、调整、录入错误）")
    if len(reason) > MAX_TEXT:
        raise InvalidInput(f"原因过长（最多 {MAX_TEXT} 个字符）")
    return reason


def parse_past_day(value: Any, label: str, today: dt.date) -> dt.date | None:
    """A day of the past (``EARLIEST`` … ``today``) from a date or ``YYYY-MM-DD``; None when left empty."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        raw = str(value).strip()
        try:
            value = dt.date.fromisoformat(raw)
        except ValueError:
            raise InvalidInput(f"{label}：日期格式应为 YYYY-MM-DD：{raw[:40]}") from None
    if value > today:
        raise InvalidInput(f"{label}不能晚于今天：{value.isoformat()}")
    if value < EARLIEST:
        raise InvalidInput(f"{label}早于 {EARLIEST.isoformat()}：{value.isoformat()}")
    return value
