"""``gridgov vocab``: the vocabularies a street extends (staff roles, household kinds, resident tags, incident
categories): list them as in force, add a term or synonyms, stop a term the street added (administrators)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from gridgov.cli.common import JSON_HELP, acting, echo_json

if TYPE_CHECKING:
    from gridgov.terms import StoredVocabulary

app = typer.Typer(
    help="可维护的词表：staff_roles（网格工作人员角色）/ household_kinds（户籍类型）/ person_tags（人员标签）/ "
    "incident_categories（事件类别）。导入文件与表单填写词条或其同义词均可，保存为词条本身。"
)

NAME_HELP = "词表：staff_roles / household_kinds / person_tags / incident_categories（也可写中文名称，如 人员标签）"


def _name(value: str) -> str:
    """The vocabulary's name for a name or its Chinese label (an unknown one is refused by the service)."""
    from gridgov.terms import BUILT_IN

    return next((n for n, v in BUILT_IN.items() if value.strip() in (n, v.label)), value.strip())


def _as_json(stored: StoredVocabulary) -> dict[str, Any]:
    from dataclasses import asdict

    from gridgov.terms import listing

    return asdict(listing(stored))


def _print(entry: dict[str, Any]) -> None:
    """A vocabulary as lines: term, where it comes from, 公示 (staff roles), synonyms (added ones marked ＊)."""
    typer.echo(f"{entry['label']}（{entry['name']}）：{len(entry['terms'])} 个词条")
    for t in entry["terms"]:
        words = "、".join(w + ("＊" if w in t["added_synonyms"] else "") for w in t["synonyms"]) or "—"
        public = "" if t["public"] is None else ("\t公示" if t["public"] else "\t不公示")
        typer.echo(f"  {t['term']}\t{'内置' if t['builtin'] else '本街道添加'}{public}\t同义词：{words}")


@app.command("list")
def list_terms(
    name: str | None = typer.Argument(None, help=NAME_HELP + "；不填列出全部"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """列出词表（含本街道添加的词条与同义词；＊ 为本街道添加的同义词）。"""
    from gridgov.terms import stored_vocabulary
    from gridgov.vocab import CONFIGURABLE

    with acting() as (s, _):
        entries = [_as_json(stored_vocabulary(s, n)) for n in ([_name(name)] if name else CONFIGURABLE)]
    if as_json:
        echo_json(entries[0] if name else entries)
        return
    for entry in entries:
        _print(entry)


@app.command()
def add(
    name: str = typer.Argument(..., help=NAME_HELP),
    term: str = typer.Argument(..., help="新词条（1–16 个字符，不含逗号、分号、顿号）"),
    synonym: list[str] = typer.Option([], "--synonym", "-s", help="同义词（可重复）"),
    public: bool | None = typer.Option(None, "--public/--private", help="staff_roles：在公示牌显示（默认否）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """添加词条（系统管理员）。"""
    from gridgov.terms import add_term

    vocabulary = _name(name)
    with acting() as (s, actor):
        stored = add_term(s, actor, vocabulary, term, synonyms=tuple(synonym), public=public)
    _report(stored, as_json, f"已在{stored.vocabulary.label}中添加「{term.strip()}」")


@app.command()
def synonym(
    name: str = typer.Argument(..., help=NAME_HELP),
    term: str = typer.Argument(..., help="词条（内置或本街道添加的）"),
    synonyms: list[str] = typer.Argument(..., help="新同义词（一个或多个）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """为词条添加同义词（系统管理员）。"""
    from gridgov.terms import add_synonyms

    with acting() as (s, actor):
        stored = add_synonyms(s, actor, _name(name), term, tuple(synonyms))
    _report(stored, as_json, f"「{term}」的同义词已添加：{'、'.join(synonyms)}")


@app.command()
def retire(
    name: str = typer.Argument(..., help=NAME_HELP),
    term: str = typer.Argument(..., help="本街道添加的词条（内置词条不能停用）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """停用本街道添加的词条（系统管理员；已使用它的记录保持不变）。"""
    from gridgov.terms import retire_term

    with acting() as (s, actor):
        stored = retire_term(s, actor, _name(name), term)
    _report(stored, as_json, f"已停用{stored.vocabulary.label}「{term}」")


def _report(stored: StoredVocabulary, as_json: bool, message: str) -> None:
    """The vocabulary after a change as JSON, or the message."""
    if as_json:
        echo_json(_as_json(stored))
    else:
        typer.echo(message)
