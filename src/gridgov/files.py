"""Small helpers for reading user files."""

from __future__ import annotations

from pathlib import Path

from gridgov.errors import InvalidInput


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or GBK/GB18030 for a text file; InvalidInput otherwise."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
        return "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path.name}：无法识别文件编码（应为 UTF-8 或 GBK）") from exc
