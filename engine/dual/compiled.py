"""The optional compiled kernels of the dual (numba), and the switch between them and numpy.

The numpy kernels (engine/dual/kernels.py, select.py, improve.py) are the reference and the
fallback. Where numba is installed (the ``fast`` extra: ``pip install treatalloc[fast]``) the
hot loops of the one-budget path run as compiled row loops instead
(engine/dual/numba_kernels.py): the same floating-point operations in the same order on every
element, so the results are bit-identical (tests/engine/dual/test_scale_identity.py pins both
paths to the same bits). Sums that decide a result stay numpy sums over the same slices.

``TREATALLOC_COMPILED`` in the environment: ``0`` never (numpy only), ``1`` always, unset or
``auto``: from the first call on an array of at least ``AUTO_CELLS`` cells on, for the rest of
the process. Using numba costs each process about 0.5-0.7 s once (its import, then its
machine's setup on the first compiled call), more than the compiled kernels save below about
2,000,000 users x 5 options; both paths give the same bits, so switching by size changes no
result. The switch is read on every call, so tests can flip it. numba's JIT compiles each kernel
once per machine (``cache=True`` keeps the machine code under ``__pycache__``; a read-only
install recompiles per process: see the benchmarks README for the compile time).
"""

from __future__ import annotations

import importlib.util
import os
from types import ModuleType

#: environment variable: "0" numpy only, "1" compiled at every size, else automatic
ENV = "TREATALLOC_COMPILED"

#: cells (units x options) of the first array that turns the compiled kernels on ("auto")
AUTO_CELLS = 10_000_000

_module: ModuleType | None = None


def installed() -> bool:
    """True when numba can be imported (the ``fast`` extra is installed)."""
    return importlib.util.find_spec("numba") is not None


def kernels(cells: int = 0) -> ModuleType | None:
    """engine.dual.numba_kernels when the compiled kernels are on for an array of ``cells``
    cells (see the module docstring), else None."""
    global _module
    mode = os.environ.get(ENV, "auto").strip().lower()
    if mode == "0":
        return None
    if _module is None:
        if mode != "1" and cells < AUTO_CELLS:
            return None
        if not installed():
            return None
        from engine.dual import numba_kernels

        _module = numba_kernels
    return _module
