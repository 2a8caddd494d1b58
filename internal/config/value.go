package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Value parsing follows Kafka's ConfigDef: every value is trimmed; INT and LONG are decimal
// numbers of 32 and 64 bits; BOOLEAN is true or false in any case; LIST is comma-separated
// with blanks around items dropped. Errors name the value, not the key: the caller adds the key.

func parseInt(v string, bits int) (int64, error) {
	v = strings.TrimSpace(v)
	n, err := strconv.ParseInt(v, 10, bits)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("%q is out of range for a %d-bit number", v, bits)
		}
		return 0, fmt.Errorf("%q is not a number", v)
	}
	return n, nil
}

func parseInt32(v string) (int32, error) {
	n, err := parseInt(v, 32)
	return int32(n), err
}

func parseInt16(v string) (int16, error) {
	n, err := parseInt(v, 32) // Kafka reads these as INT; the range check comes later
	if err == nil && (n < math.MinInt16 || n > math.MaxInt16) {
		return 0, fmt.Errorf("%d is out of range for a 16-bit number", n)
	}
	return int16(n), err
}

func parseInt64(v string) (int64, error) { return parseInt(v, 64) }

func parseBool(v string) (bool, error) {
	switch v = strings.TrimSpace(v); {
	case strings.EqualFold(v, "true"):
		return true, nil
	case strings.EqualFold(v, "false"):
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", v)
}

func parseDouble(v string) (float64, error) {
	v = strings.TrimSpace(v)
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	return f, nil
}

// oneOf checks that v (trimmed) is one of allowed, matching case exactly as Kafka's
// ValidString does.
func oneOf(v string, allowed ...string) (string, error) {
	v = strings.TrimSpace(v)
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
}

// listOf checks that every item of the list v is one of allowed, and returns the items
// joined by commas.
func listOf(v string, allowed ...string) (string, error) {
	items := splitList(v)
	for _, it := range items {
		if _, err := oneOf(it, allowed...); err != nil {
			return "", fmt.Errorf("%q: item %w", v, err)
		}
	}
	return strings.Join(items, ","), nil
}

// atLeast and between give the range errors.
func atLeast[T int16 | int32 | int64 | float64](v, min T) error {
	if v < min {
		return fmt.Errorf("%v is less than the minimum %v", v, min)
	}
	return nil
}

func between[T int16 | int32 | int64 | float64](v, min, max T) error {
	if v < min || v > max {
		return fmt.Errorf("%v is not between %v and %v", v, min, max)
	}
	return nil
}
