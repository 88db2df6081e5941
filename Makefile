# Two entry points: `make demo` (the main job) and `make test`. Both set up .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test bench clean

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

clean:
	rm -rf build install log runs .pytest_cache
