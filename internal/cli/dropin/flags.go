package dropin

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// valueKind says whether a Kafka option takes a value.
type valueKind int

const (
	noValue       valueKind = iota // a switch: --list
	requiredValue                  // --topic T or --topic=T
	optionalValue                  // --state or --state Stable: the next word is the value unless it is an option
	multiValue                     // --producer-props a=1 b=2: every word up to the next option is a value (argparse's nargs "+")
)

// option is one flag a tool accepts, spelled as Kafka's tool spells it (no leading dashes).
type option struct {
	name string
	kind valueKind
	help string
}

// options is a tool's flags, as Kafka's tools parse them (joptsimple): "--name value" or
// "--name=value"; no single-dash forms, no positional arguments.
type options []option

func (os options) lookup(name string) (option, bool) {
	for _, o := range os {
		if o.name == name {
			return o, true
		}
	}
	return option{}, false
}

// usage writes the options, one a line, sorted by name.
func (os options) usage(w io.Writer) {
	sorted := append(options(nil), os...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, o := range sorted {
		arg := ""
		switch o.kind {
		case requiredValue:
			arg = " <value>"
		case optionalValue:
			arg = " [value]"
		case multiValue:
			arg = " <value>..."
		}
		fmt.Fprintf(w, "  --%-28s %s\n", o.name+arg, o.help)
	}
}

// The connection options most tools take, with one wording.
var (
	optBootstrapServer = option{"bootstrap-server", requiredValue, "host:port of a broker to connect to"}
	optBrokerList      = option{"broker-list", requiredValue, "the same as --bootstrap-server (deprecated in Kafka)"}
)

// parsed holds the options given on one command line. Invariant: every key of vals is
// the name of an option of the tool that parsed it.
type parsed struct {
	vals map[string][]string // option name -> values in order; a switch has one "" value
}

// parse reads args against opts. An unknown option, a missing value and a positional
// argument are errors naming the word at fault.
func parse(opts options, args []string) (*parsed, error) {
	p := &parsed{vals: map[string][]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") || a == "--" {
			return nil, fmt.Errorf("unexpected argument %q: options are given as --name or --name value", a)
		}
		name, val, hasEq := strings.Cut(a[2:], "=")
		o, ok := opts.lookup(name)
		if !ok {
			return nil, fmt.Errorf("%s is not a recognized option (see --help)", "--"+name)
		}
		switch o.kind {
		case noValue:
			if hasEq {
				return nil, fmt.Errorf("option --%s takes no value", name)
			}
			val = ""
		case requiredValue:
			if !hasEq {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("option --%s requires an argument", name)
				}
				i++
				val = args[i]
			}
		case optionalValue:
			if !hasEq && i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
				i++
				val = args[i]
			}
		case multiValue:
			if hasEq {
				break
			}
			if i+1 >= len(args) || strings.HasPrefix(args[i+1], "--") {
				return nil, fmt.Errorf("option --%s requires an argument", name)
			}
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
				i++
				p.vals[name] = append(p.vals[name], args[i])
			}
			continue
		}
		p.vals[name] = append(p.vals[name], val)
	}
	return p, nil
}

// has reports whether the option was given.
func (p *parsed) has(name string) bool { return len(p.vals[name]) > 0 }

// get returns the option's last value, or "".
func (p *parsed) get(name string) string {
	v := p.vals[name]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// all returns every value given for the option.
func (p *parsed) all(name string) []string { return p.vals[name] }

// require returns the option's value, or Kafka's "Missing required argument" error.
func (p *parsed) require(name string) (string, error) {
	if !p.has(name) || p.get(name) == "" {
		return "", fmt.Errorf("Missing required argument \"[%s]\"", name)
	}
	return p.get(name), nil
}

// int returns the option's value as an integer, or def when it was not given.
func (p *parsed) int(name string, def int64) (int64, error) {
	if !p.has(name) {
		return def, nil
	}
	n, err := strconv.ParseInt(p.get(name), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("option --%s: %q is not an integer", name, p.get(name))
	}
	return n, nil
}

// pass appends "--to value" to args for each value of the option from, or "--to" for a switch.
func (p *parsed) pass(args []string, from, to string) []string {
	for _, v := range p.vals[from] {
		if v == "" {
			args = append(args, "--"+to)
		} else {
			args = append(args, "--"+to, v)
		}
	}
	return args
}

// oneOf returns the single action option given among names, or an error listing them.
func (p *parsed) oneOf(names ...string) (string, error) {
	var given []string
	for _, n := range names {
		if p.has(n) {
			given = append(given, n)
		}
	}
	if len(given) == 1 {
		return given[0], nil
	}
	return "", fmt.Errorf("Command must include exactly one action: --%s", strings.Join(names, ", --"))
}

// onlyWith rejects options that make no sense unless one of the actions is given.
func (p *parsed) onlyWith(opt string, action string, actions ...string) error {
	if !p.has(opt) {
		return nil
	}
	for _, a := range actions {
		if a == action {
			return nil
		}
	}
	return fmt.Errorf("Option \"[%s]\" can't be used with \"[%s]\"", opt, action)
}
