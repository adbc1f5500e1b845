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
BENCH_ARGS ?=

MAR := model-store/mnist.mar
# Every module of model/ (a superset of what the archive carries: a change to any of them rebuilds it).
MAR_INPUTS := model/trained/weights.pt model/trained/calibration.json model/trained/SHA256SUMS handler/mnist_handler.py \
              $(wildcard model/*.py) \
              scripts/build_mar.py model-store/SHA256SUMS

.PHONY: help install serve stop test lint browser train mar mar-checksum bench bench-against bench-preprocess bench-worst tune eval-uploads eval-conditions clean

help:
	@echo "make serve         TorchServe + proxy on 127.0.0.1:$${GOCLASSIFY_PORT:-8000} (Ctrl-C stops)"
	@echo "make stop          stop what an earlier make serve left running"
	@echo "make test          lint and the whole test suite (starts its own servers)"
	@echo "make train         retrain into model/trained/ (TRAIN_ARGS='--epochs 3' to change)"
	@echo "make mar           build $(MAR) from the weights, handler and model code"
	@echo "make mar-checksum  the same, recording its SHA-256 (after changing the handler or model code)"
	@echo "make bench         /classify vs TorchServe direct vs an in-process baseline; 10,000-image pass"
	@echo "make bench-against this tree against BENCH_AGAINST=$(BENCH_AGAINST) with wrk (make bench runs it too)"
	@echo "make tune          one serving setting changed at a time: throughput and p99"
	@echo "make bench-preprocess  preprocessing time per upload: MNIST PNG, scan, 12 MP phone photo"
	@echo "make bench-worst   time and peak memory of the worst upload the limits allow (PNGs, a JPEG)"
	@echo "make eval-uploads  accuracy on the user-upload evaluation set, per format"
	@echo "make eval-conditions  digit finding in everyday conditions: development and held-out sets"

$(VENV)/.installed: requirements.txt requirements-serve.txt requirements-proxy.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# checkov and kubernetes-validate, for the Kubernetes manifests' tests, in a venv of their own.
K8S_VENV ?= .venv-k8s
$(K8S_VENV)/.installed: requirements-k8s.txt
	$(PYTHON) -m venv $(K8S_VENV)
	$(K8S_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-k8s.txt
	touch $@

install: $(VENV)/.installed

$(MAR): $(MAR_INPUTS) | $(VENV)/.installed
	$(PY) -m scripts.build_mar

mar-checksum: | $(VENV)/.installed
	$(PY) -m scripts.build_mar --record-checksum

mar: $(MAR)

serve: $(MAR)
	$(PY) -m harness $(SERVE_ARGS)

# Stops what an earlier `make serve` left running (make serve says when there is something).
stop: | $(VENV)/.installed
	$(PY) -m harness --stop $(SERVE_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: lint browser $(K8S_VENV)/.installed
	GOCLASSIFY_K8S_TOOLS=$(abspath $(K8S_VENV))/bin $(PY) -m pytest $(PYTEST_ARGS)

# The browser test drives Debian's Chromium through its ChromeDriver. Installed here when we can
# (root and apt-get); otherwise that one test is skipped and says why.
BROWSER_PACKAGES := chromium chromium-driver
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing $(BROWSER_PACKAGES) for the browser test"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q $(BROWSER_PACKAGES) >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $(BROWSER_PACKAGES) >/dev/null 2>&1; } || \
	  echo "warning: could not install Chromium; the browser test will be skipped"; \
	else echo "note: no Chromium, and no root apt-get to install it: the browser test will be skipped"; fi

train: install
	$(PY) -m train $(TRAIN_ARGS)

# The earlier commit make bench compares this tree with (bench/against.py): the previous release.
BENCH_AGAINST ?= 7febc86

bench: install
	$(PY) -m bench $(BENCH_ARGS)
	$(MAKE) --no-print-directory bench-against

# wrk (Debian's package) is the outside client; installed here when we can (root and apt-get).
bench-against: install
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || \
	  { echo "bench-against needs wrk (apt-get install wrk)"; exit 1; }
	$(PY) -m bench.against $(BENCH_AGAINST)

tune: install
	$(PY) -m bench.tune

bench-preprocess: install
	$(PY) -m bench.preprocess

bench-worst: install
	$(PY) -m bench.worst_case

eval-uploads: install
	$(PY) -m scripts.evaluate_uploads

eval-conditions: install
	$(PY) -m scripts.evaluate_conditions

clean:
	rm -rf $(MAR) .run logs .pytest_cache .ruff_cache
