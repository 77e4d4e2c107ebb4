"""Wall time per phase of a distributed solve, for ``detail["timings"]``."""

from __future__ import annotations

import time


class Phases:
    """Seconds (to the millisecond) of consecutive phases, the first counted from ``start``
    (a ``time.perf_counter()`` reading): ``lap(name)`` ends the current phase."""

    def __init__(self, start: float) -> None:
        self.timings: dict[str, float] = {}
        self._since = start

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._since, 3)
        self._since = now
