"""HiGHS direct (engine ``highs``) against pyomo + HiGHS (engine ``pyomo``) on the same MCKP.

For each size it builds one synthetic instance (formulations.synthetic_instance) and solves it
``--repeats`` times by each path, alternating the two so that machine noise hits both alike,
and prints median seconds side by side:

* build: making the model object. highs: compile_standard_form + Highs.passModel (timed on its
  own, the same calls the backend makes); pyomo: build_pyomo_model (the backend's own timing).
* solve: the rest of the engine call. highs: engine seconds minus the median build; pyomo: the
  backend's solve timing, which includes translating the pyomo model into HiGHS.
* total: engine.solve wall time (SolveResult.seconds).

Both paths run the same HiGHS with the same gap (default 1e-9, the project's "optimal") and
feasibility tolerances, so the solve columns differ by the pyomo translation and by run-to-run
noise; the build column is where pyomo's cost shows. Also printed: the translation alone
(APPSI ``Highs.set_instance`` on a built model).

    .venv/bin/python benchmarks/bench_highs_vs_pyomo.py --sizes 1000 10000 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass

from engine.backends.highs import make_highs
from engine.result import SolveResult
from engine.solve import solve
from formulations.instance import Instance
from formulations.pyomo_model import build_pyomo_model
from formulations.standard_form import compile_standard_form
from formulations.synthetic import synthetic_instance


@dataclass(frozen=True)
class Run:
    build: float
    solve: float
    total: float
    result: SolveResult


def highs_build_seconds(instance: Instance) -> float:
    start = time.perf_counter()
    make_highs(compile_standard_form(instance), integer=True)
    return time.perf_counter() - start


def run_highs(instance: Instance, options: dict[str, float], time_limit: float | None) -> Run:
    build = highs_build_seconds(instance)
    res = solve(instance, "highs", time_limit=time_limit, options=options)
    return Run(build, res.seconds - build, res.seconds, res)


def run_pyomo(instance: Instance, options: dict[str, float], time_limit: float | None) -> Run:
    res = solve(instance, "pyomo", time_limit=time_limit, options=options)
    return Run(res.detail["build_seconds"], res.detail["solve_seconds"], res.seconds, res)


def translation_seconds(instance: Instance) -> float:
    """pyomo model -> HiGHS (APPSI set_instance), without solving."""
    from pyomo.contrib.appsi.solvers import Highs

    model = build_pyomo_model(instance)
    opt = Highs()
    start = time.perf_counter()
    opt.set_instance(model)
    return time.perf_counter() - start


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def ratio(a: float, b: float) -> str:
    return f"{a / b:8.1f}x" if b > 0 else "       -"


def report(n: int, args: argparse.Namespace) -> None:
    instance = synthetic_instance(n, args.options, args.budgets, seed=args.seed)
    options = {"gap": args.gap}
    highs_runs: list[Run] = []
    pyomo_runs: list[Run] = []
    translate: list[float] = []
    for _ in range(args.repeats):
        highs_runs.append(run_highs(instance, options, args.time_limit))
        pyomo_runs.append(run_pyomo(instance, options, args.time_limit))
        translate.append(translation_seconds(instance))

    def row(label: str, runs: list[Run]) -> tuple[float, float, float]:
        b = median([r.build for r in runs])
        s = median([r.solve for r in runs])
        t = median([r.total for r in runs])
        statuses = sorted({r.result.status for r in runs})
        objs = {f"{r.result.objective:.9g}" for r in runs if r.result.objective is not None}
        print(f"{label:<20}{b:10.3f}{s:10.3f}{t:10.3f}   {'/'.join(statuses):<10} "
              f"{', '.join(sorted(objs)) or '-'}")
        return b, s, t

    print(f"\n{n} users x {args.options} options x {args.budgets} budget(s), gap {args.gap:g}, "
          f"median of {args.repeats} run(s), seconds")
    print(f"{'':<20}{'build':>10}{'solve':>10}{'total':>10}   {'status':<10} objective")
    hb, hs, ht = row("highs (highspy)", highs_runs)
    pb, ps, pt = row("pyomo + HiGHS", pyomo_runs)
    print(f"{'ratio pyomo/highs':<20}{ratio(pb, hb):>10}{ratio(ps, hs):>10}{ratio(pt, ht):>10}")
    print(f"pyomo -> HiGHS translation alone (APPSI set_instance): {median(translate):.3f}")
    objs = [r.result.objective for r in highs_runs + pyomo_runs if r.result.objective is not None]
    if objs and max(objs) - min(objs) > 1e-6 * max(1.0, abs(max(objs))):
        print("WARNING: the runs disagree on the objective", file=sys.stderr)
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], help="numbers of users")
    p.add_argument("--options", type=int, default=5, help="options per user incl. the control")
    p.add_argument("--budgets", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gap", type=float, default=1e-9, help="relative MIP gap (default 1e-9)")
    p.add_argument("--time-limit", type=float, default=None, help="seconds per solve")
    args = p.parse_args(argv)
    for n in args.sizes:
        report(n, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
