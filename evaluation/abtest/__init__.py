"""A/B-test analysis on plain arrays: difference in means, CUPED, Lin regression adjustment,
CUPAC, MLRATE and STATE (a reconstruction, see state.py), for per-unit and ratio metrics."""

from evaluation.abtest.analyze import METHODS, analyze, parse_methods
from evaluation.abtest.multiarm import analyze_arms, holm
from evaluation.abtest.result import AbTestResult

__all__ = ["METHODS", "AbTestResult", "analyze", "analyze_arms", "holm", "parse_methods"]
