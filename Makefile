# The two commands of the README:
#   make demo   sets up and runs the main job (train on the embedded digits data)
#   make test   sets up and runs the test suite once per backend
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BACKENDS ?= tensorflow jax torch

.PHONY: setup demo test lint bench bench-train

# `make demo` installs what the demo needs (the package and JAX); `make
# test` (and `setup`) add TensorFlow, torch and the test and dev tools.
$(VENV)/.demo: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[jax]"
	touch $@

$(VENV)/.installed: $(VENV)/.demo
	$(PY) -m pip install -q -c constraints.txt -e ".[tensorflow-cpu,jax,torch,test,dev]"
	touch $@

setup: $(VENV)/.installed

demo: $(VENV)/.demo
	KERAS_BACKEND=$${KERAS_BACKEND:-jax} TF_CPP_MIN_LOG_LEVEL=3 $(VENV)/bin/keras-dvae train

test: setup
	BACKENDS="$(BACKENDS)" PY=$(PY) bash scripts/run_tests.sh $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check keras_dvae tests benchmarks applications
	$(VENV)/bin/ruff format --check keras_dvae tests benchmarks applications

bench: setup
	for b in $(BACKENDS); do KERAS_BACKEND=$$b TF_CPP_MIN_LOG_LEVEL=3 $(PY) benchmarks/smoothing_throughput.py; done

bench-train: setup
	for b in $(BACKENDS); do KERAS_BACKEND=$$b TF_CPP_MIN_LOG_LEVEL=3 $(PY) -m benchmarks.train_throughput --quick --schedules; done
