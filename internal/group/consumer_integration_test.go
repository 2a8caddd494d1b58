package group_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestConsumerProtocolBalancers is TestGroupBalancers with the KIP-848 consumer protocol:
// the broker assigns, with "range" for kgo.RangeBalancer and "uniform" for
// kgo.StickyBalancer.
func TestConsumerProtocolBalancers(t *testing.T) {
	for _, tc := range []struct {
		name string
		bal  kgo.GroupBalancer
	}{
		{"range", kgo.RangeBalancer()},
		{"uniform", kgo.StickyBalancer()},
	} {
		t.Run(tc.name, func(t *testing.T) { testBalancer(t, tc.bal, kgo.ServerSideBalancer()) })
	}
}
