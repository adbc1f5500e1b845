# GoClassify: `make serve` runs the service on the shipped model, `make test` runs every test.
# Both create the virtual environment they need from requirements*.txt on first use.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Offline MNIST for training and tests (the four IDX files, .gz or not). Unset: torchvision downloads.
GOCLASSIFY_MNIST_SOURCE ?= $(firstword $(wildcard ../shared/mnist))
export GOCLASSIFY_MNIST_SOURCE
TRAIN_ARGS ?=
PYTEST_ARGS ?=
SERVE_ARGS ?=

MAR := model-store/mnist.mar
MAR_INPUTS := model/trained/weights.pt model/trained/SHA256SUMS handler/mnist_handler.py model/__init__.py \
              model/integrity.py model/network.py model/preprocess.py scripts/build_mar.py model-store/SHA256SUMS

.PHONY: help install serve test lint train mar mar-checksum bench tune eval-uploads clean

help:
	@echo "make serve         TorchServe + proxy on 127.0.0.1:$${GOCLASSIFY_PORT:-8000} (Ctrl-C stops)"
	@echo "make test          lint and the whole test suite (starts its own servers)"
	@echo "make train         retrain into model/trained/ (TRAIN_ARGS='--epochs 3' to change)"
	@echo "make mar           build $(MAR) from the weights, handler and model code"
	@echo "make mar-checksum  the same, recording its SHA-256 (after changing the handler or model code)"
	@echo "make bench         /classify vs TorchServe direct vs an in-process baseline; 10,000-image pass"
	@echo "make tune          one serving setting changed at a time: throughput and p99"
	@echo "make eval-uploads  accuracy on the user-upload evaluation set, per format"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

$(MAR): $(MAR_INPUTS) | $(VENV)/.installed
	$(PY) -m scripts.build_mar

mar-checksum: | $(VENV)/.installed
	$(PY) -m scripts.build_mar --record-checksum

mar: $(MAR)

serve: $(MAR)
	$(PY) -m scripts.serve $(SERVE_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

train: install
	$(PY) -m train $(TRAIN_ARGS)

bench: install
	$(PY) -m bench

tune: install
	$(PY) -m bench.tune

eval-uploads: install
	$(PY) -m scripts.evaluate_uploads

clean:
	rm -rf $(MAR) .run logs .pytest_cache .ruff_cache
