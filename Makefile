# Two entry points for a newcomer: `make demo` and `make test`. Both create .venv on first use.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= dev,dask,learn,fast

.PHONY: install demo test test-slow lint typecheck bench clean

$(BIN)/treatalloc: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(BIN)/treatalloc

install: $(BIN)/treatalloc

# a short readable tour: the hand-made demo solved exactly, then 10,000 users by the dual (a
# certified gap in a fraction of a second) and proven optimal by dual-exact
demo: install
	@$(BIN)/treatalloc info instances/demo
	@echo
	@$(BIN)/treatalloc solve instances/demo --solver highs --out out/demo_allocation.csv
	@echo
	@$(BIN)/treatalloc solve instances/synthetic_10k --solver dual
	@echo
	@$(BIN)/treatalloc solve instances/synthetic_10k --solver dual-exact

test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 -q

test-slow: install
	$(BIN)/python -m pytest -m slow -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

typecheck: install
	$(BIN)/mypy

# the engine's measured tables (benchmarks/README.md gives each command and its figures)
bench: install
	$(BIN)/python benchmarks/bench_dual_mmkp.py
	$(BIN)/python benchmarks/bench_time_limits.py --sizes 10000 100000 --limits 1 5

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
