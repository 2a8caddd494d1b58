package node

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/replica"
)

// localMarkers is the transaction coordinator's txn.MarkerWriter on this broker's own
// partitions. With several brokers, a partition led elsewhere needs the WriteTxnMarkers RPC to
// its leader; until then such a partition answers NOT_LEADER_OR_FOLLOWER and the coordinator
// keeps retrying.
type localMarkers struct {
	replicas   *replica.Manager
	controller *controller.Controller
}

// WriteTxnMarkers writes the marker to each partition it hosts. A partition of a topic that no
// longer exists is UNKNOWN_TOPIC_OR_PARTITION (the coordinator gives up on it); one not hosted
// here yet is NOT_LEADER_OR_FOLLOWER (retried).
func (w localMarkers) WriteTxnMarkers(_ context.Context, producerID int64, producerEpoch int16, commit bool,
	coordinatorEpoch int32, partitions map[string][]int32) map[string]map[int32]error {
	var failed map[string]map[int32]error
	fail := func(topic string, p int32, err error) {
		if failed == nil {
			failed = map[string]map[int32]error{}
		}
		if failed[topic] == nil {
			failed[topic] = map[int32]error{}
		}
		failed[topic][p] = err
	}
	m := replica.TxnMarker{ProducerID: producerID, ProducerEpoch: producerEpoch, Commit: commit, CoordinatorEpoch: coordinatorEpoch}
	img := w.controller.Image()
	for topic, ps := range partitions {
		for _, p := range ps {
			part, err := w.replicas.Partition(topic, p)
			if err != nil {
				if t := img.Topics[topic]; t != nil && int(p) < len(t.Partitions) {
					err = kerr.NotLeaderForPartition
				}
				fail(topic, p, err)
				continue
			}
			if _, err := part.WriteTxnMarker(m); err != nil {
				fail(topic, p, err)
			}
		}
	}
	return failed
}
