package property

import (
	"reflect"
	"testing"
)

func TestParseAddConfig(t *testing.T) {
	got, err := ParseAddConfig([]string{"retention.ms=1000,cleanup.policy=[compact,delete]", " segment.bytes = 14 "})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"retention.ms": "1000", "cleanup.policy": "compact,delete", "segment.bytes": "14"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"novalue", "a=1,a=2", "a=[1,2", "=1", "a=1]"} {
		if _, err := ParseAddConfig([]string{bad}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseDeleteConfig(t *testing.T) {
	got, err := ParseDeleteConfig([]string{"a, b", "c"})
	if err != nil || !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("got %v %v", got, err)
	}
	if _, err := ParseDeleteConfig([]string{"a,a"}); err == nil {
		t.Error("duplicate: no error")
	}
}
