"""What the commands of versioned records share (patrol teams and areas, Party organisations, resident units,
volunteer teams, 党员责任区): dates and states as people read them, the ``retire`` command made from its service,
and how a write, a list and a history are printed.

The services are named as ``module:function`` and imported when the command runs, so that importing the CLI stays
light (see :mod:`gridgov.cli.common`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from importlib import import_module
from typing import Any

import typer

from gridgov.cli.common import DATE, JSON_HELP, VERSION_HELP, acting, echo_json, get_settings
from gridgov.periods import parse_date

RETIRE_DAY_HELP = "撤销日期（默认今天）"
# How a command prints a record it wrote: (the record, what was done, whether as JSON).
Done = Callable[[Any, str, bool], None]


def timezone() -> str:
    """The installation's time zone."""
    return get_settings().timezone


def day(moment: dt.datetime | None) -> str:
    """The day of a moment in the installation's zone (empty for none)."""
    from gridgov.history import day_of

    return day_of(moment, timezone()).isoformat() if moment is not None else ""


def state(valid_from: dt.datetime, valid_to: dt.datetime | None, end_reason: str | None) -> str:
    """Since when a record is in force, or when and why it was retired."""
    if valid_to is not None:
        return f"已于 {day(valid_to)} 撤销：{end_reason or ''}"
    return f"自 {day(valid_from)} 起有效"


def state_of(item: Any) -> str:
    """:func:`state` of a record's state."""
    return state(item.valid_from, item.valid_to, item.end_reason)


def row(cells: Iterable[str], item: Any) -> str:
    """A list line: the cells, tab-separated, and the state of a retired record."""
    return "\t".join(cells) + (f"\t（{state_of(item)}）" if item.valid_to is not None else "")


def given(**values: Any) -> dict[str, Any]:
    """The options given (not None), for a change."""
    return {k: v for k, v in values.items() if v is not None}


def require_changes(changes: dict[str, Any], *options: str) -> dict[str, Any]:
    """The changes, unless there are none (``BadParameter`` naming the ``options`` that change something)."""
    if not changes:
        raise typer.BadParameter("没有要修改的内容" + (f"（{'、'.join(options)}）" if options else ""))
    return changes


def done_printer(noun: str, extra: Callable[[Any], str] | None = None, *, shapes: bool | None = None) -> Done:
    """How a write of a ``noun`` is printed: ``已新建巡逻队 PT05 名称（版本 1，…）``, with ``extra`` (the size …) before
    the state; as JSON its state (``shapes``: False leaves the geometries out)."""

    def echo(item: Any, what: str, as_json: bool) -> None:
        if as_json:
            echo_json(item.as_dict() if shapes is None else item.as_dict(shapes=shapes))
        else:
            more = extra(item) if extra is not None else ""
            typer.echo(f"已{what}{noun} {item.code} {item.name or ''}（版本 {item.version}，{more}{state_of(item)}）")

    return echo


def echo_list(items: Sequence[Any], line: Callable[[Any], str], total: str | None, as_json: bool,
              json_of: Callable[[Any], Any] | None = None) -> None:  # fmt: skip
    """Print a list: as JSON, or a line for each item and the ``total`` (if any)."""
    if as_json:
        echo_json([json_of(x) if json_of is not None else x.as_dict() for x in items])
        return
    for x in items:
        typer.echo(line(x))
    if total is not None:
        typer.echo(total)


def echo_history(versions: list[Any], changes: Callable[[Any, Any], list[str]]) -> None:
    """Each state with what changed, and the retirement of a retired record (its live row, in force at no moment)."""
    last = len(versions) - 1
    for i, v in enumerate(versions):
        if i == last and v.valid_to is not None:
            typer.echo(f"版本 {v.version}：{day(v.valid_to)} 撤销（{v.end_reason or ''}）  {v.updated_by or ''}")
            continue
        until = day(v.valid_to) if v.valid_to else "至今"
        typer.echo(f"版本 {v.version}：{day(v.valid_from)} — {until}  {v.updated_by or ''}")
        for line in changes(versions[i - 1] if i else None, v):
            typer.echo(f"    {line}")


def service(name: str) -> Callable[..., Any]:
    """A service function named ``module:function``, imported now."""
    module, function = name.split(":")
    found: Callable[..., Any] = getattr(import_module(module), function)
    return found


def add_retire(
    app: typer.Typer,
    *,
    retire: str,
    done: Done,
    help: str,  # noqa: A002 - typer's word
    code_help: str,
    reason_help: str,
    name: str = "retire",
    version_help: str = VERSION_HELP,
) -> None:
    """Register the command ``name`` that retires a record through the service ``retire`` (``module:function``,
    taking the code, the actor, the reason, the version read, the day and the time zone)."""

    def command(
        code: str = typer.Argument(..., help=code_help),
        reason: str = typer.Option(..., "--reason", help=reason_help),
        day: dt.date | None = typer.Option(None, "--date", parser=parse_date, metavar=DATE, help=RETIRE_DAY_HELP),
        version: int | None = typer.Option(None, "--version", help=version_help),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        with acting() as (s, actor):
            item = service(retire)(s, code, actor, reason=reason, expected_version=version, day=day,
                                   timezone=timezone())  # fmt: skip
        done(item, "撤销", as_json)

    command.__doc__ = f"Retire a record ({retire})."
    command.__name__ = f"{name}_{retire.rsplit(':', 1)[-1]}"
    app.command(name, help=help)(command)
