"""The command line: Typer apps that parse, open one transaction, call a service, render.

The root app (`tplog.cli.app`) loads a command's module only when that command is run or its
help is shown (`tplog.cli.index` says where each lives). Command modules import SQLAlchemy,
rich tables and services inside the command functions, so `tplog --help` and `tplog --version`
stay light.
"""

from tplog.cli.app import app


def main() -> None:
    # A fixed name, so that `python -m tplog` completes and shows help as `tplog` does.
    app(prog_name="tplog")


__all__ = ["app", "main"]
