"""The ledger through its two faces: ``gridgov ledger`` and ``/api/ledger``, equal to each other."""

from __future__ import annotations

import io
import json
from pathlib import Path

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gridgov.api.factory import create_app
from gridgov.config import Settings

from tests.db.test_embedded import run_cli


def test_cli_json_and_api_agree(sample_engine: Engine, sample_tokens: dict[str, dict[str, str]], tmp_path: Path
                                ) -> None:  # fmt: skip
    url = sample_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    env = {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(tmp_path / "home")}
    out = tmp_path / "ledger.json"
    r = run_cli(["ledger", "-o", str(out), "--level", "community", "--from", "2026-09-01", "--to", "2026-10-31"], env)
    assert r.returncode == 0, r.stderr
    cli = json.loads(out.read_text(encoding="utf-8"))
    total = sum(r["households"] for r in cli["rows"])
    persons = sum(r["persons"] for r in cli["rows"])
    # The summary line adds up the ten communities; it does not present the first one as the whole.
    assert f"（10 个社区合计：{total} 户，{persons} 人，" in r.stdout, r.stdout
    settings = Settings(database_url=url, home=tmp_path / "home")
    with TestClient(create_app(settings, sample_engine)) as client:
        viewer = sample_tokens["viewer"]
        api = client.get("/api/ledger", params={"level": "community", "from": "2026-09-01", "to": "2026-10-31"},
                         headers=viewer).json()  # fmt: skip
        xlsx = client.get("/api/ledger/file", params={"format": "xlsx", "level": "community"}, headers=viewer)
    assert [r["code"] for r in cli["rows"]] == [r["code"] for r in api["rows"]] and len(api["rows"]) == 10
    for a, b in zip(cli["rows"], api["rows"], strict=True):
        assert {k: a[k] for k in ("households", "persons", "incidents_open", "incidents_closed")} == {
            k: b[k] for k in ("households", "persons", "incidents_open", "incidents_closed")
        }
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    ws = wb["社区台帐"]
    rows = ws.iter_rows(min_row=4, max_row=ws.max_row - 1, values_only=True)  # below title, period, header; above 合计
    assert sum(row[4] for row in rows) == sum(r["households"] for r in api["rows"])
    bad = run_cli(["ledger", "-o", str(tmp_path / "x.pdf")], env)
    assert bad.returncode == 1 and "台帐格式" in bad.stderr
