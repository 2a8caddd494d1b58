package perf

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// max.in.flight.requests.per.connection as Kafka's producer takes it: up to 5 with
// idempotence (the client's own pipelining), any positive number without, more than 5 with
// idempotence refused.
func TestProducerOptsMaxInFlight(t *testing.T) {
	for _, tc := range []struct {
		props   map[string]string
		wantErr bool
		ignored bool
	}{
		{props: map[string]string{"acks": "all", "max.in.flight.requests.per.connection": "5"}},
		{props: map[string]string{"acks": "all", "max.in.flight.requests.per.connection": "1"}, ignored: true},
		{props: map[string]string{"acks": "all", "max.in.flight.requests.per.connection": "6"}, wantErr: true},
		{props: map[string]string{"acks": "1", "max.in.flight.requests.per.connection": "10"}},
		{props: map[string]string{"acks": "all", "enable.idempotence": "false", "max.in.flight.requests.per.connection": "3"}},
	} {
		opts, _, ignored, err := producerOpts(tc.props)
		if tc.wantErr {
			if err == nil {
				t.Errorf("%v: no error", tc.props)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tc.props, err)
			continue
		}
		if got := len(ignored) == 1; got != tc.ignored {
			t.Errorf("%v: ignored %v", tc.props, ignored)
		}
		// The client checks its options when it is made (it connects only when used).
		cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers("127.0.0.1:1"))...)
		if err != nil {
			t.Errorf("%v: client refuses the options: %v", tc.props, err)
			continue
		}
		cl.Close()
	}
}
