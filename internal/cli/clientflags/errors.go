package clientflags

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
)

// NotFound is the broker saying that a topic, group or transactional id the command named
// does not exist, said plainly: `topic "x" does not exist`. It unwraps to the broker's error
// code, so errors.Is(err, kerr.UnknownTopicOrPartition) still holds.
type NotFound struct {
	Kind string // "topic", "group", "transactional id"
	Name string
	Err  error
}

func (e *NotFound) Error() string { return fmt.Sprintf("%s %q does not exist", e.Kind, e.Name) }

// Unwrap returns the broker's error.
func (e *NotFound) Unwrap() error { return e.Err }

// notFoundCodes are the error codes by which the broker says a thing of each kind does not
// exist.
var notFoundCodes = map[string]error{
	"topic":            kerr.UnknownTopicOrPartition,
	"group":            kerr.GroupIDNotFound,
	"transactional id": kerr.TransactionalIDNotFound,
}

// Explain returns err as a NotFound when it is the broker's code for a thing of kind (topic,
// group, transactional id) named name not existing, and otherwise as "<kind> "<name>": err".
func Explain(kind, name string, err error) error {
	if err == nil {
		return nil
	}
	var nf *NotFound
	if errors.As(err, &nf) {
		return err
	}
	if code, ok := notFoundCodes[kind]; ok && errors.Is(err, code) {
		return &NotFound{Kind: kind, Name: name, Err: err}
	}
	return fmt.Errorf("%s %q: %w", kind, name, err)
}

// Positional returns a cobra.PositionalArgs that takes between min and max arguments (max < 0:
// no limit), each one what names (say "group" or "transactional id"), and says so when the
// count is wrong.
func Positional(what string, min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < min && max == min:
			return fmt.Errorf("name the %s: %s", what, cmd.UseLine())
		case len(args) < min:
			return fmt.Errorf("name at least %d %s: %s", min, what, cmd.UseLine())
		case max >= 0 && len(args) > max:
			return fmt.Errorf("%d arguments (%s): want at most %d %s", len(args), strings.Join(args, " "), max, what)
		}
		return nil
	}
}

// pflagErrRe is pflag's error for a value that does not parse as the flag's type.
var pflagErrRe = regexp.MustCompile(`^invalid argument "(.*)" for "(.*)" flag: (.*)$`)

// FlagError is a cobra FlagErrorFunc that says what a flag wants instead of passing on
// strconv's words: `--partitions "abc": want an integer`.
func FlagError(_ *cobra.Command, err error) error {
	m := pflagErrRe.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	value, flag, why := m[1], m[2], m[3]
	if i := strings.LastIndex(flag, "--"); i >= 0 {
		flag = flag[i:] // "-p, --partitions" names the long form
	}
	switch {
	case strings.Contains(why, "value out of range"):
		why = "want an integer in the flag's range"
	case strings.Contains(why, "ParseInt"), strings.Contains(why, "ParseUint"):
		why = "want an integer"
	case strings.Contains(why, "ParseFloat"):
		why = "want a number"
	case strings.Contains(why, "ParseBool"):
		why = "want true or false"
	case strings.Contains(why, "time: "):
		why = "want a duration such as 500ms, 2s or 1m"
	}
	return fmt.Errorf("%s %q: %s", flag, value, why)
}
