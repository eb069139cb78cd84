"""One exception family for everything a user can get wrong or run into.

Services raise these; the CLI turns them into one line on stderr and the exit code below
(`tplog.cli.app.TplogGroup.invoke` is the one place that does it).
"""

from enum import IntEnum

# What an error message quotes of a value: enough to recognise it, never a screenful.
SHOWN_CHARACTERS = 80


def shown(value: object) -> str:
    """A value as an error message quotes it: repr, cut to about 80 characters."""
    text = str(value)
    if len(text) > SHOWN_CHARACTERS:
        return repr(text[:SHOWN_CHARACTERS - 1]) + "…"
    return repr(text)


class ExitCode(IntEnum):
    """Exit codes, documented in README."""

    OK = 0
    RECORD = 1  # unknown MRN or visit, or an MRN already taken
    BAD_INPUT = 2  # a value the command does not accept (same as Typer's usage errors)
    DATABASE = 3  # cannot open the database, schema too old or too new, locked, disk full
    CHECK_FAILED = 4  # `tplog db check` or `tplog audit verify` found a problem
    NOT_CONFIRMED = 5  # a dose over the limit was not confirmed: nothing was saved
    CANCELLED = 130  # interrupted (Ctrl-C)


class TplogError(Exception):
    """An expected failure: shown as one line, never as a traceback."""

    exit_code: ExitCode = ExitCode.RECORD

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(TplogError):
    """A value that is not allowed; the message names the value and what is allowed."""

    exit_code = ExitCode.BAD_INPUT


class NotFound(TplogError):
    """An MRN or visit id that is not in the database."""

    exit_code = ExitCode.RECORD


class Conflict(TplogError):
    """The write would clash with a record that already exists."""

    exit_code = ExitCode.RECORD


class DatabaseProblem(TplogError):
    """The database cannot be used as it is (location, schema revision, lock, disk)."""

    exit_code = ExitCode.DATABASE


class StorageProblem(TplogError):
    """A file cannot be read or written: a full disk, a read-only folder, no permission."""

    exit_code = ExitCode.DATABASE


class NotConfirmed(TplogError):
    """A warning that needs the practitioner's confirmation did not get it."""

    exit_code = ExitCode.NOT_CONFIRMED
