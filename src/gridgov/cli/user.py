"""``gridgov user``: workspace accounts (the first administrator is made here)."""

from __future__ import annotations

import sys

import typer

from gridgov.cli.common import acting, echo_json

app = typer.Typer(
    help="工作台用户：admin（系统管理员）/ street（街道工作人员）/ community（社区工作人员）/ grid（网格员）/ "
    "patrol（巡逻队长）/ viewer（只读）。"
)

ROLE_HELP = "角色：admin / street / community / grid / patrol / viewer（也可写中文名称，如 网格员）"
SCOPE_HELP = "范围：网格编码（street 为街道，community 为社区，grid 为楼院或楼栋，patrol 为街道或社区；admin 不填）"
STAFF_HELP = "本人的工作人员编码（关联后“待我处置”列出派给本人的事件）"


def _password(from_stdin: bool) -> str:
    """The password: the first line of standard input, or asked twice without echo."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise typer.BadParameter("标准输入中没有密码", param_hint="--password-stdin")
        return line.rstrip("\r\n")
    return str(typer.prompt("密码", hide_input=True, confirmation_prompt="再输入一次密码"))


def _role(value: str) -> str:
    """The role term for a term or its Chinese label."""
    from gridgov.vocab import ROLES

    return ROLES.canonical(value) or value


@app.command()
def add(
    username: str = typer.Argument(..., help="用户名（字母、数字和 _ . @ -）"),
    role: str = typer.Option(..., help=ROLE_HELP),
    scope: str | None = typer.Option(None, help=SCOPE_HELP),
    name: str | None = typer.Option(None, help="姓名"),
    staff: str | None = typer.Option(None, "--staff", help=STAFF_HELP),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="从标准输入读取密码（否则交互输入两次）"),
) -> None:
    """添加用户。"""
    from gridgov.auth.scope import authorize
    from gridgov.auth.users import add_user

    with acting() as (s, actor):
        authorize(s, actor, "admin", anywhere=True)  # before asking for a password (the service checks again)
        password = _password(password_stdin)
        user = add_user(s, actor, username, password, _role(role), scope, name, staff_code=staff)
        linked = f"，工作人员 {staff.strip()}" if staff and user.staff_id else ""
        typer.echo(f"已添加用户 {user.username}（{_label(user.role)}{'，范围 ' + scope if scope else ''}{linked}）")


def _label(role: str) -> str:
    from gridgov.vocab import ROLES

    return ROLES.label_of(role)


@app.command("list")
def list_users(as_json: bool = typer.Option(False, "--json", help="输出 JSON")) -> None:
    """列出用户（不含密码）。"""
    from gridgov.auth.users import list_users as rows_of

    with acting() as (s, actor):
        rows = rows_of(s, actor)
    if as_json:
        echo_json([{"username": r.username, "name": r.display_name, "role": r.role, "scope": r.scope_code,
                    "staff": r.staff_code, "last_login_at": r.last_login_at, "disabled": not r.active}
                   for r in rows])  # fmt: skip
        return
    for r in rows:
        state = "已停用" if not r.active else ""
        last = f"{r.last_login_at:%Y-%m-%d %H:%M}" if r.last_login_at else "从未登录"
        staff = f"{r.staff_name}（{r.staff_code}{'，已离职' if r.staff_left else ''}）" if r.staff_code else ""
        typer.echo(f"{r.username}\t{r.display_name or ''}\t{r.role_zh}\t{r.scope_code or '全部'}\t{last}\t{state}"
                   f"\t{staff}")  # fmt: skip


@app.command()
def disable(username: str) -> None:
    """停用用户（记录保留，登录立即失效）。"""
    from gridgov.auth.users import set_disabled

    with acting() as (s, actor):
        set_disabled(s, actor, username, True)
    typer.echo(f"用户 {username} 已停用")


@app.command()
def enable(username: str) -> None:
    """重新启用用户（同时解除锁定）。"""
    from gridgov.auth.users import set_disabled

    with acting() as (s, actor):
        set_disabled(s, actor, username, False)
    typer.echo(f"用户 {username} 已启用")


@app.command("set-password")
def set_password(
    username: str,
    password_stdin: bool = typer.Option(False, "--password-stdin", help="从标准输入读取密码（否则交互输入两次）"),
) -> None:
    """重设用户密码（同时解除锁定，已登录的会话失效）。"""
    from gridgov.auth.scope import authorize
    from gridgov.auth.users import set_password as apply

    with acting() as (s, actor):
        authorize(s, actor, "admin", anywhere=True)  # before asking for a password (the service checks again)
        apply(s, actor, username, _password(password_stdin))
    typer.echo(f"用户 {username} 的密码已重设")


@app.command("set-role")
def set_role(
    username: str,
    role: str = typer.Option(..., help=ROLE_HELP),
    scope: str | None = typer.Option(None, help=SCOPE_HELP),
) -> None:
    """修改用户的角色和范围（已登录的会话失效）。"""
    from gridgov.auth.users import set_role as apply

    with acting() as (s, actor):
        user = apply(s, actor, username, _role(role), scope)
        typer.echo(f"用户 {username} 现为 {_label(user.role)}{'，范围 ' + scope if scope else ''}")


@app.command()
def edit(
    username: str,
    staff: str | None = typer.Option(None, "--staff", help=STAFF_HELP),
    no_staff: bool = typer.Option(False, "--no-staff", help="解除与工作人员的关联"),
) -> None:
    """修改用户关联的工作人员（系统管理员）。"""
    from gridgov.auth.users import set_staff

    if (staff is None) == (not no_staff):
        raise typer.BadParameter("请给出 --staff 工作人员编码 或 --no-staff 之一", param_hint="--staff / --no-staff")
    with acting() as (s, actor):
        set_staff(s, actor, username, None if no_staff else staff)
    typer.echo(f"用户 {username} 已关联工作人员 {staff}" if staff else f"用户 {username} 已解除与工作人员的关联")
