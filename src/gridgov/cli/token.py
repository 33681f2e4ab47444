"""``gridgov token``: create, list and revoke API tokens."""

from __future__ import annotations

import typer

from gridgov.cli.common import acting, echo_json, engine

app = typer.Typer(help="API 令牌：角色与范围同工作台用户（admin / street / community / grid / patrol / viewer）。")


@app.command()
def create(
    name: str = typer.Option(..., help="令牌名称（使用者）"),
    role: str = typer.Option("viewer", help="admin / street / community / grid / patrol / viewer"),
    scope: str | None = typer.Option(None, help="范围：网格编码（street、community、grid、patrol 必填）"),
    days: int | None = typer.Option(None, help="有效天数（默认不过期）"),
) -> None:
    """创建令牌并打印（只显示一次）。"""
    from gridgov.auth.tokens import create_token

    with acting() as (s, actor):
        plain, _ = create_token(s, actor, name, role, scope, days)
    typer.echo(plain)


@app.command("list")
def list_tokens() -> None:
    """列出令牌（不含密钥）。"""
    from sqlalchemy import select

    from gridgov.db.engine import session_scope
    from gridgov.db.models import ApiToken, Grid

    with session_scope(engine(), actor="cli") as s:
        rows = s.execute(
            select(ApiToken.id, ApiToken.name, ApiToken.role, Grid.code, ApiToken.created_at, ApiToken.revoked_at)
            .outerjoin(Grid, Grid.id == ApiToken.scope_grid_id)
            .order_by(ApiToken.id)
        ).all()
    echo_json(
        [{"id": r[0], "name": r[1], "role": r[2], "scope": r[3], "created_at": r[4], "revoked_at": r[5]} for r in rows]
    )


@app.command()
def revoke(token_id: int) -> None:
    """吊销令牌。"""
    from gridgov.auth.tokens import revoke_token

    with acting() as (s, actor):
        revoke_token(s, actor, token_id)
    typer.echo(f"令牌 {token_id} 已吊销")
