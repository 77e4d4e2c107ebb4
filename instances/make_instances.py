"""Regenerate the bundled instances in instances/ and their reference values.

    .venv/bin/python instances/make_instances.py            # all (the 10k reference takes minutes)
    .venv/bin/python instances/make_instances.py --only demo mmkp_example

Synthetic instances come from ``formulations.synthetic`` with the seeds below (the same as
``treatalloc generate``); their references are HiGHS optima proven to a relative gap of 1e-9,
timed here. OR-Library problems are converted from ../shared/data/mkp_orlib_chu_beasley (J.E.
Beasley's OR-Library; see instances/SOURCE.md); their references come from the files.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from engine import solve  # noqa: E402
from formulations import Capacity, Reference, load_instance, write_instance  # noqa: E402
from formulations.atomic_write import atomic_write_text  # noqa: E402
from formulations.instance import Instance, from_dense  # noqa: E402
from formulations.instance_file import manifest_dict  # noqa: E402
from formulations.orlib import read_best_known, read_mknap, read_mmkp  # noqa: E402
from formulations.synthetic import synthetic_arrays, synthetic_instance  # noqa: E402

DATA = REPO.parent / "shared" / "data"
MKP = DATA / "mkp_orlib_chu_beasley"

DEMO_TOML = """\
# A hand-made instance: 5 users, a control and two coupons, one cash budget of 25.
#
# Optimum 14, derived by hand. A coupon costs 5 or 10, so the budget buys 5 "steps" of 5.
# Best value of each user for 0 / 1 / 2 steps:
#   u1 0 / 3 / 4     u2 0 / 2 / 5     u3 0 / 1 / 1.5     u4 0 / 4 / 6     u5 0 / 0.5 / 3
# Count the users given coupon_10 (2 steps each):
#   none:  at most 5 coupon_5 = 3 + 2 + 1 + 4 + 0.5 = 10.5
#   one:   that user plus the 3 best coupon_5 among the others: u2 at 10 gives
#          5 + (4 + 3 + 1) = 13; u4 gives 6 + (3 + 2 + 1) = 12; u5 12; u1 11; u3 10.5
#   two:   one step left: u4 + u2 at 10 (6 + 5) and u1 at 5 (3) = 14; every other pair
#          does worse (u1 + u2 at 10, u4 at 5: 13; u4 + u1 or u4 + u5: 12; the rest less)
#   three: 6 steps, over budget
# So 14: u1 coupon_5, u2 coupon_10, u4 coupon_10, u3 and u5 control (cash used 25).
name = "demo"
description = "5 users, 3 coupon levels, one cash budget (hand-made; optimum derived by hand)"
table = "options.csv"
unit = "user"
option = "treatment"
value = "uplift_orders"
choose = "exactly-one"

[[budgets]]
name = "cash"
column = "cost"
limit = 25.0

[reference]
objective = 14.0
proven = true
source = "derived by hand (comment above); checked by enumeration of all 243 choices"
"""

DEMO_VALUES = {  # user -> uplift for control, coupon_5, coupon_10
    "u1": (0.0, 3.0, 4.0),
    "u2": (0.0, 2.0, 5.0),
    "u3": (0.0, 1.0, 1.5),
    "u4": (0.0, 4.0, 6.0),
    "u5": (0.0, 0.5, 3.0),
}


def make_demo(out: Path) -> str:
    rows = ["user,treatment,uplift_orders,cost"]
    for user, vals in DEMO_VALUES.items():
        for label, v, c in zip(("control", "coupon_5", "coupon_10"), vals, (0, 5, 10), strict=True):
            rows.append(f"{user},{label},{v},{c}")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "options.csv", "\n".join(rows) + "\n")
    atomic_write_text(out / "instance.toml", DEMO_TOML)
    inst = load_instance(out)
    best = max(
        sum(DEMO_VALUES[u][j] for u, j in zip(DEMO_VALUES, pick, strict=True))
        for pick in itertools.product(range(3), repeat=5)
        if sum((0, 5, 10)[j] for j in pick) <= 25
    )
    assert best == inst.reference.objective == 14.0, best  # type: ignore[union-attr]
    return "enumeration agrees: 14"


def enumerate_mmkp(inst: Instance) -> float:
    d = inst.dense()
    best = -np.inf
    for pick in itertools.product(range(d.value.shape[1]), repeat=inst.n_units):
        idx = np.arange(inst.n_units), np.array(pick)
        if np.all(d.costs[:, idx[0], idx[1]].sum(axis=1) <= inst.limits):
            best = max(best, float(d.value[idx].sum()))
    return best


def highs_reference(inst: Instance, what: str) -> tuple[Instance, str]:
    t = time.perf_counter()
    r = solve(inst, "highs")
    seconds = time.perf_counter() - t
    if r.status != "optimal":
        raise SystemExit(f"{inst.name}: HiGHS did not prove optimality ({r.status}, gap {r.gap})")
    ref = Reference(
        float(r.objective),  # type: ignore[arg-type]
        True,
        f"HiGHS 1.16 MIP, mip_rel_gap 1e-9: proven optimal in {seconds:.1f} s "
        f"(bound {r.bound:.12g}); {what}",
    )
    return inst.replace(reference=ref), f"{r.objective:.12g} in {seconds:.1f} s"


def synth(name: str, n: int, m: int, k: int, seed: int, **kw: object) -> Instance:
    inst = synthetic_instance(n, m, k, seed=seed, name=name, **kw)  # type: ignore[arg-type]
    return inst


def make_synth_amo_capacity(out: Path) -> str:
    # three coupons and no explicit control: "no coupon" is the implicit null option
    value, costs = synthetic_arrays(60, 4, 1, seed=1)
    limit = 0.3 * costs.max(axis=2).sum()
    inst = from_dense(
        value[:, 1:], costs[:, :, 1:], [limit], name="synth_amo_capacity",
        budget_names=["cash"], option_labels=["coupon_1", "coupon_2", "coupon_3"],
        choose="at-most-one", capacities=[Capacity("coupon_3", 3.0)],
    )
    inst = inst.replace(
        description="synthetic: 60 users, 3 coupons or none (at-most-one), cash budget at 0.3 "
        "of max spend, at most 3 users get coupon_3; synthetic_arrays(60, 4, 1, seed=1) without "
        "the control column"
    )
    free = solve(inst.replace(capacities=()), "highs")
    inst, note = highs_reference(inst, "instances/make_instances.py synth_amo_capacity")
    assert free.objective > inst.reference.objective + 1e-6, "the capacity should bind"  # type: ignore[operator, union-attr]
    write_instance(inst, out)
    return f"{note} (without the capacity: {free.objective:.12g})"


def make_synth_three_budgets(out: Path) -> str:
    inst = synth("synth_three_budgets", 200, 5, 3, seed=2, budget_fraction=0.25)
    inst, note = highs_reference(
        inst, "treatalloc generate -n 200 -m 5 -k 3 --budget-fraction 0.25 --seed 2"
    )
    write_instance(inst, out)
    return note


def make_synth_binary(out: Path) -> str:
    inst = synth("synth_binary", 300, 2, 1, seed=3, budget_fraction=0.4)
    inst, note = highs_reference(
        inst, "treatalloc generate -n 300 -m 2 --budget-fraction 0.4 --seed 3 (treat or not)"
    )
    write_instance(inst, out)
    return note


def make_synthetic_10k(out: Path) -> str:
    inst = synth("synthetic_10k", 10_000, 5, 1, seed=10_000)
    inst, note = highs_reference(
        inst, "treatalloc generate -n 10000 -m 5 --budget-fraction 0.3 --seed 10000"
    )
    write_instance(inst, out)
    return note


def make_campaign_scenarios(out: Path) -> str:
    import tomli_w

    inst = synth("campaign_scenarios", 2_000, 5, 1, seed=2_024)
    inst, note = highs_reference(
        inst, "base limit; treatalloc generate -n 2000 -m 5 --seed 2024"
    )
    path = write_instance(inst, out)
    m = manifest_dict(inst, "options.csv")
    limit = inst.budgets[0].limit
    # the budget is uncertain: lognormal around the planned limit, 9 equal-mass points
    m["budgets"][0]["distribution"] = {
        "kind": "lognormal", "median": limit, "sigma": 0.2, "points": 9,
    }
    m["description"] = (
        "2,000 users x 5 options; the cash budget is uncertain (lognormal, median = the planned "
        "limit, sigma 0.2, 9 points). Reference: the optimum at the planned limit."
    )
    atomic_write_text(path, tomli_w.dumps(m))
    assert len(load_instance(path).scenarios) == 9
    return note


def make_mknap1(out_root: Path, problems: tuple[int, ...] = (0, 3, 6)) -> str:
    instances = read_mknap(MKP / "mknap1.txt")
    notes = []
    for k in problems:
        inst = instances[k]
        r = solve(inst, "highs")
        assert r.status == "optimal" and abs(r.objective - inst.reference.objective) < 1e-6  # type: ignore[operator, union-attr]
        write_instance(inst, out_root / inst.name)
        notes.append(f"{inst.name}={inst.reference.objective:g}")  # type: ignore[union-attr]
    return ", ".join(notes)


def make_chu_beasley(out_root: Path, problems: tuple[int, ...] = (0, 1, 10, 20)) -> str:
    bk = read_best_known(MKP / "best-feasible-slns.txt")
    instances = read_mknap(MKP / "mknapcb1.txt", best_known=bk)
    notes = []
    for k in problems:
        inst = instances[k]
        write_instance(inst, out_root / f"cb_{inst.name}")
        notes.append(f"{inst.name}>={inst.reference.objective:g}")  # type: ignore[union-attr]
    return ", ".join(notes)


def make_mmkp_example(out: Path) -> str:
    inst = read_mmkp(DATA / "mmkp_format_example" / "example.txt")
    best = enumerate_mmkp(inst)
    assert best == 91.0, best
    inst = inst.replace(
        name="mmkp_example",
        reference=Reference(
            91.0, True, "enumeration of all 81 choices (shared/data/mmkp_format_example)"
        ),
    )
    write_instance(inst, out)
    return f"enumeration: {best:g}"


MAKERS = {
    "demo": lambda: make_demo(HERE / "demo"),
    "synth_amo_capacity": lambda: make_synth_amo_capacity(HERE / "synth_amo_capacity"),
    "synth_three_budgets": lambda: make_synth_three_budgets(HERE / "synth_three_budgets"),
    "synth_binary": lambda: make_synth_binary(HERE / "synth_binary"),
    "mknap1": lambda: make_mknap1(HERE),
    "chu_beasley": lambda: make_chu_beasley(HERE),
    "mmkp_example": lambda: make_mmkp_example(HERE / "mmkp_example"),
    "campaign_scenarios": lambda: make_campaign_scenarios(HERE / "campaign_scenarios"),
    "synthetic_10k": lambda: make_synthetic_10k(HERE / "synthetic_10k"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=sorted(MAKERS), default=None)
    args = ap.parse_args()
    for name in args.only or MAKERS:
        t = time.perf_counter()
        note = MAKERS[name]()
        print(f"{name:20s} {time.perf_counter() - t:7.1f} s  {note}", flush=True)


if __name__ == "__main__":
    main()
