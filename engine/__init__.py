"""Solvers: exact backends, the dual-decomposition engine, validation and what-if. No torch."""

from engine.registry import BACKENDS, available_solvers, get_backend
from engine.result import SolveResult
from engine.solve import solve

__all__ = ["BACKENDS", "SolveResult", "available_solvers", "get_backend", "solve"]
