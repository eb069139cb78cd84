"""Drive tplog on a real pseudo-terminal: wait for each question, then answer it.

Each conversation is a tplog process of its own on its own terminal, forked from one that
imported tplog once for this test process (tests/forking.py)."""

from __future__ import annotations

import os
import pty
import select
import signal
import time
from pathlib import Path

from tests.forking import start_on


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
    """Run `tplog ARGS` (a tplog process of its own: tests/forking.py); for each (question, answer)
    wait until the question is on the screen, then type the answer and Enter ("\\x03" alone
    is Ctrl-C). Returns the exit code and everything shown.

    It waits for tplog to finish, however long a busy machine takes: the terminal is kept
    open until then (closing it early made tplog's last writes fail, which read as a wrong
    exit code). `hang` only stops a tplog that never finishes, and says so."""
    main, secondary = pty.openpty()
    process = start_on(secondary, args, cwd,
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
