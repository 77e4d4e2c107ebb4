"""Solver backends, one module each; see engine.registry for the table of names."""
