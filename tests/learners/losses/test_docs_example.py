"""The library example of docs/losses.md runs as written and trains."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "losses.md"


def test_the_documented_training_loop_runs() -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1
    scope: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(blocks[0], str(DOC), "exec"), scope)
    loss = scope["loss"]
    assert bool(loss.isfinite())  # type: ignore[attr-defined]
