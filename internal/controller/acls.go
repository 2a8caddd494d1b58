package controller

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/metadata"
)

// CreateAcls stores ACLs (Kafka's CreateAcls): one error per ACL, nil for those stored. An
// invalid ACL gets INVALID_REQUEST; an ACL equal to one already stored is not stored twice
// (and succeeds), as in Kafka. The valid ACLs are committed together.
func (c *Controller) CreateAcls(ctx context.Context, acls []metadata.ACL) []error {
	errs := make([]error, len(acls))
	for i, a := range acls {
		if err := a.Validate(); err != nil {
			errs[i] = fail(kerr.InvalidRequest, err.Error())
		}
	}
	err := c.decide(ctx, func(img *metadata.Image) []metadata.Record {
		have := map[metadata.ACL]bool{}
		if img.ACLs != nil {
			for _, a := range img.ACLs.ByID {
				have[a] = true
			}
		}
		var recs []metadata.Record
		for i, a := range acls {
			if errs[i] != nil || have[a] {
				continue
			}
			have[a] = true
			recs = append(recs, metadata.AccessControlEntryRecord{ID: metadata.RandomUUID(), ACL: a})
		}
		return recs
	})
	if err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	return errs
}

// DeleteAcls removes every ACL each filter matches (Kafka's DeleteAcls) and returns, per
// filter, the ACLs it removed. An ACL two filters match is removed once and listed under both.
func (c *Controller) DeleteAcls(ctx context.Context, filters []metadata.ACLFilter) ([][]metadata.ACL, error) {
	out := make([][]metadata.ACL, len(filters))
	err := c.decide(ctx, func(img *metadata.Image) []metadata.Record {
		removed := map[metadata.UUID]bool{}
		var recs []metadata.Record
		for i, f := range filters {
			ids, acls := img.ACLs.Matching(f)
			out[i] = acls
			for _, id := range ids {
				if !removed[id] {
					removed[id] = true
					recs = append(recs, metadata.RemoveAccessControlEntryRecord{ID: id})
				}
			}
		}
		return recs
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
