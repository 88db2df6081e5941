# Two entry points: `make demo` (the main job) and `make test`. Both set up .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test test-fast clean

$(BIN)/.installed: setup.py constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e ".[ros,sim,dev,fit]"
	touch $@

setup: $(BIN)/.installed

demo: setup
	$(BIN)/python -m braingo_ros.bringup --duration 10

test: setup
	$(BIN)/python -m pytest -q

test-fast: setup   # the edit loop: no slow or ROS tests
	$(BIN)/python -m pytest -q -m "not slow and not ros"

clean:
	rm -rf build install log runs .pytest_cache
