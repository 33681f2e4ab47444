"""``gridgov incident limit|dispatch-rule`` and ``gridgov calendar``: the loop's settings (administrators)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from gridgov.cli.common import JSON_HELP, acting, echo_json, get_settings

if TYPE_CHECKING:
    from gridgov.incidents.limits import LimitRow

calendar_app = typer.Typer(help="工作日历：法定节假日（休）与调休上班日（班）。", no_args_is_help=True)
limit_app = typer.Typer(help="事件各环节的时限（工作日）：按环节、事件大类、紧急程度，最具体的一条生效。",
                        no_args_is_help=True)  # fmt: skip
dispatch_app = typer.Typer(help="派遣规则：各类事件默认派给网格中哪个岗位（未设置的派给网格员）。",
                           no_args_is_help=True)  # fmt: skip

KIND_HELP = "休（法定节假日）或 班（调休上班日，须为周六或周日）"
STEP_HELP = "环节：受理 / 派遣 / 处置 / 核查 / 结案"
CATEGORY_HELP = "事件大类（如 市容环境；不填：全部类别）"
URGENCY_HELP = "紧急程度：一般 / 紧急（不填：不限）"


def register(app: typer.Typer) -> None:
    """Add the settings commands to ``gridgov incident``."""
    app.add_typer(limit_app, name="limit")
    app.add_typer(dispatch_app, name="dispatch-rule")


def _day(value: str, option: str) -> dt.date:
    """A date typed on the command line, or a usage error naming the option."""
    from gridgov.errors import InvalidInput
    from gridgov.periods import parse_date

    try:
        return parse_date(value)
    except InvalidInput as exc:
        raise typer.BadParameter(exc.message, param_hint=option) from None


def _today() -> dt.date:
    from gridgov.history import day_of

    return day_of(None, get_settings().timezone)


# ------------------------------------------------------------------------------------------------ calendar


@calendar_app.command("list")
def calendar_list(
    year: int | None = typer.Option(None, "--year", min=2000, max=2100, help="年份（不填：全部）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """列出节假日（休）与调休上班日（班）。"""
    from gridgov.workdays import calendar_days, day_label, missing_holidays

    with acting() as (s, _):
        days = calendar_days(s, year)
        missing = missing_holidays(s, _today())
    if as_json:
        echo_json([{"day": d.day, "kind": d.kind, "name": d.name} for d in days])
        return
    for d in days:
        typer.echo(f"{day_label(d.day)}\t{d.kind}\t{d.name or ''}")
    holidays = sum(d.kind == "休" for d in days)
    typer.echo(f"共 {len(days)} 天：休 {holidays} 天，班 {len(days) - holidays} 天")
    for y in missing:
        typer.echo(f"提示：{y} 年的法定节假日尚未录入（gridgov calendar import 文件 或 gridgov calendar set）",
                   err=True)  # fmt: skip


@calendar_app.command("set")
def calendar_set(
    day: str = typer.Argument(..., help="日期 YYYY-MM-DD（范围的第一天）"),
    to: str | None = typer.Option(None, "--to", help="范围的最后一天（不填：只有一天）"),
    kind: str = typer.Option(..., "--kind", help=KIND_HELP),
    name: str | None = typer.Option(None, "--name", help="节日名称（如 元旦）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """标记节假日或调休上班日（系统管理员；已在进行中的环节保持原期限）。"""
    from gridgov.workdays import date_span, parse_kind, set_days

    with acting() as (s, actor):
        days = date_span(_day(day, "DAY"), _day(to, "--to") if to else None)
        set_days(s, actor, days, kind, name)
        kind = parse_kind(kind)
    if as_json:
        echo_json({"changed": len(days), "days": days, "kind": kind, "name": name})
        return
    span = days[0].isoformat() + (f" 至 {days[-1].isoformat()}" if len(days) > 1 else "")
    typer.echo(f"已将 {span}（{len(days)} 天）标为「{kind}」{'：' + name if name else ''}")


@calendar_app.command("clear")
def calendar_clear(
    day: str = typer.Argument(..., help="日期 YYYY-MM-DD（范围的第一天）"),
    to: str | None = typer.Option(None, "--to", help="范围的最后一天（不填：只有一天）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """把日期恢复为平常日（周一至周五上班，周末休息；系统管理员）。"""
    from gridgov.workdays import clear_days, date_span

    with acting() as (s, actor):
        n = clear_days(s, actor, date_span(_day(day, "DAY"), _day(to, "--to") if to else None))
    if as_json:
        echo_json({"cleared": n})
    else:
        typer.echo(f"已恢复 {n} 天为平常日")


@calendar_app.command("import")
def calendar_import(
    file: Path = typer.Argument(..., help="CSV（UTF-8/GBK）或 XLSX：日期、至（可不填）、类型（休/班）、名称"),
    replace_year: int | None = typer.Option(None, "--replace-year", min=2000, max=2100,
                                            help="文件即该年全部安排：先删除该年文件中没有的日期"),  # fmt: skip
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """导入全年节假日安排（系统管理员；任一行有错则整份不导入，并列出行号）。"""
    from gridgov.workdays import import_days

    with acting() as (s, actor):
        done = import_days(s, actor, file, replace_year=replace_year)
    if as_json:
        echo_json({"holidays": done.holidays, "makeup_days": done.makeup, "years": done.years,
                   "removed": done.removed})  # fmt: skip
        return
    removed = f"，删除原有 {done.removed} 天" if done.removed else ""
    typer.echo(f"已导入 {'、'.join(map(str, done.years))} 年：休 {done.holidays} 天，班 {done.makeup} 天{removed}")


@calendar_app.command("check")
def calendar_check(
    date_from: str | None = typer.Option(None, "--from", help="范围第一天 YYYY-MM-DD"),
    date_to: str | None = typer.Option(None, "--to", help="范围最后一天（不填：同第一天）"),
    add: float | None = typer.Option(None, "--add", min=0, max=365, help="工作日数（可为小数，如 2.5）"),
    start: str | None = typer.Option(None, "--start", help="起算时刻，如 \"2026-11-06 16:30\"（本地时间）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """工作日数与期限试算：范围内有几个工作日；从某时刻起若干个工作日后是何时。"""
    from gridgov.errors import InvalidInput
    from gridgov.periods import parse_moment
    from gridgov.workdays import calendar_for, date_span, day_label, local_moment

    if date_from is None and add is None:
        raise typer.BadParameter("请给出 --from（与 --to），或 --add 与 --start", param_hint="--from / --add")
    if (add is None) != (start is None):
        raise typer.BadParameter("--add 与 --start 须同时给出", param_hint="--add / --start")
    settings = get_settings()
    with acting() as (s, _):
        cal = calendar_for(s, settings)
    out: dict[str, Any] = {"workday_start": cal.start, "workday_end": cal.end}
    if date_from is not None:
        first = _day(date_from, "--from")
        last = _day(date_to, "--to") if date_to else first
        date_span(first, last)
        out |= {"date_from": first, "date_to": last, "working_days": cal.working_days(first, last)}
        if not as_json:
            typer.echo(f"{day_label(first)} 至 {day_label(last)}：{out['working_days']} 个工作日")
    if add is not None and start is not None:
        try:
            begin = local_moment(parse_moment(start), settings.timezone)
        except InvalidInput as exc:
            raise typer.BadParameter(exc.message, param_hint="--start") from None
        due = cal.add(begin, add)
        out |= {"start": begin, "add": add, "deadline": due}
        if not as_json:
            typer.echo(f"自 {begin:%Y-%m-%d %H:%M} 起 {add:g} 个工作日：{day_label(due.date())} {due:%H:%M} 到期"
                       f"（工作时间 {cal.start:%H:%M}–{cal.end:%H:%M}）")  # fmt: skip
    if as_json:
        echo_json(out)


# ------------------------------------------------------------------------------------------------ time limits


def _limit_json(r: LimitRow) -> dict[str, Any]:
    return {"step": r.step, "category": r.category or None, "urgency": r.urgency or None,
            "working_days": r.working_days}  # fmt: skip


def _limit_line(r: LimitRow) -> str:
    return f"{r.step}\t{r.category or '全部类别'}\t{r.urgency or '不限'}\t{r.working_days:g} 个工作日"


@limit_app.command("list")
def limit_list(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """列出时限（环节、事件大类、紧急程度、工作日）。"""
    from gridgov.incidents.limits import load_limits

    settings = get_settings()
    with acting() as (s, _):
        rows = load_limits(s).rows
    if as_json:
        echo_json([_limit_json(r) for r in rows])
        return
    for r in rows:
        typer.echo(_limit_line(r))
    hours = (dt.datetime.combine(dt.date.min, settings.workday_end)
             - dt.datetime.combine(dt.date.min, settings.workday_start)).total_seconds() / 3600  # fmt: skip
    typer.echo(f"1 个工作日 = {settings.workday_start:%H:%M}–{settings.workday_end:%H:%M}，{hours:g} 小时；"
               "同一环节以最具体的一条为准（类别与紧急程度 > 类别 > 紧急程度 > 全部）")  # fmt: skip


@limit_app.command("set")
def limit_set(
    step: str = typer.Option(..., "--step", help=STEP_HELP),
    days: float = typer.Option(..., "--days", help="工作日数（可为小数，如 0.5）"),
    category: str = typer.Option("", "--category", help=CATEGORY_HELP),
    urgency: str = typer.Option("", "--urgency", help=URGENCY_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """设置时限（系统管理员；此后开始的环节按新时限，进行中的保持原期限）。"""
    from gridgov.incidents.limits import set_limit

    with acting() as (s, actor):
        row = set_limit(s, actor, step, days, category=category, urgency=urgency)
    if as_json:
        echo_json(_limit_json(row))
    else:
        typer.echo(f"已设置时限：{_limit_line(row)}")


@limit_app.command("remove")
def limit_remove(
    step: str = typer.Option(..., "--step", help=STEP_HELP),
    category: str = typer.Option("", "--category", help=CATEGORY_HELP),
    urgency: str = typer.Option("", "--urgency", help=URGENCY_HELP),
) -> None:
    """删除一条时限（系统管理员；之后按较不具体的一条，都没有则该环节不限时）。"""
    from gridgov.incidents.limits import remove_limit

    with acting() as (s, actor):
        remove_limit(s, actor, step, category=category, urgency=urgency)
    typer.echo(f"已删除时限：{step}\t{category or '全部类别'}\t{urgency or '不限'}")


# ------------------------------------------------------------------------------------------------ dispatch rules


@dispatch_app.command("list")
def dispatch_list(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """列出派遣规则（事件大类 → 默认派给的岗位）。"""
    from gridgov.incidents.cases import FALLBACK_ROLE
    from gridgov.incidents.limits import dispatch_rules

    with acting() as (s, _):
        rules = dispatch_rules(s)
    if as_json:
        echo_json({"default_role": FALLBACK_ROLE,
                   "rules": [{"category": c, "staff_role": r} for c, r in rules.items()]})  # fmt: skip
        return
    for category, role in rules.items():
        typer.echo(f"{category}\t{role}")
    typer.echo(f"其他类别：{FALLBACK_ROLE}（网格中没有该岗位时，依次找上级网格）")


@dispatch_app.command("set")
def dispatch_set(
    category: str = typer.Option(..., "--category", help="事件大类（如 治安隐患）"),
    role: str = typer.Option(..., "--role", help="网格工作人员角色（如 网格警员）"),
) -> None:
    """设置某类事件默认派给的岗位（系统管理员）。"""
    from gridgov.incidents.limits import dispatch_rules, set_dispatch_rule
    from gridgov.terms import stored_vocabulary

    with acting() as (s, actor):
        set_dispatch_rule(s, actor, category, role)
        canonical = stored_vocabulary(s, "incident_categories").canonical(category)
        typer.echo(f"{canonical} 类事件默认派给：{dispatch_rules(s)[canonical]}")


@dispatch_app.command("clear")
def dispatch_clear(category: str = typer.Option(..., "--category", help="事件大类")) -> None:
    """删除派遣规则：该类事件恢复默认派给网格员（系统管理员）。"""
    from gridgov.incidents.cases import FALLBACK_ROLE
    from gridgov.incidents.limits import set_dispatch_rule

    with acting() as (s, actor):
        set_dispatch_rule(s, actor, category, None)
    typer.echo(f"{category.strip()} 类事件恢复默认派给：{FALLBACK_ROLE}")
