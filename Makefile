# The targets a developer or CI needs. `make test` is the README's test command.
.PHONY: run test build fuzz

build:
	go build -o bin/optgate ./cmd/optgate

run:
	go run ./cmd/optgate run

test:
	./scripts/test.sh

# Measures optgate against the SMSC simulator and writes
# docs/benchmarks-latest.md. BENCH_QUICK=1 runs each scenario briefly.
.PHONY: bench
bench:
	./scripts/bench.sh
