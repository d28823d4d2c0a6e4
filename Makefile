# aitransport: `make run` starts one data-plane node on the embedded store; `make test` runs
# every test. Both do all set-up themselves on a fresh machine (Node 24, npm deps, redis-server).
SHELL := /bin/bash
.DEFAULT_GOAL := help
NODE_BIN := $(shell scripts/ensure-node.sh)
export PATH := $(NODE_BIN):$(PATH)
AIT_CONFIG ?= examples/config/dev.yaml

.PHONY: help setup deps system-deps run test test-unit test-integration lint typecheck format generate bench chaos clean conformance release-evidence

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

node_modules/.installed: package.json package-lock.json
	# npm install (not ci): npm 11 rejects lockfiles whose optional per-platform packages
	# (biome) were pruned on another platform; install still honours the locked versions.
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

deps: node_modules/.installed ## install npm dependencies (Node 24 is fetched first if needed)

system-deps: ## install Debian packages the tests need (redis-server)
	@scripts/ensure-system-deps.sh

setup: deps system-deps

run: deps ## start one data-plane node on the embedded store (WS+REST :6001, ops :9601)
	node dataplane/src/main.ts --config $(AIT_CONFIG)

lint: deps ## biome lint + format check
	npx biome check .

typecheck: deps ## tsc --noEmit over the whole project
	npx tsc --noEmit -p tsconfig.json

test-unit: deps ## unit tests beside the code
	npx vitest run --project unit

test-integration: setup k8s-tools ## integration tests over real sockets and processes on loopback
	npx vitest run --project integration

# k8s-tools first: a cold machine builds the control plane, helm and promtool from the Go module
# proxy (≈ 18 min on 2 cores, cached per version afterwards) before any test waits on them.
test: setup k8s-tools lint typecheck ## every test (what CI runs)
	npx vitest run

format: deps
	npx biome format --write .

bench: deps ## benchmarks under test/load (JSON reports, compared to budgets)
	node test/load/run.ts

chaos: setup ## every chaos scenario on a local 3-node cluster + redis-server (reports in chaos/reports/)
	node chaos/run.ts

# The report is vitest's JSON (per-test status); release-evidence reads the newest one.
conformance: deps ## protocol conformance suite (test/conformance, goldens; UPDATE_GOLDEN=1 rewrites), JSON report in test/conformance/reports/
	@mkdir -p test/conformance/reports
	npx vitest run --project integration test/conformance --reporter=default --reporter=json \
		--outputFile.json=test/conformance/reports/conformance-$$(date -u +%Y%m%dT%H%M%SZ).json

release-evidence: deps ## collect the newest conformance, bench and chaos reports into release-evidence.json (exit 1 on a failed or missing gate)
	node scripts/release-evidence.ts $(RELEASE_EVIDENCE_FLAGS)

clean:
	rm -rf node_modules test/load/reports chaos/reports test/conformance/reports release-evidence.json

.PHONY: k8s-tools
k8s-tools: ## build the Kubernetes test binaries from the Go module proxy, cached per version (K8S_TOOLS="apiserver etcd" for a subset)
	@scripts/k8s-tools.sh $(K8S_TOOLS)

.PHONY: chart-lint rules-test
chart-lint: deps ## helm lint --strict, helm template checks and a server-side dry-run of the operator chart
	npx vitest run test/integration/chart.test.ts

rules-test: deps ## promtool check rules + test rules of the generated alerts and the chart's
	npx vitest run test/integration/alert-rules.test.ts

.PHONY: images
images: ## build the data-plane and operator images with docker buildx, tagged <package.json version> (PLATFORMS=linux/amd64,linux/arm64 PUSH=1 for multi-arch; REGISTRY=…)
	@scripts/images.sh

.PHONY: demo demo-test
demo: deps ## the demo: a node on the embedded store, the demo page on http://127.0.0.1:6080/ and a producer streaming a turn every few seconds
	node examples/demo/run.ts

demo-test: deps ## the demo page in headless Chromium (Debian's chromium, installed if missing): streams, reloads mid-stream, resumes, compares the text
	@scripts/ensure-chromium.sh
	npx vitest run --config test/browser/vitest.config.ts

.PHONY: e2e-kind
e2e-kind: deps ## end-to-end on kind (needs Docker with buildx, and kind): images, chart, a cluster with managed Redis, a streamed turn, a version rollout; not part of make test
	node test/e2e/kind.ts
