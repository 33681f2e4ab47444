"""A batch of boards with counts takes its counts from one ledger pass, equal to each grid's own ledger row."""

from __future__ import annotations

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from gridgov.ledger.report import build_ledger
from gridgov.print.data import board_data, boards_data


def test_batch_counts_equal_each_grids_ledger_row(sample_engine: Engine) -> None:
    with Session(sample_engine) as s:
        codes = list(
            s.scalars(
                text(
                    "SELECT DISTINCT ON (p.code) g.code FROM grid g JOIN grid p ON p.id = g.parent_id "
                    "WHERE g.level = 'compound' AND g.valid_to IS NULL ORDER BY p.code, g.code LIMIT 3"
                )
            )
        )
        live_community = "SELECT code FROM grid WHERE level = 'community' AND valid_to IS NULL ORDER BY code LIMIT 1"
        community = s.scalars(text(live_community)).one()
        codes.append(community)  # different depths and communities: the street's ledger
        ledgers: list[str] = []

        def seen(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
            if "ledger_grid" in statement and statement.lstrip().startswith("--"):
                ledgers.append(statement)

        event.listen(sample_engine, "before_cursor_execute", seen)
        try:
            boards = boards_data(s, codes, with_counts=True)
        finally:
            event.remove(sample_engine, "before_cursor_execute", seen)
        assert [b.code for b in boards] == codes
        for b in boards:
            row = next(r for r in build_ledger(s, parent=b.code, with_patrol=False).rows if r.code == b.code)
            assert b.counts == {"户数": row.households, "人数": row.persons, "党员数": row.party_members}
            assert board_data(s, b.code, with_counts=True).counts == b.counts
        assert sum(1 for st in ledgers if "CREATE TEMP TABLE ledger_grid" in st) == 1
