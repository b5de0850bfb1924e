# The two commands a newcomer needs: `make run` and `make test`. Both make their own virtualenv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SERVICES := screening booking notifications staff
PACKAGES := shared $(addprefix services/,$(SERVICES) gateway)

.PHONY: run test faults migrate bench clean lock

# Third-party packages from the lock, every one checked against its hash; then our own packages, editable,
# with --no-deps (everything they need is already there from the lock; pip check says if a pyproject.toml
# asks for something the lock lacks: run `make lock`).
$(VENV)/.installed: requirements-dev.lock $(addsuffix /pyproject.toml,$(PACKAGES))
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation $(addprefix -e ,$(PACKAGES))
	$(PY) -m pip check
	touch $@

# Resolve requirements.in (production: what the images install) and requirements-dev.txt into the lock
# files with every file's hash. Existing pins are kept unless a pyproject.toml asks otherwise;
# `make lock LOCK_ARGS=--upgrade` moves everything to the newest versions, `LOCK_ARGS="--upgrade-package X"` one.
# Our own packages are "unsafe" to pip-compile, so they stay out of the locks (they are installed from the tree).
LOCK_FLAGS := --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
	$(addprefix --unsafe-package clinic-,shared $(SERVICES) gateway) $(LOCK_ARGS)
lock: $(VENV)/.installed
	$(VENV)/bin/pip-compile $(LOCK_FLAGS) --output-file requirements.lock requirements.in
	$(VENV)/bin/pip-compile $(LOCK_FLAGS) --output-file requirements-dev.lock requirements.in requirements-dev.txt

# Apply every service's migrations and make the secrets (printing the staff token and the first
# admin's password the first time).
migrate: $(VENV)/.installed
	$(PY) -m clinic_shared.first_start
	@for service in $(SERVICES); do $(PY) -m $$service.migrate || exit 1; done

# The whole system on the embedded defaults (or on whatever CLINIC_* settings say). Ctrl-C stops it.
run: migrate
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/honcho start -f Procfile || [ $$? -eq 130 ]

# Unit, integration and system tests. CLINIC_REQUIRE_BACKENDS=1 turns a missing PostgreSQL or RabbitMQ into a failure.
test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

# The fault run alone, longer than in `make test` (README "Fault run"); CLINIC_FAULT_BOOKINGS=N to change it.
faults: $(VENV)/.installed
	CLINIC_REQUIRE_BACKENDS=1 CLINIC_FAULT_BOOKINGS=$${CLINIC_FAULT_BOOKINGS:-1500} \
		$(PY) -m pytest tests/test_system_faults.py $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(PY) bench/run.py

# The whole system on PostgreSQL + RabbitMQ under concurrent clients; writes bench/RESULTS.md (minutes).
# BENCH_ARGS="--users 16 --seconds 60 --warmup 5" are the defaults.
.PHONY: bench-system
bench-system: $(VENV)/.installed
	$(PY) bench/bench_system.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
