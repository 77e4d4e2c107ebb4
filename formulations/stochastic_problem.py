"""Grouped allocation problems under budget (and response) scenarios: the data of every
stochastic program in ``formulations.stochastic_programs``.

One shape serves both levels of the project:

* a per-user MCKP instance is G = N groups of size 1 (the integer count n_gj is then binary);
* a K-cluster program (HRC, papers.md §2) is G = K groups of size N_k.

Variables are integer counts n_gj >= 0 with sum_j n_gj = N_g (every unit gets exactly one
option; ``at-most-one`` instances get the implicit null option as an explicit column).

Uncertainty is a finite set of joint scenarios s with probability p_s, budget limits L_s (K,)
and a response replicate r(s): value and costs of replicate r(s) apply in scenario s. Without
replicates every scenario uses replicate 0 (costs known, only the budget varies).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from formulations.errors import UsageError
from formulations.instance import Instance

#: Scenario probabilities must sum to 1 within this (ARCHITECTURE.md, instance format).
PROB_TOL = 1e-9
NULL_OPTION = "(none)"


@dataclass(frozen=True, eq=False)
class GroupedProblem:
    """Groups g of ``sizes[g]`` units choose among options j; integer counts n_gj.

    Attributes
    ----------
    value:
        (R, G, M) value per unit of option j in group g under response replicate r.
        Replicate 0 is the point estimate used by the mean (expected-value) programs.
    costs:
        (R, B, G, M) consumption per unit of budget b.
    valid:
        (G, M) which options a group may use (ragged instances pad with invalid cells).
    fallback:
        (G,) the option a unit is cut back to in the two-stage program's recourse
        (the cheapest valid option; for ``at-most-one`` instances the null option).
    capacities:
        (M,) at most this many units on option j in total (inf where unlimited).
    """

    name: str
    group_ids: np.ndarray
    sizes: np.ndarray
    option_labels: tuple[str, ...]
    valid: np.ndarray
    value: np.ndarray
    costs: np.ndarray
    budget_names: tuple[str, ...]
    base_limits: np.ndarray
    fallback: np.ndarray
    capacities: np.ndarray

    def __post_init__(self) -> None:
        r, g, m = self.value.shape
        if self.costs.shape != (r, len(self.budget_names), g, m):
            raise UsageError(
                f"costs: expected shape {(r, len(self.budget_names), g, m)} "
                f"(replicates, budgets, groups, options), got {self.costs.shape}"
            )
        if self.valid.shape != (g, m) or self.sizes.shape != (g,) or self.fallback.shape != (g,):
            raise UsageError("valid/sizes/fallback: shapes do not match (groups, options)")
        if np.any(self.sizes < 0) or np.any(self.sizes != np.round(self.sizes)):
            raise UsageError("sizes: expected non-negative integers (units per group)")
        if len(self.option_labels) != m or self.capacities.shape != (m,):
            raise UsageError(f"option_labels/capacities: expected {m} entries")
        if not np.all(self.valid[np.arange(g), self.fallback]):
            raise UsageError("fallback: every group's fallback option must be a valid option")
        if not np.all(self.valid.any(axis=1)):
            raise UsageError("valid: every group needs at least one valid option")
        for name, arr in (("value", self.value), ("costs", self.costs)):
            cells = np.broadcast_to(self.valid, arr.shape)
            if not np.all(np.isfinite(arr[cells])):
                raise UsageError(f"{name}: expected finite numbers on every valid (group, option)")

    @property
    def n_groups(self) -> int:
        return int(self.sizes.shape[0])

    @property
    def n_options(self) -> int:
        return len(self.option_labels)

    @property
    def n_budgets(self) -> int:
        return len(self.budget_names)

    @property
    def n_replicates(self) -> int:
        return int(self.value.shape[0])

    @property
    def n_units(self) -> int:
        return int(self.sizes.sum())

    def mean_response(self) -> GroupedProblem:
        """The problem with replicate 0 only (the point estimate)."""
        return replace(self, value=self.value[:1], costs=self.costs[:1])


@dataclass(frozen=True, eq=False)
class ScenarioSet:
    """Joint scenarios: probability (S,), limits (S, B), response replicate index (S,)."""

    probability: np.ndarray
    limits: np.ndarray
    response: np.ndarray

    def __post_init__(self) -> None:
        s = self.probability.shape[0]
        if s == 0:
            raise UsageError("scenarios: expected at least one scenario")
        if self.limits.ndim != 2 or self.limits.shape[0] != s or self.response.shape != (s,):
            raise UsageError("scenarios: probability, limits and response must have one row each")
        if np.any(self.probability < 0) or not np.all(np.isfinite(self.probability)):
            raise UsageError("scenarios: probabilities must be finite and >= 0")
        total = float(self.probability.sum())
        if abs(total - 1.0) > PROB_TOL:
            raise UsageError(
                f"scenarios: probabilities must sum to 1 (within {PROB_TOL:g}), "
                f"they sum to {total!r}"
            )
        if not np.all(np.isfinite(self.limits)):
            raise UsageError("scenarios: limits must be finite numbers")

    @property
    def n_scenarios(self) -> int:
        return int(self.probability.shape[0])

    def mean_limits(self) -> np.ndarray:
        """(B,) the expected budget limits."""
        return np.asarray(self.probability @ self.limits, dtype=np.float64)


def scenario_set(
    probabilities: Sequence[float] | np.ndarray,
    limits: Sequence[Sequence[float]] | Sequence[float] | np.ndarray,
    response: Sequence[int] | np.ndarray | None = None,
) -> ScenarioSet:
    """Build a ScenarioSet from plain sequences; ``limits`` may be 1-D for one budget."""
    p = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    lim = np.asarray(limits, dtype=np.float64)
    if lim.ndim == 1:
        lim = lim[:, None]
    resp = np.zeros(p.shape[0], dtype=np.int64) if response is None else np.asarray(response)
    return ScenarioSet(p, lim, resp.astype(np.int64))


def budget_scenarios(
    base_limits: Sequence[float] | np.ndarray,
    budget_names: Sequence[str],
    scenarios: Sequence[object],
) -> ScenarioSet:
    """Scenarios from ``Scenario(probability, limits mapping)`` objects (the instance format).

    Budgets a scenario does not name keep their base limit.
    """
    base = np.asarray(base_limits, dtype=np.float64)
    index = {n: i for i, n in enumerate(budget_names)}
    probs, rows = [], []
    for i, sc in enumerate(scenarios):
        row = base.copy()
        lim: Mapping[str, float] = sc.limits  # type: ignore[attr-defined]
        for name, v in lim.items():
            if name not in index:
                raise UsageError(
                    f"scenarios[{i}].limits: unknown budget {name!r}; expected one of "
                    f"{list(budget_names)}"
                )
            row[index[name]] = float(v)
        probs.append(float(sc.probability))  # type: ignore[attr-defined]
        rows.append(row)
    if not rows:
        raise UsageError("scenarios: the problem has no budget scenarios")
    return scenario_set(probs, np.array(rows))


def cross_replicates(budget: ScenarioSet, n_replicates: int, *, first: int = 1) -> ScenarioSet:
    """Every budget scenario crossed with response replicates ``first .. first+n-1`` (equal weight).

    This is the sample-average approximation of (budget, response) uncertainty: scenario (s, r)
    has probability p_s / n and uses the value and costs of replicate r.
    """
    if n_replicates < 1:
        raise UsageError(f"n_replicates: expected >= 1, got {n_replicates}")
    s = budget.n_scenarios
    reps = np.arange(first, first + n_replicates, dtype=np.int64)
    return ScenarioSet(
        probability=np.repeat(budget.probability, n_replicates) / n_replicates,
        limits=np.repeat(budget.limits, n_replicates, axis=0),
        response=np.tile(reps, s),
    )


def _fallback(valid: np.ndarray, total_cost: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Per group the valid option of least total cost; ties broken by larger value."""
    c = np.where(valid, total_cost, np.inf)
    cmin = c.min(axis=1, keepdims=True)
    tie = valid & (c <= cmin + 1e-12 * np.maximum(1.0, np.abs(cmin)))
    return np.asarray(np.argmax(np.where(tie, value, -np.inf), axis=1), dtype=np.int64)


def from_instance(instance: Instance) -> GroupedProblem:
    """A per-user instance as G = N groups of one unit (at-most-one: an explicit null option)."""
    d = instance.dense()
    value = np.where(d.valid, d.value, 0.0)
    costs = np.where(d.valid[None], d.costs, 0.0)
    valid = d.valid
    labels = list(instance.option_labels)
    # dense columns are local positions, not option codes; keep the labels of the widest unit only
    # when rectangular, else number the positions
    if instance.is_rectangular():
        first = instance.option_codes[: instance.max_options]
        labels = [instance.option_labels[c] for c in first]
    else:
        labels = [f"#{j}" for j in range(instance.max_options)]
    if instance.choose == "at-most-one":
        n = instance.n_units
        value = np.concatenate([value, np.zeros((n, 1))], axis=1)
        costs = np.concatenate([costs, np.zeros((instance.n_budgets, n, 1))], axis=2)
        valid = np.concatenate([valid, np.ones((n, 1), dtype=bool)], axis=1)
        labels.append(NULL_OPTION)
    caps = np.full(len(labels), np.inf)
    if instance.capacities:
        if not instance.is_rectangular():
            raise UsageError(
                "capacities on a ragged instance are not supported by the stochastic programs"
            )
        for code, lim in instance.capacity_codes():
            pos = np.flatnonzero(instance.option_codes[: instance.max_options] == code)
            caps[pos] = lim
    return GroupedProblem(
        name=instance.name,
        group_ids=np.asarray(instance.unit_ids),
        sizes=np.ones(instance.n_units, dtype=np.int64),
        option_labels=tuple(labels),
        valid=valid,
        value=value[None],
        costs=costs[None],
        budget_names=instance.budget_names,
        base_limits=instance.limits,
        fallback=_fallback(valid, costs.sum(axis=0), value),
        capacities=caps,
    )


def instance_scenarios(instance: Instance) -> ScenarioSet:
    """The instance's ``[[scenarios]]`` (or discretised distribution) as a ScenarioSet."""
    if not instance.scenarios:
        raise UsageError(
            f"instance {instance.name!r} has no budget scenarios; add [[scenarios]] or a "
            "budget distribution to its manifest"
        )
    return budget_scenarios(instance.limits, instance.budget_names, instance.scenarios)


def grouped_problem(
    value: np.ndarray,
    costs: np.ndarray,
    sizes: Sequence[int] | np.ndarray,
    limits: Sequence[float] | np.ndarray,
    *,
    name: str = "clusters",
    budget_names: Sequence[str] | None = None,
    option_labels: Sequence[str] | None = None,
    group_ids: Sequence[object] | np.ndarray | None = None,
    valid: np.ndarray | None = None,
    capacities: Sequence[float] | np.ndarray | None = None,
) -> GroupedProblem:
    """Build from arrays: value (G, M) or (R, G, M); costs (G, M), (B, G, M) or (R, B, G, M)."""
    v = np.asarray(value, dtype=np.float64)
    if v.ndim == 2:
        v = v[None]
    c = np.asarray(costs, dtype=np.float64)
    if c.ndim == 2:
        c = c[None, None]
    elif c.ndim == 3:
        c = c[None]
    if v.ndim != 3 or c.ndim != 4:
        raise UsageError(f"value/costs: unexpected shapes {v.shape} / {c.shape}")
    if c.shape[0] == 1 and v.shape[0] > 1:
        c = np.repeat(c, v.shape[0], axis=0)
    if v.shape[0] == 1 and c.shape[0] > 1:
        v = np.repeat(v, c.shape[0], axis=0)
    _, g, m = v.shape
    b = c.shape[1]
    names = tuple(budget_names) if budget_names is not None else tuple(
        "budget" if b == 1 else f"budget{i}" for i in range(b)
    )
    vmask = np.ones((g, m), dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    lim = np.asarray(limits, dtype=np.float64).reshape(-1)
    if lim.shape != (b,):
        raise UsageError(f"limits: expected {b} values (one per budget), got {lim.shape[0]}")
    return GroupedProblem(
        name=name,
        group_ids=np.arange(g) if group_ids is None else np.asarray(group_ids),
        sizes=np.asarray(sizes, dtype=np.int64).reshape(-1),
        option_labels=tuple(option_labels) if option_labels is not None else tuple(
            str(j) for j in range(m)
        ),
        valid=vmask,
        value=np.where(vmask, v, 0.0),
        costs=np.where(vmask, c, 0.0),
        budget_names=names,
        base_limits=lim,
        fallback=_fallback(vmask, np.where(vmask, c[0], 0.0).sum(axis=0), v[0]),
        capacities=np.full(m, np.inf) if capacities is None else np.asarray(capacities, float),
    )
