package produce

import (
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/cli/property"
)

// readerProperties are the --property keys of Kafka's LineMessageReader that
// produce understands.
var readerProperties = []string{
	"parse.key", "key.separator",
	"parse.headers", "headers.delimiter", "headers.separator", "headers.key.separator",
	"ignore.error", "null.marker",
}

// lineReader turns one input line into a record, as kafka-console-producer's
// LineMessageReader does: [headers<headers.delimiter>][key<key.separator>]value.
type lineReader struct {
	parseKey            bool   // the line holds a key before keySeparator
	keySeparator        string // default "\t"
	parseHeaders        bool   // the line starts with headers before headersDelimiter
	headersDelimiter    string // default "\t"; ends the headers
	headersSeparator    string // default ","; between headers
	headersKeySeparator string // default ":"; between a header's key and value
	ignoreError         bool   // a missing separator is not an error: the part is absent
	nullMarker          *string
}

// newLineReader configures a lineReader from --property key=value flags.
func newLineReader(props []string) (*lineReader, error) {
	m, err := property.Parse("property", props, readerProperties)
	if err != nil {
		return nil, err
	}
	lr := &lineReader{
		keySeparator:        property.String(m, "key.separator", "\t"),
		headersDelimiter:    property.String(m, "headers.delimiter", "\t"),
		headersSeparator:    property.String(m, "headers.separator", ","),
		headersKeySeparator: property.String(m, "headers.key.separator", ":"),
	}
	if lr.parseKey, err = property.Bool(m, "parse.key", false); err != nil {
		return nil, err
	}
	if lr.parseHeaders, err = property.Bool(m, "parse.headers", false); err != nil {
		return nil, err
	}
	if lr.ignoreError, err = property.Bool(m, "ignore.error", false); err != nil {
		return nil, err
	}
	if v, ok := m["null.marker"]; ok {
		lr.nullMarker = &v
	}
	if lr.parseKey && lr.keySeparator == "" {
		return nil, errors.New("property key.separator: may not be empty")
	}
	seps := []struct{ name, value string }{
		{"key.separator", lr.keySeparator},
		{"headers.delimiter", lr.headersDelimiter},
		{"headers.separator", lr.headersSeparator},
		{"headers.key.separator", lr.headersKeySeparator},
	}
	for _, s := range seps {
		if lr.nullMarker != nil && s.value == *lr.nullMarker {
			return nil, fmt.Errorf("properties null.marker and %s may not be equal", s.name)
		}
	}
	if lr.parseHeaders {
		for _, s := range seps[1:] {
			if s.value == "" {
				return nil, fmt.Errorf("property %s: may not be empty", s.name)
			}
		}
		switch {
		case lr.headersDelimiter == lr.headersSeparator:
			return nil, errors.New("properties headers.delimiter and headers.separator may not be equal")
		case lr.headersDelimiter == lr.headersKeySeparator:
			return nil, errors.New("properties headers.delimiter and headers.key.separator may not be equal")
		case lr.headersSeparator == lr.headersKeySeparator:
			return nil, errors.New("properties headers.separator and headers.key.separator may not be equal")
		}
	}
	return lr, nil
}

// record parses line (without its line ending) into a record. lineNo counts
// from 1 and appears in errors.
func (lr *lineReader) record(line string, lineNo int) (*kgo.Record, error) {
	r := &kgo.Record{}
	rest := line
	if lr.parseHeaders {
		headers, after, ok := strings.Cut(rest, lr.headersDelimiter)
		switch {
		case ok:
			rest = after
			if !lr.isNull(headers) {
				hs, err := lr.splitHeaders(headers, lineNo)
				if err != nil {
					return nil, err
				}
				r.Headers = hs
			}
		case !lr.ignoreError:
			return nil, fmt.Errorf("line %d: no headers delimiter %q found: %q", lineNo, lr.headersDelimiter, line)
		}
	}
	if lr.parseKey {
		key, after, ok := strings.Cut(rest, lr.keySeparator)
		switch {
		case ok:
			rest = after
			r.Key = lr.bytes(key)
		case !lr.ignoreError:
			return nil, fmt.Errorf("line %d: no key separator %q found: %q", lineNo, lr.keySeparator, line)
		}
	}
	r.Value = lr.bytes(rest)
	return r, nil
}

func (lr *lineReader) splitHeaders(headers string, lineNo int) ([]kgo.RecordHeader, error) {
	var hs []kgo.RecordHeader
	for _, pair := range strings.Split(headers, lr.headersSeparator) {
		k, v, ok := strings.Cut(pair, lr.headersKeySeparator)
		if !ok {
			if !lr.ignoreError {
				return nil, fmt.Errorf("line %d: no header key separator %q found in %q", lineNo, lr.headersKeySeparator, pair)
			}
			hs = append(hs, kgo.RecordHeader{Key: pair})
			continue
		}
		if lr.isNull(k) {
			return nil, fmt.Errorf("line %d: header key %q equals null.marker; header keys cannot be null", lineNo, k)
		}
		hs = append(hs, kgo.RecordHeader{Key: k, Value: lr.bytes(v)})
	}
	return hs, nil
}

func (lr *lineReader) isNull(s string) bool { return lr.nullMarker != nil && s == *lr.nullMarker }

// bytes returns s as bytes: nil (null) when it equals null.marker, else a
// non-nil slice, so an empty string is an empty, not a null, key or value.
func (lr *lineReader) bytes(s string) []byte {
	if lr.isNull(s) {
		return nil
	}
	return append([]byte{}, s...)
}
