"""The CLI's help in Chinese where typer allows it: panel titles, the usage prefix and the help option's text.

typer prints these English words itself; they are module constants and defaults, set here once. Each change is
guarded, so another typer version simply keeps its English rather than breaking the CLI.
"""

from __future__ import annotations

import contextlib
from typing import Any

RICH_TEXTS = {
    "ARGUMENTS_PANEL_TITLE": "参数",
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "ERRORS_PANEL_TITLE": "错误",
    "ABORTED_TEXT": "已取消。",
    "DEFAULT_STRING": "[默认：{}]",
    "ENVVAR_STRING": "[环境变量：{}]",
    "REQUIRED_LONG_STRING": "[必填]",
    "DEPRECATED_STRING": "（已弃用）",
    "RICH_HELP": "请运行 [blue]'{command_path} {help_option}'[/] 查看帮助。",
}
HELP_TEXT = "显示此帮助并退出。"
USAGE_PREFIX = "用法："


def apply() -> None:
    """Put the Chinese words in place (idempotent)."""
    with contextlib.suppress(ImportError, AttributeError):
        from typer import rich_utils

        for name, value in RICH_TEXTS.items():
            if hasattr(rich_utils, name):
                setattr(rich_utils, name, value)
        # rich_utils highlights the usage line by its English prefix: teach it the Chinese one.
        kind = type(rich_utils.highlighter)
        kind.highlights = [h.replace("Usage: ", USAGE_PREFIX) for h in kind.highlights]
    with contextlib.suppress(ImportError, AttributeError):
        from typer._click import core, formatting

        if getattr(formatting.HelpFormatter.write_usage, "_gridgov", False):
            return
        write_usage = formatting.HelpFormatter.write_usage

        def chinese_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
            write_usage(self, prog, args, USAGE_PREFIX if prefix is None else prefix)

        chinese_usage._gridgov = True  # type: ignore[attr-defined]
        formatting.HelpFormatter.write_usage = chinese_usage  # type: ignore[method-assign]
        get_help_option = core.Command.get_help_option

        def chinese_help_option(self: Any, ctx: Any) -> Any:
            option = get_help_option(self, ctx)
            if option is not None:
                option.help = HELP_TEXT
            return option

        core.Command.get_help_option = chinese_help_option  # type: ignore[method-assign]
