"""The one loader: a path names an allocation instance or a cluster program; ``kind`` decides.

A manifest's ``kind`` is ``"mckp"`` (the default: one row per unit and option,
formulations.instance_file) or ``"clusters"`` (one row per cluster and option,
formulations.cluster_program). A folder stands for the manifest it holds: ``instance.toml``,
else ``clusters.toml``. Every command loads through :func:`load_problem` and says what it does
with each kind.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from formulations.cluster_program import ClusterProgram, load_cluster_program
from formulations.errors import InstanceError
from formulations.instance import Instance
from formulations.instance_file import load_instance, read_manifest

Kind = Literal["mckp", "clusters"]
KINDS: tuple[str, ...] = ("mckp", "clusters")


def problem_manifest(path: str | os.PathLike[str]) -> Path:
    """The manifest a path names: the file itself, or a folder's instance.toml / clusters.toml."""
    p = Path(path)
    if p.is_dir():
        for name in ("instance.toml", "clusters.toml"):
            if (p / name).exists():
                return p / name
        return p / "instance.toml"  # the loader reports it missing
    return p


def problem_kind(path: str | os.PathLike[str]) -> Kind:
    """``kind`` of the manifest at ``path`` (InstanceError for an unknown one)."""
    manifest = problem_manifest(path)
    kind = read_manifest(manifest).get("kind", "mckp")
    if kind not in KINDS:
        raise InstanceError(str(manifest), "kind", f"expected one of {list(KINDS)}, got {kind!r}")
    return kind  # type: ignore[no-any-return]


def load_problem(path: str | os.PathLike[str]) -> Instance | ClusterProgram:
    """The instance or cluster program at ``path``, by its manifest's ``kind``."""
    manifest = problem_manifest(path)
    if problem_kind(manifest) == "clusters":
        return load_cluster_program(manifest)
    return load_instance(manifest)
