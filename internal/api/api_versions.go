package api

// ApiVersions, versions 0-4.
//
//	v0: the list of APIs and version ranges
//	v1: throttle time
//	v2: no change
//	v3: flexible; client software name and version; supported and finalized features
//	v4: no change (a v4 client may see UNSUPPORTED_VERSION answered with v0, as before)
//
// A request at a version above ours is answered by the registry with v0 and
// UNSUPPORTED_VERSION, as Kafka does.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerApiVersions(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.ApiVersions, MinVersion: 0, MaxVersion: 4, Handle: h.apiVersions})
}

func (h *Handlers) apiVersions(_ context.Context, r *wire.Request) (wire.Reply, error) {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.ApiKeys = h.registry.Versions()
	return wire.Reply{Msg: resp}, nil
}
