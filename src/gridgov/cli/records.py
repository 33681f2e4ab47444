"""``gridgov household|person|building|staff``: read, add, change and retire one record, keeping its history; and
the dated posts of staff on grids (``gridgov staff roles|assign|end|handover``).

The commands act as the local operator, or as the token in ``GRIDGOV_TOKEN`` (its role and scope); the services
check both. Fields are given as ``--set 字段=值`` (the field's name or its Chinese label; ``… fields`` lists them).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import typer

from gridgov.cli.common import DATE, JSON_HELP, acting, echo_json, get_settings
from gridgov.periods import parse_date

if TYPE_CHECKING:
    from gridgov.records.kinds import RecordKind
    from gridgov.records.roles import RoleAssignment
    from gridgov.records.service import Record

# Command word → (the service's kind, its Chinese name). The labels are repeated here because the CLI starts
# without the records package (it loads the database layer).
KINDS: dict[str, tuple[str, str]] = {
    "household": ("households", "住户"),
    "person": ("persons", "人员"),
    "building": ("buildings", "楼栋"),
    "staff": ("staff", "网格工作人员"),
}
SPATIAL = ("household", "building")
ADD_HINT = {
    "household": "须给出户类型，及经纬度或所属楼栋",
    "person": "须给出所属户 household_code 与姓名",
    "building": "须给出位置：经纬度，或 --set geometry=GeoJSON",
    "staff": "须给出姓名；岗位用 staff assign 任命",
}
SET_HELP = "字段=值，可重复（字段名或中文名，值为空则清空；fields 命令列出可用字段）"


def _pairs(pairs: list[str] | None) -> dict[str, str]:
    """``字段=值`` options as a mapping (the value may contain "=")."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"应为 字段=值：{pair}", param_hint="--set")
        out[name.strip()] = value
    return out


def _values(kind: RecordKind, pairs: list[str] | None, lon: float | None, lat: float | None) -> dict[str, Any]:
    """The fields to write, by their API names (a Chinese label names its field; 经度/纬度 are lon/lat)."""
    by_label = {f.label: f.name for f in kind.fields} | {"经度": "lon", "纬度": "lat", "几何": "geometry"}
    values: dict[str, Any] = {by_label.get(k, k): v for k, v in _pairs(pairs).items()}
    if lon is not None or lat is not None:
        values.update(lon=lon, lat=lat)
    return values


def _kind(word: str) -> RecordKind:
    from gridgov.records.kinds import record_kind

    return record_kind(KINDS[word][0])


def _day(moment: dt.datetime | None) -> str:
    from gridgov.history import day_of

    return day_of(moment, get_settings().timezone).isoformat() if moment is not None else ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "；".join(map(str, value))
    return str(value)


def _state(rec: Record) -> str:
    if rec.retired:
        return f"已于 {_day(rec.valid_to)} 注销：{rec.end_reason}"
    return f"自 {_day(rec.valid_from)} 起有效"


def _show(kind: RecordKind, word: str, rec: Record) -> None:
    """The record as ``标签：值`` lines."""
    typer.echo(f"{KINDS[word][1]} {rec.code}（版本 {rec.version}，{_state(rec)}）")
    if rec.grid_code:
        typer.echo(f"  所在网格：{rec.grid_code} {rec.grid_name or ''}")
    for f in kind.fields[1:]:
        typer.echo(f"  {f.label}：{_text(rec.values.get(f.name))}")
    extras = {"lon": "经度", "lat": "纬度", "residents": "在册人数", "households": "在册户数", "roles": "现任岗位"}
    for key, label in extras.items():
        if rec.values.get(key) is not None:
            typer.echo(f"  {label}：{_text(rec.values[key])}")


def _done(kind: RecordKind, word: str, rec: Record, what: str, as_json: bool) -> None:
    if as_json:
        echo_json(rec.as_dict())
        return
    typer.echo(f"已{what}{KINDS[word][1]} {rec.code}（版本 {rec.version}，{_state(rec)}"
               f"{'，网格 ' + rec.grid_code if rec.grid_code else ''}）")  # fmt: skip


def kind_app(word: str) -> typer.Typer:
    """The sub-command of one kind: list, show, history, fields, add, edit, retire."""
    label = KINDS[word][1]
    app = typer.Typer(help=f"{label}：查看、新增、修改、注销（变更保留历史，注销不删除）。", no_args_is_help=True)
    placeless = word not in SPATIAL  # persons and staff have no place: no --lon/--lat in their help

    @app.command("list", help=f"列出或搜索{label}（默认：您的范围内的全部现行记录）。")
    def list_(
        grid: str | None = typer.Option(None, "--grid", help="只列此网格及其下级的"),
        q: str | None = typer.Option(None, "--q", help="搜索：编码、地址、姓名、电话 …"),
        household: str | None = typer.Option(None, "--household", help="所属户编码（仅人员：一户的成员）"),
        include_retired: bool = typer.Option(False, "--all", help="包括已注销的"),
        limit: int = typer.Option(50, min=1, max=500, help="最多列出条数"),
        offset: int = typer.Option(0, min=0, help="跳过的条数"),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """List records."""
        from gridgov.records.service import list_records

        kind = _kind(word)
        with acting() as (s, actor):
            records, total = list_records(s, kind.name, actor, grid=grid, household=household, q=q,
                                          include_retired=include_retired, limit=limit, offset=offset,
                                          viewed_from=f"gridgov {word} list")  # fmt: skip
        if as_json:
            echo_json({"items": [r.as_dict() for r in records], "total": total})
            return
        for r in records:
            cells = [r.code, r.grid_code or "-", *(_text(r.values.get(f.name)) for f in kind.fields[1:])]
            typer.echo("\t".join(cells) + (f"\t（{_state(r)}）" if r.retired else ""))
        typer.echo(f"共 {total} 条" + (f"，显示第 {offset + 1}–{offset + len(records)} 条" if total > len(records)
                                       else ""))  # fmt: skip

    @app.command("show", help=f"显示一条{label}的当前状态。")
    def show(
        code: str = typer.Argument(..., help="编码"), as_json: bool = typer.Option(False, "--json", help=JSON_HELP)
    ) -> None:
        """Show one record."""
        from gridgov.records.service import get_record

        kind = _kind(word)
        with acting() as (s, actor):
            rec = get_record(s, kind.name, code, actor, viewed_from=f"gridgov {word} show")
        if as_json:
            echo_json(rec.as_dict())
        else:
            _show(kind, word, rec)

    @app.command("history", help=f"显示一条{label}的全部版本及每次变更的字段。")
    def history(
        code: str = typer.Argument(..., help="编码"), as_json: bool = typer.Option(False, "--json", help=JSON_HELP)
    ) -> None:
        """Show every version of one record."""
        from gridgov.records.changes import changes_between
        from gridgov.records.service import record_history

        kind = _kind(word)
        with acting() as (s, actor):
            versions = record_history(s, kind.name, code, actor)
        if as_json:
            echo_json([v.as_dict() for v in versions])
            return
        for before, v in zip([None, *versions], versions, strict=False):
            until = _day(v.valid_to) if v.valid_to else "至今"
            ended = f"（{v.end_reason}）" if v.end_reason else ""
            typer.echo(f"版本 {v.version}：{_day(v.valid_from)} — {until}{ended}  {v.updated_by or ''}")
            for line in changes_between(kind, before, v):
                typer.echo(f"    {line}")

    @app.command("fields", help=f"列出{label}的字段（--set 使用的名称）。")
    def fields(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
        """List the fields of the kind."""
        kind = _kind(word)
        rows = [(f.name, f.label, f.kind, f.required, list(f.vocab.terms) if f.vocab is not None else [])
                for f in kind.fields]  # fmt: skip
        if kind.spatial:
            rows += [("lon", "经度", "float", False, []), ("lat", "纬度", "float", False, [])]
        if as_json:
            echo_json([{"name": n, "label": lb, "type": t, "required": req, "terms": terms or None}
                       for n, lb, t, req, terms in rows])  # fmt: skip
            return
        for n, lb, _, req, terms in rows:
            typer.echo(f"{n}\t{lb}{'（必填）' if req else ''}{'（' + '、'.join(terms) + '）' if terms else ''}")

    @app.command("add", help=f"新增一条{label}（{ADD_HINT[word]}）。")
    def add(
        pairs: list[str] = typer.Option(..., "--set", "-s", metavar="字段=值", help=SET_HELP),
        lon: float | None = typer.Option(None, "--lon", hidden=placeless, help="经度（WGS84）"),
        lat: float | None = typer.Option(None, "--lat", hidden=placeless, help="纬度（WGS84）"),
        effective: dt.date | None = typer.Option(
            None, "--effective", parser=parse_date, metavar=DATE, help="生效日期（默认今天；补登时填写）"
        ),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Add a record."""
        from gridgov.records.service import create_record

        kind = _kind(word)
        with acting() as (s, actor):
            rec = create_record(s, kind.name, _values(kind, pairs, lon, lat), actor, effective=effective,
                                timezone=get_settings().timezone)  # fmt: skip
        _done(kind, word, rec, "新增", as_json)

    @app.command("edit", help=f"修改一条{label}的字段（原状态保留为历史）。")
    def edit(
        code: str = typer.Argument(..., help="编码"),
        pairs: list[str] | None = typer.Option(None, "--set", "-s", metavar="字段=值", help=SET_HELP),
        lon: float | None = typer.Option(None, "--lon", hidden=placeless, help="新位置的经度（WGS84）"),
        lat: float | None = typer.Option(None, "--lat", hidden=placeless, help="新位置的纬度（WGS84）"),
        effective: dt.date | None = typer.Option(
            None, "--effective", parser=parse_date, metavar=DATE, help="变更生效日期（默认今天）"
        ),
        version: int | None = typer.Option(None, "--version", help="只在当前版本为此版本时修改（否则退出码 6）"),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Change a record."""
        from gridgov.records.service import update_record

        kind = _kind(word)
        values = _values(kind, pairs, lon, lat)
        if not values:
            raise typer.BadParameter("没有要修改的字段", param_hint="--set")
        with acting() as (s, actor):
            rec = update_record(s, kind.name, code, values, actor, expected_version=version, effective=effective,
                                timezone=get_settings().timezone)  # fmt: skip
        _done(kind, word, rec, "修改", as_json)

    @app.command("retire", help=f"注销一条{label}（搬离、死亡、拆迁、录入错误 …；记录与历史保留，不删除）。")
    def retire(
        code: str = typer.Argument(..., help="编码"),
        reason: str = typer.Option(..., "--reason", help="注销原因：搬离、死亡、拆迁、录入错误、调离、离职 …"),
        effective: dt.date | None = typer.Option(
            None, "--effective", parser=parse_date, metavar=DATE, help="注销生效日期（默认今天）"
        ),
        version: int | None = typer.Option(None, "--version", help="只在当前版本为此版本时注销（否则退出码 6）"),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Retire a record."""
        from gridgov.records.service import retire_record

        kind = _kind(word)
        with acting() as (s, actor):
            rec = retire_record(s, kind.name, code, actor, reason=reason, expected_version=version,
                                effective=effective, timezone=get_settings().timezone)  # fmt: skip
        _done(kind, word, rec, "注销", as_json)

    return app


def _post_line(r: RoleAssignment) -> str:
    until = f"至 {r.until.isoformat()}（{r.end_reason}）" if r.until else "在任"
    return (f"{r.id}\t{r.role}\t{r.staff_name}\t{r.phone or ''}\t{r.staff_code or ''}\t"
            f"自 {r.since.isoformat()} {until}")  # fmt: skip


def staff_app() -> typer.Typer:
    """``gridgov staff``: the records verbs, and the posts staff hold on grids."""
    app = kind_app("staff")

    @app.command("roles", help="列出网格某日在任的岗位（--all：全部岗位记录，含已结束的）。")
    def roles(
        grid: str = typer.Argument(..., help="网格编码"),
        on: dt.date | None = typer.Option(
            None, "--on", parser=parse_date, metavar=DATE, help="日期（默认今天）"
        ),
        include_ended: bool = typer.Option(False, "--all", help="全部岗位记录（含已结束的）"),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """List the posts on a grid."""
        from gridgov.records.roles import grid_roles

        with acting() as (s, actor):
            posts = grid_roles(s, grid, actor, on_day=on, include_ended=include_ended,
                               timezone=get_settings().timezone)  # fmt: skip
        if as_json:
            echo_json([p.as_dict() for p in posts])
            return
        for p in posts:
            typer.echo(_post_line(p))
        if not posts:
            typer.echo("（没有岗位）")

    @app.command("assign", help="为网格增加岗位：已登记的人员（--staff）或新人员（--name、--phone）。")
    def assign(
        grid: str = typer.Argument(..., help="网格编码"),
        role: str = typer.Option(..., "--role", help="岗位，如 网格长、网格员（网格管理员）、网格警员"),
        staff: str | None = typer.Option(None, "--staff", help="人员编码"),
        name: str | None = typer.Option(None, "--name", help="新人员姓名"),
        phone: str | None = typer.Option(None, "--phone", help="新人员电话"),
        since: dt.date | None = typer.Option(
            None, "--since", parser=parse_date, metavar=DATE, help="任职起始日（默认今天）"
        ),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Add a post."""
        from gridgov.records.roles import add_role

        with acting() as (s, actor):
            post = add_role(s, actor, grid_code=grid, role=role, staff_code=staff, name=name, phone=phone,
                            since=since, timezone=get_settings().timezone)  # fmt: skip
        if as_json:
            echo_json(post.as_dict())
        else:
            typer.echo(f"已任命：{post.grid_code} {post.role} {post.staff_name}（岗位编号 {post.id}，"
                       f"自 {post.since.isoformat()} 起）")  # fmt: skip

    @app.command("end", help="结束一个岗位（岗位编号见 roles 命令；记录保留）。")
    def end(
        role_id: int = typer.Argument(..., min=1, help="岗位编号"),
        reason: str = typer.Option(..., "--reason", help="结束原因：调离、离职、交接、录入错误 …"),
        until: dt.date | None = typer.Option(
            None, "--until", parser=parse_date, metavar=DATE, help="结束日（当日起不再担任；默认今天）"
        ),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """End a post."""
        from gridgov.records.roles import end_role

        with acting() as (s, actor):
            post = end_role(s, actor, role_id, reason=reason, until=until, timezone=get_settings().timezone)
        if as_json:
            echo_json(post.as_dict())
        else:
            typer.echo(f"已结束：{post.grid_code} {post.role} {post.staff_name}（自 {_iso(post.until)} 起不再担任）")

    @app.command("handover", help="岗位交接：原任者的岗位于交接日结束，接任者自当日起担任（一次完成）。")
    def handover(
        grid: str = typer.Argument(..., help="网格编码"),
        role: str = typer.Option(..., "--role", help="岗位，如 网格员"),
        to: str | None = typer.Option(None, "--to", help="接任人员的编码"),
        to_name: str | None = typer.Option(None, "--to-name", help="接任的新人员姓名"),
        to_phone: str | None = typer.Option(None, "--to-phone", help="接任的新人员电话"),
        from_: str | None = typer.Option(None, "--from", help="交出岗位的人员编码（默认：该岗位的全部现任）"),
        on: dt.date | None = typer.Option(
            None, "--on", parser=parse_date, metavar=DATE, help="交接日（默认今天）"
        ),
        reason: str | None = typer.Option(None, "--reason", help="原任者的结束原因（默认「交接」）"),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Hand a post over."""
        from gridgov.records.roles import HAND_OVER_REASON, hand_over

        with acting() as (s, actor):
            done = hand_over(s, actor, grid_code=grid, role=role, to_staff_code=to, to_name=to_name,
                             to_phone=to_phone, from_staff_code=from_, on_day=on, reason=reason or HAND_OVER_REASON,
                             timezone=get_settings().timezone)  # fmt: skip
        if as_json:
            echo_json(done.as_dict())
            return
        left = "、".join(r.staff_name for r in done.ended) or "（无原任者）"
        typer.echo(f"已交接：{done.started.grid_code} {done.started.role} {left} → {done.started.staff_name}"
                   f"（自 {done.started.since.isoformat()} 起）")  # fmt: skip

    return app


def _iso(day: dt.date | None) -> str:
    return day.isoformat() if day is not None else ""


def apps() -> dict[str, typer.Typer]:
    """The command word and sub-command of every kind, for ``gridgov.cli.main``."""
    return {word: staff_app() if word == "staff" else kind_app(word) for word in KINDS}
