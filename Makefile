# Two commands matter: `make run` (the main job) and `make test` (the whole suite). Both install what they need.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

.PHONY: help deps controlplane run test typecheck lint unit cluster bench

help:
	@echo "make run    - local control plane, operator, a MiniXdr, its detector and a scripted attack (Ctrl-C stops everything)"
	@echo "make test   - typecheck, lint, unit and cluster tests (builds the control plane on first use)"

# npm ci when the lockfile changed since the last install; node_modules/.bin/node is then Node 24.
node_modules/.installed: package.json package-lock.json .npmrc
	@echo "[deps] npm ci (installs Node 24 from the npm registry into node_modules/.bin)"
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.installed

controlplane:
	bash test/controlplane/build-binaries.sh >/dev/null

# ARGS="--kubeconfig PATH" uses that cluster instead of the embedded one; --once exits after the demo.
run: deps controlplane
	npm run start -- $(ARGS)

test: deps controlplane
	npm test

typecheck lint: deps
	npm run $@

unit: deps
	npm run test:unit

cluster: deps controlplane
	npm run test:cluster

# Benchmarks on the embedded control plane (not part of `make test`); results in bench/results/. See bench/README.md.
bench: deps controlplane
	npm run bench
