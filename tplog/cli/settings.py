"""tplog config show | path | set."""

from __future__ import annotations

from typing import Annotated

import typer

from tplog.cli.app import echo, echo_json, note
from tplog.cli.options import JsonFlag

config_app = typer.Typer(
    help="The settings file: defaults, dose limits, check intervals.",
    no_args_is_help=True, rich_markup_mode=None)


@config_app.command("path")
def path() -> None:
    """Print where the settings file is (it need not exist)."""
    from tplog import config

    echo(str(config.config_path()))


@config_app.command("show")
def show(json: JsonFlag
         = False) -> None:
    """Every setting in force (from the file, else the default)."""
    from tplog import config

    settings = config.load()
    values = config.effective(settings)
    if json:
        echo_json({"path": str(settings.path), "exists": settings.path.exists(),
                   "settings": values})
        return
    echo(f"# {settings.path}{'' if settings.path.exists() else ' (not created yet)'}")
    for key, value in values.items():
        echo(f"{key} = {'(not set)' if value is None else value}")


@config_app.command("set")
def set_(
    key: Annotated[str, typer.Argument(help="A key `tplog config show` lists.")],
    value: Annotated[str, typer.Argument(help="The new value.")],
) -> None:
    """Set one key in the settings file (checked before it is written)."""
    from tplog import config

    for warning in config.set_value(key, value):
        note(f"Warning: {warning}")
    note(f"Set {key} = {config.shown(key, value)} in {config.config_path()}.")
