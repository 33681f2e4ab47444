"""Human pages: the start page and generated maps under ``/maps``."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from gridgov.api.dependencies import SessionDep, SettingsDep
from gridgov.errors import NotFound
from gridgov.grids import service
from gridgov.vocab import LEVEL_ZH, LEVELS

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>gridgov 网格化管理</title>
<style>body{{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;max-width:60em}}
td,th{{padding:.2em .8em;text-align:left}}</style></head><body>
<h1>gridgov 网格化管理</h1>
<p><a href="/docs">API 文档</a> · <a href="/healthz">服务状态</a></p>
<h2>地图</h2><ul>
<li><a href="/maps/grid">网格图</a>（<a href="/maps/grid?layers=households,buildings">含住户、楼栋</a>）</li>
<li><a href="/maps/coverage">巡逻覆盖率图与事件热力图</a></li>
<li><a href="/maps/patrol">巡逻路线图（最近一夜）</a></li></ul>
<h2>已生成的地图文件</h2><ul>{maps}</ul>
<h2>街道与社区</h2><table><tr><th>编码</th><th>名称</th><th>层级</th></tr>{rows}</table>
</body></html>"""


@router.get("/", response_class=HTMLResponse)
def index(session: SessionDep, settings: SettingsDep) -> str:
    """Start page: links to maps and the list of streets and communities."""
    maps_dir = settings.maps_dir
    maps = sorted(p.name for p in maps_dir.glob("*.html")) if maps_dir.is_dir() else []
    items = (
        "".join(f'<li><a href="/maps/files/{html.escape(m)}">{html.escape(m)}</a></li>' for m in maps)
        or "<li>暂无</li>"
    )
    rows = "".join(
        f"<tr><td>{html.escape(g.code)}</td><td>{html.escape(g.name)}</td><td>{LEVEL_ZH[g.level]}</td></tr>"
        for lvl in LEVELS[:2]
        for g in service.list_grids(session, level=lvl, with_geometry=False)
    )
    return PAGE.format(maps=items, rows=rows)


@router.get("/maps/files/{path:path}")
def generated_map(path: str, settings: SettingsDep) -> FileResponse:
    """A file written under ``maps/`` (HTML maps and their ``lib/`` assets)."""
    root = settings.maps_dir.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise NotFound(f"地图文件不存在：{path}")
    return FileResponse(Path(target))
