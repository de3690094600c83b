# Portcullis. Every target works on a fresh clone: tools are installed, pinned, into ./bin.
SHELL      := /bin/bash
GO         ?= go
BIN        := $(CURDIR)/bin
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS    := -s -w -X main.version=$(VERSION)
IMAGE      ?= portcullis:$(VERSION)

GRPCURL_VERSION        := v1.9.4
GHZ_VERSION            := v0.93.0
HELM_VERSION           := v3.22.0
CONTROLLER_GEN_VERSION := v0.23.0
RIE_VERSION            := v0.0.0-20261030222936-bef5c4ba774d
CADDY_VERSION          := v2.11.9
GOLANGCI_LINT_VERSION  := v2.15.0
# The Kubernetes API server the config-source tests run against: the k8s.io version in go.mod.
APISERVER_VERSION      := v0.37.2
# Debian packages the tests start real instances of (never the system services).
SYSTEM_PACKAGES        := nginx-light redis-server

export PATH := $(BIN):$(PATH)
# go-control-plane compiles its generated vtprotobuf marshalers, which the gRPC codec uses, only
# with this tag; every go command here (and the ones the tests run) gets it.
export GOFLAGS += -tags=vtprotobuf

.PHONY: all help run build test bench fuzz lint generate image helm-lint tools test-tools system-deps clean

all: build

## help: every target with what it does
help:
	@grep -E '^## [a-z-]+:' $(MAKEFILE_LIST) | sed -e 's/^## //' | awk -F': ' '{printf "  %-12s %s\n", $$1, $$2}'

## run: serve on the embedded demo config (gRPC :50051, admin :8181)
run: build
	$(BIN)/portcullis serve

## build: the portcullis binary into ./bin
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/portcullis ./cmd/portcullis

## test: lint, vet, race-enabled unit tests and the end-to-end tests of the built binary
test: system-deps test-tools build lint
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) test -race -timeout 15m ./...
	# Tests the race detector would change the subject of (ristretto's access sampling): see
	# pkg/cache/scan_test.go.
	$(GO) test -count=1 ./pkg/cache

## bench: Go benchmarks of the hot path (the shared tier's against a real redis-server), the gRPC and the HTTP forward-auth load comparisons
bench: system-deps $(BIN)/ghz build
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/... ./cmd/...
	$(GO) run ./test/load -ghz $(BIN)/ghz -portcullis $(BIN)/portcullis
	$(GO) run ./test/load/forwardauth -portcullis $(BIN)/portcullis

## fuzz: every fuzz target for FUZZTIME each (default 10s), FUZZJOBS at a time; a line per target in FUZZLOG
FUZZTIME ?= 10s
FUZZJOBS ?= 1
FUZZLOG  ?= fuzz-results.txt
FUZZKEEP ?= 0
fuzz:
	FUZZTIME=$(FUZZTIME) FUZZJOBS=$(FUZZJOBS) FUZZLOG=$(FUZZLOG) FUZZKEEP=$(FUZZKEEP) GO=$(GO) test/fuzz/run.sh

## lint: golangci-lint (staticcheck, errcheck, revive, gci, misspell, unused; .golangci.yml) and go mod tidy
lint: $(BIN)/golangci-lint
	$(BIN)/golangci-lint run ./...
	$(GO) mod tidy -diff

## generate: CRDs and deepcopy from api/v1alpha1; the chart installs the same CRDs from its crds/
generate: $(BIN)/controller-gen
	$(BIN)/controller-gen object paths=./api/... crd paths=./api/... output:crd:dir=deploy/crds
	cp deploy/crds/*.yaml deploy/helm/portcullis/crds/

## image: the container image (needs a Docker engine)
image:
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) .

## helm-lint: lint and render the chart
helm-lint: $(BIN)/helm
	$(BIN)/helm lint deploy/helm/portcullis
	$(BIN)/helm template portcullis deploy/helm/portcullis > /dev/null

## system-deps: the Debian packages the tests run (nginx, redis-server); installs what is missing, as root
system-deps:
	@missing=""; \
	  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	  command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing="$$missing redis-server"; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" != 0 ]; then echo "missing Debian packages:$$missing (apt-get install -y$$missing as root)"; exit 1; fi; \
	    echo "installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	    for s in nginx redis-server; do service $$s stop >/dev/null 2>&1 || true; done; \
	  fi

## tools: every pinned tool; test-tools: the ones the tests run
tools: test-tools $(BIN)/ghz $(BIN)/grpcurl $(BIN)/golangci-lint
test-tools: $(BIN)/aws-lambda-rie $(BIN)/helm $(BIN)/controller-gen $(BIN)/caddy $(BIN)/apiextensions-apiserver $(BIN)/etcd-embedded

$(BIN)/grpcurl:
	GOBIN=$(BIN) $(GO) install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)
$(BIN)/ghz:
	GOBIN=$(BIN) $(GO) install github.com/bojand/ghz/cmd/ghz@$(GHZ_VERSION)
$(BIN)/helm:
	GOBIN=$(BIN) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
$(BIN)/controller-gen:
	GOBIN=$(BIN) $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)
$(BIN)/aws-lambda-rie:
	GOBIN=$(BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)
$(BIN)/caddy:
	GOFLAGS= GOBIN=$(BIN) $(GO) install github.com/caddyserver/caddy/v2/cmd/caddy@$(CADDY_VERSION)
$(BIN)/golangci-lint:
	GOFLAGS= GOBIN=$(BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
$(BIN)/apiextensions-apiserver:
	GOFLAGS= GOBIN=$(BIN) $(GO) install k8s.io/apiextensions-apiserver@$(APISERVER_VERSION)
# etcd for the API server of test/kube: embedded from go.etcd.io/etcd/server/v3 at the go.mod version.
$(BIN)/etcd-embedded: test/kube/etcd/main.go go.mod
	$(GO) build -o $@ ./test/kube/etcd

clean:
	rm -rf $(BIN)
