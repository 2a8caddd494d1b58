package api

// DescribeLogDirs, versions 0-4.
//
//	v1: no change
//	v2: flexible
//	v3: a top-level error code
//	v4: total and usable bytes of each log dir's file system
//
// Gregor has one log dir (the first of log.dirs). It answers with the size of each partition
// this broker hosts there; offset_lag is 0 and is_future false, as there are no future
// replicas (no moves between log dirs). Null topics means all topics; an unknown topic or
// partition is left out, as Kafka does.

import (
	"context"
	"path/filepath"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerDescribeLogDirs(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.DescribeLogDirs, MinVersion: 0, MaxVersion: 4, Handle: h.describeLogDirs})
}

func (h *Handlers) describeLogDirs(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.DescribeLogDirsRequest)
	img := h.Controller.Image()
	resp := kmsg.NewPtrDescribeLogDirsResponse()
	if !h.allowedCluster(ctx, r, auth.OpDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code // DESCRIBE on the cluster, as Kafka
		return wire.Reply{Msg: resp}, nil
	}
	if len(h.Config.LogDirs) == 0 {
		return wire.Reply{Msg: resp}, nil
	}
	dir := kmsg.NewDescribeLogDirsResponseDir()
	dir.Dir = h.Config.LogDirs[0]
	if abs, err := filepath.Abs(dir.Dir); err == nil {
		dir.Dir = abs
	}
	dir.TotalBytes, dir.UsableBytes = diskSpace(dir.Dir)

	// wanted maps each topic asked for to its partitions (nil: all of them).
	var wanted map[string][]int32
	if req.Topics != nil {
		wanted = map[string][]int32{}
		for _, t := range req.Topics {
			wanted[t.Topic] = append(wanted[t.Topic], t.Partitions...)
		}
	}
	for _, name := range img.TopicNames() {
		parts, asked := wanted[name]
		if wanted != nil && !asked {
			continue
		}
		t := img.Topics[name]
		rt := kmsg.NewDescribeLogDirsResponseDirTopic()
		rt.Topic = name
		for _, part := range t.Partitions {
			if wanted != nil && !slices.Contains(parts, part.ID) {
				continue
			}
			p, err := h.Replicas.Partition(name, part.ID)
			if err != nil {
				continue // not hosted here
			}
			rp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
			rp.Partition, rp.Size = part.ID, p.Size()
			rt.Partitions = append(rt.Partitions, rp)
		}
		if len(rt.Partitions) > 0 {
			dir.Topics = append(dir.Topics, rt)
		}
	}
	resp.Dirs = append(resp.Dirs, dir)
	return wire.Reply{Msg: resp}, nil
}
