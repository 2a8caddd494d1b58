package server

import (
	"context"
	"net"
	"sync"
	"time"
)

// ConnLimits bounds the client connections of a broker, across its listeners, as Kafka's
// ConnectionQuotas does, checking a new connection in this order:
//
//   - max.connections in all: at the bound the listener stops taking connections until one
//     closes. The socket just accepted waits, unserved, and the accept loop with it, so later
//     clients wait in the kernel's backlog (Kafka's acceptor blocks in waitForConnectionSlot
//     the same way; clients see a slow connect, not a refusal).
//   - connection_creation_rate of the client's IP (Rate): a connection over it is not
//     counted and is closed, unserved, once its throttle time has passed (Kafka's
//     ConnectionThrottledException and DelayedCloseSocket), so a client reconnecting in a
//     loop is slowed down rather than spun.
//   - max.connections.per.ip: a connection over it is closed at once (Kafka's
//     TooManyConnectionsException).
//
// Lock order: ConnLimits.mu before whatever Rate locks.
type ConnLimits struct {
	// Max and PerIP are the bounds; 0 or less is unbounded.
	Max   int
	PerIP int
	// Rate, when set, is charged every new connection (the IP connection rate quota). Set it
	// before serving.
	Rate ConnectionRate

	mu    sync.Mutex
	total int            // guarded by mu
	perIP map[string]int // guarded by mu; only addresses with a connection
	// freed is closed, and replaced, when a connection is released: acquire waiting for a
	// slot under Max waits on it. Guarded by mu; nil until someone waits.
	freed chan struct{}
}

// ConnectionRate charges new connections to their IP's connection rate quota.
type ConnectionRate interface {
	// RecordConnection counts a new connection from ip and returns 0 when it may be
	// served; otherwise it is not counted and the return is how long to hold it before
	// closing it.
	RecordConnection(ip string) time.Duration
}

// admission is acquire's verdict on a connection.
type admission struct {
	ok bool // counted: serve it, and release it when it closes
	// closeAfter, when ok is false, is how long to hold the connection before closing it (0:
	// at once).
	closeAfter time.Duration
}

// acquire decides a new connection from addr, waiting while the broker is at Max until a
// connection is released or ctx is done (then the connection is refused). A nil *ConnLimits
// admits everything.
func (l *ConnLimits) acquire(ctx context.Context, addr net.Addr) admission {
	if l == nil {
		return admission{ok: true}
	}
	ip := hostOf(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.Max > 0 && l.total >= l.Max {
		if l.freed == nil {
			l.freed = make(chan struct{})
		}
		freed := l.freed
		l.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			l.mu.Lock()
			return admission{}
		}
		l.mu.Lock()
	}
	if l.Rate != nil {
		if d := l.Rate.RecordConnection(ip); d > 0 {
			return admission{closeAfter: d}
		}
	}
	if l.PerIP > 0 && l.perIP[ip] >= l.PerIP {
		return admission{}
	}
	if l.perIP == nil {
		l.perIP = map[string]int{}
	}
	l.total++
	l.perIP[ip]++
	return admission{ok: true}
}

// release forgets a connection acquire counted, and wakes those waiting for a slot.
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
	if l.freed != nil {
		close(l.freed)
		l.freed = nil
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
