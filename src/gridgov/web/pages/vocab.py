"""词表维护: the administrator extends the vocabularies (staff roles, household kinds, resident tags, incident
categories) with the street's own terms and synonyms, and stops terms the street added."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from gridgov.api.dependencies import AdminDep, SessionDep
from gridgov.auth.scope import Actor
from gridgov.terms import BUILT_IN, MAX_TERM, add_synonyms, add_term, all_listings, retire_term
from gridgov.web.forms import run_form
from gridgov.web.templating import render

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=200)]
Words = Annotated[str, Form(max_length=2000)]
_SEPARATORS = re.compile(r"[,，、;；\n]+")


def split_words(text: str) -> tuple[str, ...]:
    """The words of a form field written as 「甲，乙、丙」 (commas, 顿号, semicolons or one per line)."""
    return tuple(w.strip() for w in _SEPARATORS.split(text) if w.strip())


def _label(name: str) -> str:
    return BUILT_IN[name].label if name in BUILT_IN else name


def _page(request: Request, session: SessionDep, who: Actor, status_code: int = 200, **context: object) -> Response:
    return render(request, "vocab.html", actor=who, active="vocab", title="词表维护", status_code=status_code,
                  vocabularies=all_listings(session), max_term=MAX_TERM, **context)  # fmt: skip


def _attempt(request: Request, session: SessionDep, who: Actor, name: str, work: Callable[[], object],
             message: str, form: dict[str, object]) -> Response:  # fmt: skip
    """Run a change; on a refusal the page comes back (422) with the reason and what was typed."""

    def write() -> str:
        work()
        return message

    return run_form(session, write, back=f"/vocab#{name}", what=_label(name), status_code=422,
                    again=partial(_page, request, session, who), keep={"form": {"name": name, **form}})  # fmt: skip


@router.get("/vocab")
def vocab_page(request: Request, session: SessionDep, who: AdminDep, done: str | None = None) -> Response:
    """Every configurable vocabulary, term by term, with forms to add terms and synonyms and to stop a term."""
    return _page(request, session, who, messages=[("success", done)] if done else [])


@router.post("/vocab/{name}/terms")
def vocab_add_term(request: Request, session: SessionDep, who: AdminDep, name: str, term: Text,
                   synonyms: Words = "", public: Annotated[bool, Form()] = False) -> Response:  # fmt: skip
    """Add a term (with its synonyms; for staff roles whether the 公示 board shows it)."""
    words, shown = split_words(synonyms), public if name == "staff_roles" else None

    def work() -> None:
        add_term(session, who, name, term, synonyms=words, public=shown)

    return _attempt(request, session, who, name, work, f"已在{_label(name)}中添加「{term.strip()}」",
                    {"term": term, "synonyms": synonyms, "public": public})  # fmt: skip


@router.post("/vocab/{name}/synonyms")
def vocab_add_synonyms(request: Request, session: SessionDep, who: AdminDep, name: str, term: Text,
                       synonyms: Words) -> Response:  # fmt: skip
    """Accept more spellings of a term."""
    words = split_words(synonyms)
    return _attempt(request, session, who, name, lambda: add_synonyms(session, who, name, term, words),
                    f"「{term}」的同义词已添加：{'、'.join(words)}",
                    {"synonym_term": term, "more": synonyms})  # fmt: skip


@router.post("/vocab/{name}/retire")
def vocab_retire(request: Request, session: SessionDep, who: AdminDep, name: str, term: Text) -> Response:
    """Stop offering a term the street added (records that use it keep it)."""
    return _attempt(request, session, who, name, lambda: retire_term(session, who, name, term),
                    f"已停用{_label(name)}「{term}」", {})  # fmt: skip
