package records

import (
	"strings"
	"testing"
)

func TestParseOffsetFile(t *testing.T) {
	offs, err := parseOffsetFile(strings.NewReader(
		`{"partitions":[{"topic":"t","partition":0,"offset":3},{"topic":"u","partition":2,"offset":-1}],"version":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offs.Lookup("t", 0); !ok || o.At != 3 {
		t.Errorf("t-0: %+v %v", o, ok)
	}
	if o, ok := offs.Lookup("u", 2); !ok || o.At != -1 {
		t.Errorf("u-2: %+v %v", o, ok)
	}
	for _, bad := range []string{
		`{"partitions":[{"topic":"t","partition":0,"offset":3}],"version":2}`,
		`{"partitions":[],"version":1}`,
		`{"partitions":[{"topic":"t","partition":0,"offset":3},{"topic":"t","partition":0,"offset":4}],"version":1}`,
		`{"partitions":[{"partition":0,"offset":3}],"version":1}`,
		`{"partitions":[{"topic":"t","partition":0,"offset":"x"}],"version":1}`,
		`not json`,
	} {
		if _, err := parseOffsetFile(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
