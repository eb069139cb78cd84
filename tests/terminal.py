"""Drive tplog on a real pseudo-terminal: wait for each question, then answer it.

Each conversation is a tplog process of its own on its own terminal, forked from one that
imported tplog once for this test process (_Starter): a new `python -m tplog` spent about
0.6 s of CPU starting, which was a sixth of the suite. The child starts as the interpreter
would for `python -m tplog` at a terminal: its standard streams made anew on the terminal
(line-buffered), Ctrl-C raising KeyboardInterrupt, the conversation's environment, folder
and arguments, and `tplog` run as __main__; its exit is the interpreter's. What only a new
interpreter shows (start-up itself, imports) is tested by spawning one (test_startup.py,
test_packaging.py, test_concurrency_and_crashes.py)."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

# The process that imported tplog, waiting to fork a conversation: a request is the
# terminal (its descriptor) and {args, env, cwd}; the answers are the child's pid, then its
# exit code.
_STARTER_CODE = r"""
import importlib, io, json, os, pkgutil, runpy, signal, socket, sys
# What the conversations import, imported once: every module of tplog (its commands import
# theirs when run), the PostgreSQL driver and its SQLAlchemy dialect, the mappers set up.
import tplog
for found in pkgutil.walk_packages(tplog.__path__, "tplog."):
    # Not the entry point itself, nor Alembic's scripts (a wheel ships them in tplog/).
    if found.name != "tplog.__main__" and not found.name.startswith("tplog.migrations"):
        importlib.import_module(found.name)
for name in ("psycopg", "sqlalchemy.dialects.postgresql.psycopg"):
    try:
        importlib.import_module(name)
    except ImportError:
        pass
from sqlalchemy.orm import configure_mappers
configure_mappers()
link = socket.socket(fileno=int(sys.argv[1]))
while True:
    message, fds, _, _ = socket.recv_fds(link, 1 << 16, 1)
    if not message:
        break
    request = json.loads(message)
    child = os.fork()
    if child == 0:
        link.close()
        for place in (0, 1, 2):
            os.dup2(fds[0], place)
        os.close(fds[0])
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        signal.signal(signal.SIGINT, signal.default_int_handler)
        # As the interpreter makes them for a terminal: stdout line-buffered, stderr too.
        sys.stdin = sys.__stdin__ = io.TextIOWrapper(
            io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8")
        sys.stdout = sys.__stdout__ = io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8",
            line_buffering=True)
        sys.stderr = sys.__stderr__ = io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(2, "w", closefd=False)), encoding="utf-8",
            errors="backslashreplace", line_buffering=True)
        sys.argv = ["tplog", *request["args"]]
        runpy.run_module("tplog", run_name="__main__", alter_sys=True)
        sys.exit(0)
    os.close(fds[0])
    link.send(json.dumps({"pid": child}).encode())
    _, status = os.waitpid(child, 0)
    link.send(json.dumps({"code": os.waitstatus_to_exitcode(status)}).encode())
"""


class _Starter:
    """This test process's starter of tplog processes (made at the first conversation)."""

    _link: socket.socket | None = None

    @classmethod
    def start(cls, args: list[str], terminal: int, cwd: Path,
              env: dict[str, str]) -> _Started:
        if cls._link is None:
            mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            subprocess.Popen([sys.executable, "-c", _STARTER_CODE, str(theirs.fileno())],
                             pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                             env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1"})
            theirs.close()
            cls._link = mine
        request = {"args": args, "cwd": str(cwd), "env": env}
        socket.send_fds(cls._link, [json.dumps(request).encode()], [terminal])
        while "pid" not in (answer := json.loads(cls._link.recv(1 << 16))):
            pass  # the exit of a conversation a failed test left unawaited
        return _Started(cls._link, answer["pid"])


class _Started:
    """A forked tplog, as much of subprocess.Popen as converse uses."""

    def __init__(self, link: socket.socket, pid: int) -> None:
        self._link, self.pid, self.returncode = link, pid, None

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._link], [], [], 0)[0]:
            self.returncode = json.loads(self._link.recv(1 << 16))["code"]
        return self.returncode

    def wait(self) -> int:
        while self.poll() is None:
            select.select([self._link], [], [])
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, number: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, number)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _drain(main: int) -> str:
    """Everything still buffered on the terminal once the program has exited."""
    rest = b""
    while select.select([main], [], [], 0)[0]:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        rest += chunk
    return rest.decode(errors="replace")


def converse(args: list[str], script: list[tuple[str, str]], cwd: Path,
             hang: float = 900) -> tuple[int, str]:
    """Run `tplog ARGS` (a tplog process of its own: _Starter); for each (question, answer)
    wait until the question is on the screen, then type the answer and Enter ("\\x03" alone
    is Ctrl-C). Returns the exit code and everything shown.

    It waits for tplog to finish, however long a busy machine takes: the terminal is kept
    open until then (closing it early made tplog's last writes fail, which read as a wrong
    exit code). `hang` only stops a tplog that never finishes, and says so."""
    main, secondary = pty.openpty()
    process = _Starter.start(args, secondary, cwd,
                             {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"})
    os.close(secondary)
    screen, seen_up_to, step = "", 0, 0
    deadline = time.monotonic() + hang
    interrupted: tuple[float, int] | None = None  # when Ctrl-C was sent, and the screen then
    pressed_at = 0  # where the screen stood when Ctrl-C was first pressed
    try:
        while True:
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"tplog did not finish in {hang:.0f} s; stuck after "
                                     f"step {step}:\n{screen}")
            ready, _, _ = select.select([main], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(main, 4096)
                except OSError:  # EIO: every writer has gone (tplog exited)
                    chunk = b""
                if not chunk:
                    break
                screen += chunk.decode(errors="replace")
            if step < len(script):
                question, answer = script[step]
                found = screen.find(question, seen_up_to)
                if found >= 0:
                    seen_up_to = found + len(question)
                    if answer == "\x03":  # Ctrl-C: what the terminal sends its foreground
                        process.send_signal(signal.SIGINT)
                        interrupted = (time.monotonic(), len(screen))
                        pressed_at = len(screen)
                    else:
                        os.write(main, (answer + "\r").encode())
                    step += 1
            elif process.poll() is not None and not ready:
                break
            elif interrupted is not None and "\n" in screen[pressed_at:]:
                # A new line after the question (whose prompt is one line): tplog took the
                # Ctrl-C and is on its way out (keeping a draft, saying so): leave it be.
                interrupted = None
            elif interrupted is not None and len(screen) != interrupted[1]:
                # Something was shown since (the rest of the question, as likely as the
                # answer to the Ctrl-C): wait a quiet second from now.
                interrupted = (time.monotonic(), len(screen))
            elif interrupted is not None and time.monotonic() - interrupted[0] > 1:
                # A SIGINT that lands just before Python's input() starts waiting is only
                # seen at the next keystroke (CPython's readline checks signals on EINTR
                # alone): as a person would, press Ctrl-C again while nothing happens.
                process.send_signal(signal.SIGINT)
                interrupted = (time.monotonic(), len(screen))
        screen += _drain(main)  # what was written between the last read and the exit
        code = process.wait()
    finally:
        os.close(main)
    assert step == len(script), f"stopped at step {step} ({script[step]}):\n{screen}"
    return code, screen


# Guided entry's questions of issue 16, answered with Enter (not recorded, or the previous
# answer): the procedure once per visit, after the conditions; the trigger point's signs
# beside the twitch, for each point.
PROCEDURE = [("Consent [", ""), ("Time-out done", ""), ("Ultrasound guidance", ""),
             ("Needle (", ""), ("Aspirated before injecting", "")]
SIGNS = [("taut band", ""), ("jump sign", ""), ("referred pain", "")]
