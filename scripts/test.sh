#!/usr/bin/env bash
# Runs every test: vet, the whole suite with the race detector, then each fuzz target for a
# short time. FUZZTIME (default 10s) sets how long each fuzz target runs; FUZZTIME=0 skips them.
set -euo pipefail
cd "$(dirname "$0")/.."

go vet ./...
go test -race -count=1 -timeout 20m ./...

fuzztime=${FUZZTIME:-10s}
if [ "$fuzztime" != "0" ]; then
  # Every Fuzz function in every package, one at a time (go test -fuzz takes one target).
  for pkg in $(go list ./...); do
    dir=$(go list -f '{{.Dir}}' "$pkg")
    for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
      echo "fuzz $pkg $target for $fuzztime"
      go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
    done
  done
fi
