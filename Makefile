# Top-level tasks. `make demo` and `make test` are all a fresh machine needs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .make-stamps
TRIAL_JOBS ?= 2
# Modules to test; `make test TESTS=buildbot.test.unit.util` runs a subset.
TESTS ?= buildbot buildbot_worker buildbot_pkg

.PHONY: all venv system-deps db-servers buildbot43-venv test lint format clean demo demo-stop bench help

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

test: system-deps venv db-servers buildbot43-venv
	$(BIN)/python .ci/run_tests.py --env-file build/db-servers.env \
		--env-file build/buildbot43.env --jobs $(TRIAL_JOBS) $(TESTS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# A demo master, worker and project under demo/, and a first green build.
demo: venv
	$(BIN)/python pkg/make_demo.py

demo-stop:
	-test -x $(BIN)/python && $(BIN)/python pkg/make_demo.py --stop

bench:
	@echo "make bench: not available yet: it needs a master that runs builds." >&2
	@exit 1

clean: demo-stop
	-bash .ci/db-servers stop
	rm -rf $(VENV) $(STAMPS) build demo .coverage .coverage.* htmlcov _trial_temp* .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name '*.egg-info' -type d -prune -exec rm -rf {} +
