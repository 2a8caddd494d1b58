package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseProperties(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want map[string]string
	}{
		{"empty", "", map[string]string{}},
		{"equals", "a=1\nb = 2\n", map[string]string{"a": "1", "b": "2"}},
		{"colon", "a:1\nb : 2", map[string]string{"a": "1", "b": "2"}},
		{"blank separator", "a 1\nb\t\t2", map[string]string{"a": "1", "b": "2"}},
		{"blank then equals", "a  =  1", map[string]string{"a": "1"}},
		{"only one separator eaten", "a==1\nb::2\nc = =3", map[string]string{"a": "=1", "b": ":2", "c": "=3"}},
		{"key alone", "a\nb=", map[string]string{"a": "", "b": ""}},
		{"comments", "# c\n! c\n   # indented\na=1 # not a comment", map[string]string{"a": "1 # not a comment"}},
		{"blank lines", "\n\n  \t\na=1\n\n", map[string]string{"a": "1"}},
		{"leading blanks", "   a=1\n\f\tb=2", map[string]string{"a": "1", "b": "2"}},
		{"trailing blanks kept", "a=1  ", map[string]string{"a": "1  "}},
		{"later wins", "a=1\na=2", map[string]string{"a": "2"}},
		{"crlf and cr", "a=1\r\nb=2\rc=3\r", map[string]string{"a": "1", "b": "2", "c": "3"}},
		{"continuation", "listeners=PLAINTEXT://:9092,\\\n    CONTROLLER://:9093\nx=y",
			map[string]string{"listeners": "PLAINTEXT://:9092,CONTROLLER://:9093", "x": "y"}},
		{"continuation across crlf", "a=1\\\r\n  2", map[string]string{"a": "12"}},
		{"continued comment does not continue", "# c \\\na=1", map[string]string{"a": "1"}},
		{"continuation into comment char", "a=1\\\n# 2", map[string]string{"a": "1# 2"}},
		{"continuation at eof", "a=1\\", map[string]string{"a": "1"}},
		{"even backslashes do not continue", "a=1\\\\\nb=2", map[string]string{"a": `1\`, "b": "2"}},
		{"escaped separators in key", `a\=b\:c\ d=1`, map[string]string{"a=b:c d": "1"}},
		{"escapes in value", `a=x\ty\nz\\w\q`, map[string]string{"a": "x\ty\nz\\wq"}},
		{"unicode escape", `a=caf\u00e9 \u2603`, map[string]string{"a": "café ☃"}},
		{"surrogate pair", `a=\ud83d\ude00`, map[string]string{"a": "😀"}},
		{"utf-8 as is", "a=ĉu ☃", map[string]string{"a": "ĉu ☃"}},
		{"windows path", `log.dirs=C:\\kafka\\logs`, map[string]string{"log.dirs": `C:\kafka\logs`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseProperties(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParsePropertiesErrors(t *testing.T) {
	for _, in := range []string{`a=\u12`, `a=\u12zz`, "x=1\n" + `\uzzzz=1`} {
		if _, err := ParseProperties(strings.NewReader(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	_, err := ParseProperties(strings.NewReader("x=1\n\ny=\\u1"))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("error should name line 3: %v", err)
	}
}
