"""Cluster-program benchmark: K = 50 clusters, M = 8 treatments, HiGHS to proven optimality.

Programs (issue 4, "Numbers"): per-scenario and chance-constrained with 200 budget scenarios,
two-stage with 50 scenarios (each must prove optimality in <= 60 s), and how the two-stage time
grows with 50, 100, 150, 200 scenarios, for both recourse kinds (``--recourse``: shares, the
default of ``two_stage``, and whole counts, which HiGHS does not prove in minutes). The
chance-constrained program is timed twice: by its exact reduction to a budget quantile and by
the binary-indicator integer program (which must give the same value; HiGHS starts from the
indicators-fixed incumbent, ``solve_chance_program``); plus an SAA variant where costs vary by
scenario (20 budget points x 10 response replicates), where only the indicator program applies.

    .venv/bin/python benchmarks/bench_stochastic.py [--two-stage 50,100,150,200] [--limit 600]

``--compare N`` also times the plain solves side by side (per-scenario: the plain MIP on every
N-th scenario, against LP + reduced-cost fixing; SAA: HiGHS without the incumbent).
Prints one line per program and a JSON summary at the end. VSS/EVPI are not computed here (they
need hundreds of extra solves); this times the programs themselves.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from engine.stochastic.milp import solve_program
from engine.stochastic.plans import solve_at, solve_chance_program
from formulations.stochastic_programs import chance_program, quantile_limits, two_stage_program
from formulations.synthetic_clusters import lognormal_budget_scenarios, synthetic_cluster_problem


def line(name: str, sol, seconds: float, extra: str = "") -> dict:
    print(f"{name:<48} status={sol.status:<10} seconds={seconds:8.2f} objective="
          f"{sol.objective if sol.objective is None else round(sol.objective, 4)} "
          f"gap={_gap(sol)} {extra}", flush=True)
    return {"program": name, "status": sol.status, "seconds": round(seconds, 3),
            "objective": sol.objective, "bound": sol.bound, "gap": _gap(sol)}


def _gap(sol) -> float | None:
    if sol.objective is None or sol.bound is None:
        return None
    return (sol.bound - sol.objective) / max(1.0, abs(sol.bound))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--two-stage", default="50,100,150,200")
    ap.add_argument("--recourse", default="shares,counts",
                    help="two-stage recourse kinds to time (comma list of shares, counts)")
    ap.add_argument("--cutback", default="fallback",
                    help="two-stage cut-back rules to time (comma list of fallback, cheaper)")
    ap.add_argument("--limit", type=float, default=600.0, help="time limit per program (s)")
    ap.add_argument("--scenarios", type=int, default=200)
    ap.add_argument("--compare", type=int, default=10,
                    help="time the plain MIP on every N-th per-scenario point too (0: skip)")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: "
                    "per-scenario,chance,saa")
    args = ap.parse_args()
    out: list[dict] = []
    print(f"# {platform.node()} python {platform.python_version()}; K=50, M=8; HiGHS; time "
          f"limit {args.limit:g} s per program", flush=True)
    pb = synthetic_cluster_problem()
    sc = lognormal_budget_scenarios(pb, args.scenarios)

    skip = set(args.skip.split(","))
    if "per-scenario" not in skip:
        # the default path (LP first, rounded incumbent, reduced-cost fixing) and, on every
        # --compare-th scenario, the plain MIP solve side by side; both must give the same values
        t0 = time.perf_counter()
        plans = [solve_at(pb, sc.limits[s], duals=True, time_limit=args.limit)
                 for s in range(sc.n_scenarios)]
        dt = time.perf_counter() - t0
        ok = all(p.status == "optimal" for p in plans)
        print(f"{'per-scenario, ' + str(sc.n_scenarios) + ' scenarios (LP + fixed MIP each)':<48} "
              f"all optimal={ok} seconds={dt:8.2f}", flush=True)
        out.append({"program": f"per-scenario x{sc.n_scenarios}", "all_optimal": ok,
                    "seconds": round(dt, 3)})
        if args.compare:
            new_t, old_t, diff = [], [], 0.0
            old_ok = True
            for s in range(0, sc.n_scenarios, args.compare):
                t0 = time.perf_counter()
                p_new = solve_at(pb, sc.limits[s], duals=True, time_limit=args.limit)
                new_t.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                p_old = solve_at(pb, sc.limits[s], duals=True, time_limit=args.limit, fixing=False)
                old_t.append(time.perf_counter() - t0)
                old_ok &= p_old.status == "optimal"
                if p_new.objective is not None and p_old.objective is not None:
                    diff = max(diff, abs(p_new.objective - p_old.objective))
            print(f"  side by side on {len(new_t)} scenarios: median seconds fixing="
                  f"{np.median(new_t):.3f} plain={np.median(old_t):.3f} (plain all optimal="
                  f"{old_ok}); max |objective diff| = {diff:.3g}", flush=True)
            out.append({"program": "per-scenario side by side", "scenarios": len(new_t),
                        "median_fixing": round(float(np.median(new_t)), 4),
                        "median_plain": round(float(np.median(old_t)), 4),
                        "max_objective_diff": diff})

    alpha = 0.1
    if "chance" not in skip:
        q = quantile_limits(sc, alpha)
        t0 = time.perf_counter()
        plan = solve_at(pb, q, duals=False, time_limit=args.limit)
        out.append(line(f"chance alpha={alpha}, {sc.n_scenarios} sc., quantile", plan,
                        time.perf_counter() - t0))
        prog = chance_program(pb, sc, alpha)
        sol = solve_chance_program(prog, sc, alpha, time_limit=args.limit)
        out.append(line(f"chance alpha={alpha}, {sc.n_scenarios} sc., indicators", sol, sol.seconds,
                        f"(cols={prog.n_cols}, rows={prog.n_rows})"))
        if plan.objective is not None and sol.objective is not None:
            print(f"  quantile vs indicators: |diff| = {abs(plan.objective - sol.objective):.3g}")

    if "saa" not in skip:
        pr = synthetic_cluster_problem(replicates=10)
        base = lognormal_budget_scenarios(pr, args.scenarios // 10)
        from formulations.stochastic_problem import cross_replicates

        saa = cross_replicates(base, 10, first=1)
        prog = chance_program(pr, saa, alpha)
        sol = solve_chance_program(prog, saa, alpha, time_limit=args.limit)
        out.append(line(f"chance alpha={alpha}, SAA {base.n_scenarios}x10 sc., indicators", sol,
                        sol.seconds, f"(cols={prog.n_cols}, rows={prog.n_rows}, nodes="
                        f"{sol.detail.get('nodes')}; incumbent from fixed indicators)"))
        if args.compare:
            plain = solve_program(prog, time_limit=args.limit)
            out.append(line("  same, plain HiGHS (no incumbent)", plain, plain.seconds,
                            f"(nodes={plain.detail.get('nodes')})"))

    for cutback in [c for c in args.cutback.split(",") if c]:
        for recourse in [r for r in args.recourse.split(",") if r]:
            for s in [int(x) for x in args.two_stage.split(",") if x]:
                sc_s = lognormal_budget_scenarios(pb, s)
                prog = two_stage_program(pb, sc_s, recourse=recourse, cutback=cutback)
                sol = solve_program(prog, time_limit=args.limit)
                label = f"two-stage ({recourse}, to {cutback}), {s} scenarios"
                row = line(label, sol, sol.seconds,
                           f"(cols={prog.n_cols}, integer={int(prog.integer.sum())}, "
                           f"rows={prog.n_rows}, nodes={sol.detail.get('nodes')})")
                out.append({**row, "recourse": recourse, "cutback": cutback, "scenarios": s})
    print(json.dumps(out, default=float))


if __name__ == "__main__":
    main()
