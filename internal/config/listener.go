package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Listener is one entry of listeners or advertised.listeners: "NAME://host:port". An empty
// Host means every interface (for listeners). Name is upper-cased, as Kafka normalises
// listener names.
type Listener struct {
	Name string
	Host string
	Port int
}

// String gives the listener back in Kafka's form, NAME://host:port, bracketing IPv6 hosts.
func (l Listener) String() string {
	host := l.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return l.Name + "://" + host + ":" + strconv.Itoa(l.Port)
}

// Addr is host:port for net.Listen or net.Dial.
func (l Listener) Addr() string { return net.JoinHostPort(l.Host, strconv.Itoa(l.Port)) }

// ParseListeners parses a comma-separated list of NAME://host:port, as listeners and
// advertised.listeners hold. Names must be unique; ports must be in 0..65535. An empty
// string is an empty list.
func ParseListeners(s string) ([]Listener, error) {
	var ls []Listener
	seen := make(map[string]bool)
	for _, part := range splitList(s) {
		l, err := parseListener(part)
		if err != nil {
			return nil, err
		}
		if seen[l.Name] {
			return nil, fmt.Errorf("listener name %s is used more than once", l.Name)
		}
		seen[l.Name] = true
		ls = append(ls, l)
	}
	return ls, nil
}

func parseListener(s string) (Listener, error) {
	name, hostport, ok := strings.Cut(s, "://")
	if !ok || name == "" {
		return Listener{}, fmt.Errorf("%q is not NAME://host:port", s)
	}
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 {
		return Listener{}, fmt.Errorf("%q has no port", s)
	}
	host, portStr := hostport[:i], hostport[i+1:]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	} else if strings.ContainsAny(host, "[]") || strings.Contains(host, ":") {
		return Listener{}, fmt.Errorf("%q: an IPv6 host must be in brackets", s)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return Listener{}, fmt.Errorf("%q: port %q is not a number in 0..65535", s, portStr)
	}
	for _, c := range host {
		if !(c == '-' || c == '.' || c == '_' || c == '%' || c == ':' ||
			'0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return Listener{}, fmt.Errorf("%q: host %q has a bad character %q", s, host, c)
		}
	}
	return Listener{Name: strings.ToUpper(name), Host: host, Port: port}, nil
}

// Security protocols a listener may use, by Kafka's names.
var securityProtocols = map[string]bool{"PLAINTEXT": true, "SSL": true, "SASL_PLAINTEXT": true, "SASL_SSL": true}

// parseProtocolMap parses listener.security.protocol.map: NAME:PROTOCOL,...
func parseProtocolMap(s string) (map[string]string, error) {
	m := make(map[string]string)
	for _, part := range splitList(s) {
		name, proto, ok := strings.Cut(part, ":")
		name, proto = strings.ToUpper(strings.TrimSpace(name)), strings.ToUpper(strings.TrimSpace(proto))
		if !ok || name == "" {
			return nil, fmt.Errorf("%q is not NAME:PROTOCOL", part)
		}
		if !securityProtocols[proto] {
			return nil, fmt.Errorf("%q: unknown security protocol %q", part, proto)
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("listener name %s is mapped more than once", name)
		}
		m[name] = proto
	}
	return m, nil
}

// Voter is one entry of controller.quorum.voters: id@host:port.
type Voter struct {
	ID   int32
	Host string
	Port int
}

// ParseVoters parses controller.quorum.voters: a comma-separated list of id@host:port with
// unique ids >= 0. An empty string is an empty list.
func ParseVoters(s string) ([]Voter, error) {
	var vs []Voter
	seen := make(map[int32]bool)
	for _, part := range splitList(s) {
		idStr, hostport, ok := strings.Cut(part, "@")
		if !ok {
			return nil, fmt.Errorf("%q is not id@host:port", part)
		}
		id, err := strconv.ParseInt(idStr, 10, 32)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("%q: %q is not a node id", part, idStr)
		}
		host, portStr, err := net.SplitHostPort(hostport)
		if err != nil || host == "" {
			return nil, fmt.Errorf("%q is not id@host:port", part)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil || port < 0 || port > 65535 {
			return nil, fmt.Errorf("%q: port %q is not a number in 0..65535", part, portStr)
		}
		if seen[int32(id)] {
			return nil, fmt.Errorf("voter id %d appears more than once", id)
		}
		seen[int32(id)] = true
		vs = append(vs, Voter{ID: int32(id), Host: host, Port: port})
	}
	return vs, nil
}

// splitList splits a Kafka LIST value: commas, blanks around items trimmed, and an empty
// (or all-blank) string is an empty list.
func splitList(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}
