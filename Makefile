# The targets a developer or CI needs. `make test` is the README's test command.
.PHONY: run test build fuzz

build:
	go build -o bin/optgate ./cmd/optgate

run:
	go run ./cmd/optgate run

test:
	./scripts/test.sh
