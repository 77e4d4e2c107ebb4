"""Ctrl-C and SIGTERM during a command: stop the solve, print what there is, exit 130.

The first signal asks every running solve to stop (engine.stopping.request_interrupt); a solve
answers within a moment with its best so far (status ``time_limit``, message "interrupted"),
the command prints it, writes nothing and exits with EXIT_INTERRUPTED. Should nothing answer
within ``FALLBACK`` seconds (a step that does not look at the flag, such as reading a large
table), a KeyboardInterrupt is raised instead, and a second signal raises one at once; the CLI
turns either into a one-line message and the same exit code.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

from engine.stopping import clear_interrupt, interrupted, request_interrupt, supervise

#: exit code of an interrupted command (128 + SIGINT, as a shell reports it)
EXIT_INTERRUPTED = 130
#: seconds after the first signal before a KeyboardInterrupt is raised anyway
FALLBACK = 1.5


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if interrupted():
        raise KeyboardInterrupt
    request_interrupt()
    signal.setitimer(signal.ITIMER_REAL, FALLBACK)


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def install() -> Callable[[], None]:
    """Handle SIGINT and SIGTERM as above, and run exact solvers supervised (engine.isolate);
    returns the function that puts everything back (``main`` may run inside another program,
    a test for one). Outside the main thread signals cannot be handled: nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    clear_interrupt()
    supervise(True)
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)}
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGALRM, _on_alarm)

    def restore() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for s, handler in saved.items():
            signal.signal(s, handler)
        supervise(False)
        clear_interrupt()

    return restore


def acknowledge() -> bool:
    """True when the command was interrupted; the fallback is then called off, because the
    command is answering (it prints its best so far and returns EXIT_INTERRUPTED)."""
    if not interrupted():
        return False
    signal.setitimer(signal.ITIMER_REAL, 0)
    return True
