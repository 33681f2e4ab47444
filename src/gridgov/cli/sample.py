"""``gridgov sample``: generate and load the sample street (西安市碑林区文艺路街道)."""

from __future__ import annotations

from pathlib import Path

import typer

from gridgov.cli.common import current_actor, echo_json, engine, get_settings

app = typer.Typer(help="样例数据：生成并导入样例街道（固定随机种子，可放大用于基准测试）。")


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
