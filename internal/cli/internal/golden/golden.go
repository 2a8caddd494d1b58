// Package golden compares command output with files under a package's
// testdata directory. To rewrite the files from the current output, run the
// packages that use it with -update, then review the diff:
//
//	go test ./internal/cli ./internal/cli/out ./internal/cli/topic ./internal/cli/consume ./internal/cli/config ./internal/cli/dropin ./internal/cli/txn ./internal/cli/group ./internal/cli/records -update
//
// (Packages that do not import golden do not know the flag, so -update on
// ./internal/cli/... fails.)
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata from the current output")

// Assert fails t unless got equals the contents of testdata/name. With -update
// it writes got to that file instead.
func Assert(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("output differs from %s (run go test with -update to accept it)\n--- got ---\n%s--- want ---\n%s", path, got, want)
	}
}
