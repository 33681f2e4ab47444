"""The daily jobs done through the pages only, in offline Chromium, each checked on its result: a patrol leader opens
the patrol map of a chosen night; community staff print a board for a grid and the boards of their community; a
grid worker opens the Party layer of their grid. (Ledger, imports and the editor have their own browser tests:
tests/web/test_ledger_page.py, tests/web/test_imports_page.py, tests/api/test_editor_browser.py.)"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text

from tests.browser import PageLog, chromium, open_page, serve
from tests.web.conftest import PASSWORD, app_with_users

COMMUNITY, COMPOUND = "610103006001", "610103006001003"
USERS = {"daily_comm": ("community", COMMUNITY), "daily_patrol": ("patrol", COMMUNITY),
         "daily_grid": ("grid", COMPOUND)}  # fmt: skip


@pytest.fixture(scope="module")
def app(sample_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The app on the sample street with this module's users (removed afterwards with their sessions and jobs)."""
    with app_with_users(sample_engine, tmp_path_factory.mktemp("app"), USERS) as app:
        yield app


def _login(page: Any, base: str, name: str, then: str) -> None:
    page.goto(f"{base}/login?next={then}")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(base + then)


def _pdf_pages(data: bytes) -> list[str]:
    pdf = pypdfium2.PdfDocument(io.BytesIO(data))
    return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]


def test_patrol_leader_opens_a_chosen_night(app: FastAPI, sample_engine: Engine) -> None:
    with sample_engine.connect() as conn:
        night = conn.execute(text("SELECT min(night) FROM patrol_track")).scalar_one()
    log = PageLog()
    with serve(app) as base, chromium() as browser:
        page = open_page(browser, base + "/login", log, viewport=(1366, 768))
        try:
            _login(page, base, "daily_patrol", "/maps")
            page.click("#tab-patrol")
            page.fill("#patrol-date", night.isoformat())
            page.click("[data-testid=open-patrol]")
            frame = page.frame_locator("iframe[name=mapframe]")
            frame.locator(".leaflet-container").first.wait_for(timeout=180_000)
            inner = next(f for f in page.frames if "/maps/patrol" in f.url)
            assert f"date={night.isoformat()}" in inner.url
            assert night.isoformat() in inner.content()
        finally:
            page.context.close()
    log.assert_clean()


def test_community_staff_print_a_board_and_their_communitys_boards(app: FastAPI, sample_engine: Engine) -> None:
    with sample_engine.connect() as conn:
        live = "valid_to IS NULL AND lineage_id IS NULL"
        name = conn.execute(text(f"SELECT name FROM grid WHERE code = :c AND {live}"), {"c": COMPOUND}).scalar()
        compounds = conn.execute(text(f"SELECT count(*) FROM grid WHERE {live} AND parent_id = "
                                      f"(SELECT id FROM grid WHERE code = :c AND {live})"), {"c": COMMUNITY}).scalar()
    log = PageLog()
    with serve(app) as base, chromium() as browser:
        page = open_page(browser, base + "/login", log, viewport=(1366, 768))
        try:
            _login(page, base, "daily_comm", "/boards")
            page.select_option("#board-code", COMPOUND)
            page.select_option("#board-paper", "A3")
            with page.expect_download() as one:
                page.click("[data-testid=download]")
            single = one.value
            single_pages = _pdf_pages(Path(single.path()).read_bytes())
            assert single.suggested_filename.endswith(".pdf") and name in single.suggested_filename
            page.select_option("#batch-parent", COMMUNITY)
            page.click("[data-testid=batch]")
            page.wait_for_load_state("load")
            assert "/jobs/" in page.url, page.content()[-3000:]
            link = page.locator("[data-job-download]")
            link.wait_for(state="visible", timeout=300_000)
            with page.expect_download() as many:
                link.click()
            batch_pages = _pdf_pages(Path(many.value.path()).read_bytes())
        finally:
            page.context.close()
    # A link that turns into a download ends its navigation: Chromium reports that as aborted.
    downloads = ("/boards/download", "/file ")
    log.failed = [f for f in log.failed if not (f.endswith("net::ERR_ABORTED") and any(d in f for d in downloads))]
    log.assert_clean()
    assert len(single_pages) == 1 and name in single_pages[0]
    assert len(batch_pages) == compounds and any(name in p for p in batch_pages)


def test_grid_worker_sees_the_party_layer_of_their_grid_and_is_logged(app: FastAPI, sample_engine: Engine) -> None:
    log = PageLog()
    with serve(app) as base, chromium() as browser:
        page = open_page(browser, base + "/login", log, viewport=(1366, 768))
        try:
            _login(page, base, "daily_grid", "/maps")
            page.select_option("#grid-parent", COMPOUND)
            page.check("[data-testid=party]")
            page.click("[data-testid=open-grid]")
            page.frame_locator("iframe[name=mapframe]").locator(".leaflet-container").first.wait_for(timeout=180_000)
            inner = next(f for f in page.frames if "/maps/grid" in f.url)
            assert "party" in inner.url and COMPOUND in inner.url
        finally:
            page.context.close()
    log.assert_clean()
    with sample_engine.connect() as conn:
        seen = conn.execute(text("SELECT new->>'where' FROM audit_log WHERE action = 'view' AND table_name = 'party' "
                                 "AND actor = 'user:daily_grid'")).scalars().all()  # fmt: skip
    assert seen == [COMPOUND]
