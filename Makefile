# Upwatch: the two README commands and their helpers.
# Every target sets up what it needs: the Debian packages (apt-get, when a binary
# is missing), the virtual environment and the package installed into it.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.upwatch-installed
# binary -> package: installed only when the binary is missing
APT_BINARIES := prometheus:prometheus promtool:prometheus \
	prometheus-alertmanager:prometheus-alertmanager amtool:prometheus-alertmanager \
	prometheus-blackbox-exporter:prometheus-blackbox-exporter nginx:nginx-light \
	victoria-metrics:victoria-metrics
# PostgreSQL's server binaries are not on PATH: looked for by their own path
APT_PATHS := /usr/lib/postgresql/*/bin/initdb:postgresql /usr/bin/chromium:chromium

.PHONY: run test bench bench-scale lint setup system-deps venv clean

run: setup
	$(PY) scripts/run_stack.py

test: setup lint
	$(PY) -m pytest -q --durations=15

bench: setup
	$(PY) bench/prober.py
	$(PY) bench/history.py

# 10,000 and 30,000 sites over three exporter shards, and one exporter alone (~12 min)
bench-scale: setup
	$(PY) bench/scale.py

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

setup: system-deps venv

system-deps:
	@missing=""; for pair in $(APT_BINARIES); do \
	  bin=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$bin >/dev/null 2>&1 || [ -x /usr/sbin/$$bin ] || missing="$$missing $$pkg"; \
	done; \
	for pair in $(APT_PATHS); do \
	  pattern=$${pair%%:*}; pkg=$${pair##*:}; \
	  ls $$pattern >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  pkgs=$$(echo $$missing | tr ' ' '\n' | sort -u | tr '\n' ' '); \
	  echo "==> installing Debian packages:$$pkgs"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get install -y -q --no-install-recommends $$pkgs \
	    || { $$SUDO apt-get update -q && $$SUDO apt-get install -y -q --no-install-recommends $$pkgs; }; \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) var build *.egg-info
