"""``gridgov serve`` really answers over HTTP, and its pages use only local assets."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gridgov.db.migrate import head

from tests.browser import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDGOV_")}
    env |= {
        "GRIDGOV_DATABASE_URL": db_url,
        "GRIDGOV_HOME": str(tmp_path_factory.mktemp("home")),
        "GRIDGOV_NODE_MODULES": str(ROOT / "node_modules"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridgov.cli", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            proc.terminate()
            pytest.fail(f"gridgov serve did not answer: {proc.communicate(timeout=10)[0][-2000:]}")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_health_and_start_page(served: str) -> None:
    health = httpx.get(f"{served}/healthz").json()
    assert health["database"] == "ok" and health["schema_revision"] == head()
    start = httpx.get(f"{served}/", headers={"Accept": "text/html"})  # the workspace: a browser logs in first
    assert start.status_code == 303 and start.headers["location"].startswith("/login")
    page = httpx.get(f"{served}/login")
    assert page.status_code == 200 and "网格化管理" in page.text and 'lang="zh-CN"' in page.text


def test_docs_are_served_offline(served: str) -> None:
    html = httpx.get(f"{served}/docs").text
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
    assert urls and not [u for u in urls if u.startswith("http")], urls
    for u in urls:
        if u.startswith("/static/"):
            assert httpx.get(f"{served}{u}").status_code == 200, u
    assert httpx.get(f"{served}/static/vendor/../package.json").status_code == 404
    assert httpx.get(f"{served}/static/vendor/leaflet/../../pyproject.toml").status_code == 404
