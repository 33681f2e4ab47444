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


def test_the_party_label_follows_the_installations_rules(
    sample_engine: Engine, sample_tokens: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    """A city whose 党委 starts above 5000 members: the street's label in the API and in ``gridgov ledger`` says
    党总支, not the default's 党委."""
    url = sample_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    rules = {"party_committee_over": 5000, "party_general_branch_min": 50}
    env = {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(tmp_path / "home"), "GRIDGOV_PARTY_COMMITTEE_OVER": "5000"}
    out = tmp_path / "ledger.json"
    assert run_cli(["ledger", "-o", str(out), "--level", "street"], env).returncode == 0
    [cli] = json.loads(out.read_text(encoding="utf-8"))["rows"]
    settings = Settings(database_url=url, home=tmp_path / "home", **rules)  # type: ignore[arg-type]
    with TestClient(create_app(settings, sample_engine)) as client:
        [api] = client.get("/api/ledger", params={"level": "street"}, headers=sample_tokens["viewer"]).json()["rows"]
    with TestClient(create_app(Settings(database_url=url, home=tmp_path / "home"), sample_engine)) as client:
        [default] = client.get("/api/ledger", params={"level": "street"},
                               headers=sample_tokens["viewer"]).json()["rows"]  # fmt: skip
    assert 1500 <= cli["party_members"] <= 5000
    assert (cli["party_org"], api["party_org"], default["party_org"]) == ("党总支", "党总支", "党委")
