// Package verify implements "gregor verify producer|consumer", the
// verifiable producer and consumer of Kafka's system tests
// (kafka-verifiable-producer, kafka-verifiable-consumer): they produce or
// consume and print one JSON event per line on standard output, with Kafka's
// event names and fields, so a test harness can check what was acknowledged
// against what was consumed.
package verify

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/spf13/cobra"
)

// NewCommand returns the "verify" command and its verbs.
func NewCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Produce or consume printing a JSON event per line (kafka-verifiable-producer, kafka-verifiable-consumer)",
	}
	cmd.AddCommand(newProducerCommand(), newConsumerCommand())
	return cmd
}

// eventWriter prints events as JSON lines. Every event starts with
// "timestamp" (Unix milliseconds) and "name", in that order, as Kafka's tools
// print them.
type eventWriter struct {
	now func() time.Time

	mu sync.Mutex // guards w: events come from client callbacks on several goroutines
	w  io.Writer
}

// header is the start of every event.
type header struct {
	Timestamp int64  `json:"timestamp"`
	Name      string `json:"name"`
}

func (e *eventWriter) header(name string) header {
	return header{Timestamp: e.now().UnixMilli(), Name: name}
}

// print writes v, a struct embedding header, as one line.
func (e *eventWriter) print(v any) {
	b, err := json.Marshal(v)
	if err != nil { // every event is plain data; this is a programming error
		b = []byte(`{"name":"bad_event"}`)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.w.Write(append(b, '\n'))
}

// partitionData names a partition, as Kafka's events do.
type partitionData struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}
