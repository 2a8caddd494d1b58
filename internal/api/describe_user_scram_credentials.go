package api

// DescribeUserScramCredentials, version 0 (flexible).
//
// No users (null or empty) describes every user with a credential. A user named twice gets
// DUPLICATE_RESOURCE; a user without credentials RESOURCE_NOT_FOUND. Only the mechanism and
// iteration count are ever returned.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerDescribeUserScramCredentials(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.DescribeUserSCRAMCredentials, MinVersion: 0, MaxVersion: 0, Handle: h.describeUserScramCredentials})
}

func (h *Handlers) describeUserScramCredentials(_ context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.DescribeUserSCRAMCredentialsRequest)
	resp := kmsg.NewPtrDescribeUserSCRAMCredentialsResponse()
	img := h.Controller.Image()
	users := make([]string, 0, len(req.Users))
	count := map[string]int{}
	for _, u := range req.Users {
		if count[u.Name] == 0 {
			users = append(users, u.Name)
		}
		count[u.Name]++
	}
	if len(req.Users) == 0 {
		users = img.ScramUsers()
	}
	for _, user := range users {
		res := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		res.User = user
		for _, m := range []metadata.ScramMechanism{metadata.ScramSHA256, metadata.ScramSHA512} {
			if c, ok := img.ScramCredentials[metadata.ScramKey{User: user, Mechanism: m}]; ok {
				ci := kmsg.NewDescribeUserSCRAMCredentialsResponseResultCredentialInfo()
				ci.Mechanism, ci.Iterations = int8(m), c.Iterations
				res.CredentialInfos = append(res.CredentialInfos, ci)
			}
		}
		switch {
		case count[user] > 1:
			res.ErrorCode = kerr.DuplicateResource.Code
			res.ErrorMessage = strPtr("Cannot describe SCRAM credentials for the same user twice in a single request: " + user)
			res.CredentialInfos = nil
		case len(res.CredentialInfos) == 0:
			res.ErrorCode = kerr.ResourceNotFound.Code
			res.ErrorMessage = strPtr("Attempt to describe a user credential that does not exist: " + user)
		}
		resp.Results = append(resp.Results, res)
	}
	return wire.Reply{Msg: resp}, nil
}

func strPtr(s string) *string { return &s }
