# Two commands on a fresh machine (as root):
#   make demo   - build/start the embedded single-node cluster (or use KUBECONFIG=... with
#                 USE_KUBECONFIG=1), install the CRD, apply the demo, run the operator
#   make test   - install prerequisites, lint, type-check and run every test tier
SHELL := /bin/bash
VENV := .venv/bin

.PHONY: setup demo test lint unit netns e2e kernel clean

setup:
	scripts/setup.sh

demo: setup
	$(VENV)/nethealth demo $(if $(USE_KUBECONFIG),--use-kubeconfig,--inject-fault)

lint:
	$(VENV)/ruff check operator tests benchmarks
	$(VENV)/ruff format --check operator tests benchmarks
	$(VENV)/mypy
	$(VENV)/lint-imports
	$(VENV)/nethealth crd --check

test: setup lint
	$(VENV)/pytest tests

unit:
	$(VENV)/pytest tests/unit

netns:
	$(VENV)/pytest tests/netns

e2e:
	$(VENV)/pytest tests/e2e

kernel:
	$(VENV)/pytest tests/kernel

clean:
	-$(VENV)/nethealth cluster down
