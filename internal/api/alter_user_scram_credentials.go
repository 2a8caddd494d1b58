package api

// AlterUserScramCredentials, version 0 (flexible).
//
// The client sends, per upsertion, the salt, the iteration count and the salted password
// (PBKDF2 of the password, computed client side); the broker derives the stored and server
// keys and commits them through the controller. One result per user named.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerAlterUserScramCredentials(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.AlterUserSCRAMCredentials, MinVersion: 0, MaxVersion: 0, Handle: h.alterUserScramCredentials})
}

func (h *Handlers) alterUserScramCredentials(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.AlterUserSCRAMCredentialsRequest)
	resp := kmsg.NewPtrAlterUserSCRAMCredentialsResponse()
	dels := make([]controller.ScramDeletion, 0, len(req.Deletions))
	for _, d := range req.Deletions {
		dels = append(dels, controller.ScramDeletion{User: d.Name, Mechanism: metadata.ScramMechanism(d.Mechanism)})
	}
	ups := make([]controller.ScramUpsertion, 0, len(req.Upsertions))
	for _, u := range req.Upsertions {
		m := metadata.ScramMechanism(u.Mechanism)
		up := controller.ScramUpsertion{User: u.Name, Mechanism: m,
			Credential: metadata.ScramCredential{Iterations: u.Iterations}}
		if m.Valid() && len(u.Salt) > 0 && len(u.SaltedPassword) > 0 {
			up.Credential = auth.ScramCredentialFromSalted(m, u.Salt, u.SaltedPassword, u.Iterations)
		}
		ups = append(ups, up)
	}
	for _, res := range h.Controller.AlterUserScramCredentials(ctx, dels, ups) {
		rr := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
		rr.User = res.User
		rr.ErrorCode, rr.ErrorMessage = controller.ScramErrorCode(res.Err)
		resp.Results = append(resp.Results, rr)
	}
	return wire.Reply{Msg: resp}, nil
}
