# The two commands of the README. Each creates the environment when it is missing.
#   make baseline   run the shipped baseline scenario (4 simulated weeks)
#   make test       run the test suite (the fast subset; CI runs this)
#   make test-full  every test, including the slow ones (the full property sweep of bad input)
#   make bench      benchmarks against peer simulators (benchmarks/README.md; BENCH_ARGS=--quick)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: baseline test test-full env clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

env: $(STAMP)

.PHONY: bench
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m benchmarks.run $(BENCH_ARGS)

baseline: $(STAMP)
	$(PY) -m demandsim scenario=baseline_2021

# Two workers (pytest-xdist), each taking whole test files (module fixtures built once): about a
# quarter less wall time on a 2-core machine (the sweeps' tests use both cores themselves).
# TEST_JOBS=0 runs in one process.
TEST_JOBS ?= 2
TEST_PARALLEL = $(if $(filter 0,$(TEST_JOBS)),,-n $(TEST_JOBS) --dist loadfile)

# The compiled engine is compiled once, here, before the workers start: two workers compiling it
# at once on a fresh clone took as long as one process running every test.
WARM_ENGINE = $(PY) -c "from demandsim.config import load_config; from demandsim.runner import simulate; \
	simulate(load_config(['run.days=1', 'run.warmup_days=0.5', 'run.engine=fast']), progress=False)"

test: $(STAMP)
	$(WARM_ENGINE)
	$(PY) -m pytest $(TEST_PARALLEL) -m "not slow" demandsim tests

test-full: $(STAMP)
	$(WARM_ENGINE)
	$(PY) -m pytest $(TEST_PARALLEL) demandsim tests

clean:
	rm -rf $(VENV) results
