"""公示 boards: one page per grid with its map, responsible staff, 监督电话, duties, date and an optional
QR code, laid out in HTML and printed to PDF with WeasyPrint (fonts embedded, text searchable); PNG is the
PDF rasterised with pdfium at the requested dpi. Never any resident's personal data: at most counts.

Two kinds (``KINDS``): the grid board, and the 楼院党建公示 board (gridgov.print.party_board: the Party organisation
on the grid, its secretary and committee, the 党员责任区 on the map; members by name only with their 亮身份 consent).

In portrait the panel under the map is laid out first on its own and measured; the map is then drawn at the
full height it leaves, so the page is filled whatever the length of the staff list and duties."""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy.orm import Session

from gridgov.config import BoardSettings, defaults
from gridgov.errors import InvalidInput
from gridgov.print.boardmap import board_map_svg
from gridgov.print.data import BoardData, boards_data
from gridgov.print.party_board import HEADING as PARTY_HEADING
from gridgov.print.party_board import party_context
from gridgov.print.party_data import PartyBoardData, party_boards_data

TEMPLATES = Path(__file__).parent / "templates"

PAPERS: dict[str, tuple[float, float]] = {"A4": (210, 297), "A3": (297, 420), "A2": (420, 594), "A1": (594, 841)}
"""ISO 216 paper sizes in millimetres (portrait width, height)."""

FORMATS = ("pdf", "png")
KINDS: dict[str, str] = {"grid": "网格公示牌", "party": "楼院党建公示牌"}
"""Board kinds: the grid board, and the 楼院党建公示 board."""
MAX_PNG_PIXELS = 120_000_000  # A1 at 400 dpi ≈ 120 MP; more is a mistake, not a print job


@dataclass(frozen=True)
class PageLayout:
    """Millimetre geometry of one board page, scaled with the paper."""

    paper: str
    landscape: bool
    width_mm: float
    height_mm: float
    margin_mm: float
    header_h: float
    gap_mm: float
    map_w: float
    map_h: float
    side_w: float
    side_h: float
    font_pt: float
    qr_mm: float
    safety_mm: float = 1.0

    @property
    def inner_w(self) -> float:
        """Printable width."""
        return self.width_mm - 2 * self.margin_mm

    @property
    def inner_h(self) -> float:
        """Printable height."""
        return self.height_mm - 2 * self.margin_mm

    @property
    def body_h(self) -> float:
        """Height below the header, shared by the map and (portrait) the panel under it."""
        return self.inner_h - self.header_h - self.gap_mm

    def fitted(self, panel_h: float) -> PageLayout:
        """Portrait: the map grown into all the height that a panel of ``panel_h`` mm under it leaves free
        (``panel_h`` at most ``side_h``, else the map would shrink below its least height)."""
        return replace(self, map_h=self.body_h - self.gap_mm - panel_h - self.safety_mm, side_h=panel_h)


MIN_MAP_SHARE = 0.55
"""Portrait: the map's least share of the height below the header; the panel under it gets the rest at most."""


def layout(paper: str = "A4", landscape: bool = False) -> PageLayout:
    """The page layout for a paper size: map beside the panel (landscape) or above it (portrait; the map's
    least height here, grown to fill the page by :meth:`PageLayout.fitted` once the panel is measured)."""
    key = paper.strip().upper()
    if key not in PAPERS:
        raise InvalidInput(f"不支持的纸张：{paper}（可选 {', '.join(PAPERS)}）")
    w, h = PAPERS[key]
    if landscape:
        w, h = h, w
    k = min(w, h) / 210  # everything scales with the short side, so an A1 board reads like an A4 one up close
    margin, gap, header = 10 * k, 4 * k, 24 * k
    inner_w, inner_h = w - 2 * margin, h - 2 * margin
    body_h = inner_h - header - gap
    if landscape:
        map_w, map_h = inner_w * 0.52, body_h
        side_w, side_h = inner_w - map_w - gap, body_h
    else:
        map_w, map_h = inner_w, body_h * MIN_MAP_SHARE
        side_w, side_h = inner_w, body_h - map_h - gap
    safety = 1.0 * k  # rounding in the layout engine must not push the last line onto a new page
    return PageLayout(key, landscape, w, h, margin, header, gap, map_w, map_h - safety, side_w, side_h - safety,
                      round(9.5 * k, 2), 17 * k, safety)  # fmt: skip


@cache
def _template(name: str = "board.html") -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    return env.get_template(name)


def duties(settings: BoardSettings, names: dict[str, str]) -> list[str]:
    """The duties lines from the configured template (or the Chinese default), names filled in."""
    path = settings.board_duties_path or TEMPLATES / "duties.txt"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"无法读取职责模板 {path}：{exc}") from exc
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [line.format_map(_Names(names)) for line in lines]


class _Names(dict[str, str]):
    """format_map() mapping that leaves unknown {keys} as they are."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _qr(url: str) -> str:
    import segno

    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="svg", border=1, scale=4, dark="#212529")
    return _uri("image/svg+xml", buf.getvalue())


def _board_context(data: BoardData, settings: BoardSettings) -> dict[str, Any]:
    """The template values of one board, its map not drawn yet."""
    street, community = data.parent_name("street"), data.parent_name("community")
    names = {"grid": data.name, "community": community or "", "street": street or ""}
    trail = " / ".join(n for _, _, n in data.parents)
    qr = settings.board_qr_url.format_map(_Names({"code": data.code})) if settings.board_qr_url else None
    common = {"code": data.code, "name": data.name, "trail": trail or data.name, "map_uri": None,
              "qr_uri": _qr(qr) if qr else None, "street": street}  # fmt: skip
    if isinstance(data, PartyBoardData):
        return {**common, **party_context(data), "template": "party_board.html", "heading": PARTY_HEADING}
    return {**common, "staff": data.staff, "duties": duties(settings, names), "counts": data.counts,
            "template": "board.html", "heading": "网格公示牌"}  # fmt: skip


def _with_map(context: dict[str, Any], data: BoardData, page: PageLayout) -> dict[str, Any]:
    """The board's values with its map drawn at the page's map size (a party board's with its 责任区)."""
    areas = data.area_features if isinstance(data, PartyBoardData) else ()
    svg = board_map_svg(data, page.map_w, page.map_h, font_pt=page.font_pt * 0.85, areas=areas)
    return {**context, "map_uri": _uri("image/svg+xml", svg.encode("utf-8"))}


FIT_SCALES = (1.0, 0.92, 0.84, 0.76, 0.68)
"""Text sizes tried, largest first, until a board fits its page (a long staff list or duties text)."""


def _today(settings: BoardSettings, today: dt.date | None) -> dt.date:
    return today or dt.datetime.now(ZoneInfo(settings.timezone)).date()


def board_html(data: BoardData, page: PageLayout, settings: BoardSettings | None = None, *,
               today: dt.date | None = None, text_scale: float = 1.0, context: dict[str, Any] | None = None,
               measure: bool = False) -> str:  # fmt: skip
    """The HTML page of one board (``context``: a prepared board context, to reuse its drawn map; ``measure``:
    no map and a panel as tall as its content, marked for :func:`panel_height`)."""
    settings = settings or defaults(BoardSettings)
    day = _today(settings, today)
    ctx = context or _board_context(data, settings)
    if measure:
        ctx = {**ctx, "map_uri": None}
    elif ctx["map_uri"] is None:
        ctx = _with_map(ctx, data, page)
    street = ctx["street"]
    return _template(ctx["template"]).render(
        boards=[ctx], page=page, text_scale=text_scale, title=f"{ctx['name']} {ctx['heading']}", measure=measure,
        hotline=settings.board_hotline, issuer=settings.board_issuer or (f"{street}办事处" if street else ""),
        date=f"{day.year}年{day.month}月{day.day}日", heading=ctx["heading"],
    )  # fmt: skip


PX_PER_MM = 96 / 25.4  # WeasyPrint's positions are CSS pixels


def panel_height(document: Any, code: str) -> float | None:
    """Height in mm of the panel of a board laid out with ``measure=True`` (the lowest end of its columns);
    None when it does not fit on one page."""
    if len(document.pages) != 1:
        return None
    anchors = document.pages[0].anchors  # name → (x, y), or in newer WeasyPrint (x1, y1, x2, y2)
    top = anchors[f"side-{code}"][1]
    bottom = max(a[1] for name, a in anchors.items() if name.startswith(f"side-end-{code}-"))
    return float(bottom - top) / PX_PER_MM


def board_document(data: BoardData, page: PageLayout, settings: BoardSettings, today: dt.date | None = None) -> Any:
    """One board as a one-page WeasyPrint document, text shrunk step by step until it fits; in portrait the map
    takes all the height the panel under it leaves (the panel measured in a first layout without the map)."""
    import weasyprint

    ctx = _board_context(data, settings)
    maps: dict[tuple[float, float], dict[str, Any]] = {}
    for scale in FIT_SCALES:
        fitted = page
        if not page.landscape:
            probe = board_html(data, page, settings, today=today, text_scale=scale, context=ctx, measure=True)
            panel = panel_height(weasyprint.HTML(string=probe, base_url=str(TEMPLATES)).render(), data.code)
            if panel is None or panel > page.side_h:
                continue
            fitted = page.fitted(panel)
        key = (fitted.map_w, fitted.map_h)
        if key not in maps:
            maps[key] = _with_map(ctx, data, fitted)
        html = board_html(data, fitted, settings, today=today, text_scale=scale, context=maps[key])
        doc = weasyprint.HTML(string=html, base_url=str(TEMPLATES)).render()
        if len(doc.pages) == 1:
            return doc
    raise InvalidInput(f"网格 {data.code} 的公示内容过多，{page.paper} 纸张放不下：请换更大的纸张或精简职责文本"
                       if not isinstance(data, PartyBoardData) else
                       f"网格 {data.code} 的党建公示内容过多，{page.paper} 纸张放不下：请换更大的纸张")  # fmt: skip


def boards_pdf(boards: Sequence[BoardData], page: PageLayout, settings: BoardSettings | None = None, *,
               today: dt.date | None = None, progress: Callable[[str], None] | None = None) -> bytes:  # fmt: skip
    """One PDF with a page per board (fonts embedded and subsetted, text searchable).

    Each board is printed on its own and the pages are joined with pdfium, so memory stays flat however
    many grids a street has (one WeasyPrint layout at a time)."""
    import pypdfium2

    settings = settings or defaults(BoardSettings)
    if len(boards) == 1:
        pdf: bytes = board_document(boards[0], page, settings, today).write_pdf()
        if progress is not None:
            progress(boards[0].code)
        return pdf
    merged = pypdfium2.PdfDocument.new()
    try:
        for b in boards:
            part = pypdfium2.PdfDocument(board_document(b, page, settings, today).write_pdf())
            merged.import_pages(part)
            part.close()
            if progress is not None:
                progress(b.code)
        buf = io.BytesIO()
        merged.save(buf)
        return buf.getvalue()
    finally:
        merged.close()


def pdf_to_pngs(pdf: bytes, dpi: int) -> list[bytes]:
    """Each page of a PDF as a PNG at ``dpi`` (pixel size = paper size × dpi)."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(pdf)
    out = []
    try:
        for page in doc:
            w, h = page.get_size()  # points
            size = (round(w * dpi / 72), round(h * dpi / 72))
            image = page.render(scale=dpi / 72).to_pil().convert("RGB")
            if image.size != size:  # pdfium may round a dimension up by one pixel
                image = image.crop((0, 0, *size))
            buf = io.BytesIO()
            image.save(buf, "PNG", dpi=(dpi, dpi))
            out.append(buf.getvalue())
    finally:
        doc.close()
    return out


def check_options(paper: str, fmt: str, dpi: int, landscape: bool, kind: str = "grid") -> PageLayout:
    """Validate the output options; returns the page layout."""
    if kind not in KINDS:
        raise InvalidInput(f"不支持的公示牌类型：{kind}（可选 {'、'.join(f'{k}（{v}）' for k, v in KINDS.items())}）")
    if fmt not in FORMATS:
        raise InvalidInput(f"不支持的格式：{fmt}（可选 pdf、png）")
    page = layout(paper, landscape)
    if not 36 <= dpi <= 600:
        raise InvalidInput(f"分辨率应在 36–600 dpi 之间：{dpi}")
    if fmt == "png" and page.width_mm * page.height_mm / 25.4**2 * dpi**2 > MAX_PNG_PIXELS:
        raise InvalidInput(f"图片过大：{page.paper} 在 {dpi} dpi 下超过 1.2 亿像素，请降低分辨率")
    return page


def export_boards(
    session: Session,
    codes: Iterable[str],
    *,
    paper: str = "A4",
    landscape: bool = False,
    fmt: str = "pdf",
    dpi: int = 300,
    settings: BoardSettings | None = None,
    progress: Callable[[str], None] | None = None,
    on: dt.date | None = None,
    kind: str = "grid",
) -> list[bytes]:
    """Boards of ``kind`` (KINDS) of the given grids: one PDF with a page per grid, or one PNG per grid; dated ``on``
    (today) with the staff, posts and members in force that day."""
    settings = settings or defaults(BoardSettings)
    page = check_options(paper, fmt, dpi, landscape, kind)
    day = _today(settings, on)
    data: Sequence[BoardData] = (party_boards_data(session, codes, on_day=day) if kind == "party" else
                                 boards_data(session, codes, with_counts=settings.board_show_counts, on_day=day))
    if not data:
        raise InvalidInput("没有要导出的网格")
    pdf = boards_pdf(data, page, settings, today=day, progress=progress)
    return [pdf] if fmt == "pdf" else pdf_to_pngs(pdf, dpi)
