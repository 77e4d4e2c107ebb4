"""Output paths are checked before any work: a target that cannot be written is a usage error.

A command that would solve for minutes and then fail to write its ``--out`` checks first: the
suffix is one the writer knows, the target is not a folder (or, for a folder target, not a
file), and the nearest existing folder on its way accepts a new file (a temporary file is
created and removed there: the real test, also for root on a read-only file system). The
error is one line naming the flag, the path and what was wrong; the CLI exits 2.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from formulations.errors import UsageError


def _nearest_folder(path: Path) -> Path:
    p = path.parent
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _probe(folder: Path, flag: str, target: Path) -> None:
    if not folder.is_dir():
        raise UsageError(f"{flag} {str(target)!r}: {str(folder)!r} is a file, not a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".treatalloc-probe.", dir=folder)
    except OSError as e:
        raise UsageError(
            f"{flag} {str(target)!r}: cannot write into {str(folder)!r} "
            f"({e.strerror or type(e).__name__})"
        ) from None
    os.close(fd)
    os.unlink(tmp)


def check_file(path: str | os.PathLike[str], flag: str,
               suffixes: Sequence[str] | None = None) -> Path:
    """A file the command will write: suffix, not a folder, and its folder writable."""
    target = Path(path)
    if suffixes is not None and target.suffix.lower() not in suffixes:
        expected = " or ".join(suffixes)
        raise UsageError(
            f"{flag} {str(target)!r}: expected a file name ending in {expected}, got "
            f"{target.suffix or 'no suffix'!r}"
        )
    if target.is_dir():
        raise UsageError(f"{flag} {str(target)!r}: is a folder; expected a file name")
    _probe(_nearest_folder(target), flag, target)
    return target


def check_folder(path: str | os.PathLike[str], flag: str) -> Path:
    """A folder the command will write into (created where missing): not a file, writable."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{flag} {str(target)!r}: exists and is not a folder")
    _probe(target if target.is_dir() else _nearest_folder(target), flag, target)
    return target
