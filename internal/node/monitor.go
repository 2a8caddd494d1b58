package node

import (
	"net"
	"strconv"

	"github.com/gregorhq/gregor/internal/admin"
	"github.com/gregorhq/gregor/internal/console"
	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/replica"
)

// partitionOffsets reads offsets from the hosted partitions for lag evaluation and the
// admin topic endpoints.
type partitionOffsets struct {
	replicas   *replica.Manager
	controller *controller.Controller
}

func (o partitionOffsets) LogEndOffset(topic string, partition int32) (int64, bool) {
	p, err := o.replicas.Partition(topic, partition)
	if err != nil {
		return -1, false
	}
	return p.HighWatermark(), true
}

func (o partitionOffsets) BatchTimestampAt(topic string, partition int32, offset int64) (int64, bool) {
	p, err := o.replicas.Partition(topic, partition)
	if err != nil {
		return -1, false
	}
	return p.BatchTimestampAt(offset)
}

func (o partitionOffsets) TopicNames() []string {
	img := o.controller.Image()
	names := make([]string, 0, len(img.Topics))
	for name := range img.Topics {
		names = append(names, name)
	}
	return names
}

func (o partitionOffsets) TopicOffsets(topic string) ([]int64, bool) {
	t := o.controller.Image().Topics[topic]
	if t == nil {
		return nil, false
	}
	out := make([]int64, len(t.Partitions))
	for i := range t.Partitions {
		out[i], _ = o.LogEndOffset(topic, int32(i))
	}
	return out, true
}

// startAdmin opens the admin listener (the first of admin.listeners; none when empty).
func (n *Node) startAdmin() error {
	if len(n.cfg.AdminListeners) == 0 {
		return nil
	}
	l := n.cfg.AdminListeners[0]
	n.console = console.New(console.Config{
		Image:    n.controller.Image,
		Replicas: n.replicas,
		Groups:   n.groups,
		Lag:      n.lag,
		BytesIn:  n.metrics.TopicBytesIn,
		Logger:   n.log.With("component", "console"),
	})
	srv, err := admin.Listen(admin.Config{
		Addr:     net.JoinHostPort(l.Host, strconv.Itoa(l.Port)),
		Gatherer: n.metrics.Registry,
		Pprof:    n.cfg.AdminPprofEnable,
		Lag:      n.lag,
		Topics:   partitionOffsets{n.replicas, n.controller},
		Groups: func() []string {
			_, groups := n.groups.ListGroups(nil, nil)
			names := make([]string, 0, len(groups))
			for _, g := range groups {
				names = append(names, g.Group)
			}
			return names
		},
		Console: n.console,
		Logger:  n.log.With("component", "admin"),
	})
	if err != nil {
		return err
	}
	n.admin = srv
	n.console.Start()
	return nil
}

// consoleURL is the web console's address for people: the admin listener's, with a wildcard
// host replaced by localhost.
func (n *Node) consoleURL() string {
	a, ok := n.admin.Addr().(*net.TCPAddr)
	if !ok {
		return "http://" + n.admin.Addr().String() + "/"
	}
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(a.Port)) + "/"
}

// AdminAddr is the admin listener's address, nil when admin.listeners is empty.
func (n *Node) AdminAddr() net.Addr {
	if n.admin == nil {
		return nil
	}
	return n.admin.Addr()
}
