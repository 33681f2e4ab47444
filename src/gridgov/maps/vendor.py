"""Local copies of front-end files (*vendor paths*, see :mod:`gridgov.maps.cdn`): where they are, what they
pull in, and the whitelist the API serves under ``/static/vendor/``.

Some CSS files are patched on the fly (a CDN font URL inside ``leaflet.timedimension.control.css``), a few
stubs are generated, and files a stylesheet references through ``url(...)`` (web fonts, images) are added
automatically.
"""

from __future__ import annotations

import os
import posixpath
import re
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import folium

from gridgov.errors import NotFound, OfflineAssetError
from gridgov.maps.cdn import FOLIUM_NS, STUB_NS, asset_table

__all__ = [
    "EXTERNAL_URL",
    "EXTRA_VENDOR_PATHS",
    "SWAGGER_UI_CSS",
    "SWAGGER_UI_FAVICON",
    "SWAGGER_UI_JS",
    "VENDOR_URL_PREFIX",
    "css_refs",
    "is_generated",
    "node_modules_dir",
    "required_vendor_paths",
    "resolve_vendor",
    "source_path",
    "vendor_bytes",
    "vendor_files",
    "vendor_url",
]

VENDOR_URL_PREFIX = "/static/vendor/"
"""URL prefix under which the API serves vendor files (``/static/vendor/leaflet/dist/leaflet.js``)."""

SWAGGER_UI_JS = "swagger-ui-dist/swagger-ui-bundle.js"
SWAGGER_UI_CSS = "swagger-ui-dist/swagger-ui.css"
SWAGGER_UI_FAVICON = "swagger-ui-dist/favicon-32x32.png"

EXTRA_VENDOR_PATHS: tuple[str, ...] = (
    # offline FastAPI /docs
    SWAGGER_UI_JS,
    SWAGGER_UI_CSS,
    "swagger-ui-dist/swagger-ui-standalone-preset.js",
    SWAGGER_UI_FAVICON,
    "swagger-ui-dist/favicon-16x16.png",
    # libraries for hand-written map scripts (no folium plugin links them)
    "leaflet-polylinedecorator/dist/leaflet.polylineDecorator.js",
    "leaflet.heat/dist/leaflet-heat.js",
    "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",  # MVT grid tiles (maps/elements.py)
)
"""Vendor files served over HTTP although no folium asset URL points at them."""

# Files a script loads at run time (not visible as url() in a stylesheet).
_EXTRA_DEPS: dict[str, tuple[str, ...]] = {
    "leaflet/dist/leaflet.js": tuple(
        f"leaflet/dist/images/{n}"
        for n in ("marker-icon.png", "marker-icon-2x.png", "marker-shadow.png", "layers.png", "layers-2x.png")
    ),
}

# leaflet.timedimension.control.css loads the glyphicons font from netdna: point it at the local copy.
_GLYPH_FONTS = "../../glyphicons-only-bootstrap/fonts/glyphicons-halflings-regular"
_PATCHES: dict[str, tuple[tuple[str, str], ...]] = {
    "leaflet-timedimension/dist/leaflet.timedimension.control.css": (
        ("//netdna.bootstrapcdn.com/bootstrap/3.0.0/fonts/glyphicons-halflings-regular", _GLYPH_FONTS),
        (
            "glyphicons-halflings-regular.svg#glyphicons-halflingsregular",
            "glyphicons-halflings-regular.svg#glyphicons_halflingsregular",
        ),
    ),
}


def _rotate_css() -> bytes:
    """Stub for folium's leaflet.awesome.rotate.css: one rotation class per whole degree."""
    rules = "".join(f".fa-rotate-{d}{{-webkit-transform:rotate({d}deg);transform:rotate({d}deg)}}" for d in range(360))
    return ("/* gridgov stub for folium leaflet.awesome.rotate.css */\n" + rules + "\n").encode()


_STUBS = {STUB_NS + "leaflet.awesome.rotate.min.css": _rotate_css}


# --------------------------------------------------------------------------------------------- paths


DEFAULT_NODE_MODULES = Path("node_modules")


def node_modules_dir(node_modules: Path | None = None) -> Path:
    """The node_modules directory: the argument (the faces pass ``settings.node_modules``), else ``node_modules``;
    a relative path is taken from the working directory (no walking up the source tree: a wheel works too)."""
    nm = Path(node_modules if node_modules is not None else DEFAULT_NODE_MODULES).expanduser()
    path = nm if nm.is_absolute() else Path.cwd() / nm
    if path.is_dir():
        return path.resolve()
    raise OfflineAssetError(
        f"未找到前端资源目录 node_modules（查找位置：{path}）。请在项目根目录运行 `npm ci`，"
        "或把 GRIDGOV_NODE_MODULES 设为其绝对路径。",
        details={"candidates": [str(path)]},
    )


def _folium_templates() -> Path:
    return Path(folium.__file__).parent / "templates"


def _clean_vendor_path(path: str) -> str:
    """Normalise a vendor path from a URL; raise NotFound for anything that could escape the tree."""
    p = path.split("?", 1)[0].split("#", 1)[0].lstrip("/")
    norm = posixpath.normpath(p) if p else ""
    if not norm or norm.startswith("..") or "\\" in p or "\x00" in p or norm != p:
        raise NotFound(f"未找到静态资源：{path}")
    return norm


def source_path(vpath: str, nm: Path) -> Path:
    """The on-disk source of a (non-generated) vendor path."""
    if vpath.startswith(FOLIUM_NS):
        return _folium_templates() / vpath[len(FOLIUM_NS) :]
    return nm / vpath


def vendor_bytes(vpath: str, node_modules: Path | None = None) -> bytes:
    """Content of a vendor file as served/copied (stubs generated, patches applied)."""
    if vpath in _STUBS:
        return _STUBS[vpath]()
    src = source_path(vpath, node_modules_dir(node_modules))
    if not src.is_file():
        raise OfflineAssetError(
            f"缺少前端资源文件：{src}。请在项目根目录运行 `npm ci` 安装固定版本的前端依赖。",
            details={"vendor_path": vpath, "file": str(src)},
        )
    data = src.read_bytes()
    for old, new in _PATCHES.get(vpath, ()):
        text = data.decode("utf-8")
        if old not in text and new not in text:
            raise OfflineAssetError(f"前端资源补丁失效（{vpath}）：找不到 {old!r}，请检查 package.json 中的版本。")
        data = text.replace(old, new).encode("utf-8")
    return data


# ------------------------------------------------------------------------------------------ CSS deps

_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?\s*["']?([^"')\s;]+)""", re.IGNORECASE)
EXTERNAL_URL = re.compile(r"^(?:https?:|ftps?:|wss?:)?//", re.IGNORECASE)


def css_refs(css: str) -> list[str]:
    refs = [next(g for g in m.groups() if g is not None) for m in _CSS_URL.finditer(css)]
    refs += _CSS_IMPORT.findall(css)
    out = []
    for r in refs:
        r = r.strip()
        if not r or r.startswith(("#", "%23", "data:", "about:", "blob:")):
            continue
        out.append(r)
    return out


def _deps(vpath: str, nm: Path) -> list[str]:
    """Vendor paths a file needs besides itself: url() targets of a stylesheet, run-time images of a script."""
    deps = list(_EXTRA_DEPS.get(vpath, ()))
    if vpath.endswith(".css"):
        css = vendor_bytes(vpath, nm).decode("utf-8", errors="replace")
        for ref in css_refs(css):
            if EXTERNAL_URL.match(ref):
                raise OfflineAssetError(f"样式表 {vpath} 引用了外部地址 {ref}，离线环境无法加载。", details=ref)
            target = ref.split("?", 1)[0].split("#", 1)[0]
            dep = posixpath.normpath(posixpath.join(posixpath.dirname(vpath), target))
            if dep.startswith(".."):
                raise OfflineAssetError(f"样式表 {vpath} 引用了 node_modules 之外的文件 {ref}。")
            deps.append(dep)
    return deps


def required_vendor_paths(vpaths: Iterable[str], node_modules: Path | None = None) -> list[str]:
    """The given vendor paths plus everything they reference (fonts, images), each once, in order."""
    nm = node_modules_dir(node_modules)
    seen: dict[str, None] = {}
    todo = list(vpaths)
    while todo:
        vp = todo.pop(0)
        if vp in seen:
            continue
        seen[vp] = None
        if vp not in _STUBS and not source_path(vp, nm).is_file():
            raise OfflineAssetError(
                f"缺少前端资源文件：{source_path(vp, nm)}。请在项目根目录运行 `npm ci` 安装固定版本的前端依赖。",
                details={"vendor_path": vp},
            )
        todo.extend(d for d in _deps(vp, nm) if d not in seen)
    return list(seen)


@lru_cache(maxsize=8)
def _whitelist(nm: Path) -> tuple[str, ...]:
    roots = list(dict.fromkeys([a.path for a in asset_table()] + list(EXTRA_VENDOR_PATHS)))
    return tuple(required_vendor_paths(roots, nm))


@lru_cache(maxsize=1)
def _cache_dir() -> Path:
    """A private per-process cache for generated files when the face names none (it passes GRIDGOV_HOME's)."""
    return Path(tempfile.mkdtemp(prefix="gridgov-vendor-"))


def _materialise(vpath: str, nm: Path, cache_dir: Path) -> Path:
    """Write a generated/patched vendor file into the cache (only when its content changed)."""
    dest = cache_dir / vpath
    data = vendor_bytes(vpath, nm)
    if not dest.is_file() or dest.read_bytes() != data:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f"{dest.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(dest)
    return dest


def vendor_files(node_modules: Path | None = None, *, cache_dir: Path | None = None) -> dict[str, Path]:
    """Whitelist for the API: vendor path (URL part after /static/vendor/) -> file to send."""
    nm = node_modules_dir(node_modules)
    out: dict[str, Path] = {}
    for vp in _whitelist(nm):
        if is_generated(vp):
            out[vp] = _materialise(vp, nm, cache_dir or _cache_dir())
        else:
            out[vp] = source_path(vp, nm)
    return out


def resolve_vendor(path: str, node_modules: Path | None = None, *, cache_dir: Path | None = None) -> Path:
    """File to serve for ``/static/vendor/<path>``; raises NotFound unless the path is whitelisted."""
    vp = _clean_vendor_path(path)
    nm = node_modules_dir(node_modules)
    if vp not in _whitelist(nm):
        raise NotFound(f"未找到静态资源：{path}")
    if is_generated(vp):
        return _materialise(vp, nm, cache_dir or _cache_dir())
    return source_path(vp, nm)


def vendor_url(vpath: str, prefix: str = VENDOR_URL_PREFIX) -> str:
    """HTTP URL of a vendor file, e.g. ``vendor_url(SWAGGER_UI_JS)`` for FastAPI's offline /docs."""
    return prefix.rstrip("/") + "/" + vpath


def is_generated(vpath: str) -> bool:
    """Whether a vendor file is generated or patched here (so it is written out, never copied as is)."""
    return vpath in _STUBS or vpath in _PATCHES
