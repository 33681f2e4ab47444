"""The page handlers every versioned record's page has (volunteer teams, Party organisations, resident units, patrol
teams and areas, 党员责任区), made from the service functions: ``POST …/{code}/edit`` (the fields that differ from
the current state, on the version read) and ``POST …/{code}/retire`` (a reason from the list or typed with 其他, a
day, the version read), each run by the page's :data:`gridgov.web.forms.PageWrite`: back with a notice, or the page
again with the refusal.

No ``from __future__ import annotations`` here: the endpoints are made inside functions, and FastAPI reads their
annotations (the dependency aliases and the form models passed in) as objects.
"""

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from gridgov.api.dependencies import SessionDep, SettingsDep
from gridgov.auth.scope import Actor
from gridgov.config import Settings
from gridgov.web.forms import PageWrite, RetireForm, end_reason, form_day

# The retire form's own fields; any other field it has goes to the service as a keyword (a team's cancel_rosters).
RETIRE_FIELDS = set(RetireForm.model_fields)
# What a form asks of a record: (session, settings, actor, code, the form) → the write, what a refusal says was not
# done, and what was typed to show again after one.
Action = Callable[[Session, Settings, Actor, str, Any], tuple[Callable[[], str], str, dict[str, Any]]]


def _add_form_page(router: APIRouter, path: str, *, name: str, doc: str, writer: Any, form_model: type[BaseModel],
                   run: PageWrite, action: Action) -> None:  # fmt: skip
    """``POST path`` with ``form_model`` as the form, for the role dependency ``writer``: ``action``'s write run by
    ``run``."""

    def endpoint(
        request: Request,
        session: SessionDep,
        settings: SettingsDep,
        who: writer,  # type: ignore[valid-type]
        code: str,
        form: Annotated[form_model, Form()],  # type: ignore[valid-type]
    ) -> Response:
        write, what, keep = action(session, settings, who, code, form)
        return run(request, session, settings, who, code, write, what, **keep)

    endpoint.__name__, endpoint.__doc__ = name, doc
    router.add_api_route(path, endpoint, methods=["POST"], name=name)


def add_edit_page(
    router: APIRouter,
    path: str,
    *,
    name: str,
    doc: str,
    writer: Any,
    form_model: type[BaseModel],
    get: Callable[..., Any],
    update: Callable[..., Any],
    labels: Mapping[str, str],
    run: PageWrite,
) -> None:
    """``POST path``: change a record through ``update`` (session, code, changes, actor, the version read, the day
    it takes effect, time zone) with the fields of ``form_model`` whose value differs from ``get``'s state (its
    ``changes``); the notice names them by ``labels``. ``writer`` is the role dependency; a refusal keeps what was
    typed (``edit``)."""

    def action(session: Session, settings: Settings, who: Actor, code: str,
               form: Any) -> tuple[Callable[[], str], str, dict[str, Any]]:  # fmt: skip
        def write() -> str:
            changes = form.changes(get(session, code, who, timezone=settings.timezone))
            item = update(session, code, changes, who, expected_version=form.version,
                          effective=form_day(form.effective), timezone=settings.timezone)  # fmt: skip
            if not changes:
                return "未作改动"
            return f"已保存修改（{'、'.join(labels[k] for k in changes)}），现为第 {item.version} 版"

        return write, "未保存", {"edit": form.model_dump()}

    _add_form_page(router, path, name=name, doc=doc, writer=writer, form_model=form_model, run=run, action=action)


def add_retire_page(
    router: APIRouter,
    path: str,
    *,
    name: str,
    doc: str,
    writer: Any,
    form_model: type[RetireForm],
    retire: Callable[..., Any],
    noun: str,
    run: PageWrite,
) -> None:
    """``POST path``: retire a record through ``retire`` (session, code, actor, reason, the version read, day, time
    zone, and the fields ``form_model`` adds to :class:`RetireForm`); the notice: ``{noun} {code} 已撤销（{reason}）``.
    ``writer`` is the role dependency."""

    def action(session: Session, settings: Settings, who: Actor, code: str,
               form: Any) -> tuple[Callable[[], str], str, dict[str, Any]]:  # fmt: skip
        def write() -> str:
            item = retire(session, code, who, reason=end_reason(form.reason, form.reason_other),
                          expected_version=form.version, day=form_day(form.day), timezone=settings.timezone,
                          **form.model_dump(exclude=RETIRE_FIELDS))  # fmt: skip
            return f"{noun} {item.code}".lstrip() + f" 已撤销（{item.end_reason}）"

        return write, "未撤销", {}

    _add_form_page(router, path, name=name, doc=doc, writer=writer, form_model=form_model, run=run, action=action)
