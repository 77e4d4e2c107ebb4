"""Dependencies point one way (ARCHITECTURE.md, "Layout"): in the order formulations, engine,
evaluation, learners, treatalloc, a package imports only packages listed before it. Checked on
the source of every module (lazy imports inside functions included), so a violation is found
without running the code that holds it."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import REPO

ORDER = ("formulations", "engine", "evaluation", "learners", "treatalloc")


def imported_packages(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(ORDER)


@pytest.mark.parametrize("package", ORDER)
def test_no_upward_import(package: str) -> None:
    allowed = set(ORDER[: ORDER.index(package) + 1])
    bad = []
    for path in sorted((REPO / package).rglob("*.py")):
        upward = imported_packages(path) - allowed
        if upward:
            bad.append(f"{path.relative_to(REPO)} imports {sorted(upward)}")
    assert not bad, bad


def test_the_check_sees_an_upward_import(tmp_path) -> None:
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from treatalloc.cli import main\n    import engine.solve\n")
    assert imported_packages(f) == {"treatalloc", "engine"}
