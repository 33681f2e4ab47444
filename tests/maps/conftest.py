"""Fixtures for map tests: one headless Chromium per module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium (offline flags); pages come from tests.browser.open_page."""
    with chromium() as b:
        yield b
