"""The `tplog` command and `python -m tplog`. `tplog --version` answers before Typer and the
commands load."""

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from tplog import __version__

        sys.stdout.write(f"tplog {__version__}\n")
        return
    from tplog.cli import main as run

    run()


if __name__ == "__main__":
    main()
