"""Every kind of bad instance file gets one InstanceError naming the file and the row or key."""

from __future__ import annotations

from pathlib import Path

import pytest

from formulations import InstanceError, load_instance
from tests.formulations.bad_inputs import CASES, Case, write_case


def test_the_good_instance_loads(tmp_path: Path) -> None:
    path, _, _ = write_case(tmp_path, Case("good"))
    inst = load_instance(path)
    assert inst.n_units == 3 and inst.n_rows == 6 and inst.capacities[0].option == "b"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_names_file_and_place(tmp_path: Path, case: Case) -> None:
    path, manifest, table = write_case(tmp_path, case)
    with pytest.raises(InstanceError) as info:
        load_instance(path)
    msg = str(info.value)
    assert "\n" not in msg
    named = manifest if case.names == "manifest" else table
    assert msg.startswith(str(named)), msg
    assert case.where in msg, msg


def test_a_table_passed_as_manifest_is_explained(tmp_path: Path) -> None:
    _, _, table = write_case(tmp_path, Case("good"))
    with pytest.raises(InstanceError, match="expected an instance manifest"):
        load_instance(table)


def test_missing_table_file_is_named(tmp_path: Path) -> None:
    path, manifest, _ = write_case(tmp_path, Case("no-table", csv=None))
    with pytest.raises(InstanceError) as info:
        load_instance(path)
    assert str(info.value).startswith(f"{manifest}: table") and "options.csv" in str(info.value)


def test_missing_budget_limit_and_no_budgets(tmp_path: Path) -> None:
    no_limit = Case("no-limit", toml=Case("x").toml.replace("limit = 10.0\n", ""))
    with pytest.raises(InstanceError, match=r"budgets\[0\]\.limit: missing"):
        load_instance(write_case(tmp_path, no_limit)[0])
    head = Case("x").toml.split("[[budgets]]")[0]
    no_budgets = Case("no-budgets", toml=head)
    with pytest.raises(InstanceError, match="budgets: missing"):
        load_instance(write_case(tmp_path, no_budgets)[0])


def test_an_over_budget_instance_is_not_an_input_error(tmp_path: Path) -> None:
    # the cheapest choice (all "a", cost 0) fits 0 but not -1: infeasible is a status, not an error
    case = Case("infeasible", toml=Case("x").toml.replace("limit = 10.0", "limit = -1.0"))
    inst = load_instance(write_case(tmp_path, case)[0])
    assert inst.budgets[0].limit == -1.0
