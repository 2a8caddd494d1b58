package controller

import (
	"context"
	"fmt"
	"math"
	"net"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/metadata"
)

// QuotaOp sets (or, with Remove, removes) one quota key of an entity.
type QuotaOp struct {
	Key    string
	Value  float64
	Remove bool
}

// QuotaAlteration is the changes to one entity's quotas.
type QuotaAlteration struct {
	Entity metadata.QuotaEntity
	Ops    []QuotaOp
}

// AlterClientQuotas applies quota changes (Kafka's AlterClientQuotas): one error per entry,
// nil for those applied. An unknown key or a value that is not positive gets INVALID_REQUEST
// and none of the entry's changes. With validateOnly nothing is committed.
func (c *Controller) AlterClientQuotas(ctx context.Context, alts []QuotaAlteration, validateOnly bool) []error {
	errs := make([]error, len(alts))
	for i, a := range alts {
		e := a.Entity
		switch {
		case !e.HasUser() && !e.HasClient() && !e.HasIP():
			errs[i] = fail(kerr.InvalidRequest, "Invalid empty client quota entity")
			continue
		case e.HasIP() && (e.HasUser() || e.HasClient()):
			errs[i] = fail(kerr.InvalidRequest, "Invalid quota entity combination, IP entity should not be combined with User or ClientId")
			continue
		case e.IP != "" && net.ParseIP(e.IP) == nil:
			errs[i] = fail(kerr.InvalidRequest, fmt.Sprintf("%s is not a valid IP or resolvable host.", e.IP))
			continue
		}
		for _, op := range a.Ops {
			// IP entities take connection_creation_rate alone, a whole number; users and
			// client ids take the others (Kafka's QuotaConfigs.ipConfigs/userClientConfigs).
			ipKey := op.Key == metadata.QuotaConnectionCreationRate
			switch {
			case !metadata.ClientQuotaKeys[op.Key] || ipKey != e.HasIP():
				errs[i] = fail(kerr.InvalidRequest, fmt.Sprintf("Invalid configuration key %s", op.Key))
			case ipKey && !op.Remove && op.Value != math.Trunc(op.Value):
				errs[i] = fail(kerr.InvalidRequest, fmt.Sprintf("Illegal value for %s: %v (an integer)", op.Key, op.Value))
			case !op.Remove && op.Value <= 0:
				errs[i] = fail(kerr.InvalidRequest, fmt.Sprintf("Illegal value for %s: %v", op.Key, op.Value))
			}
		}
	}
	if validateOnly {
		return errs
	}
	err := c.decide(ctx, func(img *metadata.Image) []metadata.Record {
		var recs []metadata.Record
		for i, a := range alts {
			if errs[i] != nil {
				continue
			}
			for _, op := range a.Ops {
				if _, ok := img.ClientQuotas[a.Entity][op.Key]; op.Remove && !ok {
					continue
				}
				recs = append(recs, metadata.ClientQuotaRecord{Entity: a.Entity, Key: op.Key, Value: op.Value, Remove: op.Remove})
			}
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

// ErrorCode turns an error from this package into the Kafka code and message of a response.
func ErrorCode(err error) (int16, *string) { return ScramErrorCode(err) }
