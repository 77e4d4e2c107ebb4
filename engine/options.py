"""Solver options as frozen dataclasses: each backend declares the ones it reads.

``parse_options(cls, solver, given)`` turns a mapping (``solve(..., options={...})``, or the
CLI's ``-O KEY=VALUE``) into the backend's dataclass: an unknown key is a one-line UsageError
naming it and listing the accepted ones; a value of the wrong type or outside its choices one
naming the key, what was expected and what was given. Nothing is ignored silently.

Field types understood: bool, int, float, str, ``Literal[...]`` choices, ``X | None``, and
anything else (arrays, mappings, live objects) passed as given. Integers are accepted where a
float is expected; a float with an integral value where an int is; never a bool for a number.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, get_args, get_origin

from formulations.errors import UsageError

T = TypeVar("T")


@dataclass(frozen=True)
class Options:
    """What every backend accepts: ``progress`` (a progress bar on stderr where it has one)."""

    progress: bool = False


def option_names(cls: type[Any]) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def parse_options(cls: type[T], solver: str, given: Mapping[str, Any] | T | None) -> T:
    """The dataclass ``cls`` filled from ``given`` (see the module docstring)."""
    if isinstance(given, cls):
        return given
    values: dict[str, Any] = dict(given or {})  # type: ignore[arg-type]
    names = option_names(cls)
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise UsageError(
            f"solver {solver!r}: unknown option {unknown[0]!r}; accepted: {', '.join(names)}"
        )
    hints = typing.get_type_hints(cls)
    out = {k: _coerce(solver, k, v, hints[k]) for k, v in values.items()}
    return cls(**out)


def _coerce(solver: str, key: str, value: Any, hint: Any) -> Any:
    def bad(expected: str) -> UsageError:
        return UsageError(
            f"solver {solver!r}: option {key!r}: expected {expected}, got {value!r}"
        )

    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if value is None:
            return None
        if len(args) == 1:
            return _coerce(solver, key, value, args[0])
        return value
    if origin is Literal:
        choices = get_args(hint)
        if value not in choices:
            raise bad(f"one of {list(choices)}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad("an integer")
        if isinstance(value, float) and not value.is_integer():
            raise bad("an integer")
        return int(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad("a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise bad("text")
        return value
    return value


def positive(solver: str, **values: float | int | None) -> None:
    """Each named value must be > 0 where it is given."""
    for key, v in values.items():
        if v is not None and not v > 0:
            raise UsageError(f"solver {solver!r}: option {key!r}: expected > 0, got {v!r}")
