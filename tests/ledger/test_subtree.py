"""A parent's ledger is computed in SQL over its subtree only, and equals the same rows of the whole ledger."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.errors import InvalidInput
from gridgov.grids.service import subtree_codes
from gridgov.ledger.report import build_ledger

COMMUNITY = "610103006001"


def _scoped_editor(s: Session, code: str) -> Actor:
    gid = s.execute(text("SELECT id FROM grid WHERE code = :c AND valid_to IS NULL"), {"c": code}).scalar_one()
    return Actor(name="编辑", role="community", scope_grid_id=gid, scope_code=code)


@pytest.mark.parametrize("as_of", [False, True])
def test_subtree_ledger_equals_the_whole_ledger_restricted(sample_engine: Engine, as_of: bool) -> None:
    with Session(sample_engine) as s:
        moment = s.execute(text("SELECT now()")).scalar_one() if as_of else None
        street = s.execute(text("SELECT code FROM grid WHERE level = 'street' AND valid_to IS NULL")).scalar_one()
        compound = (
            s.execute(
                text("SELECT g.code FROM grid g JOIN grid p ON p.id = g.parent_id WHERE p.code = :c ORDER BY g.code"),
                {"c": COMMUNITY},
            )
            .scalars()
            .first()
        )
        assert compound is not None
        readers = [None, Actor.system("管理员"), _scoped_editor(s, street), _scoped_editor(s, compound)]
        for reader in readers:
            whole = build_ledger(s, as_of=moment, with_patrol=False, reader=reader).rows
            for parent in (street, COMMUNITY, compound):
                keep = subtree_codes(whole, parent)
                part = build_ledger(s, parent=parent, as_of=moment, with_patrol=False, reader=reader).rows
                assert part == [r for r in whole if r.code in keep], (reader, parent)
                assert len(part) >= 1
            s.rollback()
        with pytest.raises(InvalidInput):
            build_ledger(s, parent="610103006999", as_of=moment, with_patrol=False)


def test_subtree_ledger_by_level(sample_engine: Engine) -> None:
    with Session(sample_engine) as s:
        rows = build_ledger(s, parent=COMMUNITY, level="compound", with_patrol=False).rows
        whole = build_ledger(s, level="compound", with_patrol=False).rows
    assert rows and rows == [r for r in whole if r.parent_code == COMMUNITY]
