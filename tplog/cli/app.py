"""The root Typer app, its global options, and the one place errors become exit codes.

Nothing heavy is imported at module level: `tplog --help` must not load SQLAlchemy or Alembic.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Annotated, Any, cast

import typer
from typer.core import TyperGroup

from tplog import __version__
from tplog.cli.index import COMMANDS
from tplog.errors import ExitCode, TplogError, shown

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from tplog.db import Location
    from tplog.models import Patient
    from tplog.services.audit import Actor


class SuggestingGroup(TyperGroup):
    """A command group that answers a mistyped command with the ones it may have meant
    (`tplog visit shwo`: did you mean show?)."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else ""
        known = self.list_commands(ctx)
        if name and not name.startswith("-") and name not in known:
            import difflib

            near = [k for k in known if k.startswith(name.lower())] or \
                difflib.get_close_matches(name.lower(), known, n=3, cutoff=0.6)
            if near:
                ctx.fail(f"No such command {shown(name)}; did you mean "
                         f"{' or '.join(near[:3])}?")
        return super().resolve_command(ctx, args)


class TplogGroup(SuggestingGroup):
    """The root group: builds a command from its module only when it is needed, and turns
    every TplogError from any command into one line on stderr and its exit code."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, name: str) -> Any:
        if name not in self.commands and name in COMMANDS:
            self.commands[name] = _loaded(name)
        return self.commands.get(name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        # The index's help lines, in full: listing commands loads none of them.
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, summary) in COMMANDS.items()])

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        from typer.core import CompletionItem

        names = [CompletionItem(name, help=summary) for name, (_, summary) in COMMANDS.items()
                 if name.startswith(incomplete)]
        # Skip TyperGroup's own, which would build every matching command to ask its help.
        return names + super(TyperGroup, self).shell_complete(ctx, incomplete)

    def main(self, args: Any = None, *rest: Any, **options: Any) -> Any:
        # Arguments that are not UTF-8 (bytes of another encoding, decoded by Python as lone
        # surrogates) are refused here, once, before any command could store or look them up.
        import sys

        given = sys.argv[1:] if args is None else list(args)
        for argument in given:
            if isinstance(argument, str) and _NOT_TEXT.search(argument):
                echo(f"Error: argument {shown(argument)} is not valid UTF-8 text; check the "
                     "terminal's encoding", err=True)
                sys.exit(int(ExitCode.BAD_INPUT))
        return super().main(args, *rest, **options)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TplogError as error:
            echo(f"Error: {_short_words(error.message)}", err=True)
            raise typer.Exit(int(error.exit_code)) from None
        except OSError as error:  # a file the command could not read or write
            where = f" ({shown(error.filename)})" if error.filename else ""
            echo(f"Error: {error.strerror or error}{where}; nothing was saved", err=True)
            raise typer.Exit(int(ExitCode.DATABASE)) from None
        except UnicodeError as error:  # text a library could not encode (a host name)
            echo(f"Error: {_short_words(str(error))}; check the value given", err=True)
            raise typer.Exit(int(ExitCode.BAD_INPUT)) from None
        except (typer.Abort, KeyboardInterrupt):  # Ctrl-C (or Ctrl-D) at a question
            saved = ctx.obj.saved if isinstance(ctx.obj, State) else None
            typer.echo(f"\n{saved or 'Interrupted; nothing was saved.'}", err=True)
            raise typer.Exit(int(ExitCode.CANCELLED)) from None


# Commands built in this process. Typer builds a new root group for every call of `app`
# (each test's CliRunner.invoke, each worker's command): a command built once (its
# parameters read from the function's annotations) serves them all, as it is only read.
_LOADED: dict[str, Any] = {}


def _loaded(name: str) -> Any:
    command = _LOADED.get(name)
    if command is None:
        command = _LOADED[name] = _load(name, COMMANDS[name][0])
    return command


def _load(name: str, target: str) -> Any:
    """The Click command for one index entry, built exactly as `add_typer`/`command` on the
    root app would have built it up front."""
    from importlib import import_module

    from typer.main import get_group

    module, attribute = target.split(":")
    found = getattr(import_module(module), attribute)
    parent = typer.Typer(rich_markup_mode=None, add_completion=False)
    if isinstance(found, typer.Typer):
        parent.add_typer(found, name=name, cls=SuggestingGroup)
    else:
        parent.command(name)(found)
    return get_group(parent).commands[name]


app = typer.Typer(
    # Plain help: rich help formatting alone costs more than importing Typer (start-up).
    rich_markup_mode=None,
    cls=TplogGroup,
    help="A clinician's log of trigger point injections.",
    no_args_is_help=True,
    # Tracebacks of unexpected errors must never show local variables: they hold patient data.
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class State:
    """What the global options chose; the database is opened on first use, once."""

    target: str | None
    no_color: bool = False
    location: Location | None = None
    engine: Engine | None = None
    # What a Ctrl-C says once a write of this command's is committed (None: nothing is).
    saved: str | None = None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tplog {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option(
        "--db", envvar="TPLOG_DB", metavar="PATH_OR_URL",
        help="SQLite file or SQLAlchemy URL (postgresql+psycopg://...). "
             "Default: tplog.db in your data folder.")] = None,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
    no_color: Annotated[bool, typer.Option(
        "--no-color", help="No colour, even on a terminal (NO_COLOR is honoured too).")]
    = False,
) -> None:
    """Record every injected trigger point after a visit; review histories and outcomes."""
    state = State(target=db, no_color=no_color)
    _output["no_color"] = no_color
    ctx.obj = state
    ctx.call_on_close(lambda: state.engine.dispose() if state.engine is not None else None)


def state(ctx: typer.Context) -> State:
    return ctx.find_root().obj


def location(ctx: typer.Context) -> Location:
    current = state(ctx)
    if current.location is None:
        from tplog.db import locate

        target = current.target  # --db, else TPLOG_DB (Typer reads it)
        if not target:
            from tplog import config

            target = config.load().database
        current.location = locate(target)
    return current.location


def engine(ctx: typer.Context) -> Engine:
    """The database, opened once per command: files made private, schema checked."""
    from tplog.db import tighten_permissions
    from tplog.db.schema import open_database

    current = state(ctx)
    where = location(ctx)
    if current.engine is None:
        # Opened first: a target that is not a tplog database is refused untouched, and only
        # then are tplog's own files made private.
        current.engine = open_database(where)
        if where.path is not None:
            for warning in tighten_permissions(where.path):
                note(f"Warning: {warning}")
    return current.engine


SAVED = "Interrupted after the changes were saved; they stay saved."


@contextmanager
def session(ctx: typer.Context, *, write: bool = False,
            saved: str = SAVED) -> Iterator[Session]:
    """The command's one transaction on a database whose schema is current. Written: a
    Ctrl-C after the commit says `saved`."""
    from tplog.db import session_scope

    held = None
    try:
        with session_scope(engine(ctx), location(ctx), write=write) as opened:
            yield opened
            if write:
                # From here Ctrl-C waits until the commit below is done and known: raised
                # inside it (after SQLite's commit returned, or while psycopg awaited the
                # server's answer), it would be reported as "nothing was saved" when the
                # records may be saved.
                held = _hold_interrupts()
        if write:
            state(ctx).saved = saved
    finally:
        _put_back(held)


@contextmanager
def finishing(ctx: typer.Context, saved: str) -> Iterator[None]:
    """A step that, once begun, is finished and known before a Ctrl-C is taken (a restore's
    copy and its record): Ctrl-C waits for it, and after it says `saved`."""
    held = _hold_interrupts()
    try:
        yield
        state(ctx).saved = saved
    finally:
        _put_back(held)


def _put_back(held: Any) -> None:
    if held is not None:
        import signal

        signal.signal(signal.SIGINT, held)


def _hold_interrupts() -> Any:
    """Ignore Ctrl-C; the handler to put back, or None where it cannot be changed (another
    thread, or a handler not set from Python)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:
        return None
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return previous


def interactive() -> bool:
    """A person at a terminal who can be asked (stdin and stderr both terminals)."""
    import sys

    return sys.stdin.isatty() and sys.stderr.isatty()


def patient_for(s: Session, text: str, *, merged: bool = False) -> Patient:
    """The patient an MRN or a name means; asks which one when a name matches several and
    someone is at the terminal, else fails listing them. A duplicate merged into another is
    refused naming it, unless `merged` asks for the record itself (its audit events)."""
    from tplog.services import patients

    try:
        return patients.find_patient(s, text, merged=merged)
    except patients.Ambiguous as ambiguous:
        if not interactive():
            raise
        for number, (mrn, name) in enumerate(ambiguous.candidates, start=1):
            note(f"  {number}. {name} ({mrn})")
        choice = typer.prompt(f"Which patient is {text!r}? (number)", type=int, err=True)
        if not 1 <= choice <= len(ambiguous.candidates):
            raise
        return patients.find_patient(s, ambiguous.candidates[choice - 1][0])


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (some containers)
        return str(os.getuid())


def default_practitioner() -> str:
    """After --practitioner: TPLOG_PRACTITIONER, else the config file's, else the OS user."""
    if os.environ.get("TPLOG_PRACTITIONER"):
        return os.environ["TPLOG_PRACTITIONER"]
    from tplog import config

    return config.load().practitioner or os_user()


def actor(practitioner: str | None = None) -> Actor:
    """Who is writing: the OS account, and the practitioner it is done for."""
    from tplog.services.audit import Actor

    return Actor(os_user=os_user(), practitioner=practitioner or default_practitioner())


def signed(s: Session, who: Actor) -> Actor:
    """The writer with their practitioner (a name or an id) resolved to its record. Where
    the clinic keeps practitioner records, a name with none gets a hint (on stderr): a typo,
    or a colleague to add."""
    from tplog.services import practitioners

    signing = practitioners.signing(s, who)
    if signing.practitioner is None and signing.records:
        note(f"Practitioner {signing.actor.practitioner!r} has no record{signing.near}; "
             "`tplog practitioner add NAME --credentials ... --npi ...` gives their visits "
             "credentials.")
    return signing.actor


def echo_json(document: Any) -> None:
    import json

    # json escapes C0 controls itself; DEL and the C1 controls (a terminal may obey them) are
    # written as \u escapes too, so the data stays exact and the terminal stays the user's.
    text = json.dumps(document, indent=2, ensure_ascii=False)
    typer.echo(_C1.sub(lambda found: f"\\u{ord(found.group()):04x}", text))


_C1 = re.compile("[\x7f-\x9f]")
# Control characters other than tab and newline: stored text holding them (a name imported
# long ago, a hostile file) must not retitle, clear or reprogram the user's terminal.
_NOT_TEXT = re.compile("[\ud800-\udfff]")


def _short_words(message: str) -> str:
    """A message with any run of over 120 characters without a space (a path, a value that
    was not quoted through `shown`) cut short: an error is one readable line."""
    return re.sub(r"\S{121,}", lambda found: found.group()[:100] + "…", message)


# Lone surrogates (bytes of a mis-encoded argument) cannot be printed at all.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff"
                      "\u061c\u200b\u200e\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]")
# ...except the colour codes (SGR) rich itself writes around text.
_CONTROL_BUT_COLOUR = re.compile(
    "(\x1b\\[[0-9;]*m)|[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff"
    "\u061c\u200b\u200e\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]")


def printable(text: str) -> str:
    """Text for a terminal: control characters (but tab and newline) shown as \ufffd."""
    return _CONTROL.sub("\ufffd", text)


class _Printable:
    """A stream wrapper for rich: only rich's own colour codes reach the terminal."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(_CONTROL_BUT_COLOUR.sub(
            lambda found: found.group(1) or "\ufffd", text))

    def __getattr__(self, name: str) -> Any:  # isatty, flush, fileno, encoding: the stream's
        return getattr(self._stream, name)


def echo(text: str, *, err: bool = False) -> None:
    """A line to the terminal (stdout, or stderr with err), control characters neutralised."""
    typer.echo(printable(text), err=err)


# --no-color of the command being run; set by main_options at the start of every command.
_output = {"no_color": False}


def stdout_console() -> Any:
    """Colour only on a terminal (rich's own check); with --no-color or NO_COLOR, no escape
    codes at all (rich's NO_COLOR alone would still send bold and dim)."""
    import sys

    from rich.console import Console

    out = cast(IO[str], _Printable(sys.stdout))
    if _output["no_color"] or os.environ.get("NO_COLOR"):
        return Console(file=out, color_system=None)
    return Console(file=out)


def note(message: str) -> None:
    """A message for the person, on stderr, so stdout stays data."""
    echo(message, err=True)
