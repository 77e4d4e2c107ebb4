"""Validate heuristics against the exact optimum over instance files (``treatalloc validate``).

For every instance the exact reference solver runs once (default HiGHS). Where it proves the
optimum, gaps are relative to that optimum; where it stops early, the instance's recorded
``[reference]`` objective stands in for the optimum when there is one, else the best bound does.
Every heuristic's allocation is re-evaluated here with ``formulations.assignment.evaluate``, so a
heuristic cannot claim a feasibility or an objective it does not have.

A heuristic is a registered solver name (``greedy``, ``dual``, ...) or a user function
``f(instance) -> assignment`` named ``module:function`` (or ``path/to/file.py:function``); the
assignment is an int array (one option index per unit, -1 = none) or a DataFrame of unit id and
option id (ARCHITECTURE.md, "SolveResult").
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from engine.progress import Progress, progress
from engine.registry import BACKENDS
from engine.result import SolveResult, relative_gap
from engine.solve import solve
from engine.stopping import interrupted
from formulations.assignment import check_assignment, evaluate
from formulations.errors import TreatallocError, UsageError
from formulations.instance import Instance
from formulations.problem_file import load_problem

HeuristicFn = Callable[[Instance], Any]
ReferenceKind = Literal["optimum", "recorded", "bound", "none", "infeasible"]


@dataclass(frozen=True)
class Heuristic:
    """A named heuristic: ``run(instance, time_limit)`` returns an assignment or None."""

    name: str
    run: Callable[[Instance, float | None], np.ndarray | None]
    builtin: bool


@dataclass(frozen=True)
class ExactReference:
    """What a heuristic is measured against on one instance."""

    solver: str
    status: str
    optimum: float | None
    bound: float | None
    kind: ReferenceKind
    seconds: float
    recorded: float | None

    @property
    def value(self) -> float | None:
        """The number gaps are relative to: the optimum (solved or recorded), else the bound."""
        return self.optimum if self.optimum is not None else self.bound


@dataclass(frozen=True)
class ValidationRow:
    """One (instance, heuristic) line of the validation table."""

    instance: str
    path: str
    units: int
    heuristic: str
    objective: float | None
    optimum: float | None
    bound: float | None
    reference_kind: str
    gap_pct: float | None
    seconds: float
    feasible: bool | None
    """True/False from evaluate(); None where the instance itself is infeasible and no
    allocation was returned (nothing to blame on the heuristic)."""
    exact_solver: str
    exact_status: str
    exact_seconds: float
    recorded: float | None
    message: str = ""

    @property
    def failed(self) -> bool:
        """The heuristic returned an infeasible or invalid allocation (or raised)."""
        return self.feasible is False


# --- heuristics ------------------------------------------------------------------------------


def _solver_heuristic(name: str) -> Heuristic:
    def run(instance: Instance, time_limit: float | None) -> np.ndarray | None:
        result = solve(instance, name, time_limit=time_limit, options={"progress": False})
        return result.assignment

    return Heuristic(name=name, run=run, builtin=True)


def _import_function(spec: str) -> HeuristicFn:
    module_name, _, func_name = spec.rpartition(":")
    if not module_name or not func_name:
        raise UsageError(
            f"heuristic {spec!r}: expected a solver name ({', '.join(sorted(BACKENDS))}) "
            "or module:function"
        )
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise UsageError(f"heuristic {spec!r}: file {module_name!r} not found")
        mod_spec = importlib.util.spec_from_file_location(path.stem, path)
        if mod_spec is None or mod_spec.loader is None:
            raise UsageError(f"heuristic {spec!r}: cannot load {module_name!r} as a module")
        module = importlib.util.module_from_spec(mod_spec)
        try:
            mod_spec.loader.exec_module(module)
        except Exception as e:
            raise UsageError(
                f"heuristic {spec!r}: importing {module_name!r} failed: {type(e).__name__}: {e}"
            ) from None
    else:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            raise UsageError(
                f"heuristic {spec!r}: cannot import module {module_name!r} ({e}); the module must "
                "be importable from the current directory or PYTHONPATH, or give a file "
                "path/to/file.py:function"
            ) from None
        except Exception as e:
            raise UsageError(
                f"heuristic {spec!r}: importing {module_name!r} failed: {type(e).__name__}: {e}"
            ) from None
    func = getattr(module, func_name, None)
    if func is None:
        public = sorted(n for n in dir(module) if not n.startswith("_"))
        raise UsageError(
            f"heuristic {spec!r}: module {module_name!r} has no attribute {func_name!r}; "
            f"it defines {public[:20]}"
        )
    if not callable(func):
        raise UsageError(
            f"heuristic {spec!r}: {func_name!r} is a {type(func).__name__}, expected a function "
            "f(instance) -> assignment"
        )
    return func  # type: ignore[no-any-return]


def user_heuristic(name: str, func: HeuristicFn) -> Heuristic:
    """Wrap ``f(instance) -> int array | DataFrame`` as a Heuristic (time limits do not apply)."""

    def run(instance: Instance, time_limit: float | None) -> np.ndarray | None:
        out = func(instance)
        return None if out is None else as_assignment(instance, out)

    return Heuristic(name=name, run=run, builtin=False)


def load_heuristic(spec: str | Heuristic | tuple[str, HeuristicFn]) -> Heuristic:
    """A Heuristic from a solver name, ``module:function``, ``file.py:function``, or (name, f)."""
    if isinstance(spec, Heuristic):
        return spec
    if isinstance(spec, tuple):
        name, func = spec
        return user_heuristic(name, func)
    if not isinstance(spec, str) or not spec:
        raise UsageError(f"heuristic: expected a solver name or module:function, got {spec!r}")
    if spec in BACKENDS:
        return _solver_heuristic(spec)
    return user_heuristic(spec, _import_function(spec))


# --- converting a heuristic's output ---------------------------------------------------------


def _lookup(index_values: np.ndarray, query: pd.Series) -> np.ndarray:
    """Positions of ``query`` in ``index_values`` (-1 where absent); ids compared as text when
    the dtypes differ (a CSV read gives ints where the instance has strings, and vice versa)."""
    idx = pd.Index(index_values)
    pos = np.asarray(idx.get_indexer(query.to_numpy()), dtype=np.int64)
    if (pos < 0).any():
        pos_text = np.asarray(
            pd.Index(idx.astype(str)).get_indexer(query.astype(str).to_numpy()), dtype=np.int64
        )
        pos = np.where(pos < 0, pos_text, pos)
    return pos


def _show(x: Any) -> str:
    """repr of an id as the user wrote it (``9``, not ``np.int64(9)``)."""
    return repr(x.item() if isinstance(x, np.generic) else x)


def assignment_from_frame(
    instance: Instance, frame: pd.DataFrame, *, unit: str | None = None, option: str | None = None
) -> np.ndarray:
    """Convert a DataFrame of (unit id, option id) to the index array of ``instance``.

    Columns: the instance's unit/option column names, else ``unit`` and ``option``. For
    ``at-most-one`` a missing unit or an empty option means the null option (-1); for
    ``exactly-one`` every unit must appear once with one of its own options.
    """
    cols = instance.columns
    ucol = unit or next((c for c in (cols.unit, "unit") if c in frame.columns), None)
    ocol = option or next((c for c in (cols.option, "option") if c in frame.columns), None)
    if ucol is None or ocol is None or ucol not in frame.columns or ocol not in frame.columns:
        raise UsageError(
            f"allocation frame: expected columns {cols.unit!r} (or 'unit') and {cols.option!r} "
            f"(or 'option'), got {list(map(str, frame.columns))}"
        )
    units = frame[ucol]
    if units.isna().any():
        i = int(np.flatnonzero(units.isna().to_numpy())[0])
        raise UsageError(f"allocation frame: row {i}: empty unit id")
    upos = _lookup(instance.unit_ids, units)
    if (upos < 0).any():
        i = int(np.flatnonzero(upos < 0)[0])
        raise UsageError(
            f"allocation frame: row {i}: unknown unit {_show(units.iloc[i])} "
            f"({int((upos < 0).sum())} unknown in all); the instance has {instance.n_units} units"
        )
    dup = pd.Series(upos).duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise UsageError(
            f"allocation frame: row {i}: unit {_show(units.iloc[i])} appears more than once"
        )
    options = frame[ocol]
    null = options.isna().to_numpy()
    a = np.full(instance.n_units, -1, dtype=np.int64)
    exact = instance.choose == "exactly-one"
    if exact and null.any():
        i = int(np.flatnonzero(null)[0])
        raise UsageError(
            f"allocation frame: row {i}: unit {_show(units.iloc[i])} has no option, but the "
            "instance is exactly-one (every unit must get one of its options)"
        )
    picked = ~null
    codes = _lookup(np.asarray(instance.option_labels, dtype=object), options[picked].astype(str))
    if (codes < 0).any():
        i = int(np.flatnonzero(picked)[np.flatnonzero(codes < 0)[0]])
        raise UsageError(
            f"allocation frame: row {i}: unknown option {_show(options.iloc[i])}; the instance's "
            f"options are {list(instance.option_labels)[:20]}"
        )
    # (unit, option code) -> row of the instance, through one integer key per row
    width = max(1, len(instance.option_labels))
    row_keys = instance.unit_of_row * width + instance.option_codes.astype(np.int64)
    rows = np.asarray(
        pd.Index(row_keys).get_indexer(upos[picked] * width + codes), dtype=np.int64
    )
    if (rows < 0).any():
        j = int(np.flatnonzero(rows < 0)[0])
        i = int(np.flatnonzero(picked)[j])
        raise UsageError(
            f"allocation frame: row {i}: unit {_show(units.iloc[i])} has no option "
            f"{_show(options.iloc[i])} in the instance"
        )
    a[upos[picked]] = rows - instance.offsets[upos[picked]]
    if exact and upos.size < instance.n_units:
        seen = np.zeros(instance.n_units, dtype=bool)
        seen[upos] = True
        miss = int(np.flatnonzero(~seen)[0])
        raise UsageError(
            f"allocation frame: {instance.n_units - upos.size} unit(s) missing, e.g. "
            f"{_show(instance.unit_ids[miss])}; the instance is exactly-one (every unit needs "
            "an option)"
        )
    return a


def as_assignment(instance: Instance, out: Any) -> np.ndarray:
    """An int64 index array from a heuristic's output (array, list, DataFrame or SolveResult)."""
    if isinstance(out, SolveResult):
        if out.assignment is None:
            raise UsageError(f"heuristic returned a SolveResult without allocation ({out.status})")
        out = out.assignment
    if isinstance(out, pd.DataFrame):
        return assignment_from_frame(instance, out)
    if isinstance(out, pd.Series):
        out = out.to_numpy()
    arr = np.asarray(out)
    if arr.dtype == object:
        raise UsageError(
            "heuristic returned an array of objects; expected int option indices per unit "
            "(-1 = none) or a DataFrame of unit id and option id"
        )
    return check_assignment(instance, arr)


# --- the reference -----------------------------------------------------------------------------


def exact_reference(
    instance: Instance, solver: str = "highs", *, time_limit: float | None = None
) -> ExactReference:
    """Solve exactly; fall back on the recorded reference, else the bound, when not proven."""
    recorded = instance.reference.objective if instance.reference is not None else None
    start = time.perf_counter()
    result = solve(instance, solver, time_limit=time_limit, options={"progress": False})
    seconds = time.perf_counter() - start
    bound = result.bound if result.bound is not None and math.isfinite(result.bound) else None
    optimum: float | None = None
    kind: ReferenceKind
    if result.status == "infeasible":
        kind = "infeasible"
    elif result.status == "optimal":
        optimum, kind = result.objective, "optimum"
    elif recorded is not None:
        optimum, kind = recorded, "recorded"
    elif bound is not None:
        kind = "bound"
    else:
        kind = "none"
    return ExactReference(
        solver=result.solver, status=result.status, optimum=optimum, bound=bound,
        kind=kind, seconds=seconds, recorded=recorded,
    )


def _recorded_mismatch(instance: Instance, ref: ExactReference) -> str:
    """A note when a proven recorded optimum disagrees with the exact solve (1e-6 relative)."""
    r = instance.reference
    if ref.optimum is None or ref.kind != "optimum" or r is None or not r.proven:
        return ""
    if abs(ref.optimum - r.objective) <= 1e-6 * max(1.0, abs(ref.optimum)):
        return ""
    return f"recorded optimum {r.objective:.10g} differs from {ref.solver}'s {ref.optimum:.10g}"


# --- the table ---------------------------------------------------------------------------------


def find_instances(path: str | Path) -> list[Path]:
    """An instance manifest, or every ``instance.toml`` under a folder (sorted)."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"validate: {str(p)!r} not found")
    if p.is_file():
        return [p]
    found = sorted(p.rglob("instance.toml"))
    if not found:
        raise UsageError(f"validate: no instance.toml found under {str(p)!r}")
    return found


def gap_percent(objective: float | None, reference: float | None) -> float | None:
    """100 * (reference - objective) / max(1, |reference|): the project's relative gap, in %."""
    g = relative_gap(objective, reference)
    return None if g is None else 100.0 * g


def validate_instance(
    instance: Instance,
    heuristics: Sequence[Heuristic],
    *,
    path: str = "",
    exact: str = "highs",
    time_limit: float | None = None,
    bar: Progress | None = None,
) -> list[ValidationRow]:
    """Run the exact reference and every heuristic on one instance."""
    if bar is not None:
        bar.describe(f"{instance.name}: {exact}")
    ref = exact_reference(instance, exact, time_limit=time_limit)
    if bar is not None:
        bar.advance()
    note = _recorded_mismatch(instance, ref)
    rows: list[ValidationRow] = []
    for h in heuristics:
        if interrupted():
            break
        if bar is not None:
            bar.describe(f"{instance.name}: {h.name}")
        start = time.perf_counter()
        message = ""
        assignment: np.ndarray | None = None
        try:
            assignment = h.run(instance, time_limit)
        except TreatallocError as e:
            message = f"invalid allocation: {e}"
        except Exception as e:  # a user's code failing is a result to report, not our crash
            message = f"raised {type(e).__name__}: {e}"
        seconds = time.perf_counter() - start
        objective: float | None = None
        feasible: bool | None
        if assignment is not None:
            ev = evaluate(instance, assignment)
            objective, feasible = ev.objective, ev.feasible
            if not feasible:
                message = "; ".join(ev.violations)
        elif message:
            feasible = False
        elif ref.kind == "infeasible":
            feasible, message = None, "instance infeasible; no allocation returned"
        else:
            feasible, message = False, "no allocation returned"
        if note:
            message = f"{message}; {note}" if message else note
        rows.append(
            ValidationRow(
                instance=instance.name, path=path, units=instance.n_units, heuristic=h.name,
                objective=objective, optimum=ref.optimum, bound=ref.bound,
                reference_kind=ref.kind,
                gap_pct=gap_percent(objective, ref.value) if feasible else None,
                seconds=seconds, feasible=feasible, exact_solver=ref.solver,
                exact_status=ref.status, exact_seconds=ref.seconds, recorded=ref.recorded,
                message=message,
            )
        )
        if bar is not None:
            bar.advance()
    return rows


def validate(
    paths: str | Path | Iterable[str | Path],
    heuristics: Sequence[str | Heuristic | tuple[str, HeuristicFn]] = ("greedy",),
    *,
    exact: str = "highs",
    time_limit: float | None = None,
    show_progress: bool = False,
) -> list[ValidationRow]:
    """Validate heuristics over instance files or folders; one row per (instance, heuristic).

    Heuristic specs are resolved (and bad ``module:function`` names rejected) before any solve.
    After an interrupt (engine.stopping) the rows made so far come back.
    """
    if exact not in BACKENDS:
        raise UsageError(f"exact: unknown solver {exact!r}; expected one of {sorted(BACKENDS)}")
    if not heuristics:
        raise UsageError("heuristics: expected at least one heuristic")
    resolved = [load_heuristic(h) for h in heuristics]
    names = [h.name for h in resolved]
    if len(set(names)) != len(names):
        raise UsageError(f"heuristics: each may be given once, got {names}")
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    files = [f for item in items for f in find_instances(item)]
    rows: list[ValidationRow] = []
    with progress(
        "validate", total=len(files) * (1 + len(resolved)), enabled=show_progress
    ) as bar:
        for f in files:
            if interrupted():
                break
            loaded = load_problem(f)
            if not isinstance(loaded, Instance):
                raise UsageError(f"validate: {str(f)!r} is a cluster program; heuristics are "
                                 "validated on allocation instances (kind = 'mckp')")
            instance = loaded
            rows.extend(
                validate_instance(
                    instance, resolved, path=str(f), exact=exact, time_limit=time_limit,
                    bar=bar,
                )
            )
    return rows


def rows_frame(rows: Sequence[ValidationRow]) -> pd.DataFrame:
    """The table as a DataFrame (the CSV columns)."""
    cols = [f for f in ValidationRow.__dataclass_fields__]
    if not rows:
        return pd.DataFrame(columns=cols)
    return pd.DataFrame([asdict(r) for r in rows], columns=cols)
