"""Files tplog writes for the user (exports, backups, the config file): whole, private, and
never through someone else's name.

A file is written into an exclusive, no-follow temporary file that `tempfile.mkstemp` creates
0600 in the target's own folder, then renamed onto the target in one step. So a failed or
interrupted write (a full disk, Ctrl-C) leaves nothing behind and the old file as it was; a
symbolic link another local user plants at a predictable name receives nothing; and a device,
folder or link at the target is refused before anything is written, never replaced.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tplog.errors import BadInput, Conflict, NotFound, StorageProblem


def kind_of(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    return "not a regular file"


# The first bytes of every SQLite database file (sqlite.org/fileformat.html, 1.3).
SQLITE_HEADER = b"SQLite format 3\x00"


def check_target(target: Path | str, what: str = "output", *, overwrite: bool = True) -> Path:
    """The absolute path of a file to write; refused unless it is new or a regular file, and
    (`overwrite`: a file that may be replaced) not a database (tplog's, or any SQLite file,
    or its -wal, -shm or -journal file): an export given the database's own name would have
    replaced every record. (A backup replaces nothing: it says the name is taken.)

    Not resolved: a symbolic link at the target is refused, not followed.
    """
    if str(target).endswith(("/", os.sep)):  # `-o reports/`: a folder, even one not there
        raise BadInput(f"{what} {target} names a folder; give a file name")
    target = Path(os.path.abspath(Path(target).expanduser()))
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        if not target.parent.is_dir():
            raise BadInput(f"{what} {target}: the folder {target.parent} does not exist") \
                from None
        if overwrite:
            _refuse_a_database(target, what)
        return target
    except OSError as error:
        raise StorageProblem(f"cannot use {target}: {error.strerror}") from None
    kind = kind_of(mode)
    if kind is not None:
        raise BadInput(f"{what} {target} is {kind}; tplog writes only to a new or a regular "
                       "file")
    if overwrite:
        _refuse_a_database(target, what)
    return target


def _refuse_a_database(target: Path, what: str) -> None:
    beside = target.name.rpartition("-")
    for candidate in (target, *([target.with_name(beside[0])]
                                if beside[2] in ("wal", "shm", "journal") else [])):
        try:
            with candidate.open("rb") as existing:
                start = existing.read(len(SQLITE_HEADER))
        except OSError:  # not there, or not readable here: not one to protect
            continue
        if start == SQLITE_HEADER:
            raise BadInput(f"{what} {target} is a database"
                           + ("" if candidate == target else f"'s file ({candidate})")
                           + "; tplog never writes over one, choose another name")


def check_source(source: Path, what: str) -> Path:
    """The absolute path of a file to read (an import, a backup, the config file): it must
    be a regular file (a link to one will do). A folder, device or pipe is refused in one
    line: reading /dev/zero or a pipe with no writer would never end."""
    source = Path(os.path.abspath(source.expanduser()))
    try:
        mode = os.stat(source).st_mode
    except FileNotFoundError:
        raise NotFound(f"no {what} at {source}") from None
    except OSError as error:
        raise StorageProblem(f"cannot read {source}: {error.strerror}") from None
    kind = kind_of(mode)
    if kind is not None:
        raise BadInput(f"{what} {source} is {kind}; give a regular file")
    return source


def problem(target: Path, error: OSError) -> StorageProblem:
    """One line for a failed write: what, why, and that nothing was left behind."""
    reason = "the disk is full" if error.errno in (errno.ENOSPC, errno.EDQUOT) \
        else (error.strerror or str(error))
    return StorageProblem(f"cannot write {target}: {reason}; nothing was written")


def _mkstemp(target: Path) -> tuple[int, Path]:
    try:
        descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial",
                                            dir=target.parent)
    except OSError as error:
        raise problem(target, error) from None
    return descriptor, Path(name)


@contextmanager
def temporary_beside(target: Path) -> Iterator[Path]:
    """A new private (0600) empty file in the target's folder for a tool that writes by name
    (SQLite's backup, pg_dump); removed unless published."""
    descriptor, temporary = _mkstemp(target)
    os.close(descriptor)
    try:
        yield temporary
    finally:
        temporary.unlink(missing_ok=True)


def publish(temporary: Path, target: Path, *, overwrite: bool) -> None:
    """Put a finished temporary file at the target in one step.

    overwrite=False never replaces anything (a backup): a hard link fails if the name is taken.
    """
    try:
        if overwrite:
            os.replace(temporary, target)
            return
        try:
            os.link(temporary, target)
        except FileExistsError:
            raise Conflict(f"{target} already exists; tplog never overwrites it, "
                           "choose a new name") from None
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            # A file system without hard links: check, then rename (the name was free a
            # moment ago; a race here replaces only a file someone created meanwhile).
            if os.path.lexists(target):
                raise Conflict(f"{target} already exists; tplog never overwrites it, "
                               "choose a new name") from None
            os.rename(temporary, target)
    except OSError as error:
        raise problem(target, error) from None


@contextmanager
def written_whole(target: Path, *, what: str = "output", overwrite: bool = True,
                  encoding: str = "utf-8") -> Iterator[IO[str]]:
    """A text file at the target, there only if everything was written (0600)."""
    target = check_target(target, what, overwrite=overwrite)
    descriptor, temporary = _mkstemp(target)
    try:
        try:
            # Through the descriptor mkstemp opened, never by name again. A large buffer: a
            # million-point export goes out in big blocks, not 8 KiB ones.
            with open(descriptor, "w", encoding=encoding, newline="",
                      buffering=1 << 20) as out:
                yield out
                out.flush()
                os.fsync(out.fileno())
        except OSError as error:
            raise problem(target, error) from None
        publish(temporary, target, overwrite=overwrite)
    finally:
        temporary.unlink(missing_ok=True)
