"""One exception root for misuse; outcomes (infeasible, time limit) are statuses, not errors."""

from __future__ import annotations


class TreatallocError(ValueError):
    """Root of every error raised for bad input or bad usage.

    The CLI turns these into a one-line message and exit code 2.
    """


class InstanceError(TreatallocError):
    """An instance file or table is malformed.

    The message always names the file, the row or key, what was expected and what was found.
    """

    def __init__(self, source: str, where: str, problem: str) -> None:
        self.source = source
        self.where = where
        self.problem = problem
        loc = f"{source}: {where}" if where else source
        super().__init__(f"{loc}: {problem}")


class UsageError(TreatallocError):
    """An API or CLI argument is invalid (unknown solver, bad option value, ...)."""
