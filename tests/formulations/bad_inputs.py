"""A good instance folder and the catalogue of broken variants (shared by loader and CLI tests).

Each case names the file the error must name ("manifest" or "table") and the row or key it must
point at.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

GOOD_TOML = """\
name = "tiny"
table = "options.csv"
choose = "exactly-one"

[[budgets]]
name = "cash"
column = "cost"
limit = 10.0

[[capacities]]
option = "b"
limit = 1
"""

GOOD_CSV = """\
unit,option,value,cost
u1,a,0.0,0.0
u1,b,3.0,4.0
u2,a,0.0,0.0
u2,b,2.0,5.0
u3,a,0.0,0.0
u3,b,1.5,2.0
"""


@dataclass(frozen=True)
class Case:
    id: str
    toml: str = GOOD_TOML
    csv: str | None = GOOD_CSV
    names: str = "manifest"  # which file the message must name: manifest | table
    where: str = ""  # the row or key it must name
    make_missing: bool = False


def _replace_line(text: str, lineno: int, new: str) -> str:
    lines = text.splitlines()
    lines[lineno - 1] = new
    return "\n".join(lines) + "\n"


CASES = [
    Case("missing-file", make_missing=True, where="file not found"),
    Case("malformed-toml", toml=GOOD_TOML.replace('name = "tiny"', 'name = "tiny'), where="line 1"),
    Case("missing-column", csv=GOOD_CSV.replace("cost", "costs"), names="table",
         where="column 'cost'"),
    Case("nan", csv=_replace_line(GOOD_CSV, 3, "u1,b,nan,4.0"), names="table",
         where="row 2 (line 3), column 'value'"),
    Case("empty-cell", csv=_replace_line(GOOD_CSV, 5, "u2,b,2.0,"), names="table",
         where="row 4 (line 5), column 'cost'"),
    Case("inf", csv=_replace_line(GOOD_CSV, 7, "u3,b,1.5,inf"), names="table",
         where="row 6 (line 7), column 'cost'"),
    Case("text-in-number", csv=_replace_line(GOOD_CSV, 4, "u2,a,zero,0.0"), names="table",
         where="row 3 (line 4), column 'value'"),
    Case("duplicate-pair", csv=GOOD_CSV + "u2,b,9.0,1.0\n", names="table",
         where="row 7 (line 8)"),
    Case("empty-table", csv="unit,option,value,cost\n", names="table", where="empty"),
    Case("empty-file", csv="", names="table", where="empty"),
    Case("unknown-top-key", toml='chose = "at-most-one"\n' + GOOD_TOML, where=": chose:"),
    Case("unknown-budget-key", toml=GOOD_TOML.replace("limit = 10.0", "limt = 10.0"),
         where="budgets[0].limt"),
    Case("negative-capacity", toml=GOOD_TOML.replace("limit = 1\n", "limit = -1\n"),
         where="capacities[0].limit"),
    Case("capacity-unknown-option", toml=GOOD_TOML.replace('option = "b"', 'option = "c"'),
         where="capacities[0].option"),
    Case("probabilities-not-1", toml=GOOD_TOML
         + "[[scenarios]]\nprobability = 0.5\nlimits = { cash = 8.0 }\n"
         + "[[scenarios]]\nprobability = 0.4\nlimits = { cash = 12.0 }\n",
         where="scenarios"),
    Case("distribution-typo", toml=GOOD_TOML.replace(
        "limit = 10.0", 'limit = 10.0\ndistribution = { kind = "lognormal", median = 10.0, '
        "sigm = 0.2 }"), where="budgets[0].distribution"),
    Case("nan-in-toml", toml=GOOD_TOML.replace("limit = 10.0", "limit = nan"),
         where="budgets[0].limit"),
]


def write_case(root: Path, case: Case) -> tuple[Path, Path, Path]:
    """Write the case under root; return (path to pass, manifest path, table path)."""
    folder = root / case.id
    manifest, table = folder / "instance.toml", folder / "options.csv"
    if case.make_missing:
        return manifest, manifest, table
    folder.mkdir(parents=True)
    manifest.write_text(case.toml)
    if case.csv is not None:
        table.write_text(case.csv)
    return manifest, manifest, table
