"""Offline front-end assets: every CDN link folium writes is rewritten to a pinned local copy.

Government intranets have no internet, so a map must never load a script, stylesheet or font from a CDN.
The table :data:`ASSETS` maps each CDN URL that folium (and the plugins gridgov uses) writes into a map
(read from folium's own asset lists) to a *vendor path*: a file path relative to ``node_modules/``
(installed from the pinned ``package.json`` with ``npm ci``). Two extra namespaces cover files npm lacks:

* ``_folium/…``  – files shipped inside the installed folium package (``folium/templates``);
* ``_gridgov/…`` – small stubs generated here (e.g. folium's icon-rotation CSS, which lives in a gist).

Some CSS files are patched on the fly (a CDN font URL inside ``leaflet.timedimension.control.css``).
Files a stylesheet references through ``url(...)`` (web fonts, images) are added automatically.

Two output modes:

* ``"file"`` – files are copied into ``lib/`` next to the HTML and linked relatively, so the map opens
  from disk with the network off (see :func:`save_offline`);
* ``"http"`` – links point at ``/static/vendor/<vendor path>``; the API serves exactly the whitelisted
  files with :func:`resolve_vendor` / :func:`vendor_files`.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import folium
import folium.plugins
from branca.element import CssLink, Element, Figure, JavascriptLink
from folium.elements import JSCSSMixin

from gridgov.errors import NotFound, OfflineAssetError

__all__ = [
    "ASSETS",
    "VENDOR_BY_NAME",
    "EXTRA_VENDOR_PATHS",
    "LIB_DIRNAME",
    "SUPPORTED_PLUGINS",
    "SWAGGER_UI_CSS",
    "SWAGGER_UI_FAVICON",
    "SWAGGER_UI_JS",
    "VENDOR_URL_PREFIX",
    "Asset",
    "OfflineAssetError",
    "asset_for_url",
    "external_urls",
    "localise",
    "node_modules_dir",
    "render_offline",
    "required_vendor_paths",
    "resolve_vendor",
    "save_offline",
    "vendor_bytes",
    "vendor_files",
    "vendor_url",
]

Mode = Literal["file", "http"]

VENDOR_URL_PREFIX = "/static/vendor/"
"""URL prefix under which the API serves vendor files (``/static/vendor/leaflet/dist/leaflet.js``)."""

LIB_DIRNAME = "lib"
"""Folder next to a saved HTML map that holds its copied assets in ``"file"`` mode."""

FOLIUM_NS = "_folium/"
STUB_NS = "_gridgov/"


@dataclass(frozen=True)
class Asset:
    """One CDN link written by folium and the local file that replaces it."""

    name: str
    """Asset name as in folium's ``default_js`` / ``default_css`` lists."""
    url: str
    """The exact CDN URL folium writes."""
    path: str
    """Vendor path: relative to ``node_modules/``, or in the ``_folium/`` / ``_gridgov/`` namespace."""


VENDOR_BY_NAME: dict[str, str] = {
    # folium.Map defaults
    "leaflet": "leaflet/dist/leaflet.js",
    "jquery": "jquery/dist/jquery.min.js",
    "bootstrap": "bootstrap/dist/js/bootstrap.bundle.min.js",
    "awesome_markers": "leaflet.awesome-markers/dist/leaflet.awesome-markers.js",
    "leaflet_css": "leaflet/dist/leaflet.css",
    "bootstrap_css": "bootstrap/dist/css/bootstrap.min.css",
    # Bootstrap 3 "glyphicons only" build (folium's netdna 3.0.0 file is not on npm; same classes and font).
    "glyphicons_css": "glyphicons-only-bootstrap/css/bootstrap.min.css",
    "awesome_markers_font_css": "@fortawesome/fontawesome-free/css/all.min.css",
    "awesome_markers_css": "leaflet.awesome-markers/dist/leaflet.awesome-markers.css",
    # a file in folium's GitHub repo, not on npm: replaced by a generated stub (fa-rotate-0 … fa-rotate-359)
    "awesome_rotate_css": STUB_NS + "leaflet.awesome.rotate.min.css",
    # plugins
    "Control.Fullscreen.js": "leaflet.fullscreen/Control.FullScreen.js",
    "Control.FullScreen.css": "leaflet.fullscreen/Control.FullScreen.css",
    "leaflet_measure_js": "leaflet-measure/dist/leaflet-measure.min.js",
    "leaflet_measure_css": "leaflet-measure/dist/leaflet-measure.css",
    "Leaflet.Search.js": "leaflet-search/dist/leaflet-search.min.js",
    "Leaflet.Search.css": "leaflet-search/dist/leaflet-search.min.css",
    # folium ships a patched Leaflet.heat (weights fix, Leaflet.heat PR #78) inside the package: use that
    "leaflet-heat.js": FOLIUM_NS + "leaflet_heat.min.js",
    "iso8601": "iso8601-js-period/iso8601.js",
    "leaflet.timedimension.min.js": "leaflet-timedimension/dist/leaflet.timedimension.min.js",
    "leaflet.timedimension.control.min.css": "leaflet-timedimension/dist/leaflet.timedimension.control.css",
    "heatmap.min.js": FOLIUM_NS + "pa7_hm.min.js",
    "leaflet-heatmap.js": FOLIUM_NS + "pa7_leaflet_hm.min.js",
    "markerclusterjs": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/dist/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/dist/MarkerCluster.Default.css",
    "leaflet_geoman_js": "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js",
    "leaflet_geoman_css": "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css",
    "polylinetextpath": "leaflet-textpath/leaflet.textpath.js",
    # the same jquery as the Map default, as TimestampedGeoJson links it
    "jquery3.7.1": "jquery/dist/jquery.min.js",
    # branca colormap legends (ColorMap.render adds this link by hand, under the name "d3")
    "d3": "d3/d3.min.js",
}
"""Local file (vendor path) for each asset *name* folium, its plugins and branca use. The CDN URLs are not
written here: :data:`ASSETS` reads them from the libraries themselves, so an upgrade that changes a URL is
still recognised (and a new, unmapped name still raises)."""

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
    "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",  # MVT grid tiles (maps/gridmap.py)
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

SUPPORTED_PLUGINS: tuple[type[JSCSSMixin], ...] = (
    folium.plugins.Fullscreen,
    folium.plugins.MeasureControl,
    folium.plugins.Search,
    folium.plugins.HeatMap,
    folium.plugins.HeatMapWithTime,
    folium.plugins.MarkerCluster,
    folium.plugins.FastMarkerCluster,
    folium.plugins.GeoMan,
    folium.plugins.PolyLineTextPath,
)
"""folium plugin classes whose every asset has a local copy (tests check this list)."""



def _branca_d3_url() -> str:
    """The d3 link branca writes while rendering a colormap (it is not in any asset list)."""
    import branca.colormap
    from branca.element import Figure as BrancaFigure

    fig = BrancaFigure()
    branca.colormap.LinearColormap(["black", "white"]).add_to(fig)
    fig.render()
    link = fig.header._children.get("d3")
    if not isinstance(link, JavascriptLink):
        raise OfflineAssetError("branca 未再以 d3 名称引用 d3.js：请检查 gridgov/maps/assets.py 与 branca 版本。")
    return str(link.url)


def _assets() -> tuple[Asset, ...]:
    """(name, CDN URL, vendor path) for every asset of folium.Map, the supported plugins and branca."""
    owners: tuple[type[JSCSSMixin], ...] = (folium.Map, *SUPPORTED_PLUGINS, folium.plugins.TimestampedGeoJson)
    links = [link for cls in owners for link in [*(cls.default_js or []), *(cls.default_css or [])]]
    links.append(("d3", _branca_d3_url()))
    found = {url: Asset(name, url, VENDOR_BY_NAME[name]) for name, url in links if name in VENDOR_BY_NAME}
    return tuple(found.values())


ASSETS: tuple[Asset, ...] = _assets()
"""The CDN links folium and branca write, each with the local file that replaces it."""

_BY_URL: dict[str, Asset] = {a.url: a for a in ASSETS}

# --------------------------------------------------------------------------------------------- paths


def _project_root(start: Path | None = None) -> Path | None:
    """The nearest directory at or above ``start`` (default CWD) that holds pyproject.toml."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "pyproject.toml").is_file():
            return d
    return None


def node_modules_dir(node_modules: Path | None = None) -> Path:
    """The node_modules directory: the argument, else settings ``node_modules`` (relative: CWD, then project)."""
    if node_modules is None:
        from gridgov.config import get_settings

        node_modules = get_settings().node_modules
    node_modules = Path(node_modules).expanduser()
    candidates = [node_modules] if node_modules.is_absolute() else [Path.cwd() / node_modules]
    if not node_modules.is_absolute():
        for start in (Path.cwd(), Path(__file__).parent):
            root = _project_root(start)
            if root is not None:
                candidates.append(root / node_modules)
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    raise OfflineAssetError(
        f"未找到前端资源目录 node_modules（查找位置：{', '.join(str(c) for c in candidates)}）。"
        "请在项目根目录运行 `npm ci`，或设置 GRIDGOV_NODE_MODULES。",
        details={"candidates": [str(c) for c in candidates]},
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


def _source(vpath: str, nm: Path) -> Path:
    """The on-disk source of a (non-generated) vendor path."""
    if vpath.startswith(FOLIUM_NS):
        return _folium_templates() / vpath[len(FOLIUM_NS) :]
    return nm / vpath


def vendor_bytes(vpath: str, node_modules: Path | None = None) -> bytes:
    """Content of a vendor file as served/copied (stubs generated, patches applied)."""
    if vpath in _STUBS:
        return _STUBS[vpath]()
    src = _source(vpath, node_modules_dir(node_modules))
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
_EXTERNAL = re.compile(r"^(?:https?:|ftps?:|wss?:)?//", re.IGNORECASE)


def _css_refs(css: str) -> list[str]:
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
        for ref in _css_refs(css):
            if _EXTERNAL.match(ref):
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
        if vp not in _STUBS and not _source(vp, nm).is_file():
            raise OfflineAssetError(
                f"缺少前端资源文件：{_source(vp, nm)}。请在项目根目录运行 `npm ci` 安装固定版本的前端依赖。",
                details={"vendor_path": vp},
            )
        todo.extend(d for d in _deps(vp, nm) if d not in seen)
    return list(seen)


@lru_cache(maxsize=8)
def _whitelist(nm: Path) -> tuple[str, ...]:
    roots = list(dict.fromkeys([a.path for a in ASSETS] + list(EXTRA_VENDOR_PATHS)))
    return tuple(required_vendor_paths(roots, nm))


def _cache_dir() -> Path:
    from gridgov.config import get_settings

    return get_settings().home_abs / "vendor-cache"


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
        if vp in _STUBS or vp in _PATCHES:
            out[vp] = _materialise(vp, nm, cache_dir or _cache_dir())
        else:
            out[vp] = _source(vp, nm)
    return out


def resolve_vendor(path: str, node_modules: Path | None = None, *, cache_dir: Path | None = None) -> Path:
    """File to serve for ``/static/vendor/<path>``; raises NotFound unless the path is whitelisted."""
    vp = _clean_vendor_path(path)
    nm = node_modules_dir(node_modules)
    if vp not in _whitelist(nm):
        raise NotFound(f"未找到静态资源：{path}")
    if vp in _STUBS or vp in _PATCHES:
        return _materialise(vp, nm, cache_dir or _cache_dir())
    return _source(vp, nm)


def vendor_url(vpath: str, prefix: str = VENDOR_URL_PREFIX) -> str:
    """HTTP URL of a vendor file, e.g. ``vendor_url(SWAGGER_UI_JS)`` for FastAPI's offline /docs."""
    return prefix.rstrip("/") + "/" + vpath


def asset_for_url(url: str) -> Asset:
    """The table entry for a CDN URL; raises OfflineAssetError when folium writes a URL we do not know."""
    try:
        return _BY_URL[url]
    except KeyError:
        raise OfflineAssetError(
            f"地图引用了没有本地副本的外部资源：{url}。请在 gridgov/maps/assets.py 的 ASSETS 表中登记，"
            "并在 package.json 中固定对应的 npm 包版本。",
            details={"url": url},
        ) from None


# ------------------------------------------------------------------------------------- rewriting


def _local_prefix(mode: Mode, prefix: str | None) -> str:
    if mode == "file":
        return (prefix or LIB_DIRNAME).rstrip("/") + "/"
    if mode == "http":
        return (prefix or VENDOR_URL_PREFIX).rstrip("/") + "/"
    raise ValueError(f"unknown mode {mode!r}; expected 'file' or 'http'")


def _to_vendor_path(url: str, prefixes: Iterable[str]) -> str:
    """Vendor path behind a CDN URL or an already-localised URL (either mode)."""
    for p in prefixes:
        if url.startswith(p):
            return url[len(p) :]
    return asset_for_url(url).path


def _walk(el: Element) -> Iterator[Element]:
    yield el
    for part in ("header", "html", "script"):
        sub = getattr(el, part, None)
        if isinstance(sub, Element):
            yield from _walk(sub)
    for child in list(el._children.values()):
        yield from _walk(child)


def _root(m: folium.Map | Figure | Element) -> Element:
    return m.get_root()


def localise(
    m: folium.Map | Figure,
    mode: Mode = "file",
    *,
    out_dir: Path | None = None,
    node_modules: Path | None = None,
    prefix: str | None = None,
) -> list[str]:
    """Point every JS/CSS link of the map and its plugins at local copies; return the vendor paths used.

    ``mode="file"`` copies the files into ``out_dir/lib`` (``out_dir`` is the folder of the HTML);
    ``mode="http"`` links ``/static/vendor/...`` (or ``prefix``).  Unknown CDN URLs raise
    :class:`OfflineAssetError`.  Links added only while rendering (branca colormaps) are handled by
    :func:`render_offline` / :func:`save_offline`, which callers should prefer.
    """
    local = _local_prefix(mode, prefix)
    known = (local, _local_prefix("file", None), _local_prefix("http", None))
    used: dict[str, None] = {}

    def fix(url: str) -> str:
        vp = _to_vendor_path(url, known)
        used[vp] = None
        return local + vp

    for el in _walk(_root(m)):
        if isinstance(el, JSCSSMixin):
            el.default_js = [(name, fix(url)) for name, url in el.default_js]
            el.default_css = [(name, fix(url)) for name, url in el.default_css]
        if isinstance(el, (JavascriptLink, CssLink)):
            el.url = fix(el.url)
    vpaths = list(used)
    if mode == "file":
        if out_dir is None:
            raise ValueError("localise(mode='file') needs out_dir: the folder the HTML is saved in")
        _copy_into(Path(out_dir) / local.rstrip("/"), vpaths, node_modules)
    return vpaths


def _copy_into(lib_dir: Path, vpaths: Iterable[str], node_modules: Path | None) -> None:
    """Copy vendor files and their dependencies into ``lib_dir`` (skipping unchanged files)."""
    nm = node_modules_dir(node_modules)
    for vp in required_vendor_paths(vpaths, nm):
        dest = lib_dir / vp
        dest.parent.mkdir(parents=True, exist_ok=True)
        if vp in _STUBS or vp in _PATCHES:
            data = vendor_bytes(vp, nm)
            if not dest.is_file() or dest.read_bytes() != data:
                dest.write_bytes(data)
            continue
        src = _source(vp, nm)
        st = src.stat()
        if dest.is_file():
            dt = dest.stat()
            if dt.st_size == st.st_size and int(dt.st_mtime) == int(st.st_mtime):
                continue
        shutil.copy2(src, dest)


_TAG_URL = re.compile(
    r"""(<(?P<tag>script|link|img|iframe|source|embed|video|audio)\b[^>]*?\s(?P<attr>src|href)\s*=\s*)"""
    r"""(?P<q>["'])(?P<url>.*?)(?P=q)""",
    re.IGNORECASE | re.DOTALL,
)
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style>", re.IGNORECASE | re.DOTALL)


def external_urls(html: str) -> list[str]:
    """Every http(s):// or protocol-relative URL the page would load (script/link/img src, inline CSS)."""
    found: list[str] = [m["url"] for m in _TAG_URL.finditer(html) if _EXTERNAL.match(m["url"].strip())]
    for block in _STYLE_BLOCK.findall(html):
        found += [r for r in _css_refs(block) if _EXTERNAL.match(r)]
    return list(dict.fromkeys(found))


def _rewrite_html(html: str, local: str) -> tuple[str, list[str]]:
    """Replace CDN script/link URLs left in rendered HTML; return the HTML and the vendor paths it links."""
    used: dict[str, None] = {}
    known = (local, _local_prefix("file", None), _local_prefix("http", None))

    def sub(m: re.Match[str]) -> str:
        url = m["url"].strip()
        if m["tag"].lower() not in ("script", "link"):
            return m.group(0)
        if _EXTERNAL.match(url):
            vp = asset_for_url(url).path
        elif any(url.startswith(p) for p in known):
            vp = _to_vendor_path(url, known)
        else:
            return m.group(0)
        used[vp] = None
        return f"{m.group(1)}{m['q']}{local}{vp}{m['q']}"

    return _TAG_URL.sub(sub, html), list(used)


def render_offline(
    m: folium.Map | Figure,
    mode: Mode = "http",
    *,
    out_dir: Path | None = None,
    node_modules: Path | None = None,
    prefix: str | None = None,
) -> str:
    """Render the map to HTML with only local asset links (raises if any external URL would remain)."""
    localise(m, mode, out_dir=out_dir, node_modules=node_modules, prefix=prefix)
    html = _root(m).render()
    local = _local_prefix(mode, prefix)
    html, used = _rewrite_html(html, local)
    if mode == "file":
        assert out_dir is not None  # checked by localise
        _copy_into(Path(out_dir) / local.rstrip("/"), used, node_modules)
    else:
        required_vendor_paths(used, node_modules)  # fail now rather than with a 404 in the browser
    left = external_urls(html)
    if left:
        raise OfflineAssetError(f"地图仍引用外部资源：{', '.join(left)}", details={"urls": left})
    return html


def save_offline(m: folium.Map | Figure, path: Path, *, node_modules: Path | None = None) -> Path:
    """Save the map as HTML that works from disk with no network; assets are copied to ``lib/`` beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    html = render_offline(m, "file", out_dir=path.parent, node_modules=node_modules)
    path.write_text(html, encoding="utf-8")
    return path
