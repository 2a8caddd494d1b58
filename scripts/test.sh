#!/usr/bin/env bash
# Runs every test: vet, the whole suite with the race detector, every benchmark once (so that
# they keep working; no figure is checked), then each fuzz target for a short time. FUZZTIME
# (default 10s) sets how long each fuzz target runs; FUZZTIME=0 skips them.
set -euo pipefail
cd "$(dirname "$0")/.."

go vet ./...
go test -race -count=1 -timeout 20m ./...
go test -run '^$' -bench . -benchtime=1x -timeout 20m ./...

fuzztime=${FUZZTIME:-10s}
fuzzlog=$(mktemp)
trap 'rm -f "$fuzzlog"' EXIT

# fuzz_once runs one fuzz target for $fuzztime, keeping its output in $fuzzlog too.
fuzz_once() {
  go test -run '^$' -fuzz "^${2}\$" -fuzztime "$fuzztime" "$1" 2>&1 | tee "$fuzzlog"
  return "${PIPESTATUS[0]}"
}

if [ "$fuzztime" != "0" ]; then
  # Every Fuzz function in every package, one at a time (go test -fuzz takes one target).
  for pkg in $(go list ./...); do
    dir=$(go list -f '{{.Dir}}' "$pkg")
    for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
      echo "fuzz $pkg $target for $fuzztime"
      fuzz_once "$pkg" "$target" || {
        # Go's fuzzing engine can report "context deadline exceeded" when -fuzztime runs out
        # while a worker is busy on a loaded machine, without any failing input. Only that is
        # retried, once; a real failure writes its input to testdata/fuzz and fails here.
        if grep -q 'context deadline exceeded' "$fuzzlog" && ! grep -q 'Failing input written' "$fuzzlog"; then
          echo "fuzz $pkg $target: the engine's deadline ran out mid-input (no failing input); running it again"
          fuzz_once "$pkg" "$target"
        else
          exit 1
        fi
      }
    done
  done
fi
