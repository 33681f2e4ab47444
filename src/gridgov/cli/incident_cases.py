"""``gridgov incident report|accept|…|show|list|sweep``: the incident loop from the shell.

The commands act as the local operator, or as the token in ``GRIDGOV_TOKEN`` (its role and scope); the service
(:mod:`gridgov.incidents.cases`) checks both, the case's level and the four-eyes rule of 核查. One command per
action of :mod:`gridgov.incidents.workflow` (``gridgov incident accept ID``…); ``ID`` is the case's number or its
code (E…). ``--json`` prints the case as the API shows it (times ISO 8601 in the installation's time zone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from gridgov.cli.common import DATE, JSON_HELP, acting, echo_json, get_settings
from gridgov.incidents import workflow as wf
from gridgov.periods import parse_date

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from gridgov.auth.scope import Actor
    from gridgov.incidents.cases import CaseDetail, CaseRow
    from gridgov.incidents.photos import Photo

ID_HELP = "事件编号或事件编码（如 E202611060001）"
CATEGORY_HELP = "事件类别：大类/小类（如 市容环境/暴露垃圾），或只写大类或小类"
PHOTO_HELP = "照片文件（JPEG、PNG、WebP；可重复）"
BOXES = {"mine": "待我处置", "level": "本级待办", "verify": "待核查", "overdue": "已超期"}  # gridgov.incidents.cases
BOX_HELP = "待办：" + "、".join(f"{key}（{label}）" for key, label in BOXES.items())
HIDDEN_KEYS = ("grid_id", "assignee_id")


def _timezone() -> str:
    return get_settings().timezone


def _when(value: dt.datetime | None) -> str:
    from zoneinfo import ZoneInfo

    return value.astimezone(ZoneInfo(_timezone())).strftime("%Y-%m-%d %H:%M") if value else ""


def _plain(value: Any, zone: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(zone).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def case_json(detail: CaseDetail) -> dict[str, Any]:
    """A case as ``--json`` prints it: its fields, the step it waits for, what the caller may do next, the
    timeline and the photos (ids; the reporter, description and photos only when ``personal``)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(_timezone())
    case = {k: _plain(v, zone) for k, v in detail.case.items() if k not in HIDDEN_KEYS}
    return case | {
        "overdue": bool(case["overdue"]),  # NULL when there is no deadline (挂账)
        "waiting": wf.waiting_step(detail.case["status"]),
        "personal": detail.personal,
        "actions": [t.action for t in detail.actions],
        "default_assignee": detail.default_assignee,
        "timeline": [{k: _plain(v, zone) for k, v in vars(s).items()} for s in detail.timeline],
        "photos": [{k: _plain(v, zone) for k, v in p.items()} for p in detail.photos],
    }


def row_json(row: CaseRow) -> dict[str, Any]:
    """A listed case as ``--json`` prints it."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(_timezone())
    return {k: _plain(v, zone) for k, v in vars(row).items()} | {
        "overdue": bool(row.overdue),
        "waiting": wf.waiting_step(row.status),
    }


def _detail(s: Session, actor: Actor, case_id: int) -> CaseDetail:
    """The case as ``actor`` may see it; a view of personal data is logged."""
    from gridgov.auth.views import log_view
    from gridgov.incidents.cases import case_detail, rules_for

    detail = case_detail(s, actor, case_id, rules_for(s, get_settings()))
    if detail.personal:
        log_view(s, actor, "incident", detail.case["grid_code"], page="gridgov incident show", rows=1)
    return detail


def _state(case: dict[str, Any]) -> str:
    waiting = wf.waiting_step(case["status"])
    due = f"，{waiting}时限 {_when(case['deadline'])}" if waiting and case["deadline"] else ""
    late = "（已超期）" if case.get("overdue") else ""
    to = f"，派遣给 {case['assignee_name']}（{case['assignee_code']}）" if case.get("assignee_code") else ""
    review = f"，复查日期 {case['review_on']}" if case.get("review_on") else ""
    return f"「{case['status']}」（{case['level']}层级）{due}{late}{to}{review}"


def _category(case: dict[str, Any]) -> str:
    return f"{case['category']}/{case['subcategory']}" if case.get("subcategory") else str(case["category"])


def _show(detail: CaseDetail) -> None:
    c = detail.case
    typer.echo(f"事件 {c['code']}（编号 {c['id']}，版本 {c['version']}）：{_category(c)}")
    typer.echo(f"  状态：{_state(c)}")
    typer.echo(f"  网格：{c['grid_name'] or '（不在任何网格内）'}（{c['grid_code'] or '-'}）")
    typer.echo(f"  位置：{c['lon']:.6f}, {c['lat']:.6f}{'，' + c['address'] if c['address'] else ''}")
    typer.echo(f"  上报：{_when(c['reported_at'])}，{c['source'] or ''}，{c['urgency']}，{c['reported_by'] or ''}")
    if detail.personal:
        typer.echo(f"  描述：{c['description'] or ''}")
        who = " ".join(x for x in (c["reporter_name"], c["reporter_phone"]) if x)
        typer.echo(f"  反映人：{who or '（无）'}")
        typer.echo(f"  照片：{len(detail.photos)} 张")
    else:
        typer.echo("  描述、反映人与照片：无权查看（需在事件所在范围内可查看个人信息）")
    typer.echo("  时间线：")
    for step in detail.timeline:
        moved = f"{step.from_status or '-'} → {step.to_status}"
        if step.from_level and step.from_level != step.to_level:
            moved += f"，{step.from_level} → {step.to_level}"
        extra = [f"派遣给 {step.staff_name}（{step.staff_code}）" if step.staff_code else "",
                 f"时限 {_when(step.deadline)}" if step.deadline else "", "超期" if step.overdue else "",
                 f"复查 {step.review_on}" if step.review_on else "",
                 f"照片 {len(step.photo_ids)} 张" if step.photo_ids else "", step.note or ""]  # fmt: skip
        typer.echo(f"    {_when(step.at)}\t{step.action}\t{moved}\t{step.user_name or step.actor}\t"
                   + "；".join(x for x in extra if x))  # fmt: skip
    actions = "、".join(f"{t.action}（{t.label}）" for t in detail.actions) or "无"
    typer.echo(f"  可进行的操作：{actions}")
    if detail.default_assignee:
        typer.echo(f"  默认派遣对象：{detail.default_assignee}")


def _read_photos(paths: list[Path] | None) -> list[Photo]:
    from gridgov.errors import InvalidInput
    from gridgov.incidents.photos import Photo

    photos = []
    for path in paths or []:
        if not path.is_file():
            raise InvalidInput(f"照片文件不存在：{path}")
        photos.append(Photo(path.name, path.read_bytes()))
    return photos


def report(
    lon: float = typer.Option(..., "--lon", help="经度"),
    lat: float = typer.Option(..., "--lat", help="纬度"),
    category: str = typer.Option(..., "--category", help=CATEGORY_HELP),
    description: str = typer.Option(..., "--description", help="事件描述（最多 2000 字）"),
    crs: str | None = typer.Option(None, "--crs", help="坐标系：wgs84（默认）、gcj02（高德/腾讯坐标）、4490"),
    urgency: str = typer.Option("一般", "--urgency", help="紧急程度：一般、紧急"),
    source: str | None = typer.Option(None, "--source", help="来源：网格员上报、巡逻发现、居民反映、12345热线 …"),
    address: str | None = typer.Option(None, "--address", help="地址或位置说明"),
    reporter_name: str | None = typer.Option(None, "--reporter-name", help="反映人姓名（居民反映时）"),
    reporter_phone: str | None = typer.Option(None, "--reporter-phone", help="反映人电话"),
    photos: list[Path] | None = typer.Option(None, "--photo", metavar="FILE", help=PHOTO_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """上报事件：按位置确定所在网格，开始计受理时限；打印事件编码、网格与时限。"""
    from gridgov.incidents.cases import NewCase, rules_for
    from gridgov.incidents.cases import report as report_case

    case = NewCase(lon, lat, category, description, crs=crs, urgency=urgency, source=source, address=address,
                   reporter_name=reporter_name, reporter_phone=reporter_phone, photos=_read_photos(photos))  # fmt: skip
    with acting() as (s, actor):
        case_id = report_case(s, actor, case, rules_for(s, get_settings()))
        detail = _detail(s, actor, case_id)
    if as_json:
        echo_json(case_json(detail))
        return
    c = detail.case
    typer.echo(f"已上报事件 {c['code']}（编号 {c['id']}）：{_category(c)}，网格 {c['grid_name']}（{c['grid_code']}），"
               f"{_state(c)}")  # fmt: skip


def _action_help(t: wf.Transition) -> str:
    sources = "、".join(t.sources)
    after = {"return": "退回上一环节", "escalate": "处置层级升一级"}.get(t.action, f"→ {t.target}")
    needs = [x for x, on in (("须填写 --note", t.note), ("可用 --to 指定派遣对象", t.staff),
                             ("须填写 --review-on", t.review), ("可附 --photo", t.photos)) if on]  # fmt: skip
    fail = "；--fail 即核查不通过（返工，须填写 --note）" if t.action == "verify" else ""
    return f"{t.label}（{sources} {after}）{'；' + '，'.join(needs) if needs else ''}{fail}。"


def _action_command(name: str) -> Callable[..., None]:
    """The command of one workflow action (options that do not apply are hidden and refused)."""
    t = wf.TRANSITIONS[name]

    def command(
        ref: str = typer.Argument(..., metavar="ID", help=ID_HELP),
        note: str | None = typer.Option(None, "--note", help="说明" + ("（必填）" if t.note else "")),
        to: str | None = typer.Option(None, "--to", hidden=not t.staff, help="派遣对象的工作人员编码（默认按类别）"),
        review_on: dt.date | None = typer.Option(
            None, "--review-on", parser=parse_date, metavar=DATE, hidden=not t.review, help="复查日期"
        ),  # fmt: skip
        photos: list[Path] | None = typer.Option(None, "--photo", metavar="FILE", hidden=not t.photos, help=PHOTO_HELP),
        fail: bool = typer.Option(False, "--fail", hidden=name != "verify", help="核查不通过（返工），同 rework"),
        version: int | None = typer.Option(None, "--version", help="只在事件当前为此版本时操作（否则退出码 6）"),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        action = "rework" if fail and name == "verify" else name
        refused = [opt for opt, given, fits in (("--to", to, t.staff), ("--review-on", review_on, t.review),
                                                ("--photo", photos, t.photos), ("--fail", fail, name == "verify"))
                   if given and not fits]  # fmt: skip
        if refused:
            raise typer.BadParameter(f"「{t.label}」不使用 {'、'.join(refused)}")
        _step(ref, action, note=note, to=to, review_on=review_on, photos=photos, version=version, as_json=as_json)

    command.__doc__ = _action_help(t)
    return command


def _step(ref: str, action: str, *, note: str | None, to: str | None, review_on: dt.date | None,
          photos: list[Path] | None, version: int | None, as_json: bool) -> None:  # fmt: skip
    """Take the step and print the case after it."""
    from gridgov.incidents.cases import Step, act, case_id_of, rules_for

    step = Step(action, note=note, to_staff=to, review_on=review_on, version=version, photos=_read_photos(photos))
    with acting() as (s, actor):
        case_id = case_id_of(s, ref)
        act(s, actor, case_id, step, rules_for(s, get_settings()))
        detail = _detail(s, actor, case_id)
    if as_json:
        echo_json(case_json(detail))
        return
    typer.echo(f"事件 {detail.case['code']} 已「{wf.TRANSITIONS[action].label}」：现为{_state(detail.case)}")


def show(
    ref: str = typer.Argument(..., metavar="ID", help=ID_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """查看事件：状态、时限、时间线与可进行的操作（描述、反映人与照片仅在可查看个人信息的范围内显示）。"""
    from gridgov.incidents.cases import case_id_of

    with acting() as (s, actor):
        detail = _detail(s, actor, case_id_of(s, ref))
    if as_json:
        echo_json(case_json(detail))
    else:
        _show(detail)


def list_cases(
    parent: str | None = typer.Option(None, "--parent", help="网格编码：此网格及其下级（默认：您的范围）"),
    status: str | None = typer.Option(None, "--status", help="状态：上报、立案、派遣、处置、核查、结案、挂账、作废"),
    level: str | None = typer.Option(None, "--level", help="处置层级：网格、社区、街道"),
    category: str | None = typer.Option(None, "--category", help="事件大类"),
    date_from: dt.date | None = typer.Option(None, "--from", parser=parse_date, metavar=DATE, help="上报日期起（含）"),
    date_to: dt.date | None = typer.Option(None, "--to", parser=parse_date, metavar=DATE, help="上报日期止（含）"),
    box: str | None = typer.Option(None, "--box", help=BOX_HELP),
    open_only: bool = typer.Option(False, "--open", help="只列未结案、未作废的"),
    limit: int = typer.Option(100, "--limit", min=1, max=1000, help="最多列出的件数"),
    offset: int = typer.Option(0, "--offset", min=0, help="跳过的件数"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """列出事件（超期的在前，再按时限）：某个待办，或按条件筛选。"""
    from gridgov.errors import InvalidInput
    from gridgov.incidents.cases import Filters, parse_category
    from gridgov.incidents.cases import list_cases as find
    from gridgov.periods import day_range
    from gridgov.vocab import INCIDENT_LEVELS, INCIDENT_STATUSES

    def term(vocabulary: Any, value: str | None) -> str | None:
        if value is None:
            return None
        found = vocabulary.canonical(value.strip())
        if found is None:
            raise InvalidInput(f"未知的{vocabulary.label}：{value}（可选：{'、'.join(vocabulary.terms)}）")
        return str(found)

    start, end = day_range(date_from, date_to, _timezone())
    with acting() as (s, actor):
        main = parse_category(s, category).main if category else None
        filters = Filters(parent=parent, status=term(INCIDENT_STATUSES, status), level=term(INCIDENT_LEVELS, level),
                          category=main, date_from=start, date_to=end, open_only=open_only, limit=limit,
                          offset=offset)  # fmt: skip
        found = find(s, actor, filters, box=box, timezone=_timezone())
    if as_json:
        echo_json({"items": [row_json(r) for r in found.rows], "total": found.total, "limit": limit,
                   "offset": offset, "box": box})  # fmt: skip
        return
    if box:
        typer.echo(f"{BOXES.get(box, box)}：")
    for r in found.rows:
        cells = [r.code, f"{r.category}/{r.subcategory}" if r.subcategory else r.category, r.status, r.level,
                 r.grid_code or "-", r.assignee_name or "-", _when(r.deadline) or "-",
                 "【超期】" if r.overdue else ""]  # fmt: skip
        typer.echo("\t".join(cells).rstrip())
    typer.echo(f"共 {found.total} 件" + (f"（显示第 {offset + 1}–{offset + len(found.rows)} 件）"
                                        if found.total > len(found.rows) else ""))  # fmt: skip


def sweep() -> None:
    """立即检查超期事件（管理员）：网格、社区层级超期未受理、未派遣、未处置的事件上报上一级（与服务定时执行的相同）。"""
    from gridgov.auth.scope import authorize
    from gridgov.incidents.cases import rules_for
    from gridgov.incidents.sweep import escalate_overdue

    with acting() as (s, actor):
        authorize(s, actor, "admin", anywhere=True)
        result = escalate_overdue(s, rules_for(s, get_settings()).calendar, actor=actor)
    if not result.total:
        typer.echo("没有需要超期上报的事件")
        return
    typer.echo("超期上报：" + "，".join(f"到{level} {n} 件" for level, n in result.escalated.items()))


def register(app: typer.Typer) -> None:
    """Add the case commands to ``gridgov incident``."""
    app.command("report")(report)
    for name in wf.ACTION_NAMES:
        app.command(name, help=_action_help(wf.TRANSITIONS[name]))(_action_command(name))
    app.command("show")(show)
    app.command("list")(list_cases)
    app.command("sweep")(sweep)
