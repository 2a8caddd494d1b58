package server

import (
	"net"
	"sync"
)

// ConnLimits bounds the client connections of a broker, across its listeners:
// max.connections in all, max.connections.per.ip from one client address. A connection over
// either bound is closed as soon as it is accepted (Kafka closes one over the per-IP bound the
// same way; over max.connections Kafka stops accepting until a connection closes, which a
// client sees as the same failed connect-and-retry).
type ConnLimits struct {
	// Max and PerIP are the bounds; 0 or less is unbounded.
	Max   int
	PerIP int

	mu    sync.Mutex
	total int            // guarded by mu
	perIP map[string]int // guarded by mu; only addresses with a connection
}

// acquire counts a new connection from addr; false means it is over a bound and must close.
// A nil *ConnLimits allows everything.
func (l *ConnLimits) acquire(addr net.Addr) bool {
	if l == nil {
		return true
	}
	ip := hostOf(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Max > 0 && l.total >= l.Max {
		return false
	}
	if l.PerIP > 0 && l.perIP[ip] >= l.PerIP {
		return false
	}
	if l.perIP == nil {
		l.perIP = map[string]int{}
	}
	l.total++
	l.perIP[ip]++
	return true
}

// release forgets a connection acquire counted.
func (l *ConnLimits) release(addr net.Addr) {
	if l == nil {
		return
	}
	ip := hostOf(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
}

func hostOf(addr net.Addr) string {
	if ta, ok := addr.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	h, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return h
}
