"""Offline front-end assets: every CDN link folium writes is rewritten to a pinned local copy.

Government intranets have no internet, so a map must never load a script, stylesheet or font from a CDN.
The table :data:`ASSETS` maps each CDN URL that folium (and the plugins gridgov uses) writes into a map
(read from folium's own asset lists) to a *vendor path*: a file path relative to ``node_modules/``
(installed from the pinned ``package.json`` with ``npm ci``). Two extra namespaces cover files npm lacks:

* ``_folium/…``  – files shipped inside the installed folium package (``folium/templates``);
* ``_gridgov/…`` – small stubs generated here (e.g. folium's icon-rotation CSS, which lives in a gist).

Some CSS files are patched on the fly (a CDN font URL inside ``leaflet.timedimension.control.css``).
Files a stylesheet references through ``url(...)`` (web fonts, images) are added automatically.
The table lives in :mod:`gridgov.maps.cdn`, the local files and the served whitelist in
:mod:`gridgov.maps.vendor`; this module rewrites and saves pages, and re-exports both for callers.

Two output modes:

* ``"file"`` – files are copied into ``lib/`` next to the HTML and linked relatively, so the map opens
  from disk with the network off (see :func:`save_offline`);
* ``"http"`` – links point at ``/static/vendor/<vendor path>``; the API serves exactly the whitelisted
  files with :func:`resolve_vendor` / :func:`vendor_files`.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import folium
from branca.element import CssLink, Element, Figure, JavascriptLink
from folium.elements import JSCSSMixin

from gridgov.errors import OfflineAssetError
from gridgov.maps.cdn import (
    FOLIUM_NS,
    STUB_NS,
    SUPPORTED_PLUGINS,
    VENDOR_BY_NAME,
    Asset,
    asset_for_url,
    asset_table,
)
from gridgov.maps.stamps import stamp_comment
from gridgov.maps.vendor import (
    EXTERNAL_URL,
    EXTRA_VENDOR_PATHS,
    SWAGGER_UI_CSS,
    SWAGGER_UI_FAVICON,
    SWAGGER_UI_JS,
    VENDOR_URL_PREFIX,
    css_refs,
    is_generated,
    node_modules_dir,
    required_vendor_paths,
    resolve_vendor,
    source_path,
    vendor_bytes,
    vendor_files,
    vendor_url,
)

__all__ = [
    "ASSETS",
    "EXTRA_VENDOR_PATHS",
    "FOLIUM_NS",
    "LIB_DIRNAME",
    "STUB_NS",
    "SUPPORTED_PLUGINS",
    "SWAGGER_UI_CSS",
    "SWAGGER_UI_FAVICON",
    "SWAGGER_UI_JS",
    "VENDOR_BY_NAME",
    "VENDOR_URL_PREFIX",
    "Asset",
    "OfflineAssetError",
    "asset_for_url",
    "asset_table",
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

LIB_DIRNAME = "lib"
"""Folder next to a saved HTML map that holds its copied assets in ``"file"`` mode."""

if TYPE_CHECKING:
    ASSETS: tuple[Asset, ...]
    """The table of :func:`asset_table` (a module attribute built on first access)."""


def __getattr__(name: str) -> Any:
    """``ASSETS`` is :func:`asset_table`, built when first read rather than at import."""
    if name == "ASSETS":
        return asset_table()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        if is_generated(vp):
            data = vendor_bytes(vp, nm)
            if not dest.is_file() or dest.read_bytes() != data:
                dest.write_bytes(data)
            continue
        src = source_path(vp, nm)
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
    found: list[str] = [m["url"] for m in _TAG_URL.finditer(html) if EXTERNAL_URL.match(m["url"].strip())]
    for block in _STYLE_BLOCK.findall(html):
        found += [r for r in css_refs(block) if EXTERNAL_URL.match(r)]
    return list(dict.fromkeys(found))


def _rewrite_html(html: str, local: str) -> tuple[str, list[str]]:
    """Replace CDN script/link URLs left in rendered HTML; return the HTML and the vendor paths it links."""
    used: dict[str, None] = {}
    known = (local, _local_prefix("file", None), _local_prefix("http", None))

    def sub(m: re.Match[str]) -> str:
        url = m["url"].strip()
        if m["tag"].lower() not in ("script", "link"):
            return m.group(0)
        if EXTERNAL_URL.match(url):
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


def save_offline(
    m: folium.Map | Figure, path: Path, *, node_modules: Path | None = None, stamp: str | None = None
) -> Path:
    """Save the map as HTML that works from disk with no network; assets are copied to ``lib/`` beside it.

    ``stamp`` (what the map was drawn from) is kept in a comment at the end (:mod:`gridgov.maps.stamps`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    html = render_offline(m, "file", out_dir=path.parent, node_modules=node_modules)
    if stamp is not None:
        html += stamp_comment(stamp)
    path.write_text(html, encoding="utf-8")
    return path
