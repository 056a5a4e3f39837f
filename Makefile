# The targets a developer or CI needs. `make test` is the README's test command.
.PHONY: run test build fuzz

build:
	go build -o bin/optgate ./cmd/optgate

run:
	go run ./cmd/optgate run

test:
	./scripts/test.sh

# Runs the tests on a Redis Sentinel group (one master, one replica, three
# sentinels) and on three-master Redis Clusters with and without replicas,
# all redis-server processes on free 127.0.0.1 ports. `make test` runs
# them too.
.PHONY: test-redis-topologies
test-redis-topologies:
	go test -count=1 -timeout 5m ./internal/testredis/ ./test/topologies/
	go test -count=1 -timeout 5m -run '^TestRedis(Cluster|Sentinel)$$' ./consent/

# Runs the fault tests (a broken carrier link, Redis unreachable or slow,
# optgate killed under MO load) and the security tests on their own.
# `make test` runs them too.
.PHONY: test-faults test-security
test-faults:
	go test -count=1 -v -timeout 5m ./internal/faultproxy/ ./test/faults/
test-security:
	go test -count=1 -timeout 5m ./test/security/

# Runs optgate at SOAK_RATE msg/s (default 2000) for SOAK_DURATION
# (default 1h) and prints its RSS and goroutines at the start, middle and
# end. See scripts/soak.sh for the settings.
.PHONY: soak
soak:
	./scripts/soak.sh

# Measures optgate against the SMSC simulator and writes
# docs/benchmarks-latest.md. BENCH_QUICK=1 runs each scenario briefly.
.PHONY: bench
bench:
	./scripts/bench.sh
