"""The shared pieces of versioned records: the service checks, the JSON form, and the helpers that make the CLI
commands and the API routes of every kind (their use is tested with each kind, in tests/party and tests/patrol)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
import typer
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from typer.testing import CliRunner

from gridgov.api.dependencies import EditorDep
from gridgov.api.routes.versioned import add_retire_route, changes_of
from gridgov.cli.versioned import add_retire, done_printer, given, require_changes, row
from gridgov.errors import Conflict, InvalidInput, StaleVersion
from gridgov.versioned import JsonForm, VersionedState, check_fields, check_writable, state_changes

WHEN = dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Thing(VersionedState):
    HIDDEN = ("secret_id",)
    code: str
    name: str | None
    version: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None = None
    end_reason: str | None = None
    secret_id: int | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Plain(JsonForm):
    a: int
    b: str


def test_json_forms_hide_internal_fields_and_tell_retirement() -> None:
    live = Thing("T1", "甲", 3, WHEN, secret_id=7)
    assert live.as_dict() == {"code": "T1", "name": "甲", "version": 3, "valid_from": WHEN, "valid_to": None,
                              "end_reason": None, "retired": False}  # fmt: skip
    assert live.etag == '"3"'
    assert Thing("T1", "甲", 4, WHEN, WHEN, "合并").as_dict()["retired"] is True
    assert Plain(1, "x").as_dict() == {"a": 1, "b": "x"}


def test_unknown_fields_are_named_with_those_that_may_change() -> None:
    check_fields({"name": "乙"}, ("name", "kind"))
    with pytest.raises(InvalidInput, match=r"未知字段：colour、size（可改：name、kind）"):
        check_fields({"size": 1, "colour": 2, "name": "乙"}, ("name", "kind"))


def test_a_write_needs_the_current_version_of_a_live_record() -> None:
    live = Thing("T1", "甲", 3, WHEN)
    check_writable("巡逻队", live, 3)
    check_writable("巡逻队", live, None)
    with pytest.raises(StaleVersion, match="巡逻队 T1 已被他人修改（当前版本 3，您编辑的是版本 2）"):
        check_writable("巡逻队", live, 2)
    retired = Thing("T1", "甲", 4, WHEN, WHEN, "合并")
    with pytest.raises(Conflict, match=r"^巡逻队 T1 已于 2026-03-01 撤销，不能修改$"):
        check_writable("巡逻队", retired, 4, "，不能修改")
    with pytest.raises(StaleVersion):  # the version is checked first, as before
        check_writable("巡逻队", retired, 3)


def test_changes_read_as_lines() -> None:
    fields = [("名称", lambda t: t.name)]
    assert state_changes(None, Thing("T1", "甲", 1, WHEN), fields) == ["新建"]
    assert state_changes(Thing("T1", "甲", 1, WHEN), Thing("T1", None, 2, WHEN), fields) == ["名称：甲 → （空）"]


def test_cli_helpers() -> None:
    assert given(a=None, b="", c=0) == {"b": "", "c": 0}
    assert require_changes({"b": 1}, "--b") == {"b": 1}
    with pytest.raises(typer.BadParameter, match=r"没有要修改的内容（--name、--kind）"):
        require_changes({}, "--name", "--kind")
    with pytest.raises(typer.BadParameter, match=r"^没有要修改的内容$"):
        require_changes({})
    assert row(["a", "b"], Thing("T1", "甲", 1, WHEN)) == "a\tb"


def test_a_generated_retire_command_calls_its_service(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, object]] = []
    app = typer.Typer()
    app.command("noop")(lambda: None)
    add_retire(app, retire="tests.test_versioned:_fake_retire", done=done_printer("测试物"), help="撤销测试物。",
               code_help="测试物编码", reason_help="撤销原因")  # fmt: skip
    monkeypatch.setattr("gridgov.cli.versioned.acting", lambda: _Acting(calls))
    monkeypatch.setattr("gridgov.cli.versioned.timezone", lambda: "Asia/Shanghai")
    monkeypatch.setattr("gridgov.cli.versioned.state_of", lambda item: "已撤销")
    result = CliRunner().invoke(app, ["retire", "T1", "--reason", "合并", "--date", "2026-03-01", "--version", "3"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "已撤销测试物 T1 甲（版本 4，已撤销）"
    assert calls == [{"code": "T1", "reason": "合并", "expected_version": 3, "day": dt.date(2026, 3, 1),
                      "timezone": "Asia/Shanghai"}]  # fmt: skip
    help_text = CliRunner().invoke(app, ["retire", "--help"]).output
    assert "撤销测试物。" in help_text and "--reason" in help_text and "--version" in help_text


class _Acting:
    def __init__(self, calls: list[dict[str, object]]) -> None:
        self.calls = calls

    def __enter__(self) -> tuple[list[dict[str, object]], str]:
        return self.calls, "actor"

    def __exit__(self, *_: object) -> None:
        return None


def _fake_retire(calls: list[dict[str, object]], code: str, actor: str, **kwargs: object) -> Thing:
    calls.append({"code": code, **kwargs})
    return Thing(code, "甲", 4, WHEN, WHEN, "合并")


class _Update(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    effective: dt.date | None = None


class _End(BaseModel):
    reason: str | None = None
    date: dt.date | None = None


class _Public(BaseModel):
    code: str


def test_api_helpers() -> None:
    assert changes_of(_Update(name="乙", effective=dt.date(2026, 3, 1))) == ({"name": "乙"}, dt.date(2026, 3, 1))
    assert changes_of(_Update(name=None)) == ({"name": None}, None)
    router = APIRouter(prefix="/api/x")
    add_retire_route(router, "/things/{code}", name="retire_thing", summary="撤销", description="Retire a thing.",
                     model=_Public, writer=EditorDep, code_param=str, body_model=_End, retire=_fake_retire)  # fmt: skip
    (route,) = router.routes
    assert (route.path, route.methods, route.name, route.summary, route.description) == (  # type: ignore[attr-defined]
        "/api/x/things/{code}", {"DELETE"}, "retire_thing", "撤销", "Retire a thing.")  # fmt: skip
