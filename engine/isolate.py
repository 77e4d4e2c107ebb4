"""Run a solver in a child process that is stopped from outside at its deadline or on interrupt.

Why a process: HiGHS' MIP setup (presolve, clique table) ignores both its ``time_limit`` and
``cancelSolve`` (measured: 5 s of a 1 s limit at 10,000 users x 5, minutes at 100,000), and
pyomo builds its model in pure Python; neither can be stopped from within. A watchdog thread
calling ``cancelSolve`` was measured and does not help (HiGHS looks at it only once the first
LP starts). A child process can always be stopped: the supervisor (the calling process) waits
for its answer until the deadline's hard stop (engine.stopping.Deadline.hard_stop) or an
interrupt, then kills it and answers itself with status ``time_limit``, the best allocation and
bound the child reported so far (HiGHS reports improving solutions and its dual bound through
callbacks, see :func:`reporter`), or none.

Each child is a fresh ``python`` (subprocess), not a fork: a fork would copy the threads a
HiGHS or Dask run leaves in the calling process half-alive, and multiprocessing's spawn and
forkserver re-import the caller's main script in the child (a script without a ``__main__``
guard would then run again). The job travels pickled on the child's stdin, its messages come
back on a pipe. A child costs about 0.5 s to start (Python, numpy, pandas, the solver), which
is part of the time limit. The child ignores SIGINT (a terminal's Ctrl-C reaches the whole
process group; the supervisor decides) and its stdout goes to stderr (solver banners never
reach a ``--json`` stdout).
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.stopping import INTERRUPTED, Deadline, interrupted
from formulations.errors import TreatallocError, UsageError

#: seconds between two dual-bound reports of a child (improving solutions go at once)
BOUND_EVERY = 0.2
#: how long the supervisor sleeps between looks at the child, the clock and the interrupt flag
POLL = 0.02

_reporter: Reporter | None = None


class Reporter:
    """What a solver in a child process tells its supervisor while it runs."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._last_bound = 0.0

    def incumbent(self, solution: np.ndarray, bound: float | None = None) -> None:
        """A new best solution (an assignment, or a program's x) and the bound at that time."""
        self._conn.send(("incumbent", np.asarray(solution), bound))

    def bound(self, bound: float) -> None:
        now = time.perf_counter()
        if now - self._last_bound >= BOUND_EVERY and np.isfinite(bound):
            self._last_bound = now
            self._conn.send(("bound", float(bound)))


def reporter() -> Reporter | None:
    """The reporter of this process when it is a supervised child, else None."""
    return _reporter


@dataclass
class Progress:
    """What the supervisor knows when it stops a child."""

    solution: np.ndarray | None = None
    bound: float | None = None
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


def child_main() -> None:
    """Entry point of a supervised child: ``python -c "...child_main()" FD`` (see run_isolated)."""
    global _reporter
    from multiprocessing.connection import Connection

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = Connection(int(sys.argv[1]), readable=False)
    job, args = pickle.load(sys.stdin.buffer)
    _reporter = Reporter(conn)
    try:
        conn.send(("result", job(*args)))
    except TreatallocError as e:
        conn.send(("usage", str(e)))
    except BaseException:
        conn.send(("crash", traceback.format_exc()))
    finally:
        conn.close()


def _start(job: Callable[..., Any], args: tuple[Any, ...]) -> tuple[subprocess.Popen[bytes], Any]:
    """A child running ``job(*args)`` and the reading end of its message pipe."""
    from multiprocessing.connection import Connection

    r, w = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from engine.isolate import child_main; child_main()", str(w)],
        stdin=subprocess.PIPE, stdout=sys.stderr.fileno(), pass_fds=(w,), close_fds=True,
    )
    os.close(w)
    payload = pickle.dumps((job, args), protocol=pickle.HIGHEST_PROTOCOL)

    def feed() -> None:
        # a large instance takes a while to pass: never block the supervisor on it
        try:
            assert proc.stdin is not None
            proc.stdin.write(payload)
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass  # the child is gone; the supervisor sees it

    threading.Thread(target=feed, daemon=True).start()
    return proc, Connection(r, writable=False)


def run_isolated(
    job: Callable[..., Any], args: tuple[Any, ...], deadline: Deadline,
    on_stop: Callable[[Progress], Any],
) -> Any:
    """``job(*args)`` in a supervised child; ``on_stop(progress)`` answers where it is stopped.

    ``job`` must be a module-level function of an installed module (it is pickled by
    reference). A TreatallocError
    in the child is raised here as a UsageError with the same message; any other exception as
    a RuntimeError carrying the child's traceback.
    """
    proc, recv = _start(job, args)
    progress = Progress()
    hard = deadline.hard_stop()
    try:
        while True:
            if interrupted():
                progress.reason = INTERRUPTED
                break
            now = time.perf_counter()
            if hard is not None and now >= hard:
                progress.reason = "time limit reached: the solver was stopped from outside"
                break
            wait = POLL if hard is None else max(0.0, min(POLL, hard - now))
            if not recv.poll(wait):
                if proc.poll() is not None and not recv.poll(0):
                    raise RuntimeError(
                        f"the solver process ended without an answer (exit code {proc.returncode})"
                    )
                continue
            try:
                msg = recv.recv()
            except EOFError:
                raise RuntimeError(
                    f"the solver process ended without an answer (exit code {proc.poll()})"
                ) from None
            kind = msg[0]
            if kind == "result":
                proc.wait(5.0)
                return msg[1]
            if kind == "incumbent":
                progress.solution, bound = msg[1], msg[2]
                if bound is not None:
                    progress.bound = bound
            elif kind == "bound":
                progress.bound = msg[1]
            elif kind == "usage":
                raise UsageError(msg[1])
            elif kind == "crash":
                raise RuntimeError(f"the solver process failed:\n{msg[1]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(2.0)
        recv.close()
    progress.detail["stopped_at"] = time.perf_counter() - deadline.start
    return on_stop(progress)

