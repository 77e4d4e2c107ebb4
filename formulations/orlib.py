"""Converters from the OR-Library text formats to :class:`Instance`.

* ``read_mknap``: the 0/1 multidimensional knapsack files (``mknap1.txt``, Chu & Beasley's
  ``mknapcb1..9.txt``). An MKP is an MCKP where every item is a unit with a single option
  ("take") and ``choose = "at-most-one"``; the m constraints are m budgets.
  Format: K; then per problem ``n m opt`` (opt 0 = unknown), n profits, m rows of n weights,
  m capacities.
* ``read_mmkp``: the multiple-choice multidimensional knapsack format: ``n l m``, m capacities,
  then per class its (1-based) index and l lines ``value w_1 .. w_m``; exactly one item per class.
* ``read_best_known``: OR-Library's ``mkcbres`` table (``best-feasible-slns.txt``): best feasible
  values and LP-relaxation values per problem, named ``m.n-kk``.

Numbers are parsed in one vectorised pass; a malformed file raises :class:`InstanceError` that
names the file, the line and the token.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from formulations.errors import InstanceError
from formulations.instance import Budget, Instance, Reference


@dataclass(frozen=True)
class BestKnown:
    """A Chu-Beasley problem's best feasible value (a lower bound) and LP value (an upper one)."""

    value: float
    lp_bound: float | None = None


@dataclass(frozen=True)
class _Tokens:
    """The whitespace-separated numbers of a file, with the means to say where token i was."""

    path: str
    text: str
    values: np.ndarray

    def where(self, i: int) -> str:
        if i >= self.values.size:
            return f"end of file (after {self.values.size} numbers)"
        for k, m in enumerate(re.finditer(r"\S+", self.text)):  # error path only
            if k == i:
                line = self.text.count("\n", 0, m.start()) + 1
                return f"line {line}, number {i + 1} ({m.group()!r})"
        return f"number {i + 1}"  # pragma: no cover

    def fail(self, i: int, problem: str) -> InstanceError:
        return InstanceError(self.path, self.where(i), problem)

    def count(self, i: int, what: str) -> int:
        """Token i as a positive integer count."""
        if i >= self.values.size:
            raise self.fail(i, f"expected {what} (a positive integer), the file ended")
        v = self.values[i]
        if not (v >= 1 and v == np.floor(v)):
            raise self.fail(i, f"expected {what} (a positive integer), found {v:g}")
        return int(v)

    def take(self, i: int, n: int, what: str) -> np.ndarray:
        if i + n > self.values.size:
            raise self.fail(
                self.values.size,
                f"expected {n} numbers for {what} from number {i + 1}, "
                f"the file has only {self.values.size - i} left",
            )
        return self.values[i : i + n]


def _read_tokens(path: str | os.PathLike[str]) -> _Tokens:
    p = Path(path)
    if not p.is_file():
        raise InstanceError(str(p), "", "file not found")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InstanceError(str(p), "", f"not a text file: {e}") from None
    words = text.split()
    try:
        values = np.array(words, dtype=np.float64)
    except ValueError:  # find the offending word; the slow path runs only on bad files
        values = pd.to_numeric(pd.Series(words, dtype=object), errors="coerce").to_numpy(np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    tokens = _Tokens(str(p), text, values)
    if bad.size:
        raise tokens.fail(int(bad[0]), "expected a finite number")
    if values.size == 0:
        raise InstanceError(str(p), "", "the file is empty")
    return tokens


def _mknap_problem_length(n: int, m: int) -> int:
    return 3 + n + m * n + m


def read_mknap(
    path: str | os.PathLike[str], *, best_known: Mapping[str, BestKnown] | None = None
) -> list[Instance]:
    """All problems of an OR-Library 0/1 multidimensional knapsack file, as MCKP instances.

    Problem k is named ``<file stem>-kk`` (0-based) for ``mknap1`` and ``m.n-kk`` (the
    ``mkcbres`` naming) for every other file. The reference is the file's optimum where it gives
    one (proven), else ``best_known[name]`` (not proven: a lower bound).
    """
    t = _read_tokens(path)
    stem = Path(path).stem
    k_problems = t.count(0, "the number of problems")
    pos = 1
    out: list[Instance] = []
    for k in range(k_problems):
        n = t.count(pos, f"problem {k}: the number of items n")
        m = t.count(pos + 1, f"problem {k}: the number of constraints m")
        opt = float(t.take(pos + 2, 1, f"problem {k}: the optimum field")[0])
        body = t.take(pos + 3, n + m * n + m, f"problem {k} ({n} items x {m} constraints)")
        profit = body[:n].copy()
        weights = body[n : n + m * n].reshape(m, n).copy()
        capacity = body[n + m * n :].copy()
        neg = np.flatnonzero(capacity < 0)
        if neg.size:
            raise t.fail(pos + 3 + n + m * n + int(neg[0]), "expected a capacity >= 0")
        name = f"{stem}-{k:02d}" if stem == "mknap1" else f"{m}.{n}-{k:02d}"
        reference = None
        if opt != 0:
            reference = Reference(opt, True, f"optimum given in OR-Library {Path(path).name}")
        elif best_known is not None and name in best_known:
            bk = best_known[name]
            lp = f"; LP relaxation {bk.lp_bound:.11g}" if bk.lp_bound is not None else ""
            reference = Reference(
                bk.value,
                False,
                "best feasible value of Chu & Beasley (1998), OR-Library mkcbres "
                f"(best-feasible-slns.txt){lp}",
            )
        out.append(_mkp_instance(name, profit, weights, capacity, reference, Path(path).name, k))
        pos += _mknap_problem_length(n, m)
    if pos != t.values.size:
        raise t.fail(pos, f"expected the end of the file after {k_problems} problem(s)")
    return out


def _mkp_instance(
    name: str,
    profit: np.ndarray,
    weights: np.ndarray,
    capacity: np.ndarray,
    reference: Reference | None,
    source: str,
    k: int,
) -> Instance:
    m, n = weights.shape
    budgets = tuple(Budget(f"r{i + 1}", float(capacity[i]), f"r{i + 1}") for i in range(m))
    return Instance(
        name=name,
        description=f"0/1 multidimensional knapsack, {n} items x {m} constraints "
        f"(OR-Library {source}, problem {k}); each item is a unit with one option",
        unit_ids=np.arange(1, n + 1, dtype=np.int64),
        offsets=np.arange(n + 1, dtype=np.int64),
        option_codes=np.zeros(n, dtype=np.int32),
        option_labels=("take",),
        value=np.ascontiguousarray(profit, dtype=np.float64),
        costs=np.ascontiguousarray(weights, dtype=np.float64),
        budgets=budgets,
        choose="at-most-one",
        reference=reference,
    )


def read_mmkp(path: str | os.PathLike[str]) -> Instance:
    """An OR-Library MMKP file: choose exactly one of ``l`` items per class under ``m`` resources.

    Units are the classes (their 1-based index), options the items ``"0".."l-1"``, budgets the
    resources ``r1..rm``. The format carries no optimum, so ``reference`` is None.
    """
    t = _read_tokens(path)
    n = t.count(0, "the number of classes n")
    l_items = t.count(1, "the number of items per class l")
    m = t.count(2, "the number of resources m")
    capacity = t.take(3, m, "the resource capacities").copy()
    neg = np.flatnonzero(capacity < 0)
    if neg.size:
        raise t.fail(3 + int(neg[0]), "expected a capacity >= 0")
    width = 1 + l_items * (1 + m)
    start = 3 + m
    expected = start + n * width
    if t.values.size != expected:
        at = min(t.values.size, expected)
        raise t.fail(
            at,
            f"expected {expected} numbers for {n} classes x {l_items} items x {m} resources "
            f"(header n l m, m capacities, per class its index and l lines 'value w_1..w_m'), "
            f"found {t.values.size}",
        )
    block = t.values[start:].reshape(n, width)
    index = block[:, 0]
    wrong = np.flatnonzero(index != np.arange(1, n + 1))
    if wrong.size:
        i = int(wrong[0])
        raise t.fail(start + i * width, f"expected the class index {i + 1}")
    items = block[:, 1:].reshape(n, l_items, 1 + m)
    value = items[:, :, 0].reshape(-1)
    costs = np.ascontiguousarray(items[:, :, 1:].transpose(2, 0, 1).reshape(m, n * l_items))
    return Instance(
        name=Path(path).stem,
        description=f"MMKP, {n} classes x {l_items} items x {m} resources "
        f"(OR-Library format, {Path(path).name}); exactly one item per class",
        unit_ids=np.arange(1, n + 1, dtype=np.int64),
        offsets=np.arange(0, n * l_items + 1, l_items, dtype=np.int64),
        option_codes=np.tile(np.arange(l_items, dtype=np.int32), n),
        option_labels=tuple(str(j) for j in range(l_items)),
        value=np.ascontiguousarray(value, dtype=np.float64),
        costs=costs,
        budgets=tuple(Budget(f"r{i + 1}", float(capacity[i]), f"r{i + 1}") for i in range(m)),
        choose="exactly-one",
    )


_NAME = re.compile(r"^\s*(\d+\.\d+-\d+)\s+(\S+)\s*$")


def read_best_known(path: str | os.PathLike[str]) -> dict[str, BestKnown]:
    """OR-Library ``mkcbres``: problem name ``m.n-kk`` -> best feasible value and LP value.

    The file has two tables with the same names, the best feasible values first and the LP
    relaxation values after the line ``Problem Name     LP optimal``.
    """
    p = Path(path)
    if not p.is_file():
        raise InstanceError(str(p), "", "file not found")
    best: dict[str, float] = {}
    lp: dict[str, float] = {}
    table = best
    for lineno, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if "LP optimal" in line:
            table = lp
            continue
        match = _NAME.match(line)
        if match is None:
            continue
        try:
            table[match.group(1)] = float(match.group(2))
        except ValueError:
            raise InstanceError(
                str(p),
                f"line {lineno}",
                f"expected a number after the name, found {match.group(2)!r}",
            ) from None
    if not best:
        raise InstanceError(
            str(p), "", "no 'm.n-kk  value' lines found (expected OR-Library mkcbres)"
        )
    return {name: BestKnown(v, lp.get(name)) for name, v in best.items()}


def detect_format(path: str | os.PathLike[str]) -> str:
    """``"orlib-mknap"`` or ``"mmkp"``, decided by which layout accounts for every number."""
    t = _read_tokens(path)
    v = t.values
    if v.size >= 3 and np.all(v[:3] >= 1) and np.all(v[:3] == np.floor(v[:3])):
        n, l_items, m = (int(x) for x in v[:3])
        if v.size == 3 + m + n * (1 + l_items * (1 + m)):
            return "mmkp"
    pos, k = 1, 0
    while v.size and pos + 2 < v.size and k < int(v[0]):
        n, m = v[pos], v[pos + 1]
        if not (n >= 1 and m >= 1 and n == np.floor(n) and m == np.floor(m)):
            break
        pos += _mknap_problem_length(int(n), int(m))
        k += 1
    if v.size and k == int(v[0]) and pos == v.size:
        return "orlib-mknap"
    raise InstanceError(
        str(path),
        "",
        "cannot tell the format: the numbers fit neither the OR-Library MKP layout "
        "(K, then per problem n m opt, profits, weights, capacities) nor the MMKP layout "
        "(n l m, capacities, per class its index and l lines); give --format",
    )
