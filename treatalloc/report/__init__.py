"""Presentation: tables, plots and HTML reports built from engine results (matplotlib lazily)."""
