# The two commands of the README: `make build` and `make test`.
# Each one prepares a fresh Debian 12 machine first (tools/setup).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
ROLE ?= virt
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: build test test-fast test-boot bench clean

build:
	tools/setup build
	$(PY) tools/build_plugin.py --role $(ROLE)

# Every test, the boot proof included (about 10 of its minutes go to booting
# a real Debian root under emulation; it builds that root once, ~2 min).
test:
	tools/setup test
	$(PY) -m pytest tests $(PYTEST_ARGS)

# Only the proof that a migrated master boots (docs/testing-master-boot.md).
test-boot:
	tools/setup test
	$(PY) -m pytest tests/master_boot $(PYTEST_ARGS)

# Without the real-KVM, migration and boot tests: a quick loop for developers.
test-fast:
	tools/setup build
	$(PY) -m pytest tests -m "not kvm and not slow" $(PYTEST_ARGS)

bench:
	tools/setup test
	$(PY) bench/run_all.py

clean:
	rm -rf build dist .build .pytest_cache bin/rf-migrate-master
