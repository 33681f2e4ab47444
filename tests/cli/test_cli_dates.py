"""The CLI shares the API's date rule: out-of-range or malformed dates are a Chinese message, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.db.test_embedded import run_cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ledger", "--to", "9999-12-31"], "日期超出范围（2000-01-01 至 2100-12-31）：9999-12-31"),
        (["ledger", "--as-of", "0.5"], "时间格式应为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM:SS：0.5"),
        (["ledger", "--from", "2025-02-01", "--to", "2025-01-01"], "起始日期 2025-02-01 晚于结束日期 2025-01-01"),
        (["map", "patrol", "--date", "0"], "日期格式应为 YYYY-MM-DD：0"),
        (["map", "coverage", "--from", "1999-12-31"], "日期超出范围（2000-01-01 至 2100-12-31）：1999-12-31"),
        (["grids", "export", "--as-of", "9999-12-31"], "日期超出范围"),
    ],
)
def test_bad_dates_are_refused_with_the_rule_s_message(
    db_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    out = ["--out", str(tmp_path / ("x.geojson" if args[0] == "grids" else "x.xlsx"))]
    if args[0] == "map":
        out = ["--out", str(tmp_path / "x.html")]
    r = run_cli([*args, *out], {"GRIDGOV_DATABASE_URL": db_url, "GRIDGOV_HOME": str(tmp_path / "home")})
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not any(tmp_path.glob("x.*"))
