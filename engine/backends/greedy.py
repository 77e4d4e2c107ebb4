"""The greedy baseline: every unit starts at its cheapest option; repair; fill by value/cost."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from engine.backend import Capabilities
from engine.finalize import build_result
from engine.options import Options
from engine.repair import cheapest, fill, repair
from engine.result import SolveResult
from formulations.assignment import evaluate
from formulations.instance import Instance


def greedy_assignment(instance: Instance) -> np.ndarray:
    """A feasible assignment when one is reachable by downgrades from the cheapest choice."""
    a = repair(instance, cheapest(instance))
    if not evaluate(instance, a).feasible:
        return a
    return fill(instance, a, max_rounds=200)


class GreedyBackend:
    """Heuristic: no proof, so the result is ``feasible`` with ``bound`` None.

    Where it finds no allocation it says ``infeasible`` only with a proof (one row that even
    every unit's cheapest option breaks, or an infeasible LP relaxation); otherwise ``error``
    with a message: a heuristic's failure is not a certificate.
    """

    name: ClassVar[str] = "greedy"
    options_type: ClassVar[type[Options]] = Options
    capabilities: ClassVar[Capabilities] = Capabilities(exact=False)

    def solve(
        self, instance: Instance, *, time_limit: float | None, options: Options
    ) -> SolveResult:
        a = greedy_assignment(instance)
        if evaluate(instance, a).feasible:
            return build_result(instance, solver=self.name, assignment=a, bound=None)
        from engine.dual.arrays import dual_arrays
        from engine.dual.backend import infeasible_by_row, lp_infeasible

        why = infeasible_by_row(dual_arrays(instance))
        if why is None and lp_infeasible(instance):
            why = "the LP relaxation (HiGHS) has no feasible point"
        if why is not None:
            return build_result(instance, solver=self.name, assignment=None, bound=None,
                                status="infeasible", message=why)
        return build_result(
            instance, solver=self.name, assignment=None, bound=None, status="error",
            message="greedy found no allocation within every budget and capacity (the "
                    "instance may still have one: try an exact solver)",
        )
