# sweep: `make demo` runs it, `make test` tests it. `make help` lists every target.
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
FUZZTIME ?= 30s
# How long the fuzzer may shrink each new input: go test's default (60 s) spent the
# whole run shrinking after its first few seconds (0 execs/s).
FUZZMINIMIZETIME ?= 2s
# Flags of make mutate (go run ./internal/mutate -h lists them), e.g. -files status.go,store/limits.go -max 10.
MUTATE_FLAGS ?=
# go test stops a package after this long (its default, 10 minutes, is too close to cmd/sweep on a slow machine).
TEST_TIMEOUT ?= 30m
# Helm runs as a Go module (no binary to download); the chart test reads this line too.
HELM_VERSION ?= v3.22.0
HELM ?= $(GO) run helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
CHART := deploy/helm/sweep
DEMO_TENANT ?= 5200243
DEMO_CUSTOMERS ?= 20000
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.DEFAULT_GOAL := help
.PHONY: help services browser build demo test lint fuzz chart alerts bench mutate clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

services: ## make PostgreSQL and Redis available (starts or installs them) and create the sweep database
	bash deploy/services.sh

browser: ## make Chromium available for the browser test (installs Debian's chromium as root)
	bash deploy/chromium.sh

build: ## build the sweep server into ./sweep and the development tools (seed, demo, bench) into ./sweep-dev
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o sweep ./cmd/sweep
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o sweep-dev ./cmd/sweep-dev

demo: services build ## migrate, seed a demo tenant, run sweep on :8080 and show one import end to end
	./sweep migrate up
	./sweep-dev seed --tenant $(DEMO_TENANT) --customers $(DEMO_CUSTOMERS) --linked-fraction 0.1 --if-fewer-free 2000
	@mkdir -p .data && ./sweep token create --tenant $(DEMO_TENANT) --scopes imports:read,imports:write,customers:delete,admin --name demo --replace > .data/demo-token
	@./sweep token create --tenant $(DEMO_TENANT) --scopes imports:read,imports:approve --name "risk lead" --replace > .data/demo-approver-token
	@echo "API token for tenant $(DEMO_TENANT) (also in .data/demo-token): $$(head -n 1 .data/demo-token)"
	@echo "A second person's token, to approve deletions above the threshold (.data/demo-approver-token): $$(head -n 1 .data/demo-approver-token)"
	@echo "sweep is starting on http://localhost:8080 (Ctrl-C stops it): open it in a browser and sign in with the token; or try: curl localhost:8080/readyz"
	@./sweep serve --roles api,worker,scheduler & pid=$$!; \
	  trap 'kill $$pid 2>/dev/null; wait $$pid' INT TERM; \
	  ./sweep-dev demo --tenant $(DEMO_TENANT) --token $$(head -n 1 .data/demo-token) || true; \
	  echo "sweep keeps running; Ctrl-C stops it"; wait $$pid

test: services browser ## run the whole test suite against real PostgreSQL and Redis (and Chromium)
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

fuzz: ## fuzz the CSV reader for FUZZTIME (30s), seeded with the hostile corpus; a failing input stays in testdata/fuzz/ (commit it as a seed)
	$(GO) test -run '^$$' -fuzz '^FuzzParseRow$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) .

lint: chart alerts ## go vet, gofmt and staticcheck (and the Helm chart, as make chart; the alert rules, as make alerts)
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

alerts: ## promtool check and unit tests of deploy/prometheus/alerts.yml (installs Debian's prometheus package for promtool as root)
	bash deploy/promtool.sh

chart: ## helm lint and helm template the chart with each values file in its ci/, then check the rendered objects
	@set -e; for f in $(CHART)/ci/*-values.yaml; do \
	  echo "helm lint --strict $(CHART) -f $$f"; $(HELM) lint --strict --quiet $(CHART) -f $$f; \
	done
	@set -e; out=$$(mktemp -d); trap 'rm -rf "$$out"' EXIT; \
	for f in $(CHART)/ci/*-values.yaml; do \
	  echo "helm template sweep $(CHART) -f $$f"; $(HELM) template sweep $(CHART) -f $$f --output-dir "$$out/$$(basename $$f .yaml)" >/dev/null; \
	done
	$(GO) test -count=1 ./deploy/helm/

mutate: services ## mutation test (before a release, not in CI): plants one bug at a time in the files that decide deletion, prints the score and every survivor; MUTATE_FLAGS='-files status.go -max 10'
	$(GO) run ./internal/mutate $(MUTATE_FLAGS)

bench: services build ## measure speed and memory with sweep-dev bench (a scratch database; several minutes)
	./sweep migrate up
	./sweep-dev bench

clean: ## remove the built binaries and local service data
	rm -rf sweep sweep-dev .data
