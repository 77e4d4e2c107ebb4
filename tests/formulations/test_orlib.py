"""OR-Library converters: the shared files parse to the documented shapes and known optima;
malformed files fail with the file and line named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine import solve
from formulations import InstanceError
from formulations.orlib import detect_format, read_best_known, read_mknap, read_mmkp
from tests.conftest import shared_data

# the 2-problem file below, written by hand: problem 0 (3 items, 2 constraints, optimum 7 given:
# items 1 and 3 with weights (2+2, 1+3) <= (4, 4)) and problem 1 with the optimum unknown.
MKNAP = """2
3 2 7
4 5 3
2 3 2
1 2 3
4 4
2 1 0
1 1
1 1
1
"""

MMKP = """2 2 1
5
1
3 2
4 6
2
1 1
9 4
"""


def test_mknap_by_hand(tmp_path: Path) -> None:
    p = tmp_path / "tiny.txt"
    p.write_text(MKNAP)
    a, b = read_mknap(p)
    assert (a.n_units, a.n_budgets, a.choose) == (3, 2, "at-most-one")
    np.testing.assert_array_equal(a.value, [4, 5, 3])
    np.testing.assert_array_equal(a.costs, [[2, 3, 2], [1, 2, 3]])
    assert list(a.limits) == [4.0, 4.0]
    assert a.reference is not None and a.reference.objective == 7.0 and a.reference.proven
    assert b.reference is None
    assert solve(a, "highs").objective == 7.0
    assert solve(b, "highs").objective == 1.0
    assert detect_format(p) == "orlib-mknap"


def test_mmkp_by_hand(tmp_path: Path) -> None:
    p = tmp_path / "tiny.txt"
    p.write_text(MMKP)
    inst = read_mmkp(p)
    assert (inst.n_units, inst.max_options, inst.choose) == (2, 2, "exactly-one")
    np.testing.assert_array_equal(inst.value, [3, 4, 1, 9])
    np.testing.assert_array_equal(inst.costs, [[2, 6, 1, 4]])
    # capacity 5: (item 0, item 1) uses 2 + 4 = 6 > 5, so the best is (0, 0) = 4
    r = solve(inst, "highs")
    assert r.objective == 4.0
    assert detect_format(p) == "mmkp"


@pytest.mark.parametrize(
    ("text", "reader", "where"),
    [
        (MKNAP.replace("4 5 3", "4 five 3"), read_mknap, "line 3, number 6 ('five')"),
        (MKNAP.replace("4 5 3", "4 nan 3"), read_mknap, "line 3"),
        (MKNAP.rsplit("1\n", 1)[0], read_mknap, "end of file"),
        (MKNAP + "17\n", read_mknap, "expected the end of the file"),
        (MKNAP.replace("3 2 7", "3 -2 7"), read_mknap, "line 2"),
        (MMKP.replace("\n2\n1 1", "\n3\n1 1"), read_mmkp, "expected the class index 2"),
        (MMKP + "1\n", read_mmkp, "expected 14 numbers"),
        (MMKP.replace("2 2 1\n5", "2 2 1\n-5"), read_mmkp, "capacity >= 0"),
        ("", read_mmkp, "the file is empty"),
    ],
    ids=["text", "nan", "truncated", "trailing", "negative-m", "class-index", "extra", "neg-cap",
         "empty"],
)
def test_malformed(tmp_path: Path, text: str, reader, where: str) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "bad.txt"
    p.write_text(text)
    with pytest.raises(InstanceError) as info:
        reader(p)
    assert str(info.value).startswith(str(p)) and where in str(info.value), str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InstanceError, match="file not found"):
        read_mknap(tmp_path / "nope.txt")


def test_detect_format_refuses_other_layouts(tmp_path: Path) -> None:
    p = tmp_path / "x.txt"
    p.write_text("1 2 3 4 5\n")
    with pytest.raises(InstanceError, match="cannot tell the format"):
        detect_format(p)


def test_mknap1_from_the_shared_data() -> None:
    insts = read_mknap(shared_data("mkp_orlib_chu_beasley", "mknap1.txt"))
    assert [i.n_units for i in insts] == [6, 10, 15, 20, 28, 39, 50]
    assert [i.reference.objective for i in insts] == [  # type: ignore[union-attr]
        3800, 8706.1, 4015, 6120, 12400, 10618, 16537
    ]
    assert all(i.reference.proven for i in insts)  # type: ignore[union-attr]


def test_chu_beasley_with_best_known_values() -> None:
    folder = shared_data("mkp_orlib_chu_beasley")
    bk = read_best_known(folder / "best-feasible-slns.txt")
    assert len(bk) == 270
    assert bk["5.100-00"].value == 24381 and bk["5.100-00"].lp_bound == pytest.approx(24585.902722)
    assert bk["30.500-29"].value == 300460
    insts = read_mknap(folder / "mknapcb9.txt", best_known=bk)
    assert len(insts) == 30 and insts[29].name == "30.500-29"
    assert (insts[0].n_units, insts[0].n_budgets) == (500, 30)
    ref = insts[29].reference
    assert ref is not None and ref.objective == 300460 and not ref.proven
    for inst in insts:  # the best-known value is a lower bound, the LP value an upper bound
        assert inst.reference is not None
        assert inst.reference.objective <= bk[inst.name].lp_bound  # type: ignore[operator]


def test_mmkp_example_from_the_shared_data() -> None:
    inst = read_mmkp(shared_data("mmkp_format_example", "example.txt"))
    r = solve(inst, "highs")
    assert r.status == "optimal" and r.objective == 91.0
    assert list(r.assignment) == [1, 1, 1, 0]  # type: ignore[arg-type]
