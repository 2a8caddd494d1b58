package config

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
)

// ParseProperties reads a Java .properties file, as Kafka reads server.properties
// (java.util.Properties.load), and returns its keys and values. Later keys replace earlier ones.
//
// The format, line by line:
//
//   - a line whose first non-blank character is '#' or '!' is a comment; blank lines are
//     skipped;
//   - a line ending in an odd number of backslashes continues on the next line, whose leading
//     blanks are dropped (a comment line never continues);
//   - the key runs from the first non-blank character to the first unescaped '=', ':' or
//     blank; blanks, then one '=' or ':', then blanks separate it from the value, which runs
//     to the end of the line (trailing blanks kept: Load trims values, as Kafka does);
//   - in keys and values, \t \n \r \f and \uXXXX are escapes, and a backslash before any
//     other character stands for that character ("\=" is "=", "\\" is "\").
//
// Blanks are space, tab and form feed. Unlike Kafka, which reads the file as ISO-8859-1, the
// input is taken as UTF-8. A malformed \uXXXX escape is an error naming its line.
func ParseProperties(r io.Reader) (map[string]string, error) {
	props := make(map[string]string)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	sc.Split(scanPropertyLines)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		start := lineNo
		line := trimLeftBlank(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		// Join continuation lines.
		var logical strings.Builder
		for {
			cont := endsInOddBackslashes(line)
			if cont {
				line = line[:len(line)-1]
			}
			logical.WriteString(line)
			if !cont || !sc.Scan() {
				break
			}
			lineNo++
			line = trimLeftBlank(sc.Text())
		}
		key, value, err := splitProperty(logical.String())
		if err != nil {
			return nil, fmt.Errorf("config: properties line %d: %w", start, err)
		}
		props[key] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("config: reading properties: %w", err)
	}
	return props, nil
}

// scanPropertyLines splits at \n, \r or \r\n, the line terminators Properties.load knows.
func scanPropertyLines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	for i, c := range data {
		switch c {
		case '\n':
			return i + 1, data[:i], nil
		case '\r':
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			if atEOF {
				return i + 1, data[:i], nil
			}
			return 0, nil, nil // need one more byte to tell \r from \r\n
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

func trimLeftBlank(s string) string {
	i := 0
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	return s[i:]
}

func endsInOddBackslashes(s string) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// splitProperty splits a logical line (no leading blanks, continuations joined) into its
// unescaped key and value.
func splitProperty(line string) (key, value string, err error) {
	end := len(line)
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '\\' {
			i++ // the escaped character is part of the key
			continue
		}
		if c == '=' || c == ':' || isBlank(c) {
			end = i
			break
		}
	}
	rest := trimLeftBlank(line[end:])
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = trimLeftBlank(rest[1:])
	}
	if key, err = unescape(line[:end]); err != nil {
		return "", "", err
	}
	if value, err = unescape(rest); err != nil {
		return "", "", err
	}
	return key, value, nil
}

// unescape applies the escapes of the properties format.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch c = s[i]; c {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			r, ok := hex4(s, i+1)
			if !ok {
				return "", fmt.Errorf(`malformed \uxxxx escape in %q`, s)
			}
			i += 4
			// A UTF-16 surrogate pair spelled as two escapes is one character.
			if utf16.IsSurrogate(r) && i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
				if r2, ok := hex4(s, i+3); ok {
					if c := utf16.DecodeRune(r, r2); c != unicode.ReplacementChar {
						r = c
						i += 6
					}
				}
			}
			b.WriteRune(r)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// hex4 decodes the four hex digits at s[i:i+4].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	v, err := strconv.ParseUint(s[i:i+4], 16, 16)
	return rune(v), err == nil
}
