package controller

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/metadata"
)

// SCRAM iteration bounds, as Kafka enforces them on AlterUserScramCredentials.
const (
	scramMinIterations = 4096
	scramMaxIterations = 16384
)

// ScramDeletion removes a user's credential for one mechanism.
type ScramDeletion struct {
	User      string
	Mechanism metadata.ScramMechanism
}

// ScramUpsertion sets a user's credential for one mechanism. Credential is derived from the
// salted password the client sent (the broker never sees the password).
type ScramUpsertion struct {
	User       string
	Mechanism  metadata.ScramMechanism
	Credential metadata.ScramCredential
}

// ScramResult is the outcome for one user named in AlterUserScramCredentials.
type ScramResult struct {
	User string
	Err  error // nil, or a *codedError carrying the Kafka error code
}

// AlterUserScramCredentials applies deletions and upsertions (Kafka's
// AlterUserScramCredentials). Each user gets one result; the changes of the users that pass
// validation are committed together. A user named twice in one request, whatever the
// mechanisms, gets DUPLICATE_RESOURCE and none of its changes (as Kafka's KRaft controller: one
// change per user per request); an unknown mechanism UNSUPPORTED_SASL_MECHANISM; an empty name, a
// missing salt or password, or iterations outside 4096..16384 UNACCEPTABLE_CREDENTIAL; deleting
// a credential that does not exist RESOURCE_NOT_FOUND.
func (c *Controller) AlterUserScramCredentials(ctx context.Context, deletions []ScramDeletion, upsertions []ScramUpsertion) []ScramResult {
	var order []string
	errs := map[string]error{}
	seen := map[string]int{}
	note := func(user string) {
		if _, ok := errs[user]; !ok {
			order = append(order, user)
			errs[user] = nil
		}
		seen[user]++
	}
	for _, d := range deletions {
		note(d.User)
	}
	for _, u := range upsertions {
		note(u.User)
	}
	setErr := func(user string, err error) {
		if errs[user] == nil {
			errs[user] = err
		}
	}
	check := func(user string, m metadata.ScramMechanism) {
		switch {
		case user == "":
			setErr(user, fail(kerr.UnacceptableCredential, "Username must not be empty"))
		case !m.Valid():
			setErr(user, fail(kerr.UnsupportedSaslMechanism, "Unknown SCRAM mechanism"))
		case seen[user] > 1:
			setErr(user, fail(kerr.DuplicateResource, "A user credential cannot be altered twice in the same request"))
		}
	}
	for _, d := range deletions {
		check(d.User, d.Mechanism)
	}
	for _, u := range upsertions {
		check(u.User, u.Mechanism)
		cr := u.Credential
		switch {
		case cr.Iterations < scramMinIterations:
			setErr(u.User, fail(kerr.UnacceptableCredential, "Too few iterations"))
		case cr.Iterations > scramMaxIterations:
			setErr(u.User, fail(kerr.UnacceptableCredential, "Too many iterations"))
		case len(cr.Salt) == 0 || len(cr.StoredKey) == 0 || len(cr.ServerKey) == 0:
			setErr(u.User, fail(kerr.UnacceptableCredential, "Salt and salted password must not be empty"))
		}
	}

	err := c.decide(ctx, func(img *metadata.Image) []metadata.Record {
		var recs []metadata.Record
		for _, d := range deletions {
			if errs[d.User] != nil {
				continue
			}
			if _, ok := img.ScramCredentials[metadata.ScramKey{User: d.User, Mechanism: d.Mechanism}]; !ok {
				errs[d.User] = fail(kerr.ResourceNotFound, "Attempt to delete a user credential that does not exist")
			}
		}
		for _, d := range deletions {
			if errs[d.User] == nil {
				recs = append(recs, metadata.RemoveUserScramCredentialRecord{Name: d.User, Mechanism: d.Mechanism})
			}
		}
		for _, u := range upsertions {
			if errs[u.User] == nil {
				cr := u.Credential
				recs = append(recs, metadata.UserScramCredentialRecord{Name: u.User, Mechanism: u.Mechanism,
					Salt: cr.Salt, StoredKey: cr.StoredKey, ServerKey: cr.ServerKey, Iterations: cr.Iterations})
			}
		}
		return recs
	})
	out := make([]ScramResult, 0, len(order))
	for _, user := range order {
		e := errs[user]
		if e == nil && err != nil {
			e = err
		}
		out = append(out, ScramResult{User: user, Err: e})
	}
	return out
}

// ScramErrorCode turns a ScramResult error into the Kafka code and message for the response.
func ScramErrorCode(err error) (int16, *string) {
	if err == nil {
		return 0, nil
	}
	code, msg := toKafka(err)
	if msg == "" {
		return code.Code, nil
	}
	return code.Code, &msg
}
