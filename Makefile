# make test: create .venv, install snnc with its training and test tools, run the suite (what .ci/run calls).
# make demo: train digits, export, compile for arty-a7-35, run golden and the simulated board, print the table.
# make demo-events: the same for the event-camera CSNN (conv, pooling) on arty-a7-35.
# make demo-rows: digits row by row (a temporal task): a synaptic current and a membrane readout.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test test-slow demo demo-events demo-rows bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,train,sweep,interop]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -n 2 -q -rs

test-slow: $(STAMP)
	$(PY) -m pytest -n 2 -q -m slow

bench: $(STAMP)
	$(PY) benchmarks/golden.py

demo: $(STAMP)
	$(PY) examples/digits/demo.py

demo-events: $(STAMP)
	$(PY) examples/events/demo.py

demo-rows: $(STAMP)
	$(PY) examples/rows/demo.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
