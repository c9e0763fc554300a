# Two commands from a fresh clone: `make demo` and `make test`. Each builds .venv from
# requirements.lock when it is missing or older than the lock, then runs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8888
# make test's pytest-xdist workers: one per core (tests/conftest.py keeps each shared service on one).
# The benchmarks run on tiny sizes inside it (tests/integration/test_benchmarks_smoke.py).
TEST_WORKERS ?= auto

.PHONY: demo test test-fast lint format lab team bench bench-smoke lock clean upgrade-check drill

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "setuptools>=68" wheel
	$(PY) -m pip install --progress-bar on -r requirements.lock  # pip says what it fetches (about two minutes)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (workbench)" >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/workbench demo

test: $(STAMP)
	$(PY) -m pytest workbench --doctest-modules --ignore=workbench/serving/_app.py -q
	$(PY) -m pytest tests -n $(TEST_WORKERS) --dist loadgroup --timeout=900 --durations=40

# The fast loop: the docstring examples and tests/unit (no server, kernel, Spark or browser there).
test-fast: $(STAMP)
	$(PY) -m pytest workbench --doctest-modules --ignore=workbench/serving/_app.py -q
	$(PY) -m pytest tests/unit -q -n $(TEST_WORKERS)

lint: $(STAMP)
	$(VENV)/bin/ruff format --check workbench tests benchmarks
	$(VENV)/bin/ruff check workbench tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format workbench tests benchmarks
	$(VENV)/bin/ruff check --fix workbench tests benchmarks

lab: $(STAMP)
	$(VENV)/bin/workbench lab --port $(PORT)

team: $(STAMP)
	$(VENV)/bin/workbench team up

bench: $(STAMP)
	$(PY) -m benchmarks

bench-smoke: $(STAMP)
	$(PY) -m benchmarks --smoke

lock:
	$(PY) -m pip freeze --exclude-editable | grep -v '^deploy-workbench' > requirements.lock.new
	{ echo '# Exact versions of the whole stack (runtime + dev). Regenerate with `make lock`.'; cat requirements.lock.new; } > requirements.lock
	rm requirements.lock.new

# The newest mlflow and evidently pip can resolve with the rest of the lock, in a scratch venv:
# tests/unit/test_vendor_private.py and tests/unit, with the versions tried and the result.
upgrade-check:
	$(PYTHON) tools/upgrade_check.py

# The disaster drill: back up during a journey, lose the workspace, restore, prove it whole
# (tools/drill.py; each step's time is printed).
drill: $(STAMP)
	$(PY) tools/drill.py

clean:
	rm -rf $(VENV) reports runs mlruns/mlflow.db mlruns/artifacts
