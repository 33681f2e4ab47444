"""``gridgov sample``: generate, load and remove the sample street (西安市碑林区文艺路街道)."""

from __future__ import annotations

from pathlib import Path

import typer

from gridgov.cli.common import acting, current_actor, echo_json, engine, get_settings

app = typer.Typer(help="样例数据：生成、导入、删除样例街道（固定随机种子，可放大用于基准测试）。")


@app.command()
def generate(
    out: Path = typer.Option(None, "--out", "-o", help="输出目录（默认 geodata/sample）"),
    households: int = typer.Option(20_000, help="户数"),
    compounds: int | None = typer.Option(None, help="楼院网格数（默认按户数推算）"),
    seed: int = typer.Option(20261121, help="随机种子"),
    if_outdated: bool = typer.Option(False, "--if-outdated", help="目录中已有本版本生成的样例时不再生成"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """生成样例街道数据文件。"""
    from gridgov.sample.generate import generate as run
    from gridgov.sample.generate import is_current

    target = out or get_settings().geodata_dir / "sample"
    if if_outdated and is_current(target):
        typer.echo(f"样例数据已是最新：{target}")
        return
    summary = run(target, households=households, compounds=compounds, seed=seed)
    info = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(summary).items()}
    if as_json:
        echo_json(info)
    else:
        typer.echo(
            f"已生成样例数据：{target}（{summary.compounds} 个楼院网格，{summary.households} 户，{summary.persons} 人）"
        )


@app.command()
def load(
    directory: Path = typer.Option(None, "--dir", help="样例目录（默认 geodata/sample）"),
    skip_existing: bool = typer.Option(False, "--skip-existing", help="已导入时跳过而不报错"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """把样例数据导入数据库（原子操作）并分配到网格。"""
    from gridgov.assign.points import assign_all
    from gridgov.errors import Conflict
    from gridgov.sample.load import load_sample

    settings = get_settings()
    src = directory or settings.geodata_dir / "sample"
    actor = current_actor()  # the loader checks that this actor may load a whole street
    eng = engine()
    try:
        with eng.begin() as conn:
            counts = load_sample(conn, src, timezone=settings.timezone, grid_settings=settings, actor=actor,
                                 patrol_buffer_m=settings.patrol_buffer_m)
    except Conflict as exc:
        if not skip_existing:
            raise
        typer.echo(f"{exc.message}，跳过。")
        return
    from sqlalchemy.orm import Session

    with Session(eng) as session, session.begin():
        assigned = assign_all(session)
    result = {"loaded": counts, "assigned": [vars(a) for a in assigned]}
    if as_json:
        echo_json(result)
        return
    typer.echo("已导入：" + "，".join(f"{k} {v}" for k, v in counts.items()))
    for a in assigned:
        typer.echo(f"分配 {a.table}：已分配 {a.assigned}，未分配 {a.unassigned}")


TABLE_ZH = {
    "grid": "网格", "building": "楼栋", "household": "户", "person": "人口", "staff": "网格工作人员",
    "grid_role": "网格职务", "incident": "事件", "incident_event": "事件步骤", "incident_photo": "事件照片",
    "patrol_team": "巡逻队", "patrol_team_member": "巡逻队员", "patrol_area": "巡逻区域", "patrol_track": "巡逻轨迹",
    "patrol_point": "轨迹点", "patrol_roster": "排班", "roster_change": "请假替班", "party_org": "党组织",
    "party_org_post": "党组织委员", "party_membership": "党员组织关系", "party_register": "党员登记",
    "party_contact": "党员联系户", "party_contact_visit": "联系户走访", "resident_unit": "驻区单位",
    "volunteer_team": "志愿服务队", "volunteer_team_member": "志愿者", "volunteer_activity": "志愿活动",
    "party_meeting": "党组织会议", "party_duty_area": "党员责任区", "grid_finding": "网格拓扑问题",
    "track_grid_stat": "轨迹网格统计", "track_derived": "轨迹统计版本", "track_footprint": "轨迹覆盖范围",
    "night_footprint": "夜间覆盖范围", "derived_cache": "统计缓存",
}  # fmt: skip


def _removal_lines(counts: dict[str, int]) -> list[str]:
    return [f"  {TABLE_ZH.get(t, t)}（{t}）：{n}" for t, n in counts.items()]


@app.command()
def remove(
    yes: bool = typer.Option(False, "--yes", "-y", help="不再确认，直接删除"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出（须同时给出 --yes，否则只列出将删除的内容）"),
) -> None:
    """删除样例街道及属于它的全部数据（网格及历史、楼栋、户、人口、工作人员、事件、巡逻、党建等），在一个事务中完成。

    用户和令牌保留；范围在样例街道内的用户被停用、令牌被撤销。审计日志保留。"""
    from gridgov.sample.remove import remove_sample

    with acting() as (s, actor):
        plan = remove_sample(s, actor, apply=False)
        s.rollback()  # the preview writes nothing
    if not plan.present:
        if as_json:
            echo_json(plan.as_dict())
        else:
            typer.echo(f"数据库中没有样例街道（{plan.street}），无需删除。")
        return
    if not yes:
        if as_json:
            echo_json(plan.as_dict())
            return
        typer.echo(f"将删除样例街道 {plan.street} 的 {plan.total} 行数据：")
        for line in _removal_lines(plan.counts):
            typer.echo(line)
        if plan.disabled_users:
            typer.echo(f"将停用范围在样例街道内的用户：{'、'.join(plan.disabled_users)}")
        if plan.revoked_tokens:
            typer.echo(f"将撤销范围在样例街道内的令牌：{'、'.join(plan.revoked_tokens)}")
        typer.confirm("确定删除吗？", abort=True)
    with acting() as (s, actor):
        done = remove_sample(s, actor, apply=True)
    if as_json:
        echo_json(done.as_dict())
        return
    typer.echo(f"已删除样例街道 {done.street}：共 {done.total} 行")
    for line in _removal_lines(done.counts):
        typer.echo(line)
    if done.disabled_users:
        typer.echo(f"已停用范围在样例街道内的用户（其范围已清空，重新启用前请先设置范围）：{'、'.join(done.disabled_users)}")
    if done.revoked_tokens:
        typer.echo(f"已撤销范围在样例街道内的令牌：{'、'.join(done.revoked_tokens)}")
    if done.unlinked_users:
        typer.echo(f"已解除与被删除工作人员的关联：{'、'.join(done.unlinked_users)}")
