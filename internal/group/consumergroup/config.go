package consumergroup

import (
	"fmt"
	"math"
	"time"
)

// Config holds the broker settings that govern consumer groups, under Kafka's names.
type Config struct {
	// SessionTimeout is group.consumer.session.timeout.ms: a member that does not heartbeat
	// for this long is removed from the group.
	SessionTimeout time.Duration
	// HeartbeatInterval is group.consumer.heartbeat.interval.ms, sent to members in every
	// heartbeat response.
	HeartbeatInterval time.Duration
	// MaxSize is group.consumer.max.size: joins past it get GROUP_MAX_SIZE_REACHED.
	MaxSize int
	// Assignors is group.consumer.assignors: the server assignors members may name, the
	// first being the default when none is named.
	Assignors []string
}

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		SessionTimeout:    45 * time.Second,
		HeartbeatInterval: 5 * time.Second,
		MaxSize:           math.MaxInt32,
		Assignors:         []string{UniformAssignorName, RangeAssignorName},
	}
}

// Validate checks the settings once, before any group is built with them.
func (c Config) Validate() error {
	if c.SessionTimeout <= 0 {
		return fmt.Errorf("group.consumer.session.timeout.ms must be positive")
	}
	if c.HeartbeatInterval <= 0 {
		return fmt.Errorf("group.consumer.heartbeat.interval.ms must be positive")
	}
	// Kafka: the heartbeat interval must be lower than the session timeout, or members
	// would expire between two heartbeats.
	if c.HeartbeatInterval >= c.SessionTimeout {
		return fmt.Errorf("group.consumer.heartbeat.interval.ms must be less than group.consumer.session.timeout.ms")
	}
	if c.MaxSize < 1 {
		return fmt.Errorf("group.consumer.max.size must be at least 1")
	}
	if len(c.Assignors) == 0 {
		return fmt.Errorf("group.consumer.assignors must name at least one assignor")
	}
	seen := map[string]bool{}
	for _, name := range c.Assignors {
		if AssignorByName(name) == nil {
			return fmt.Errorf("group.consumer.assignors: unknown assignor %q", name)
		}
		if seen[name] {
			return fmt.Errorf("group.consumer.assignors: %q listed twice", name)
		}
		seen[name] = true
	}
	return nil
}
