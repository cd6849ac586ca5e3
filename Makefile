# Top-level tasks. `make demo` and `make test` are all a fresh machine needs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .make-stamps
TRIAL_JOBS ?= 2
# Modules to test; `make test TESTS=buildbot.test.unit.util` runs a subset.
TESTS ?= buildbot buildbot_worker buildbot_pkg

.PHONY: all venv system-deps db-servers buildbot43-venv docker-engine www www-test bench-ui test lint format clean demo demo-stop bench help

all: venv

help:
	@echo "make demo    - set up and run a demo master, worker and first build"
	@echo "make test    - set up everything the tests need and run the whole suite"
	@echo "make lint    - ruff checks;  make format - apply ruff's formatting"
	@echo "make clean   - remove the virtualenv and build/test leftovers"

$(STAMPS):
	mkdir -p $@

# The virtualenv is rebuilt only when a distribution's metadata changes, so a
# second `make test` starts at once.
$(STAMPS)/venv: pkg/pyproject.toml master/pyproject.toml worker/pyproject.toml | $(STAMPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q 'hatchling>=1.21' 'editables>=0.5'
	# buildbot-pkg provides the build plugins of the others, hence no build isolation.
	$(BIN)/python -m pip install -q --no-build-isolation -e pkg
	$(BIN)/python -m pip install -q --no-build-isolation -e 'master[test]' -e 'worker[test,msgpack]'
	# the docstring-free bytecode `buildbot start` runs the master with (python -OO)
	$(BIN)/python -OO -m compileall -q -j0 \
		"$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
		master/buildbot worker/buildbot_worker >/dev/null
	touch $@

venv: $(STAMPS)/venv

system-deps:
	bash .ci/system-deps

# Throw-away PostgreSQL and MariaDB servers for the DB suite (reused while they run).
db-servers:
	bash .ci/db-servers start

# The real Buildbot 4.3, in a throw-away virtualenv under build/, for the
# compatibility tests (never imported by our code).
buildbot43-venv:
	bash .ci/buildbot43-venv

# A throw-away Docker engine and base image for the Docker latent worker tests.
docker-engine:
	bash .ci/docker-engine start

# The web UI: npm dependencies from the lock file, the Vite build into
# www/buildbot_www/static, and buildbot-www installed (editable) in the virtualenv
# so that the master serves it at /.
$(STAMPS)/www-deps: www/package-lock.json | $(STAMPS)
	cd www && npm ci --no-audit --no-fund --loglevel=error
	touch $@

www: system-deps venv $(STAMPS)/www-deps
	cd www && npm run build
	$(BIN)/python -m pip install -q --no-build-isolation --no-deps -e www

# The UI's unit tests (Vitest, jsdom).
www-test: www
	cd www && npm test

# BUILDBOT_TEST_UI_REQUIRED: the browser tests fail, not skip, without the UI build.
test: system-deps venv db-servers buildbot43-venv docker-engine www-test
	BUILDBOT_TEST_UI_REQUIRED=1 $(BIN)/python .ci/run_tests.py --env-file build/db-servers.env \
		--env-file build/buildbot43.env --env-file build/docker-engine.env \
		--jobs $(TRIAL_JOBS) $(TESTS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# A demo master, worker and project under demo/, and a first green build.
demo: venv www
	$(BIN)/python pkg/make_demo.py

demo-stop:
	-test -x $(BIN)/python && $(BIN)/python pkg/make_demo.py --stop

# cibench (../shared/bench) on our master and worker and on the real Buildbot 4.3
# (build/bench-anchor-venv), in one sitting; results under build/bench/, then the
# side-by-side table. `make bench BENCH_RUNS=3 BENCH_SCENARIO=throughput,api`.
BENCH_RUNS ?= 1
BENCH_SCENARIO ?= all
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
CIBENCH_SRC := $(ROOT)/../shared/bench/cibench.py
BENCH_DIR := $(ROOT)/build/bench
BENCH_ARGS = --scenario $(BENCH_SCENARIO) --runs $(BENCH_RUNS)

bench: venv
	@test -f "$(CIBENCH_SRC)" || { echo "make bench: $(CIBENCH_SRC) not found:" \
		"the benchmark lives in shared/bench beside this repository" >&2; exit 1; }
	bash .ci/bench-anchor-venv
	mkdir -p $(BENCH_DIR)
	cp "$(CIBENCH_SRC)" $(BENCH_DIR)/cibench.py
	rm -f $(BENCH_DIR)/ours.json $(BENCH_DIR)/anchor.json
	@rc=0; \
	echo "bench: ours ($(BIN)), log in $(BENCH_DIR)/ours.log"; \
	$(PYTHON) $(BENCH_DIR)/cibench.py --bin $(ROOT)/$(BIN) $(BENCH_ARGS) --label ours \
		--out $(BENCH_DIR)/ours.json >$(BENCH_DIR)/ours.log 2>&1 || rc=1; \
	echo "bench: anchor (build/bench-anchor-venv), log in $(BENCH_DIR)/anchor.log"; \
	$(PYTHON) $(BENCH_DIR)/cibench.py --bin $(ROOT)/build/bench-anchor-venv/bin $(BENCH_ARGS) \
		--label anchor-buildbot-4.3.0 --out $(BENCH_DIR)/anchor.json \
		>$(BENCH_DIR)/anchor.log 2>&1 || rc=1; \
	$(PYTHON) $(BENCH_DIR)/cibench.py --compare $(BENCH_DIR)/ours.json $(BENCH_DIR)/anchor.json \
		|| rc=1; \
	if [ $$rc -ne 0 ]; then echo "make bench: a scenario reported an error (see the logs)" >&2; fi; \
	exit $$rc

# The UI's speed figure of issue 9, alone on the machine: the builders page with 200
# builders and 10,000 builds must be drawn within 500 ms (best warm load).
bench-ui: www
	BUILDBOT_TEST_UI_REQUIRED=1 BUILDBOT_UI_ROWS_BOUND_MS=500 $(BIN)/python -m twisted.trial \
		--temp-directory=build/bench-ui buildbot.test.integration.test_ui_e2e.UiBuildersPerformance
	@grep -h "builders page, " build/bench-ui/test.log || true

clean: demo-stop
	-bash .ci/db-servers stop
	-bash .ci/docker-engine stop
	rm -rf $(VENV) $(STAMPS) build demo .coverage .coverage.* htmlcov _trial_temp* .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name '*.egg-info' -type d -prune -exec rm -rf {} +
