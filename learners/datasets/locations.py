"""Where raw data is read from and where prepared tables go; never a path written into the code.

The raw data root is a parameter: the argument, else ``$TREATALLOC_DATA_ROOT``. It holds one
folder per dataset (``hillstrom/hillstrom.csv``, ...). The cache folder is the argument, else
``$TREATALLOC_CACHE``, else ``~/.cache/treatalloc/datasets``; each dataset is written into
``<cache>/<dataset>/``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from formulations.errors import UsageError

DATA_ROOT_ENV = "TREATALLOC_DATA_ROOT"
CACHE_ENV = "TREATALLOC_CACHE"


def data_root(given: str | os.PathLike[str] | None, *, what: str = "data_root") -> Path:
    """The folder holding the raw dataset folders, or a UsageError saying how to give it.

    ``what`` names the argument in messages (the CLI passes ``--data-root``).
    """
    if given is not None and str(given) != "":
        where, root = what, Path(given).expanduser()
    elif os.environ.get(DATA_ROOT_ENV):
        where, root = f"${DATA_ROOT_ENV}", Path(os.environ[DATA_ROOT_ENV]).expanduser()
    else:
        raise UsageError(
            f"{what}: no raw data root given: pass {what} (a folder holding one folder per "
            f"dataset, e.g. hillstrom/hillstrom.csv) or set ${DATA_ROOT_ENV}; the data is not "
            "shipped with treatalloc (see docs/datasets.md)"
        )
    if not root.is_dir():
        raise UsageError(
            f"{where} {str(root)!r}: not a folder; expected the folder holding one folder per "
            "dataset (e.g. hillstrom/hillstrom.csv)"
        )
    return root


def cache_dir(given: str | os.PathLike[str] | None) -> Path:
    """The folder prepared datasets are written into (not created here)."""
    if given is not None and str(given) != "":
        return Path(given).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path.home() / ".cache" / "treatalloc" / "datasets"


def check_writable(folder: Path, *, what: str = "out") -> None:
    """Fail before any work where ``folder`` could not be created or written into.

    The nearest existing ancestor must be a folder where a folder can be made: a probe
    folder is made there and removed at once (permission bits alone do not tell, e.g. for
    root or on a read-only mount), so nothing is left behind.
    """
    p = folder.absolute()
    if p.exists() and not p.is_dir():
        raise UsageError(f"{what} {str(folder)!r}: exists and is not a folder")
    probe = p
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"{what} {str(folder)!r}: {str(probe)!r} is a file, not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".treatalloc-probe-", dir=probe))
    except OSError as e:
        raise UsageError(
            f"{what} {str(folder)!r}: cannot write in {str(probe)!r} ({e.strerror or e})"
        ) from None
