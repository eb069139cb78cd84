"""The command line: Typer apps that parse, open one transaction, call a service, render.

Command modules import SQLAlchemy, rich tables and services inside the command functions, so
`tplog --help` and `tplog --version` stay light.
"""

from tplog.cli import exchange, reports, visits
from tplog.cli.app import app
from tplog.cli.audit import audit_app
from tplog.cli.database import db_app
from tplog.cli.demo import demo
from tplog.cli.patients import patient_app
from tplog.cli.settings import config_app

app.add_typer(patient_app, name="patient")
app.command("log")(visits.log)
app.command("history")(visits.history)
app.command("followup")(visits.followup)
app.command("trend")(reports.trend)
app.add_typer(visits.visit_app, name="visit")
app.command("summary")(reports.summary)
app.command("export")(exchange.export)
app.command("import")(exchange.import_)
app.command("muscles")(reports.muscles)
app.command("conditions")(reports.conditions)
app.command("drugs")(reports.drugs)
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.command("demo")(demo)


def main() -> None:
    # A fixed name, so that `python -m tplog` completes and shows help as `tplog` does.
    app(prog_name="tplog")


__all__ = ["app", "main"]
