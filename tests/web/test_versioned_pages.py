"""The edit and retire page handlers made from a kind's services (gridgov.web.versioned_pages), run by a page's
``page_write`` (gridgov.web.forms): the notice after a write, the refusal on the page with what was typed, the
retire form's own fields going to the service. A small app of its own, on the test database (the writes run in a
savepoint)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.config import Settings
from gridgov.errors import InvalidInput
from gridgov.web.forms import RetireForm, page_write
from gridgov.web.versioned_pages import add_edit_page, add_retire_page

Writer = Annotated[Actor, Depends(lambda: Actor.system("tests"))]


@dataclass(frozen=True)
class Thing:
    """What the services answer."""

    code: str
    version: int
    name: str = "旧名"
    end_reason: str | None = None


class ThingForm(BaseModel):
    """An edit form: one field, the day, the version read."""

    name: str = ""
    effective: str = ""
    version: int | None = None

    def changes(self, current: Thing) -> dict[str, str]:
        """The name when it differs."""
        return {"name": self.name} if self.name != current.name else {}


class ThingRetireForm(RetireForm):
    """A retire form with a field of its own, for the service."""

    keep_members: bool = False


class Services:
    """Fake services that record their calls."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def get(self, session: Session, code: str, who: Actor, *, timezone: str) -> Thing:
        """The current state."""
        return Thing(code, 3)

    def update(self, session: Session, code: str, changes: dict[str, Any], who: Actor, *,
               expected_version: int | None, effective: dt.date | None, timezone: str) -> Thing:  # fmt: skip
        """A change on version 3 only."""
        if expected_version != 3:
            raise InvalidInput("记录已被他人修改")
        self.calls.append({"changes": changes, "effective": effective})
        return Thing(code, 4)

    def retire(self, session: Session, code: str, who: Actor, *, reason: str, expected_version: int | None,
               day: dt.date | None, timezone: str, keep_members: bool = False) -> Thing:  # fmt: skip
        """A retirement, refused for the code BAD."""
        if code == "BAD":
            raise InvalidInput("尚有成员")
        self.calls.append({"reason": reason, "version": expected_version, "day": day, "keep_members": keep_members})
        return Thing(code, 4, end_reason=reason)


def thing_page(request: Request, session: Session, settings: Settings, who: Actor, code: str, *,
               status_code: int = 200, messages: Any = (), edit: dict[str, Any] | None = None) -> Response:  # fmt: skip
    """The record's page, as JSON: what a refusal shows."""
    return JSONResponse({"code": code, "messages": [list(m) for m in messages], "edit": edit or {}},
                        status_code=status_code)  # fmt: skip


@pytest.fixture
def client(engine: Engine, settings_for: Settings) -> tuple[TestClient, Services]:
    """The app with the edit and retire handlers of 物件 (and of a kind whose notice names no noun)."""
    services, router = Services(), APIRouter()
    run = page_write(thing_page, lambda code: f"/things/{quote(code)}")
    add_edit_page(router, "/things/{code}/edit", name="thing_edit", doc="Change a thing.", writer=Writer,
                  form_model=ThingForm, get=services.get, update=services.update, labels={"name": "名称"}, run=run)
    add_retire_page(router, "/things/{code}/retire", name="thing_retire", doc="Retire a thing.", writer=Writer,
                    form_model=ThingRetireForm, retire=services.retire, noun="物件", run=run)
    add_retire_page(router, "/plain/{code}/retire", name="plain_retire", doc="Retire a plain one.", writer=Writer,
                    form_model=RetireForm, retire=services.retire, noun="", run=run)  # fmt: skip
    app = FastAPI()
    app.include_router(router)
    app.state.engine = engine
    app.state.settings = settings_for
    return TestClient(app, follow_redirects=False), services


def notice(response: Any) -> str:
    """The notice a redirect carries."""
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def test_edit_names_what_changed_and_the_new_version(client: tuple[TestClient, Services]) -> None:
    """A change: back to the record with the labels of what changed; none: 未作改动."""
    c, services = client
    done = c.post("/things/T1/edit", data={"name": "新名", "effective": "2026-01-05", "version": "3"})
    assert notice(done) == f"/things/T1?done={quote('已保存修改（名称），现为第 4 版')}"
    assert services.calls == [{"changes": {"name": "新名"}, "effective": dt.date(2026, 1, 5)}]
    same = c.post("/things/T1/edit", data={"name": "旧名", "version": "3"})
    assert notice(same) == f"/things/T1?done={quote('未作改动')}"


def test_a_refused_edit_shows_the_page_with_what_was_typed(client: tuple[TestClient, Services]) -> None:
    """A refusal: the record's page again, 422, the reason after 未保存 and the form as typed."""
    c, services = client
    refused = c.post("/things/T1/edit", data={"name": "新名", "version": "2"})
    assert refused.status_code == 422
    assert refused.json() == {"code": "T1", "messages": [["danger", "未保存：记录已被他人修改"]],
                              "edit": {"name": "新名", "effective": "", "version": 2}}  # fmt: skip
    assert services.calls == []


def test_retire_passes_the_reason_day_and_the_forms_own_fields(client: tuple[TestClient, Services]) -> None:
    """The reason typed with 其他, the day, the version read and the form's own field reach the service."""
    c, services = client
    done = c.post("/things/T1/retire", data={"reason": "其他", "reason_other": "并入新队", "day": "2026-02-01",
                                             "version": "3", "keep_members": "true"})  # fmt: skip
    assert notice(done) == f"/things/T1?done={quote('物件 T1 已撤销（并入新队）')}"
    assert services.calls == [{"reason": "并入新队", "version": 3, "day": dt.date(2026, 2, 1), "keep_members": True}]
    plain = c.post("/plain/P1/retire", data={"reason": "调整"})
    assert notice(plain) == f"/things/P1?done={quote('P1 已撤销（调整）')}"
    assert services.calls[-1] == {"reason": "调整", "version": None, "day": None, "keep_members": False}


def test_a_refused_retirement_shows_the_reason(client: tuple[TestClient, Services]) -> None:
    """A refusal by the service, or no reason given: the page again with the reason after 未撤销."""
    c, services = client
    refused = c.post("/things/BAD/retire", data={"reason": "调整"})
    assert refused.status_code == 422
    assert refused.json() == {"code": "BAD", "messages": [["danger", "未撤销：尚有成员"]], "edit": {}}
    no_reason = c.post("/things/T1/retire", data={"reason": "其他"})
    assert no_reason.status_code == 422
    assert no_reason.json()["messages"] == [["danger", "未撤销：请选择原因；选「其他」时请填写具体原因"]]
    assert services.calls == []


def test_the_routes_carry_their_names_and_docs(client: tuple[TestClient, Services]) -> None:
    """Each handler is a POST route of its own name and docstring."""
    c, _ = client

    def walk(routes: list[Any]) -> Any:
        for r in routes:
            if hasattr(r, "original_router"):  # an included router
                yield from walk(r.original_router.routes)
            elif isinstance(r, APIRoute):
                yield r

    routes = {r.name: r for r in walk(c.app.router.routes)}  # type: ignore[attr-defined]
    assert {n: (sorted(r.methods), r.path, r.endpoint.__doc__) for n, r in routes.items()} == {
        "thing_edit": (["POST"], "/things/{code}/edit", "Change a thing."),
        "thing_retire": (["POST"], "/things/{code}/retire", "Retire a thing."),
        "plain_retire": (["POST"], "/plain/{code}/retire", "Retire a plain one."),
    }
