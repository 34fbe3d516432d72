# The two commands of the README: `make build` and `make test`.
# Each one prepares a fresh Debian 12 machine first (tools/setup).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Python 2.7 (Debian 11's, with PyYAML, jsonschema 2.x, libvirt-python):
# what a stock Fuel 8.0/9.0 master and its nodes run the shipped code with.
PY27 := .venv27/bin/python2.7
ROLE ?= virt
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: build test unit test-fast test-boot bench mutation clean

build:
	tools/setup build
	$(PY) tools/build_plugin.py --role $(ROLE)

# Every test, the boot proof included (about 10 of its minutes go to booting
# a real Debian root under emulation; it builds that root once, ~2 min).
# The unit tests run twice: under Python 2.7 first, then with the rest
# under Python 3. The end-to-end tests run the shipped code under each
# Python with only that one on PATH (tests/lab/interpreters.py).
test:
	tools/setup test
	$(PY27) -m pytest -p no:cacheprovider tests/unit $(PYTEST_ARGS)
	$(PY) -m pytest tests $(PYTEST_ARGS)

# The developer's loop: the pure tests (no root, no daemons, no set-up),
# under Python 3, and at the same time under Python 2.7 where .venv27 exists
# (its report follows Python 3's).
unit:
	@$(PY) -c 'import pytest' 2>/dev/null || { echo "make unit needs pytest in $(VENV): run 'tools/setup test' (as root) first" >&2; exit 1; }
	@log=$$(mktemp); status=0; pid=; \
	if [ -x $(PY27) ]; then \
	  $(PY27) -m pytest -q -p no:cacheprovider tests/unit >"$$log" 2>&1 & pid=$$!; \
	fi; \
	$(PY) -m pytest -q -p no:cacheprovider tests/unit $(PYTEST_ARGS) || status=1; \
	if [ -n "$$pid" ]; then \
	  wait $$pid || status=1; echo "--- Python 2.7 ($(PY27))"; cat "$$log"; \
	fi; \
	rm -f "$$log"; exit $$status

# Only the proof that a migrated master boots (docs/testing-master-boot.md).
test-boot:
	tools/setup test
	$(PY) -m pytest tests/master_boot $(PYTEST_ARGS)

# Without the real-KVM, migration and boot tests: a quick loop for developers.
test-fast:
	tools/setup test
	$(PY) -m pytest tests -m "not kvm and not slow" $(PYTEST_ARGS)

bench:
	tools/setup test
	$(PY) bench/run_all.py

# Not in `make test` nor CI: the unit tests against mutants of the modules
# that decide what happens to an operator's data and guests (9-12 min on
# two cores, niced). Needs .venv (`tools/setup test`); cosmic-ray goes into
# its own .venv-mutation. Survivors: bench/mutation_results.md.
MUTATION_VENV := .venv-mutation
mutation: $(MUTATION_VENV)/.installed
	nice -n 10 $(MUTATION_VENV)/bin/python tools/mutation.py $(MODULES)

$(MUTATION_VENV)/.installed: tools/requirements-mutation.txt
	@test -x $(PY) || { echo "make mutation: $(PY) is missing (tools/setup test)"; exit 1; }
	$(PY) -m venv $(MUTATION_VENV)
	$(MUTATION_VENV)/bin/pip install -q -r tools/requirements-mutation.txt
	touch $@

clean:
	rm -rf build dist .build .pytest_cache bin/rf-migrate-master .mutation
