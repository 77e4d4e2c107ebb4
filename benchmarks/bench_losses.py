"""The cost of one training step with each decision loss, relative to the prediction loss, and
the λ* search relative to an epoch.

    .venv/bin/python benchmarks/bench_losses.py [--rows 1000000] [--batch 8192] [--steps 30]
        [--device cpu] [--out benchmarks/results/bench_losses.csv]

Data: the simulator's ``plentiful`` setting (5 arms, realised costs), ``--rows`` training users,
encoded by the learners' feature schema; network: the 64-32-32 MultiHeadMLP (10 outputs). One
step = forward, loss, backward, Adam step on a random mini-batch of ``--batch`` rows; the time
is the median over ``--steps`` steps (round robin over the losses, after 2 warm-up steps). With
``--threads 1`` (default) on the CPU every time is the CPU time of the one thread doing the work
(``time.thread_time``), so that other processes on a shared machine do not enter it; otherwise
wall time. λ* is searched on every mini-batch
where a loss is given a budget (the default IPW spend), or read from a LambdaCache.

The network is first trained for two epochs with the prediction loss (a warm start; the
second epoch is the epoch time reported). Then, on the whole training split, the λ* search on
the predictions of all rows (IPW and predicted spend; the prediction pass itself timed apart),
i.e. what a loop that caches λ* once per epoch adds.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path


def main() -> None:
    import torch

    from learners.features import FeatureSchema
    from learners.losses import (
        CombinedLoss,
        DHCLLoss,
        IFDLoss,
        LambdaCache,
        MERLoss,
        PIFDLoss,
        PLLoss,
        PPLLoss,
        PredictionLoss,
    )
    from learners.networks import MultiHeadMLP
    from learners.oracle import lambda_star
    from learners.simulate import simulate
    from learners.tensors import experiment_tensors

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=8192)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--budget", type=float, default=None,
                    help="per-capita budget of the primal losses (default: 30%% of the all-max "
                    "IPW spend of the warm-started predictions)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default="")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads; with 1 (default) times are this thread's CPU time")
    args = ap.parse_args()
    dev = args.device
    torch.set_num_threads(args.threads)
    # on a shared machine wall time measures the neighbours; one thread's CPU time does not
    clock = time.thread_time if args.threads == 1 and dev == "cpu" else time.perf_counter
    warnings.simplefilter("ignore")

    t0 = clock()
    sim = simulate("plentiful", n_users=2 * args.rows, n_obs=0, seed=0)
    train = sim.data["train"]
    schema = FeatureSchema.fit(train.features)
    data = experiment_tensors(train, schema, device=dev)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {dev}; "
          f"{data.n_units:,} training rows, {schema.width} encoded features, 5 arms; "
          f"data ready in {clock() - t0:.1f} s")
    out_sd = float(train.outcome.std())
    cost_sd = float(train.cost.std())

    torch.manual_seed(0)
    net = MultiHeadMLP(schema.width, 5, (64, 32, 32), outcome_scale=out_sd,
                       cost_scale=cost_sd).to(dev)
    pl = PredictionLoss(out_sd, cost_sd)
    gen = torch.Generator().manual_seed(1)
    n = data.n_units
    bs = min(args.batch, n)

    def epoch_of(loss: Callable[..., torch.Tensor], opt: torch.optim.Optimizer) -> float:
        perm = torch.randperm(n, generator=gen).to(dev)
        t = clock()
        for s in range(0, n, bs):
            batch = data.take(perm[s:s + bs])
            value, cost = net(batch.x)
            out = loss(value, cost, batch)
            opt.zero_grad(set_to_none=True)
            out.backward()
            opt.step()
        return clock() - t

    # two epochs of the prediction loss (the second timed) so that the predictions, and so
    # λ* and the decisions the losses see, are those of a warm start, as in the papers
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    epoch_of(pl, opt)
    epoch = epoch_of(pl, opt)
    init = {k: v.clone() for k, v in net.state_dict().items()}
    with torch.no_grad():
        v_all, c_all = net(data.x)
    if args.budget is None:
        # 30% of the IPW spend of giving every unit its predicted top arm
        from evaluation.eom_curve import eom_curve

        top = eom_curve(data.arm.cpu().numpy(), data.outcome.cpu().numpy(),
                        data.cost.cpu().numpy(), v_all.double().cpu().numpy(),
                        c_all.double().cpu().numpy(), [1e12])
        args.budget = 0.3 * float(top.spend[0])
    cache = LambdaCache(args.budget)
    cache.refresh_batch(v_all, c_all, data)
    lambdas = (0.5 * cache.lam, cache.lam, 2.0 * cache.lam)  # type: ignore[operator]
    print(f"budget {args.budget:.4g} per capita (λ* = {cache.lam:.4g} on all rows); dual "
          f"λ set {tuple(round(x, 4) for x in lambdas)}")

    def dhcl(value: torch.Tensor, cost: torch.Tensor | None, batch: object) -> torch.Tensor:
        # θ from the value head's last M-1 outputs, the cost head as the cost model
        return DHCLLoss()(value[:, 1:] / out_sd, cost, batch)  # type: ignore[arg-type]

    losses: dict[str, Callable[..., torch.Tensor]] = {
        "prediction (TSM-SL)": pl,
        "PLL (3 λ)": PLLoss(lambdas),
        "MER (3 λ, τ=0.5)": MERLoss(lambdas, tau=0.5),
        "IFD (3 λ)": IFDLoss(lambdas),
        "PPL (λ* per batch)": PPLLoss(args.budget),
        "PPL (cached λ*)": PPLLoss(cache=cache),
        "PIFD (λ* per batch)": PIFDLoss(args.budget),
        "PIFD (cached λ*)": PIFDLoss(cache=cache),
        "DHCL": dhcl,
        "PIFD + 1.0 x PL": CombinedLoss(PIFDLoss(args.budget), 1.0, pl),
    }
    # round robin over the losses, so that a change in the machine's load hits them alike
    times: dict[str, list[float]] = {name: [] for name in losses}
    rounds = 3
    per = max(1, args.steps // rounds)
    for r in range(rounds):
        for name, loss in losses.items():
            net.load_state_dict(init)
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            for s in range(per + (2 if r == 0 else 0)):
                idx = torch.randint(0, n, (bs,), generator=gen).to(dev)
                t = clock()
                batch = data.take(idx)
                value, cost = net(batch.x)
                out = loss(value, cost, batch)
                opt.zero_grad(set_to_none=True)
                out.backward()
                opt.step()
                if dev == "cuda":
                    torch.cuda.synchronize()
                if r or s >= 2:
                    times[name].append(clock() - t)
    base = statistics.median(times["prediction (TSM-SL)"])
    rows = [{"loss": name, "step_ms": 1e3 * statistics.median(ts),
             "ratio": statistics.median(ts) / base} for name, ts in times.items()]

    print(f"\none training step, batch {bs}, median of {args.steps} (ms, ratio to the "
          "prediction loss):\n")
    print("| loss | step (ms) | ratio |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r['loss']} | {r['step_ms']:.2f} | {r['ratio']:.2f} |")

    net.load_state_dict(init)
    t = clock()
    with torch.no_grad():
        v_all, c_all = net(data.x)
    predict = clock() - t
    t = clock()
    lam_ipw = lambda_star(v_all, c_all, args.budget, received=data.arm, cost=data.cost,
                          propensity=data.propensity)
    ipw = clock() - t
    t = clock()
    lam_pred = lambda_star(v_all, c_all, args.budget, spend="predicted")
    pred = clock() - t
    sub_rows = min(100_000, n)
    sub = LambdaCache(args.budget, max_rows=sub_rows)
    t = clock()
    lam_sub = sub.refresh_batch(v_all, c_all, data)
    sub_s = clock() - t
    small = data.take(torch.arange(bs, device=dev))
    t = clock()
    for _ in range(10):
        lambda_star(v_all[:bs], c_all[:bs], args.budget, received=small.arm, cost=small.cost,
                    propensity=small.propensity)
    per_batch = (clock() - t) / 10
    print(f"\nwhole training split ({n:,} rows): one prediction-loss epoch {epoch:.2f} s; "
          f"forward pass over all rows {predict:.2f} s")
    print(f"λ* search at budget {args.budget}: IPW spend {ipw:.2f} s ({100 * ipw / epoch:.1f}% "
          f"of the epoch, λ* = {lam_ipw:.4g}); predicted spend {pred:.2f} s "
          f"({100 * pred / epoch:.1f}%, λ* = {lam_pred:.4g})")
    print(f"λ* (IPW) on a random {sub_rows:,}-row subset (LambdaCache max_rows): {sub_s:.3f} s "
          f"({100 * sub_s / epoch:.1f}% of the epoch, λ* = {lam_sub:.4g}); on one {bs}-row "
          f"mini-batch: {1e3 * per_batch:.2f} ms")
    if args.out:
        path = Path(args.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as f:
            # step rows: ratio to the prediction-loss step; the rest: ratio to its epoch
            w = csv.DictWriter(f, fieldnames=["loss", "step_ms", "ratio"])
            w.writeheader()
            w.writerows(rows)
            for name, sec in (("epoch: prediction loss", epoch),
                              ("forward over all rows", predict),
                              ("λ* IPW on all rows", ipw),
                              ("λ* predicted on all rows", pred),
                              (f"λ* IPW on {sub_rows} rows", sub_s),
                              (f"λ* IPW on one {bs}-row batch", per_batch)):
                w.writerow({"loss": name, "step_ms": 1e3 * sec, "ratio": sec / epoch})


if __name__ == "__main__":
    main()
