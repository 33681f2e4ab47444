"""The API contract, fuzzed: schemathesis drives the real app (over ASGI) on PostGIS with the sample street loaded.

Every operation in ``/openapi.json`` is called with generated valid and invalid input, as an admin, community staff
scoped to one community, a viewer, or anonymously (the role is drawn per example). A response fails the run when
it is a 5xx, has a status or content type the document does not declare, or a body (or header) that does not
match the declared schema; undeclared methods must give 405 with ``Allow``, and ``OPTIONS`` must list the
documented methods.

The run is bounded and reproducible: a fixed seed, derandomized generation, no example database, a few
examples per operation, and a smaller budget for the operations that compute patrol coverage (about 10 s per
call on the sample street). It writes only into its own database (created here, like ``sample_engine`` but never
shared), so whatever it creates, edits or retires cannot disturb other tests.
"""

from __future__ import annotations

import secrets
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, create_engine, select, update
from sqlalchemy.orm import Session

from gridgov.api.factory import create_app
from gridgov.auth.tokens import hash_token
from gridgov.config import Settings
from gridgov.db.models import ApiToken, Grid

from tests.conftest import sample_database

SEED = 20261121
EXAMPLES = 8  # fuzzing examples per operation (the examples and coverage phases add their own cases)
# Operations that compute patrol coverage over the whole street take ~10 s per call on the sample data
# (gridgov.patrol.tracks.grid_coverage), whatever the filters: fuzz them with two examples, no coverage phase and
# no shrinking. Nothing else is excluded.
SLOW_PATHS = r"^/(api/ledger(/file)?|maps/coverage)$"
ROLES = ("admin", "community", "viewer", "anonymous")

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "unsupported_method",
    "allow_header_conformance",
)
GENERATION = {"mode": "all", "max-examples": EXAMPLES, "deterministic": True, "database": "none"}
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": GENERATION,
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},  # single calls are the contract; sequences are other tests' job
        },
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "request-timeout": 120,  # the coverage map takes ~10 s, the default timeout
        "operations": [
            {
                "include-path-regex": SLOW_PATHS,
                "generation": {**GENERATION, "max-examples": 2, "no-shrink": True},
                "phases": {"coverage": {"enabled": False}},
            }
        ],
    }
)


@pytest.fixture(scope="module")
def contract_engine(server_url: str, sample_dir: Path) -> Iterator[Engine]:
    """A database of this module's own with the sample street loaded and assigned (schemathesis writes here)."""
    with sample_database(server_url, sample_dir, "gridgov_contract") as eng:
        yield eng


@pytest.fixture(scope="module")
def role_tokens(contract_engine: Engine) -> dict[str, tuple[int, dict[str, str]]]:
    """Per role: the token's id and its request headers (community staff are scoped to the first community)."""
    out: dict[str, tuple[int, dict[str, str]]] = {"anonymous": (0, {})}
    with Session(contract_engine) as s, s.begin():
        community = s.scalar(
            select(Grid.id).where(Grid.level == "community", Grid.valid_to.is_(None)).order_by(Grid.code).limit(1)
        )
        assert community is not None, "样例街道没有社区网格"
        for role, scope in (("admin", None), ("community", community), ("viewer", None)):
            plain = "ggv_" + secrets.token_urlsafe(24)
            row = ApiToken(name=f"契约测试-{role}", token_hash=hash_token(plain), role=role, scope_grid_id=scope)
            s.add(row)
            s.flush()
            out[role] = (row.id, {"Authorization": f"Bearer {plain}"})
    return out


@pytest.fixture(scope="module")
def contract_app(contract_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The real app on the contract database."""
    tmp = tmp_path_factory.mktemp("contract")
    settings_ = Settings(
        database_url=contract_engine.url.render_as_string(hide_password=False),
        home=tmp / "home",
        maps_dir=tmp / "maps",
        max_upload_mb=1,
    )
    return create_app(settings_, contract_engine)


def _document_app() -> FastAPI:
    """The app, built only to read its OpenAPI document at collection time (the engine never connects)."""
    return create_app(Settings(), create_engine("postgresql+psycopg://contract@127.0.0.1:1/none"))


# Loaded at import so pytest gets one test per operation; the calls go to ``contract_app`` (passed per call).
# (schemathesis.pytest.from_fixture would load it from a fixture, but needs the private ``Node._nodeid``
# that pytest 9.2 no longer has.)
schema = schemathesis.openapi.from_dict(_document_app().openapi(), config=CONFIG)


def role_for(case: Any) -> str:
    """The role an example is sent as: a function of its input, so a failing example replays with the same role."""
    data = repr((case.method, case.path_parameters, case.query, case.headers, case.body)).encode()
    return ROLES[zlib.crc32(data) % len(ROLES)]


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_api_contract(
    case: Any,
    role_tokens: dict[str, tuple[int, dict[str, str]]],
    contract_app: FastAPI,
    contract_engine: Engine,
) -> None:
    """No 5xx, and every status, content type, body and header as /openapi.json declares, for every role."""
    case.call_and_validate(headers=role_tokens[role_for(case)][1], app=contract_app)
    if case.method.upper() == "DELETE" and case.path.startswith("/api/tokens"):
        # An admin example may revoke one of our own tokens: un-revoke them so later examples keep their role.
        ids = [token_id for token_id, _ in role_tokens.values() if token_id]
        with contract_engine.begin() as conn:
            conn.execute(update(ApiToken).where(ApiToken.id.in_(ids)).values(revoked_at=None))
