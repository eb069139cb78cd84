"""Processes of their own for the tests, forked from one that imported tplog once for this
test process (the starter): a new interpreter spent about 0.6 s of CPU importing what tplog
needs, which was a sixth of the suite when every guided conversation and every concurrent
writer started one.

A child starts as the interpreter would for `python -m tplog` (or `python -c CODE`): its
standard streams made anew on the descriptors given (stdout and stderr line-buffered),
Ctrl-C raising KeyboardInterrupt, the environment, folder and arguments given, and `tplog`
(or the code) run as __main__; its exit is the interpreter's, an uncaught exception printed
as the interpreter prints it. Several children run at once. What only a new interpreter
shows (start-up itself, imports) is tested by spawning one (test_startup.py,
test_packaging.py).

The protocol: a request is JSON {args, env, cwd, code} with four descriptors (a socket of
the request's own, then the child's stdin, stdout and stderr); on its own socket the
starter answers {"pid": ...} at once and {"code": ...} (its exit code, -N for a signal) when
the child has exited.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

_STARTER_CODE = r"""
import importlib, io, json, os, pkgutil, runpy, select, signal, socket, sys
# What the children import, imported once: every module of tplog (its commands import
# theirs when run), the PostgreSQL driver and its SQLAlchemy dialect, the mappers set up,
# and typer's test runner (the concurrent writers' loop).
import tplog
for found in pkgutil.walk_packages(tplog.__path__, "tplog."):
    # Not the entry point itself, nor Alembic's scripts (a wheel ships them in tplog/).
    if found.name != "tplog.__main__" and not found.name.startswith("tplog.migrations"):
        importlib.import_module(found.name)
for name in ("psycopg", "sqlalchemy.dialects.postgresql.psycopg", "typer.testing",
             "alembic.command", "alembic.runtime.migration", "alembic.runtime.environment"):
    try:
        importlib.import_module(name)
    except ImportError:
        pass
from sqlalchemy.orm import configure_mappers
configure_mappers()
link = socket.socket(fileno=int(sys.argv[1]))
# Children are reaped as they exit (SIGCHLD wakes the loop), so that several run at once.
woken, wake = os.pipe()
os.set_blocking(wake, False)
signal.set_wakeup_fd(wake)
signal.signal(signal.SIGCHLD, lambda *_: None)
answers = {}  # each running child's pid: its request's socket
request = None
while request is None:
    ready, _, _ = select.select([link, woken], [], [])
    if woken in ready:
        os.read(woken, 4096)
        while answers:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            own = answers.pop(pid)
            own.send(json.dumps({"code": os.waitstatus_to_exitcode(status)}).encode())
            own.close()
    if link not in ready:
        continue
    message, fds, _, _ = socket.recv_fds(link, 1 << 16, 4)
    if not message:
        break
    own = socket.socket(fileno=fds[0])
    child = os.fork()
    if child == 0:
        request = json.loads(message)
        for other in (link, *answers.values()):
            other.close()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.close(woken)
        os.close(wake)
        own.close()
        for place, fd in enumerate(fds[1:]):
            os.dup2(fd, place)
        for fd in set(fds[1:]):
            os.close(fd)
        break
    for fd in fds[1:]:
        os.close(fd)
    own.send(json.dumps({"pid": child}).encode())
    answers[child] = own
if request is None:
    sys.exit(0)  # the test process has gone
os.chdir(request["cwd"])
os.environ.clear()
os.environ.update(request["env"])
signal.signal(signal.SIGINT, signal.default_int_handler)
# As the interpreter makes them: stdout line-buffered (at a terminal), stderr too.
sys.stdin = sys.__stdin__ = io.TextIOWrapper(
    io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8")
sys.stdout = sys.__stdout__ = io.TextIOWrapper(
    io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8",
    line_buffering=True)
sys.stderr = sys.__stderr__ = io.TextIOWrapper(
    io.BufferedWriter(io.FileIO(2, "w", closefd=False)), encoding="utf-8",
    errors="backslashreplace", line_buffering=True)
del link, answers, own, woken, wake, fds, message
if request["code"] is None:
    sys.argv = ["tplog", *request["args"]]
    runpy.run_module("tplog", run_name="__main__", alter_sys=True)
else:
    sys.argv = ["-c", *request["args"]]
    exec(compile(request["code"], "<string>", "exec"), {"__name__": "__main__"})
sys.exit(0)
"""


class _Starter:
    """This test process's starter (made at its first child)."""

    _link: socket.socket | None = None

    @classmethod
    def start(cls, args: list[str], stdio: tuple[int, int, int], cwd: Path,
              env: dict[str, str], code: str | None) -> Forked:
        if cls._link is None:
            mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            subprocess.Popen([sys.executable, "-c", _STARTER_CODE, str(theirs.fileno())],
                             pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                             env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1"})
            theirs.close()
            cls._link = mine
        own, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        request = {"args": args, "cwd": str(cwd), "env": env, "code": code}
        try:
            socket.send_fds(cls._link, [json.dumps(request).encode()], [theirs.fileno(), *stdio])
        finally:
            theirs.close()
        return Forked(own, json.loads(own.recv(1 << 16))["pid"])


class Forked:
    """A forked child, as much of subprocess.Popen as the tests use."""

    stdout: IO[str] | None = None
    stderr: IO[str] | None = None

    def __init__(self, own: socket.socket, pid: int) -> None:
        self._own, self.pid, self.returncode = own, pid, None

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._own], [], [], 0)[0]:
            self.returncode = json.loads(self._own.recv(1 << 16))["code"]
            self._own.close()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(f"forked {self.pid}", timeout or 0)
            select.select([self._own], [], [], left)
        return self.returncode  # type: ignore[return-value]

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Everything the child writes to its stdout and stderr (pipes) until it exits."""
        assert self.stdout is not None and self.stderr is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        read = {self.stdout.fileno(): b"", self.stderr.fileno(): b""}
        open_ = set(read)
        while open_:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(f"forked {self.pid}", timeout or 0)
            for fd in select.select(list(open_), [], [], left)[0]:
                chunk = os.read(fd, 65536)
                if chunk:
                    read[fd] += chunk
                else:
                    open_.discard(fd)
        self.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        out, err = (read[f.fileno()].decode() for f in (self.stdout, self.stderr))
        self.stdout.close()
        self.stderr.close()
        return out, err

    def send_signal(self, number: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, number)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def start_on(terminal: int, args: list[str], cwd: Path, env: dict[str, str]) -> Forked:
    """`tplog ARGS` with the terminal as its stdin, stdout and stderr."""
    return _Starter.start(args, (terminal, terminal, terminal), cwd, env, None)


def piped(args: list[str], cwd: Path, *, code: str | None = None,
          env: dict[str, str] | None = None) -> Forked:
    """`python -m tplog ARGS` (or `python -c CODE ARGS`) with its stdout and stderr as pipes
    (text, .stdout and .stderr) and nothing on its stdin."""
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    with open(os.devnull) as nothing:
        try:
            child = _Starter.start(args, (nothing.fileno(), out_write, err_write), cwd,
                                   dict(os.environ if env is None else env), code)
        finally:
            os.close(out_write)
            os.close(err_write)
    child.stdout = open(out_read, encoding="utf-8")  # noqa: SIM115 (communicate closes it)
    child.stderr = open(err_read, encoding="utf-8")  # noqa: SIM115
    return child
