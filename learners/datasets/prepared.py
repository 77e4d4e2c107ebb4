"""What a prepare run wrote and counted: the :class:`Prepared` record and its TOML / JSON form.

The same keys go to ``<out>/<dataset>/prepared.toml`` (folders relative to it) and to
``treatalloc dataset --json`` (absolute paths):

* ``dataset``, ``folder``, ``table_format``, ``seed``, ``fractions`` (train, validation, test as
  asked), ``test_split`` ("random" or the raw file that fixes it);
* ``rows_read`` {raw file: data rows}, ``rows`` (after cleaning), ``dropped`` {reason: {rows,
  why}};
* ``arms`` (control first), and per arm ``arm_stats`` {arm: {rows, propensity, mean_value,
  mean_cost}} over the full cleaned data;
* ``splits`` {all/train/validation/test: {manifest, rows, arms {arm: rows}}};
* ``checksums`` [{file, sha256, expected, matches}] against SOURCE.md, and ``warnings``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from learners.datasets.cleaned import Drop
from learners.datasets.raw import Checksum

REPORT = "prepared.toml"


@dataclass(frozen=True)
class ArmStats:
    """One arm over the full cleaned data: units, design propensity, mean value and cost."""

    rows: int
    propensity: float
    mean_value: float
    mean_cost: float


@dataclass(frozen=True, eq=False)
class Prepared:
    """The folders one prepare run wrote, and its counts.

    ``manifests`` maps "all", "train", "validation", "test" to the data.toml written there;
    ``split_counts`` maps the same names to {arm: units}.
    """

    name: str
    folder: Path
    manifests: Mapping[str, Path]
    report: Path
    arms: tuple[str, ...]
    rows_read: Mapping[str, int]
    rows: int
    dropped: Mapping[str, Drop]
    arm_stats: Mapping[str, ArmStats]
    split_counts: Mapping[str, Mapping[str, int]]
    seed: int
    fractions: tuple[float, ...]
    test_split: str
    table_format: str
    checksums: tuple[Checksum, ...]
    warnings: tuple[str, ...] = ()

    def to_dict(self, *, relative: bool = False) -> dict[str, Any]:
        """Plain types only (TOML and JSON); ``relative`` writes paths relative to the folder."""

        def path(p: Path) -> str:
            return p.relative_to(self.folder).as_posix() if relative else str(p)

        return {
            "dataset": self.name,
            "folder": "." if relative else str(self.folder),
            "table_format": self.table_format,
            "seed": self.seed,
            "fractions": list(self.fractions),
            "test_split": self.test_split,
            "rows_read": dict(self.rows_read),
            "rows": self.rows,
            "dropped": {k: {"rows": d.rows, "why": d.why} for k, d in self.dropped.items()},
            "arms": list(self.arms),
            "arm_stats": {
                a: {"rows": s.rows, "propensity": s.propensity, "mean_value": s.mean_value,
                    "mean_cost": s.mean_cost}
                for a, s in self.arm_stats.items()
            },
            "splits": {
                k: {"manifest": path(self.manifests[k]), "rows": sum(c.values()),
                    "arms": dict(c)}
                for k, c in self.split_counts.items()
            },
            "checksums": [
                {"file": c.path, "sha256": c.sha256, "expected": c.expected,
                 "matches": c.matches}
                for c in self.checksums
            ],
            "warnings": list(self.warnings),
        }

    def to_toml(self) -> str:
        import tomli_w

        return tomli_w.dumps(self.to_dict(relative=True))
