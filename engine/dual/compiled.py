"""The optional compiled kernels of the dual (numba), and the switch between them and numpy.

The numpy kernels (engine/dual/kernels.py, select.py, improve.py) are the reference and the
fallback. Where numba is installed (the ``fast`` extra: ``pip install treatalloc[fast]``) the
hot loops of the one-budget path run as compiled row loops instead
(engine/dual/numba_kernels.py): the same floating-point operations in the same order on every
element, so the results are bit-identical (tests/engine/dual/test_scale_identity.py pins both
paths to the same bits). Sums that decide a result stay numpy sums over the same slices.

``TREATALLOC_COMPILED=0`` in the environment turns the compiled kernels off (numpy only); the
switch is read on every call, so tests can flip it. numba is imported on first use only, and
its JIT compiles each kernel once per machine (``cache=True`` keeps the machine code under
``__pycache__``; a read-only install recompiles per process, about a second).
"""

from __future__ import annotations

import importlib.util
import os
from types import ModuleType

#: environment variable: "0" turns the compiled kernels off
ENV = "TREATALLOC_COMPILED"

_module: ModuleType | None = None


def installed() -> bool:
    """True when numba can be imported (the ``fast`` extra is installed)."""
    return importlib.util.find_spec("numba") is not None


def kernels() -> ModuleType | None:
    """engine.dual.numba_kernels when numba is installed and not turned off, else None."""
    global _module
    if os.environ.get(ENV, "1").strip() == "0":
        return None
    if _module is None:
        if not installed():
            return None
        from engine.dual import numba_kernels

        _module = numba_kernels
    return _module
