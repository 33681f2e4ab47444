"""公示牌 page: the grids of the user's scope, the PNG preview, one board's download and the batch job."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import pypdfium2
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, text

from tests.browser import PageLog, assert_not_blank, chromium, open_page, serve
from tests.web.conftest import PASSWORD, csrf_of, login

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COMMUNITY, WEST, EAST = "610103006001", "610103006001001", "610103006001002"
OTHER_COMMUNITY, OTHER_COMPOUND = "610103006002", "610103006002001"
PREVIEW_IMG = "document.querySelector('[data-testid=preview-img]')"


def _as(web: TestClient, username: str) -> TestClient:
    """Another browser on the same app, logged in as ``username``."""
    return login(TestClient(web.app, headers={"Accept": "text/html"}, follow_redirects=False), username)


def _form(html: str, testid: str) -> str:
    """The HTML of the form marked ``data-testid``."""
    m = re.search(rf'<form[^>]*data-testid="{testid}".*?</form>', html, re.S)
    assert m, f"页面没有表单 {testid}"
    return m.group(0)


def _options(html: str, name: str) -> list[str]:
    """The option values of the select ``name``."""
    m = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S)
    assert m, f"没有下拉框 {name}"
    return [v for v in re.findall(r'<option value="([^"]*)"', m.group(0)) if v]


def _pdf_texts(data: bytes) -> list[str]:
    """The text of each page of a PDF."""
    doc = pypdfium2.PdfDocument(data)
    try:
        return [page.get_textpage().get_text_range() for page in doc]
    finally:
        doc.close()


def _filename(content_disposition: str) -> str:
    """The UTF-8 file name of a Content-Disposition header."""
    m = re.search(r"filename\*=UTF-8''([^;]+)", content_disposition)
    assert m, content_disposition
    return unquote(m.group(1))


def test_page_lists_only_the_grids_in_the_users_scope(logged_in: Callable[[str], TestClient]) -> None:
    web = logged_in("comm1")
    page = web.get("/boards")
    assert page.status_code == 200, page.text[:500]
    assert "公示牌" in page.text and 'aria-current="page"' in page.text
    assert _options(_form(page.text, "board-form"), "code") == [COMMUNITY, WEST, EAST]
    assert "第一网格" in page.text and "文艺北路一社区" in page.text and "文艺北路二社区" not in page.text
    assert _options(_form(page.text, "batch-form"), "parent") == [COMMUNITY]
    assert _options(page.text, "paper") == ["A4", "A3"]
    assert 'name="csrftoken"' in _form(page.text, "batch-form").split("<select", 1)[0]  # the first field

    grid = _as(web, "grid1").get("/boards")  # a compound's staff: that compound only, nothing to batch
    assert _options(_form(grid.text, "board-form"), "code") == [WEST] and 'data-testid="batch-form"' not in grid.text
    every = _as(web, "viewer").get("/boards")  # unscoped: the whole street
    codes = _options(_form(every.text, "board-form"), "code")
    assert codes == [COMMUNITY, WEST, EAST, OTHER_COMMUNITY, OTHER_COMPOUND]
    assert _options(_form(every.text, "batch-form"), "parent") == ["610103006", COMMUNITY, OTHER_COMMUNITY]


def test_preview_is_a_small_png_of_the_chosen_board(logged_in: Callable[[str], TestClient]) -> None:
    web = logged_in("comm1")
    page = web.get(f"/boards?code={WEST}&paper=A4&landscape=true")
    assert page.status_code == 200
    assert "第一网格 公示牌预览" in page.text and "横版" in page.text
    src = re.search(r'<img[^>]*src="([^"]+)"[^>]*data-testid="preview-img"', page.text, re.S)
    assert src and src.group(1).replace("&amp;", "&") == f"/boards/preview.png?code={WEST}&paper=A4&landscape=true"
    r = web.get(src.group(1).replace("&amp;", "&"))
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content.startswith(PNG_SIGNATURE) and len(r.content) > 20_000
    image = Image.open(io.BytesIO(r.content))
    assert image.size == (935, 661)  # A4 landscape at the preview's 80 dpi
    assert len(image.convert("RGB").getcolors(1 << 24) or ()) > 50  # a drawn board, not a blank page


def test_download_streams_one_board_named_after_the_grid(logged_in: Callable[[str], TestClient]) -> None:
    web = logged_in("comm1")
    r = web.get(f"/boards/download?code={EAST}&paper=A3&landscape=false&format=pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert _filename(r.headers["content-disposition"]) == "第二网格公示牌_A3竖版.pdf"
    texts = _pdf_texts(r.content)
    assert len(texts) == 1 and "第二网格" in texts[0] and "文艺北路一社区" in texts[0]
    with pypdfium2.PdfDocument(r.content) as doc:
        width, height = doc[0].get_size()
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (297, 420)

    png = web.get(f"/boards/download?code={WEST}&format=png")
    assert png.status_code == 200 and png.content.startswith(PNG_SIGNATURE)
    assert _filename(png.headers["content-disposition"]) == "第一网格公示牌_A4竖版.png"
    assert Image.open(io.BytesIO(png.content)).size == (2480, 3508)  # A4 at 300 dpi, ready to print


def test_batch_job_makes_one_pdf_with_a_page_per_compound(
    logged_in: Callable[[str], TestClient], clean_engine: Engine
) -> None:
    web = logged_in("comm1")
    page = web.get("/boards")
    r = web.post("/boards/batch", data={"csrftoken": csrf_of(page.text), "parent": COMMUNITY, "paper": "A4",
                                        "landscape": "false"})  # fmt: skip
    assert r.status_code == 303, r.text[:500]
    job_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert r.headers["location"] == f"/jobs/{job_id}"
    state = _finished(web, job_id)
    assert state["status"] == "done", state
    assert state["kind"] == "boards" and "文艺北路一社区" in state["title"] and "2" in state["message"]
    assert state["message"] == (  # nobody staffs the factory street: the result warns about both boards
        "已完成：2 张公示牌，每张一页。提醒：2 个网格人员配备不全：第一网格（610103006001001）没有网格长、没有网格员；"
        "第二网格（610103006001002）没有网格长、没有网格员，这些公示牌上的责任人员不完整")  # fmt: skip
    progress = web.get(f"/jobs/{job_id}")
    assert progress.status_code == 200 and "文艺北路一社区" in progress.text and "下载" in progress.text
    pdf = web.get(state["download_url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "文艺北路一社区全部网格公示牌_A4竖版.pdf" in unquote(pdf.headers["content-disposition"])
    texts = _pdf_texts(pdf.content)
    assert len(texts) == 2 and "第一网格" in texts[0] and "第二网格" in texts[1]
    with clean_engine.connect() as conn:
        row = conn.execute(text("SELECT kind, actor, params FROM job WHERE id = :i"), {"i": job_id}).one()
    assert row.kind == "boards" and row.actor == "user:comm1" and row.params["parent"] == COMMUNITY


def _finished(web: TestClient, job_id: int) -> dict:
    """The job's state once it has ended (polled like the progress page does)."""
    deadline = time.monotonic() + 300  # a bound for a hung job, not a speed requirement
    while True:
        state = web.get(f"/api/jobs/{job_id}", headers={"Accept": "application/json"}).json()
        if state["status"] in ("done", "failed") or time.monotonic() > deadline:
            return state
        time.sleep(0.2)


def _alert(html: str, testid: str) -> tuple[str, bool]:
    """The text of the alert marked ``data-testid`` (tags and white space removed) and whether it is shown."""
    m = re.search(rf'<div([^>]*data-testid="{testid}"[^>]*)>(.*?)</div>', html, re.S)
    assert m, f"页面没有提示 {testid}"
    return re.sub(r"<[^>]+>|\s+", "", m.group(2)), " hidden" not in m.group(1)


def _option_warning(html: str, name: str, code: str) -> str | None:
    """The staffing warning an option of the select ``name`` carries, if any."""
    select = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S)
    assert select
    option = re.search(rf'<option value="{code}"[^>]*>', select.group(0))
    assert option, code
    m = re.search(r'data-staffing="([^"]*)"', option.group(0))
    return m.group(1) if m else None


def test_unstaffed_grids_are_warned_before_printing(
    logged_in: Callable[[str], TestClient], clean_engine: Engine, tmp_path: Path
) -> None:
    from tests.grids.test_staffing_checks import staff_the_street

    staff_the_street(clean_engine, tmp_path)  # WEST staffed, EAST nobody, OTHER_COMPOUND two 网格长
    east = f"第二网格（{EAST}）没有网格长、没有网格员"
    web = logged_in("comm1")
    page = web.get("/boards").text
    assert _option_warning(page, "code", EAST) == east  # shown by the page's script as soon as it is chosen
    assert _option_warning(page, "code", WEST) is None and _option_warning(page, "code", COMMUNITY) is None
    assert _alert(page, "board-staffing") == ("人员配备不全：。公示牌上的责任人员将不完整。", False)  # none chosen
    assert _option_warning(page, "parent", COMMUNITY) == f"1 个网格人员配备不全：{east}"
    assert _alert(page, "batch-staffing") == (f"1个网格人员配备不全：{east}。这些公示牌上的责任人员将不完整。", True)
    assert 'data-testid="staffing-warning"' not in page

    chosen = web.get(f"/boards?code={EAST}").text
    assert _alert(chosen, "staffing-warning") == (f"人员配备不全：{east}，公示牌上的责任人员将不完整。核对人员", True)
    assert _alert(chosen, "board-staffing") == (f"人员配备不全：{east}。公示牌上的责任人员将不完整。", True)
    assert f'href="/grids/{EAST}">核对人员</a>' in chosen
    staffed = web.get(f"/boards?code={WEST}").text
    assert 'data-testid="staffing-warning"' not in staffed and not _alert(staffed, "board-staffing")[1]
    own = web.get(f"/boards?code={COMMUNITY}").text  # the community's own board: its staff are not a compound's
    assert 'data-testid="staffing-warning"' not in own and _alert(own, "batch-staffing")[1]

    every = _as(web, "viewer").get("/boards").text
    other = f"第一网格（{OTHER_COMPOUND}）有多名网格长"
    assert _option_warning(every, "parent", "610103006") == f"2 个网格人员配备不全：{east}；{other}"
    assert _option_warning(every, "parent", OTHER_COMMUNITY) == f"1 个网格人员配备不全：{other}"
    assert _option_warning(every, "code", OTHER_COMPOUND) == other


def test_grids_outside_the_scope_are_refused_in_chinese(logged_in: Callable[[str], TestClient]) -> None:
    web = logged_in("comm1")
    for url in (f"/boards?code={OTHER_COMPOUND}", f"/boards/download?code={OTHER_COMPOUND}",
                f"/boards/preview.png?code={OTHER_COMMUNITY}"):  # fmt: skip
        r = web.get(url)
        assert r.status_code == 403, url
        assert "没有权限" in r.text and "超出权限范围" in r.text and OTHER_COMPOUND[:12] in r.text
    page = web.get("/boards")
    r = web.post("/boards/batch", data={"csrftoken": csrf_of(page.text), "parent": OTHER_COMMUNITY})
    assert r.status_code == 403 and "超出权限范围" in r.text
    missing = web.get("/boards?code=610103006009")
    assert missing.status_code == 404 and "网格不存在" in missing.text
    leaf = web.post("/boards/batch", data={"csrftoken": csrf_of(page.text), "parent": WEST})
    assert leaf.status_code == 422 and "没有下级网格" in leaf.text
    forged = web.post("/boards/batch", data={"parent": COMMUNITY})
    assert forged.status_code == 403 and "CSRF" in forged.text


def test_preview_shows_inline_in_a_browser(web: TestClient, users: dict) -> None:
    log = PageLog()
    with serve(web.app) as base, chromium() as browser:
        page = open_page(browser, base + "/login?next=/boards", log, viewport=(1366, 768))
        try:
            page.fill("input[name=username]", "comm1")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/boards")
            before = page.locator("[data-testid=board-staffing]").is_visible()
            page.select_option("#board-code", EAST)  # nobody staffs the factory street: chosen, it is warned
            chosen = page.locator("[data-testid=board-staffing]").inner_text()
            page.select_option("#board-landscape", "true")
            page.click("[data-testid=preview]")
            page.wait_for_function(f"() => {{ const i = {PREVIEW_IMG}; return i && i.complete && i.naturalWidth; }}")
            size = page.evaluate(f"() => {{ const i = {PREVIEW_IMG}; return [i.naturalWidth, i.naturalHeight, "
                                 "i.getBoundingClientRect().bottom]; }")  # fmt: skip
            heading = page.locator("h2").inner_text()
            warning = page.locator("[data-testid=staffing-warning]").inner_text()
            png = page.screenshot()
            Path("/tmp/boards_page_preview.png").write_bytes(png)
        finally:
            page.context.close()
    log.assert_clean()
    assert "第二网格" in heading and page.url.endswith(f"code={EAST}&paper=A4&landscape=true&format=pdf&date=")
    assert not before and chosen.startswith(f"人员配备不全：第二网格（{EAST}）没有网格长、没有网格员")
    assert warning.startswith(f"人员配备不全：第二网格（{EAST}）没有网格长、没有网格员，公示牌上的责任人员将不完整")
    assert size[:2] == [935, 661] and size[2] <= 768  # the whole board fits a 1366×768 screen
    assert_not_blank(png)
