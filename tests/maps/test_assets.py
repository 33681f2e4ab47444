"""The offline asset table: every CDN URL folium writes has a pinned local file; nothing external leaks."""

from __future__ import annotations

import re
from pathlib import Path

import branca.colormap
import folium
import folium.plugins
import pytest

from gridgov.errors import NotFound
from gridgov.maps import assets
from gridgov.maps.assets import (
    ASSETS,
    SUPPORTED_PLUGINS,
    OfflineAssetError,
    asset_for_url,
    external_urls,
    node_modules_dir,
    render_offline,
    required_vendor_paths,
    resolve_vendor,
    save_offline,
    vendor_bytes,
    vendor_files,
)

BRANCA_D3 = "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js"


def _folium_urls() -> list[tuple[str, str, str]]:
    """(owner, asset name, url) for folium.Map defaults and every supported plugin."""
    out = []
    for cls in (folium.Map, *SUPPORTED_PLUGINS):
        for name, url in [*(cls.default_js or []), *(cls.default_css or [])]:
            out.append((cls.__name__, name, url))
    out.append(("branca.colormap.ColorMap", "d3", BRANCA_D3))
    return out


@pytest.mark.parametrize(("owner", "name", "url"), _folium_urls(), ids=lambda v: str(v)[:60])
def test_every_folium_asset_resolves_to_a_local_file(owner: str, name: str, url: str) -> None:
    asset = asset_for_url(url)
    nm = node_modules_dir()
    paths = required_vendor_paths([asset.path])
    assert paths[0] == asset.path
    for vp in paths:
        if vp.startswith(assets.STUB_NS):
            assert vendor_bytes(vp), vp
        elif vp.startswith(assets.FOLIUM_NS):
            assert (Path(folium.__file__).parent / "templates" / vp[len(assets.FOLIUM_NS) :]).is_file(), vp
        else:
            assert (nm / vp).is_file(), f"{owner}.{name}: {vp} missing in {nm}"


def test_table_names_match_folium() -> None:
    known = {(name, url) for _, name, url in _folium_urls()}
    by_url = {url: name for name, url in known}
    for a in ASSETS:
        if a.url in by_url:
            assert by_url[a.url] == a.name or a.url == BRANCA_D3, a


def test_whitelist_complete_and_fonts_included(tmp_path: Path) -> None:
    files = vendor_files(cache_dir=tmp_path)
    for vp, path in files.items():
        assert path.is_file(), vp
    # web fonts and images referenced by the stylesheets are served too
    assert "@fortawesome/fontawesome-free/webfonts/fa-solid-900.woff2" in files
    assert "glyphicons-only-bootstrap/fonts/glyphicons-halflings-regular.woff2" in files
    assert "leaflet/dist/images/marker-icon-2x.png" in files
    assert "leaflet-measure/dist/images/rulers.png" in files
    assert "swagger-ui-dist/swagger-ui-bundle.js" in files
    # no stylesheet on the whitelist points outside it or to the internet
    for vp in files:
        if vp.endswith(".css"):
            css = files[vp].read_text(encoding="utf-8", errors="replace")
            assert not external_urls(f"<style>{css}</style>"), vp


def test_patched_timedimension_css_has_no_cdn_font(tmp_path: Path) -> None:
    path = resolve_vendor("leaflet-timedimension/dist/leaflet.timedimension.control.css", cache_dir=tmp_path)
    css = path.read_text(encoding="utf-8")
    assert "netdna" not in css and "//" not in re.sub(r"/\*.*?\*/", "", css, flags=re.S).replace("://", "")
    assert "../../glyphicons-only-bootstrap/fonts/glyphicons-halflings-regular.woff" in css


@pytest.mark.parametrize(
    "bad", ["../package.json", "leaflet/package.json", "leaflet/../../pyproject.toml", "/etc/passwd", "", "a\\b"]
)
def test_resolve_vendor_rejects_paths_off_the_whitelist(bad: str) -> None:
    with pytest.raises(NotFound):
        resolve_vendor(bad)


def test_resolve_vendor_serves_whitelisted_files(tmp_path: Path) -> None:
    assert resolve_vendor("leaflet/dist/leaflet.js").name == "leaflet.js"
    assert resolve_vendor("/swagger-ui-dist/swagger-ui.css").is_file()
    stub = resolve_vendor("_gridgov/leaflet.awesome.rotate.min.css", cache_dir=tmp_path)
    assert ".fa-rotate-45{" in stub.read_text()


def test_unknown_cdn_url_raises() -> None:
    m = folium.Map(tiles=None)
    folium.plugins.MiniMap().add_to(m)  # not in the table: must not be left as a CDN link
    with pytest.raises(OfflineAssetError, match="Control.MiniMap"):
        render_offline(m, "http")


def test_http_mode_links_only_vendor_urls(tmp_path: Path) -> None:
    m = folium.Map(tiles=None)
    folium.plugins.Fullscreen().add_to(m)
    html = render_offline(m, "http")
    assert external_urls(html) == []
    links = re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="([^"]+)"', html)
    assert links and all(u.startswith("/static/vendor/") for u in links), links
    whitelist = vendor_files(cache_dir=tmp_path)
    for u in links:
        assert u.removeprefix("/static/vendor/") in whitelist


def test_file_mode_copies_everything_including_render_time_links(tmp_path: Path) -> None:
    m = folium.Map(tiles=None)
    branca.colormap.LinearColormap(["#ffffff", "#ff0000"], vmin=0, vmax=10, caption="人数").add_to(m)
    for plugin in (
        folium.plugins.Fullscreen(),
        folium.plugins.MeasureControl(),
        folium.plugins.MarkerCluster(),
        folium.plugins.HeatMap([[34.24, 108.96, 1.0]]),
        folium.plugins.GeoMan(),
    ):
        plugin.add_to(m)
    out = save_offline(m, tmp_path / "maps" / "m.html")
    html = out.read_text(encoding="utf-8")
    assert external_urls(html) == []
    links = re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="([^"]+)"', html)
    assert "lib/d3/d3.min.js" in links
    for u in links:
        assert (out.parent / u).is_file(), u
    # css dependencies copied too (relative url() inside copied stylesheets resolve)
    assert (out.parent / "lib/@fortawesome/fontawesome-free/webfonts/fa-solid-900.woff2").is_file()


def test_external_urls_detects_leftovers() -> None:
    html = (
        '<script src="https://cdn.example.com/a.js"></script>'
        "<link rel='stylesheet' href='//cdn.example.com/b.css'/>"
        '<script src="lib/leaflet/dist/leaflet.js"></script>'
        '<a href="https://leafletjs.com">Leaflet</a>'
        "<style>@font-face{src:url(https://fonts.example.com/x.woff2)}</style>"
    )
    assert external_urls(html) == [
        "https://cdn.example.com/a.js",
        "//cdn.example.com/b.css",
        "https://fonts.example.com/x.woff2",
    ]
