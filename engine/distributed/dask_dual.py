"""The one-budget ``dual`` solve as map/reduce rounds over partitions on a Dask cluster.

The driver holds only the manifest and a few small arrays per round; workers read their own
Parquet part (or receive a scattered chunk of an in-memory instance) and run the per-chunk
kernels of engine/dual/kernels.py on it. It computes exactly what the in-memory solver
(engine/dual/one_budget.py) computes, round by round:

1. **histogram**: every partition builds its units' upper hulls and returns the cost of its hull
   increments above each of a fixed grid of efficiencies (``increments_above``); the driver finds
   the cell (lo, hi] where the spend crosses the budget. A cell holding more than SELECT_CAP
   increments is split by a finer grid in another round (rare).
2. **select**: partitions return the increments inside (lo, hi]; the driver sorts that short list
   (efficiency down, then global unit and step: the in-memory order) and cuts it where the
   spend crosses the budget. The crossing increment's efficiency is lambda*.
3. **allocate**: every unit takes the increments above hi plus those of the cut; partitions
   return value, spend and ``sum_i max_j (v_ij - lambda* c_ij)``, whence the bound
   ``lambda* B + sum`` (LP = Lagrangian bound for one budget), and keep on the worker the moves
   that fit the leftover budget.
4. **fill**: the rounds of engine/dual/improve.py ``fill``; each partition sends only the prefix of
   its own best moves that fits the slack (plus one), which is enough to rebuild the global
   prefix, so a round moves a few numbers.
5. **output**: the allocation is rebuilt on the workers; with ``out`` each writes its part of it
   as Parquet.

Two map/reduce passes find lambda* (a histogram and the selection), instead of ~50 bisections.
Several budgets (K > 1) and capacities go to engine/distributed/dask_multi.py (the level
bundle of the in-memory solver, distributed).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from engine.distributed.parts import Chunk, PartsHeader, part_chunk, part_rows, read_header
from engine.distributed.phases import Phases
from engine.dual.options import DualOptions
from engine.options import parse_options, positive
from engine.progress import progress
from engine.result import SolveResult, Status, is_proven_optimal
from formulations.assignment import target_limits, within_limits
from formulations.errors import UsageError
from formulations.instance import Instance

#: efficiency grid of the first histogram round: log-spaced, ratio ~1.027 between cells
GRID = np.concatenate([[0.0], np.logspace(-12, 12, 2048)])
#: a cell with at most this many increments is finished exactly on the driver
SELECT_CAP = 2_000_000
#: fill rounds, as engine/dual/improve.py's default
FILL_ROUNDS = 100
#: options that choose the cluster (engine.distributed.cluster.dask_client)
CLIENT_KEYS = ("scheduler", "client", "n_workers", "memory_limit", "connect_timeout",
               "threads_per_worker")
#: persist partitions in worker memory when their estimated size is below this share of it
PERSIST_SHARE = 0.3


@dataclass(frozen=True)
class Spec:
    """What every task needs besides its partition (small; sent with each task)."""

    header: PartsHeader | None
    at_most_one: bool


@dataclass(frozen=True, eq=False)
class Prepared:
    """A partition ready for the kernels: dense arrays (+ a null column for at-most-one) and
    its upper hulls for the one budget."""

    chunk: Chunk
    value: np.ndarray
    cost: np.ndarray
    valid: np.ndarray
    hulls: Any

    @property
    def null_col(self) -> int:
        return self.chunk.value.shape[1]


def _prepare(handle: Any, spec: Spec) -> Prepared:
    from engine.dual.kernels import upper_hulls

    if isinstance(handle, Prepared):
        return handle
    chunk = part_chunk(handle, spec.header)
    value, cost, valid = chunk.value, chunk.costs[0], chunk.valid
    if spec.at_most_one:
        n = chunk.n_units
        value = np.concatenate([value, np.zeros((n, 1))], axis=1)
        cost = np.concatenate([cost, np.zeros((n, 1))], axis=1)
        valid = np.concatenate([valid, np.ones((n, 1), dtype=bool)], axis=1)
    return Prepared(chunk, value, cost, valid, upper_hulls(value, cost, valid))


def load_prepared(handle: Any, spec: Spec) -> Prepared:
    """Task: read/prepare a partition (its result is kept in worker memory when persisting)."""
    return _prepare(handle, spec)


# --- round tasks (run on workers; every result is small) -------------------------------------


@dataclass(frozen=True)
class HistogramPart:
    n_units: int
    n_rows: int
    empty_units: int
    start_cost: float
    start_value: float
    cost_above: np.ndarray
    value_above: np.ndarray
    count_above: np.ndarray


def task_histogram(handle: Any, spec: Spec, thresholds: np.ndarray) -> HistogramPart:
    from engine.dual.kernels import increments_above

    p = _prepare(handle, spec)
    h = p.hulls
    sums = increments_above(h, thresholds)
    return HistogramPart(
        n_units=p.chunk.n_units, n_rows=p.chunk.n_rows,
        empty_units=int(np.count_nonzero(~p.valid.any(axis=1))),
        start_cost=float(h.start_cost.sum()), start_value=float(h.start_value.sum()),
        cost_above=sums.cost, value_above=sums.value, count_above=sums.count,
    )


def task_between(handle: Any, spec: Spec, lo: float, hi: float) -> tuple[np.ndarray, ...]:
    from engine.dual.kernels import increments_between

    inc = increments_between(_prepare(handle, spec).hulls, lo, hi)
    return inc.efficiency, inc.d_cost, inc.d_value, inc.unit, inc.step


@dataclass(frozen=True, eq=False)
class FillPart:
    """A partition's allocation and its fill candidates, kept on the worker between rounds.

    ``cols`` (n,) dense column of every unit (the null option is the last column for
    at-most-one). The candidates are the moves (unit ``pu``, column ``pj``) that gain value and
    fit the leftover budget on their own, in the in-memory order (engine/dual/improve.py), with
    their value ``pv`` and cost ``pc``; ``cur_v``/``cur_c`` hold every unit's current value and
    cost. The fill rounds need nothing else, so they never read the partition again.
    """

    cols: np.ndarray
    cur_v: np.ndarray
    cur_c: np.ndarray
    base: int
    pu: np.ndarray
    pj: np.ndarray
    pv: np.ndarray
    pc: np.ndarray
    value_sum: float
    spend: float
    lagrangian: float


def task_allocate(
    handle: Any, spec: Spec, base: int, above: float, lam: float, taken_unit: np.ndarray,
    taken_step: np.ndarray, slack0: float,
) -> FillPart:
    """Columns at the cut (as engine.dual.one_budget.lp_columns), sums, fill candidates."""
    from engine.dual.kernels import BLOCK_ROWS, lagrangian_choice, sorted_choice_at

    p = _prepare(handle, spec)
    h = p.hulls
    col = sorted_choice_at(h, above)
    if taken_unit.size:
        np.maximum.at(col, taken_unit, taken_step + 1)
    cols = h.option_of(col)
    n = p.chunk.n_units
    rows = np.arange(n)
    cur_v = p.value[rows, cols]
    cur_c = p.cost[rows, cols]
    lagr = lagrangian_choice(p.value, p.cost[None], lam).lagrangian
    # candidates as engine/dual/improve.py lists them: by block of BLOCK_ROWS global units,
    # then column, then unit; slack0 is an upper estimate (round 1 filters with the exact one)
    block = (base + rows) // BLOCK_ROWS
    pu_list, pj_list, key_list = [], [], []
    for j in range(p.value.shape[1]):
        ok = (p.value[:, j] > cur_v) & (p.cost[:, j] - cur_c <= slack0) & p.valid[:, j]
        r = np.flatnonzero(ok)
        if r.size:
            pu_list.append(r)
            pj_list.append(np.full(r.size, j, dtype=np.int64))
            key_list.append(block[r])
    if pu_list:
        pu, pj, blk = (np.concatenate(x) for x in (pu_list, pj_list, key_list))
        order = np.lexsort((pu, pj, blk))
        pu, pj = pu[order], pj[order]
    else:
        pu = pj = np.zeros(0, np.int64)
    small = np.int16 if p.value.shape[1] < 32000 else np.int64
    return FillPart(
        cols=cols.astype(small), cur_v=cur_v, cur_c=cur_c, base=base, pu=pu, pj=pj,
        pv=p.value[pu, pj], pc=p.cost[pu, pj], value_sum=float(cur_v.sum()),
        spend=float(cur_c.sum()), lagrangian=float(lagr),
    )


def task_sums(fp: FillPart) -> tuple[float, float, float, int]:
    return fp.value_sum, fp.spend, fp.lagrangian, int(fp.pu.size)


@dataclass(frozen=True)
class Candidates:
    """A partition's best move per unit in the global fill order, cut to what could be taken."""

    gunit: np.ndarray
    rank: np.ndarray
    """position in the partition's candidate list (ties in score and gain go by it)"""
    col: np.ndarray
    score: np.ndarray
    gain: np.ndarray
    extra: np.ndarray


def _moves(fp: FillPart, slack: float) -> tuple[np.ndarray, ...]:
    """ok mask, gain and extra cost of every candidate against the current columns."""
    gain = fp.pv - fp.cur_v[fp.pu]
    extra = fp.pc - fp.cur_c[fp.pu]
    ok = (gain > 0) & (extra <= slack)
    return ok, gain, extra


def task_candidates(fp: FillPart, slack: float, weight: float) -> Candidates:
    ok, gain, extra = _moves(fp, slack)
    idx = np.flatnonzero(ok)
    gain, extra = gain[idx], extra[idx]
    wextra = weight * extra
    score = np.where(wextra > 0, gain / np.where(wextra > 0, wextra, 1.0), np.inf)
    order = np.lexsort((idx, -gain, -score))
    _, first = np.unique(fp.pu[idx][order], return_index=True)
    pick = order[np.sort(first)]
    cum = np.cumsum(np.maximum(extra[pick], 0.0))
    keep = int(np.searchsorted(cum > slack, True)) + 1  # the prefix that fits, and one more
    pick = pick[:keep]
    return Candidates(
        gunit=fp.base + fp.pu[idx[pick]], rank=idx[pick], col=fp.pj[idx[pick]],
        score=score[pick], gain=gain[pick], extra=extra[pick],
    )


def task_apply(fp: FillPart, slack: float, rank: np.ndarray) -> FillPart:
    """Drop the candidates that failed this round's test, then make the chosen moves."""
    ok, _, _ = _moves(fp, slack)
    cols, cur_v, cur_c = fp.cols, fp.cur_v, fp.cur_c
    if rank.size:
        cols, cur_v, cur_c = cols.copy(), cur_v.copy(), cur_c.copy()
        u = fp.pu[rank]
        cols[u] = fp.pj[rank]
        cur_v[u] = fp.pv[rank]
        cur_c[u] = fp.pc[rank]
    return FillPart(cols, cur_v, cur_c, fp.base, fp.pu[ok], fp.pj[ok], fp.pv[ok], fp.pc[ok],
                    fp.value_sum, fp.spend, fp.lagrangian)


def task_assignment(handle: Any, fp: FillPart, spec: Spec) -> np.ndarray:
    """The partition's assignment (option index per unit, -1 = null)."""
    cols = fp.cols.astype(np.int64)
    if spec.at_most_one:
        p = _prepare(handle, spec)
        return np.where(cols == p.null_col, -1, cols)
    return cols


def task_write(handle: Any, fp: FillPart, path: str, spec: Spec) -> tuple[float, float]:
    """Write the partition's allocation (unit, option, value, budget use) as one Parquet file."""
    return write_chunk_allocation(_prepare(handle, spec).chunk, fp.cols, path, spec.header)


def write_chunk_allocation(chunk: Chunk, dense_cols: np.ndarray, path: str,
                           header: PartsHeader | None) -> tuple[float, float]:
    """Write a chunk's allocation (dense columns; the null column, or -1, is no option) as one
    Parquet file; return its value and first budget's use."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = np.asarray(dense_cols).astype(np.int64)
    n = chunk.n_units
    rows = np.arange(n)
    real = (cols >= 0) & (cols < chunk.value.shape[1])
    safe = np.where(real, cols, 0)
    codes = np.where(real, chunk.codes[rows, safe], -1)
    columns = header.columns if header is not None else None
    ucol, ocol, vcol = (
        (columns.unit, columns.option, columns.value) if columns else ("unit", "option", "value")
    )
    option = pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32), mask=~real), pa.array(list(chunk.labels), pa.string())
    )
    data = {ucol: pa.array(chunk.unit_ids), ocol: option,
            vcol: pa.array(np.where(real, chunk.value[rows, safe], 0.0))}
    names = header.cost_columns if header is not None else ("cost",)
    for k, c in enumerate(names):
        data[c] = pa.array(np.where(real, chunk.costs[k, rows, safe], 0.0))
    pq.write_table(pa.table(data), path)
    return float(data[vcol].to_numpy().sum()), float(data[names[0]].to_numpy().sum())


# --- the driver ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DaskOptions:
    scheduler: str | None
    n_workers: int
    partition_rows: int
    persist: str
    fill_rounds: int
    out: str | None
    progress: bool

    @staticmethod
    def parse(options: DualOptions) -> DaskOptions:
        persist = str(options.persist).lower()
        if persist not in ("auto", "true", "false"):
            raise UsageError(f"solver 'dual': option 'persist': expected auto, true or false, "
                             f"got {options.persist!r}")
        positive("dual", partition_rows=options.partition_rows, n_workers=options.n_workers)
        if options.fill_rounds < 0:
            raise UsageError(f"solver 'dual': option 'fill_rounds': expected >= 0, got "
                             f"{options.fill_rounds}")
        return DaskOptions(
            scheduler=options.scheduler,
            n_workers=options.n_workers,
            partition_rows=options.partition_rows,
            persist=persist,
            fill_rounds=options.fill_rounds,
            out=options.out,
            progress=options.progress,
        )


def _split_instance(instance: Instance, partition_rows: int, *, align: int = 1) -> list[Chunk]:
    """Cut an in-memory instance into chunks of whole units of about ``partition_rows`` rows
    (a multiple of ``align`` units per chunk, the last excepted)."""
    d = instance.dense()
    n = instance.n_units
    per = max(1, partition_rows // max(1, instance.max_options))
    per = max(align, per // align * align)
    codes = np.full(d.valid.shape, -1, dtype=np.int32)
    codes[instance.unit_of_row, instance.local_index] = instance.option_codes
    return [
        Chunk(instance.unit_ids[s:s + per], d.value[s:s + per], d.costs[:, s:s + per],
              codes[s:s + per], instance.option_labels)
        for s in range(0, n, per)
    ]


@dataclass(frozen=True)
class Multiplier:
    """lambda* and the cut: every increment with efficiency > ``above`` is taken, plus the
    ``taken`` ones (partition, unit, step) of the bracket (engine.dual.select.Critical)."""

    lam: float
    above: float
    taken: tuple[np.ndarray, np.ndarray, np.ndarray]
    spend: float
    """spend of that allocation (from the histogram sums; the allocate pass recomputes it)"""
    base_spend: float
    n_units: tuple[int, ...]
    histogram_rounds: int
    bracket: tuple[float, float]
    bracket_increments: int


def find_multiplier(
    client: Any, handles: list[Any], spec: Any, budget: float, bar: Any
) -> Multiplier:
    """Take hull increments in decreasing efficiency (ties: unit order, then step) until the
    spend would exceed the budget; the increment that crosses it gives lambda*."""

    def _histogram(client: Any, handles: list[Any], spec: Any,
                   t: np.ndarray) -> list[HistogramPart]:
        return list(client.gather(client.map(task_histogram, handles, spec=spec, thresholds=t,
                                             pure=False)))

    t = GRID
    parts = _histogram(client, handles, spec, t)
    bar.advance()
    base = float(sum(h.start_cost for h in parts))
    n_units = tuple(h.n_units for h in parts)
    residual = max(budget - base, 0.0)
    none = (np.zeros(0, np.int64),) * 3
    total = float(np.sum([h.cost_above[0] for h in parts]))  # every increment has eff > 0
    if total <= residual:
        return Multiplier(0.0, -np.inf, none, base + total, base, n_units, 1, (0.0, 0.0), 0)
    rounds = 1
    while True:
        above = np.sum([h.cost_above for h in parts], axis=0)
        count = np.sum([h.count_above for h in parts], axis=0)
        # the crossing lies in (t[i], t[i+1]] for the last i whose cost above exceeds the budget
        i = int(np.flatnonzero(above > residual)[-1])
        lo = float(t[i])
        hi = float(t[i + 1]) if i + 1 < t.size else math.inf
        n_in = int(count[i]) - (int(count[i + 1]) if i + 1 < t.size else 0)
        cost_hi = float(above[i + 1]) if i + 1 < t.size else 0.0
        if n_in <= SELECT_CAP or rounds >= 6:
            break
        a = lo if lo > 0 else 1e-300
        b = hi if math.isfinite(hi) else 1e300
        t = np.unique(np.concatenate([[lo], np.geomspace(a, b, 2050)[1:-1],
                                      [hi] if math.isfinite(hi) else []]))
        bar.describe(f"dask dual: histogram round {rounds + 1}")
        parts = _histogram(client, handles, spec, t)
        rounds += 1
    bar.describe("dask dual: select")
    lists = client.gather(client.map(task_between, handles, spec=spec, lo=lo, hi=hi,
                                     pure=False))
    bar.advance()
    eff = np.concatenate([x[0] for x in lists])
    dcost = np.concatenate([x[1] for x in lists])
    unit = np.concatenate([x[3] for x in lists])
    step = np.concatenate([x[4] for x in lists])
    part = np.concatenate([np.full(x[0].size, k, dtype=np.int64) for k, x in enumerate(lists)])
    order = np.lexsort((step, unit, part, -eff))
    cum = cost_hi + np.cumsum(dcost[order])
    cut = int(np.searchsorted(cum, residual, side="right"))
    if cut >= order.size:  # pragma: no cover - the histogram says the spend crosses here
        raise RuntimeError("internal: the bracket does not hold the critical increment")
    taken = order[:cut]
    spend = base + (float(cum[cut - 1]) if cut else cost_hi)
    return Multiplier(
        lam=float(eff[order[cut]]), above=hi, taken=(part[taken], unit[taken], step[taken]),
        spend=spend, base_spend=base, n_units=n_units, histogram_rounds=rounds,
        bracket=(lo, hi), bracket_increments=int(eff.size),
    )


def _write_out(client: Any, handles: list[Any], fparts: list[Any], spec: Any,
               out: str, *, task: Callable[..., Any] = task_write) -> tuple[float, float]:
    """Workers write part-00000.parquet, part-00001.parquet, ... into a temporary sibling folder,
    renamed onto ``out``."""
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        paths = [str(tmp / f"part-{i:05d}.parquet") for i in range(len(handles))]
        sums = client.gather(client.map(task, handles, fparts, paths, spec=spec,
                                        pure=False))
        if target.exists():
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink()
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return float(sum(x[0] for x in sums)), float(sum(x[1] for x in sums))


def solve_dual_dask(
    instance_or_path: Instance | str | os.PathLike[str],
    *,
    time_limit: float | None = None,
    options: DualOptions | Mapping[str, Any] | None = None,
) -> SolveResult:
    """The one-budget dual solve on Dask; equals the in-memory ``dual`` solver's answer.

    ``instance_or_path`` is an Instance (split into chunks of ``partition_rows`` rows and
    scattered to the workers) or the path of a manifest whose table is Parquet (a folder of
    parts: the driver reads only the manifest, each worker its parts). Options: ``scheduler``
    (address of an existing cluster; default a LocalCluster of ``n_workers`` = 2 processes with
    one thread each), ``client`` (a live distributed.Client), ``partition_rows`` (in-memory
    input), ``persist`` (auto | true | false: keep prepared partitions in worker memory between
    rounds; auto does when they take under 30% of it, else every round re-reads the parts),
    ``out`` (a folder: each worker writes its part of the allocation as Parquet),
    ``fill_rounds``, ``progress``.

    With a path the result holds no per-unit assignment (it is never gathered on the driver):
    ``out`` is required, and ``allocation_path`` names it.
    ``time_limit`` is checked between rounds; when it is hit during the fill the
    allocation so far (feasible) is returned with status ``time_limit``.
    """
    from engine.distributed.cluster import cluster_memory, dask_client

    start = time.perf_counter()
    dual_opts = parse_options(DualOptions, "dual", options)
    opts = DaskOptions.parse(dual_opts)
    inst: Instance | None = None
    header: PartsHeader | None = None
    choose: str
    if isinstance(instance_or_path, Instance):
        inst = instance_or_path
        n_budgets, capacities, choose = inst.n_budgets, inst.capacities, inst.choose
        limits, budget_names, name = inst.limits, inst.budget_names, inst.name
    else:
        if not opts.out:
            raise UsageError(
                "dask backend on a manifest path: the allocation stays on the workers and is "
                "never gathered on the driver; pass out=FOLDER (CLI: --out FOLDER), where the "
                "workers write it as Parquet parts"
            )
        header = read_header(instance_or_path)
        n_budgets, capacities, choose = header.n_budgets, header.capacities, header.choose
        limits, name = header.limits, header.name
        budget_names = tuple(b.name for b in header.budgets)
    if n_budgets == 0:
        raise UsageError("the dask backend of 'dual' needs at least one budget; the instance "
                         "has none")
    if n_budgets > 1 or capacities:
        from engine.distributed.dask_multi import solve_multi_dask

        return solve_multi_dask(inst, header, time_limit=time_limit, dual_opts=dual_opts,
                                opts=opts, start=start)
    budget = float(limits[0])
    bname = budget_names[0]
    # the target the in-memory dual aims at (formulations.assignment.target_limits)
    target = float(target_limits(np.array([budget]))[0])
    spec = Spec(header=header, at_most_one=choose == "at-most-one")
    detail: dict[str, Any] = {"backend": "dask"}

    def out_of_time() -> bool:
        return time_limit is not None and time.perf_counter() - start > time_limit

    client_opts = {k: getattr(dual_opts, k) for k in CLIENT_KEYS}
    with dask_client(client_opts) as client, progress(
        "dask dual: histogram", total=5, enabled=opts.progress
    ) as bar:
        if inst is not None:
            # hash=False: a content-hashed key would be shared with an earlier solve of the same
            # instance on the same client, whose release can cancel this solve's tasks ("lost
            # dependencies"; seen in the Dask conformance tests, which repeat instances)
            raw: list[Any] = client.scatter(_split_instance(inst, opts.partition_rows),
                                            hash=False)
            n_rows = inst.n_rows
        else:
            assert header is not None
            raw = list(header.parts)
            n_rows = int(sum(client.gather(client.map(part_rows, raw, pure=False))))
        # dense value + cost + codes, hulls (3 float arrays), per row
        est_bytes = n_rows * (8 * 2 + 4 + 8 * 3)
        mem = cluster_memory(client)
        persist = opts.persist == "true" or (
            opts.persist == "auto" and mem > 0 and est_bytes < PERSIST_SHARE * mem
        )
        handles = client.map(load_prepared, raw, spec=spec, pure=False) if persist else raw
        detail.update(partitions=len(raw), persisted=persist, rows=n_rows,
                      workers=len(client.scheduler_info().get("workers", {})))
        if header is not None:
            from engine.distributed.unit_split import check_units_in_one_part

            detail.update(check_units_in_one_part(client, handles, list(header.parts),
                                                  header.columns.unit))

        phases = Phases(start)
        timings, lap = phases.timings, phases.lap

        lap("setup")
        mult = find_multiplier(client, handles, spec, target, bar)
        lap("multiplier")
        lam = mult.lam
        detail.update(
            units=int(sum(mult.n_units)), histogram_rounds=mult.histogram_rounds,
            bracket=list(mult.bracket), bracket_increments=mult.bracket_increments,
        )
        if mult.base_spend > target:
            return SolveResult(
                status="infeasible", solver="dual-dask", limits={bname: budget},
                seconds=time.perf_counter() - start, detail=detail,
                message=f"the cheapest option of every unit already spends "
                f"{mult.base_spend:.10g} > budget {budget:.10g}",
            )

        bar.describe("dask dual: allocate")
        bases = np.concatenate([[0], np.cumsum(mult.n_units)[:-1]]).astype(np.int64)
        t_part, t_unit, t_step = mult.taken
        # a little above the leftover estimated from the histogram, so no candidate is missed
        slack0 = target - mult.spend + 1e-9 * max(1.0, abs(budget))
        fparts = [
            client.submit(task_allocate, h, spec=spec, base=int(bases[k]), above=mult.above,
                          lam=lam, taken_unit=t_unit[t_part == k], taken_step=t_step[t_part == k],
                          slack0=slack0, pure=False)
            for k, h in enumerate(handles)
        ]
        sums = client.gather(client.map(task_sums, fparts, pure=False))
        bar.advance()
        value = math.fsum(x[0] for x in sums)
        spend = math.fsum(x[1] for x in sums)
        bound = lam * target + math.fsum(x[2] for x in sums)
        detail.update(lp_bound=bound, value_at_lambda=value,
                      fill_candidates=int(sum(x[3] for x in sums)))
        lap("allocate")

        # engine/dual/improve.py fill, distributed: same weights, slack, order and cut
        bar.describe("dask dual: fill")
        weight = max(lam, 1e-12)
        slack = target - spend
        rounds = moves = 0
        stopped = False
        for _ in range(opts.fill_rounds if slack >= 0 else 0):
            if out_of_time():
                stopped = True
                break
            cands: list[Candidates] = client.gather(client.map(
                task_candidates, fparts, slack=slack, weight=weight, pure=False,
            ))
            part_of = np.concatenate(
                [np.full(c.gunit.size, i, dtype=np.int64) for i, c in enumerate(cands)]
            )
            if part_of.size == 0:
                break
            rounds += 1
            gunit, col, score, gain, ext, rank = (
                np.concatenate([getattr(c, f) for c in cands])
                for f in ("gunit", "col", "score", "gain", "extra", "rank")
            )
            from engine.dual.kernels import BLOCK_ROWS

            # the in-memory order: score down, gain down, then the candidate list's order
            order = np.lexsort((gunit, col, gunit // BLOCK_ROWS, -gain, -score))
            fits = np.cumsum(np.maximum(ext[order], 0.0)) <= slack
            k = max(1, int(np.argmin(fits)) if not fits.all() else fits.size)
            take = order[:k]
            fparts = [
                client.submit(task_apply, fp, slack=slack, rank=rank[take[part_of[take] == i]],
                              pure=False)
                for i, fp in enumerate(fparts)
            ]
            slack = slack - float(ext[take].sum())
            spend += float(ext[take].sum())
            value += float(gain[take].sum())
            moves += int(take.size)
        detail.update(fill_rounds=rounds, fill_moves=moves)
        lap("fill")
        if stopped:
            detail["stopped"] = "time limit during the fill"
        bar.advance()

        assignment = None
        if inst is not None:
            bar.describe("dask dual: gather allocation")
            pieces = client.gather(client.map(task_assignment, handles, fparts, spec=spec,
                                              pure=False))
            assignment = np.concatenate(pieces).astype(np.int64)
        if opts.out:
            bar.describe("dask dual: write allocation")
            value, spend = _write_out(client, handles, fparts, spec, opts.out)
            detail["out"] = str(opts.out)
        lap("output")
        detail["timings"] = timings
        bar.advance()

    multipliers = {bname: lam}
    if inst is not None:
        from engine.finalize import build_result

        result = build_result(
            inst, solver="dual-dask", assignment=assignment, bound=bound,
            status="time_limit" if stopped else None, multipliers=multipliers, detail=detail,
        )
        return replace(result, seconds=time.perf_counter() - start)
    if not within_limits(np.array([spend]), np.array([budget]))[0]:  # pragma: no cover
        raise RuntimeError(f"internal: dask fill overspent {spend!r} > {budget!r}")
    status: Status = "time_limit" if stopped else (
        "optimal" if is_proven_optimal(value, bound) else "feasible"
    )
    if status == "time_limit" and is_proven_optimal(value, bound):
        status = "optimal"
    return SolveResult(
        status=status, solver="dual-dask", objective=value, bound=bound,
        usage={bname: spend}, limits={bname: budget}, multipliers=multipliers,
        seconds=time.perf_counter() - start, detail={**detail, "name": name},
        allocation_path=str(opts.out),
    )
