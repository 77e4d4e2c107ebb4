"""When a solve must stop: its deadline, and a process-wide interrupt request.

A time limit is a promise: the answer (status ``time_limit`` with the best allocation and bound
so far, or with none) arrives within ``limit * 1.1 + 1 s`` of the solver's start. An interrupt
(Ctrl-C, SIGTERM) asks every running solve to stop at once the same way, with the message
"interrupted". The CLI turns signals into :func:`request_interrupt`; solvers ask
:func:`interrupted` between their steps, and the exact backends run supervised in a child
process that is stopped from outside (engine.isolate), because a MIP solver's presolve does
not look at its own time limit (HiGHS spent 5 s of a 1 s limit on 10,000 users, and minutes on
100,000, before its first LP).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

#: the message of a result stopped by an interrupt
INTERRUPTED = "interrupted"

_interrupt = threading.Event()
_supervised = threading.Event()


def request_interrupt() -> None:
    """Ask every running solve to stop now (a signal handler may call this)."""
    _interrupt.set()


def clear_interrupt() -> None:
    _interrupt.clear()


def interrupted() -> bool:
    return _interrupt.is_set()


def supervise(on: bool = True) -> None:
    """Run the exact backends in a supervised child process even without a time limit, so an
    interrupt can stop them (the CLI turns this on)."""
    if on:
        _supervised.set()
    else:
        _supervised.clear()


def supervised() -> bool:
    return _supervised.is_set()


@dataclass(frozen=True)
class Deadline:
    """``start`` (perf_counter seconds) and the time limit from there (None: no limit)."""

    start: float
    limit: float | None

    @staticmethod
    def after(limit: float | None) -> Deadline:
        return Deadline(time.perf_counter(), limit)

    @property
    def at(self) -> float | None:
        return None if self.limit is None else self.start + self.limit

    def remaining(self) -> float | None:
        """Seconds left (may be negative), None without a limit."""
        at = self.at
        return None if at is None else at - time.perf_counter()

    def expired(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0

    def should_stop(self) -> bool:
        """The limit is reached or an interrupt was requested."""
        return interrupted() or self.expired()

    def stop_reason(self) -> str:
        return INTERRUPTED if interrupted() else "time limit reached"

    def hard_stop(self) -> float | None:
        """When a supervisor stops a solver that has not answered: the limit plus a grace of
        5% + 0.3 s, leaving 5% + 0.7 s of the promised ``1.1 limit + 1 s`` for the answer."""
        at = self.at
        assert self.limit is None or at is not None
        return None if self.limit is None or at is None else at + 0.05 * self.limit + 0.3
