# Nexus: the commands a user needs. Everything installs into .venv from pinned versions; nothing global.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --disable-pip-version-check -q -c constraints.txt
export DAGSTER_HOME := $(CURDIR)/.dagster_home
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install install-dev chromium run ui serve test test-fast bench lint format docs clean help java

help:
	@echo "make run    install and materialize the whole graph (simulated publisher, local lake)"
	@echo "make ui     open the Dagster UI on http://127.0.0.1:3000 (dagster dev)"
	@echo "make serve  dagster-webserver + dagster-daemon on http://127.0.0.1:3000 with the project's instance"
	@echo "make test   install the dev extras and run the test suite"
	@echo "make bench  print speed and memory figures (BENCH=limits|scale|... for some)"
	@echo "make lint   ruff, import-linter (import layers) and sqlfluff (dbt SQL)"
	@echo "make docs   build the dbt docs site"
	@echo "make clean  reset the lake and the Dagster home"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# uv (pinned in constraints.txt, installed into the venv by pip) installs the pinned set several times faster than
# pip; pip stays the fallback when uv cannot be installed or fails. Either way nothing is installed by hand.
# --compile-bytecode: uv, unlike pip, writes no .pyc by default, and with PYTHONDONTWRITEBYTECODE (exported above,
# and set in these machines' environment) no import ever writes one, so every process compiled Dagster, pandas, Great
# Expectations, dbt... from source on each start (a fresh-clone `nexus run` spent ~5 s of its graph doing that).
# Compiling on both cores at install costs ~4 s.
UV := $(BIN)/uv
comma := ,# a literal comma inside $(call ...) arguments, which commas otherwise split
define install_pinned
	@$(PIP) uv >/dev/null 2>&1 || echo "uv unavailable: installing with pip"
	@if [ -x $(UV) ] && $(UV) pip install --compile-bytecode --python $(BIN)/python -q -c constraints.txt -e "$(1)"; then :; \
	else echo "installing with pip"; $(PIP) -e "$(1)"; fi
endef

# compileall after uv: uv compiles only what it installs now, so a venv made before --compile-bytecode (Dagster
# without bytecode) gets it here, once
SITE_PACKAGES = $(shell $(BIN)/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
$(VENV)/.installed: pyproject.toml constraints.txt Makefile | $(BIN)/python
	$(call install_pinned,.)
	@test -d $(SITE_PACKAGES)/dagster/__pycache__ || $(BIN)/python -m compileall -q -j 0 $(SITE_PACKAGES) >/dev/null || true
	@touch $@

# The tests need the spark extra (pyspark on the machine's Java); `make run` installs only the base package.
$(VENV)/.installed-dev: $(VENV)/.installed
	$(call install_pinned,.[dev$(comma)spark])
	@touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/nexus run

ui: install
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# The production pair on one machine: the daemon runs sensors, automation and the run queue; the webserver is the UI.
# Both reach one code server, started first (pipelines/serve.py: with a python_module workspace the daemon would
# reload the whole code location every 60 s); code changes need a restart (`make ui` reloads them). Ctrl-C stops
# all three. NEXUS_DAGSTER_POSTGRES_URL moves the instance to PostgreSQL. nexus_automation is evaluated on the
# code server (assets/automation.py reads the instance and the publishers' clock): one evaluation took 25-30 s on 2
# busy cores, so the daemon waits up to SENSOR_GRPC_TIMEOUT_S for it (Dagster's default, 60 s, failed ticks under load).
SERVE_PORT ?= 3000
CODE_PORT ?= 4266
SENSOR_GRPC_TIMEOUT_S ?= 180
serve: install
	$(BIN)/python -m resources.dagster_instance
	DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS=$(SENSOR_GRPC_TIMEOUT_S) \
	$(BIN)/python -m pipelines.serve --port $(SERVE_PORT) --code-port $(CODE_PORT)

# Unit tests in two workers (pytest-xdist, one file per worker at a time); the integration and e2e tests, which
# start servers, dbt and `nexus` processes of their own, one at a time
test: install-dev chromium java
	$(BIN)/pytest -n 2 --dist loadfile --durations=15 tests/unit
	$(BIN)/pytest --durations=30 tests/integration tests/e2e

# Debian's Chromium for the browser tests (Playwright cannot download its own browsers here); root on CI machines
chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

# Java for pyspark's local[2] in the Spark tests (the spark extra); `make run` needs none
java:
	@command -v java >/dev/null || (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless)

test-fast: install-dev
	$(BIN)/pytest -m "not slow"

# BENCH="word ..." runs only the benchmark modules whose name contains a word (e.g. BENCH=limits, BENCH=scale)
bench: install-dev java
	$(BIN)/python -m tests.bench.run_all $(BENCH)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/sqlfluff lint dbt_project --processes 2

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

docs: install
	$(BIN)/nexus dbt docs generate
	@echo "dbt docs: $(CURDIR)/dbt_project/target/index.html (serve with: .venv/bin/nexus dbt docs serve --port 8080)"

clean:
	rm -rf lake/bronze lake/silver lake/gold lake/quarantine lake/warehouse lake/feeds
	rm -rf $(DAGSTER_HOME)
	rm -rf dbt_project/target dbt_project/logs
