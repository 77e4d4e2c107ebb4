"""The MCKP as an explicit pyomo model that a person can read, export and hand to any solver.

    maximise    sum_{(u,j) in P} value[u,j] * x[u,j]
    subject to  sum_{j in J[u]} x[u,j]  = 1   (<= 1 for at-most-one)     for every unit u in U
                sum_{(u,j) in P} cost[b,u,j] * x[u,j] <= limit[b]          for every budget b in B
                sum_{(u,j) in P, option(u,j) = o} x[u,j] <= cap[o]         for every capped option o
                x[u,j] in {0, 1}

U are unit positions 0..N-1 (``instance.unit_ids[u]`` is the unit's label), J[u] the positions
of unit u's options in its option list (ragged), P the (unit, option position) pairs, i.e. the
rows of the instance table in order. The same program as ``formulations.standard_form``; this one
is for reading and for pyomo's solver plug-ins, not for speed.

pyomo is imported inside the functions: ``formulations`` must import no solver, and pyomo itself
is only needed by callers of this module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from formulations.atomic_write import atomic_path
from formulations.errors import UsageError
from formulations.instance import Instance

EXPORT_FORMATS: dict[str, str] = {".lp": "lp", ".mps": "mps"}


def build_pyomo_model(instance: Instance) -> Any:
    """An explicit ``pyomo.environ.ConcreteModel`` of ``instance`` (see the module docstring).

    Components: sets ``U``, ``J`` (indexed by ``U``), ``P``, ``B`` (budget names), ``O`` (capped
    option labels); params ``limit``, ``cap``; binary var ``x``; constraints ``choose``,
    ``budget``, ``capacity``; objective ``total_value``. One rule call per constraint, not per
    variable. value[u,j] and cost[b,u,j] enter the expressions as numbers taken from the
    instance's arrays: indexed pyomo Params for them doubled the build time at 10,000 x 5 (their
    per-entry index validation) and would only repeat what ``m.pprint()`` and the exported
    file already show.
    """
    import pyomo.environ as pyo

    n, k = instance.n_units, instance.n_budgets
    units = instance.unit_of_row.tolist()
    local = instance.local_index.tolist()
    pairs = list(zip(units, local, strict=True))
    counts = instance.counts.tolist()
    names = list(instance.budget_names)
    values = instance.value.tolist()
    # per budget, only the rows that consume it (the standard form drops zeros the same way)
    nonzero = [np.flatnonzero(instance.costs[b]).tolist() for b in range(k)]
    capacities = instance.capacity_codes()
    cap_labels = [instance.option_labels[code] for code, _ in capacities]
    cap_rows = [np.flatnonzero(instance.option_codes == code).tolist() for code, _ in capacities]
    budget_pos = {name: b for b, name in enumerate(names)}
    cap_pos = {label: i for i, label in enumerate(cap_labels)}

    m = pyo.ConcreteModel(name=instance.name)
    m.U = pyo.RangeSet(0, n - 1, doc="units (positions; instance.unit_ids gives the labels)")
    m.J = pyo.Set(
        m.U, initialize=lambda _m, u: range(counts[u]), ordered=True,
        doc="positions of unit u's options in its option list",
    )
    m.P = pyo.Set(dimen=2, initialize=pairs, ordered=True, doc="(unit, option position) pairs")
    m.B = pyo.Set(initialize=names, ordered=True, doc="budgets")
    m.O = pyo.Set(initialize=cap_labels, ordered=True, doc="options with a capacity")

    m.limit = pyo.Param(m.B, initialize=dict(zip(names, instance.limits.tolist(), strict=True)))
    m.cap = pyo.Param(m.O, initialize={lab: lim for lab, (_, lim) in zip(cap_labels, capacities,
                                                                           strict=True)})

    m.x = pyo.Var(m.P, domain=pyo.Binary, doc="1 if unit u gets option j")

    exactly = instance.choose == "exactly-one"

    def choose_rule(mm: Any, u: int) -> Any:
        picked = pyo.quicksum(mm.x[u, j] for j in mm.J[u])
        return picked == 1 if exactly else picked <= 1

    def empty_row(limit: float) -> Any:
        # a row no variable enters is 0 <= limit: trivially true, or a proof of infeasibility
        # that must stay in the model (pyomo refuses a constant expression as a constraint)
        return pyo.Constraint.Feasible if limit >= 0 else pyo.Constraint.Infeasible

    def budget_rule(mm: Any, name: str) -> Any:
        rows = nonzero[budget_pos[name]]
        if not rows:
            return empty_row(pyo.value(mm.limit[name]))
        coefs = instance.costs[budget_pos[name], rows].tolist()
        spent = pyo.quicksum(c * mm.x[pairs[r]] for c, r in zip(coefs, rows, strict=True))
        return spent <= mm.limit[name]

    def capacity_rule(mm: Any, label: str) -> Any:
        rows = cap_rows[cap_pos[label]]
        if not rows:
            return empty_row(pyo.value(mm.cap[label]))
        return pyo.quicksum(mm.x[pairs[r]] for r in rows) <= mm.cap[label]

    m.choose = pyo.Constraint(
        m.U, rule=choose_rule,
        doc="every unit gets exactly one option" if exactly else "every unit gets at most one",
    )
    m.budget = pyo.Constraint(m.B, rule=budget_rule, doc="spend within every budget")
    m.capacity = pyo.Constraint(m.O, rule=capacity_rule, doc="at most cap[o] units get option o")
    m.total_value = pyo.Objective(
        expr=pyo.quicksum(v * m.x[p] for v, p in zip(values, pairs, strict=True)),
        sense=pyo.maximize,
        doc="total value of the allocation",
    )
    return m


def x_values(instance: Instance, model: Any) -> np.ndarray:
    """(R,) the values of ``x`` after a solve, in instance row order (NaN where unset)."""
    x = model.x
    pairs = zip(instance.unit_of_row.tolist(), instance.local_index.tolist(), strict=True)
    vals = (x[p].value for p in pairs)
    return np.fromiter((np.nan if v is None else v for v in vals), dtype=np.float64,
                       count=instance.n_rows)


def export_model(instance: Instance, path: str | os.PathLike[str]) -> Path:
    """Write the pyomo model of ``instance`` as .lp or .mps (chosen by suffix), atomically.

    Names in the file follow the model (``x(u_j)``, ``choose(u)``, ``budget(name)``) so that it
    reads like the module docstring. Returns the path written.
    """
    target = Path(path)
    fmt = EXPORT_FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise UsageError(
            f"export path {str(target)!r}: expected a suffix in {sorted(EXPORT_FORMATS)}, "
            f"got {target.suffix or 'none'!r}"
        )
    model = build_pyomo_model(instance)
    with atomic_path(target) as tmp:
        model.write(str(tmp), format=fmt, io_options={"symbolic_solver_labels": True})
    return target
