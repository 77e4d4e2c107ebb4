"""Progress reporting for long solves: a rich bar on stderr when attached to a terminal.

Solvers take ``options["progress"]`` (bool); the CLI sets it from ``sys.stderr.isatty()`` and
``--quiet``. With progress off every call is a no-op, so solvers call it unconditionally.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol


class Progress(Protocol):
    def advance(self, steps: float = 1.0) -> None: ...
    def describe(self, text: str) -> None: ...


class _Silent:
    def advance(self, steps: float = 1.0) -> None:
        pass

    def describe(self, text: str) -> None:
        pass


class _RichProgress:
    def __init__(self, bar: Any, task: Any) -> None:
        self._bar = bar
        self._task = task

    def advance(self, steps: float = 1.0) -> None:
        self._bar.advance(self._task, steps)

    def describe(self, text: str) -> None:
        self._bar.update(self._task, description=text)


@contextmanager
def progress(
    description: str, total: float | None = None, *, enabled: bool = False
) -> Iterator[Progress]:
    """Yield a progress handle; a live bar only when ``enabled``."""
    if not enabled:
        yield _Silent()
        return
    from rich.console import Console
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichBar

    bar = RichBar(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=Console(file=sys.stderr),
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield _RichProgress(bar, task)
