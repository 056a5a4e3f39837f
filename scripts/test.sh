#!/usr/bin/env bash
# Runs every test of optgate: unit tests, the interop tests against the
# npm smpp peer and the tests against a real redis-server. Needs go, redis-server, node/npm and sipp on PATH;
# .ci/run installs them on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in go redis-server node npm sipp; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "missing tools: ${missing[*]}; install them (see README, or run .ci/run as root on Debian)" >&2
  exit 2
fi

# The npm peers are installed from the lock file so every run uses the same versions.
if [[ ! -d test/peers/node_modules/smpp ]] || [[ test/peers/package-lock.json -nt test/peers/node_modules/.package-lock.json ]]; then
  (cd test/peers && npm ci --no-audit --no-fund --loglevel=error)
fi

go vet ./...
# The fault tests run on their own with -v, because go test shows the
# output of a passing package only then, and each fault prints its line of
# sent, acknowledged, delivered, lost, duplicated and wrongly allowed.
go test -count=1 -timeout 15m $(go list ./... | grep -v '/test/faults$')
go test -count=1 -v -timeout 5m ./test/faults/
go test -count=1 -race -timeout 15m ./smpp/... ./consent/...
