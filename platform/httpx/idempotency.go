package httpx

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humafiber"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/idem"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// idempotent runs a tenant POST that carries an Idempotency-Key through the
// store: the first request with the key runs and its result is kept; a retry
// gets that result back (marked Idempotent-Replayed: true) without running;
// the key with a different request is refused (422); a retry while the first
// still runs waits for it. The claim, the request's writes and its kept
// answer commit in one transaction, so a request is applied once even when
// its process dies half way. Requests without the header run as they are.
func (s *Server) idempotent(ctx huma.Context, next func(huma.Context)) {
	key := strings.Clone(ctx.Header(idem.Header))
	method := strings.Clone(ctx.Method())
	if s.opts.Idempotency == nil || method != "POST" || key == "" {
		next(ctx)
		return
	}
	if err := idem.CheckKey(key); err != nil {
		s.WriteError(ctx, err)
		return
	}
	tn, err := tenancy.MustFrom(ctx.Context())
	if err != nil {
		s.WriteError(ctx, err)
		return
	}
	a := authz.ActorFrom(ctx.Context())
	caller := string(a.Kind) + ":" + a.ID.String()
	fc := humafiber.Unwrap(ctx)
	fp := idem.Fingerprint(method, string(fc.Request().URI().RequestURI()), fc.Body())
	store := s.opts.Idempotency

	// The claim, the request's writes and its answer share one tenant
	// transaction: the handler's own transactions join it. Either all of it
	// commits, or none: a replica that dies mid-request (before or after its
	// handler's work) leaves neither the work nor the claim, and the retry
	// runs the request once. A retry that comes while it runs waits on the
	// claim's row, then gets its answer.
	var replay *idem.Saved
	handled := false
	errDiscard := errors.New("idempotency: the answer is not kept")
	err = db.InTenant(ctx.Context(), store.DB, tn.ID, func(tctx context.Context, tx bun.Tx) error {
		saved, err := store.BeginIn(tctx, tx, tn.ID, caller, key, fp)
		if err != nil || saved != nil {
			replay = saved
			return err
		}
		handled = true
		next(huma.WithContext(ctx, tctx))
		status := fc.Response().StatusCode()
		if !idem.Keeps(status) || len(fc.Response().Body()) > idem.MaxKept {
			return errDiscard // roll back: a retry runs the request again
		}
		res := idem.Saved{Status: status, ContentType: string(fc.Response().Header.ContentType()), Body: bytes.Clone(fc.Response().Body())}
		return store.FinishIn(tctx, tx, tn.ID, caller, key, res)
	})
	switch {
	case errors.Is(err, errDiscard):
		return // the handler's answer (a 5xx, 409, 429...) stands; nothing was kept
	case err != nil && handled:
		// The handler answered, but its work could not commit: that answer
		// would be a lie, so the failure replaces it.
		fc.Response().ResetBody()
		fc.Response().Header.Del("Location")
		s.WriteError(ctx, err)
		return
	case err != nil:
		s.WriteError(ctx, err)
		return
	case replay != nil:
		if replay.ContentType != "" {
			ctx.SetHeader("Content-Type", replay.ContentType)
		}
		ctx.SetHeader(idem.ReplayedHeader, "true")
		ctx.SetStatus(replay.Status)
		_, _ = ctx.BodyWriter().Write(replay.Body)
	}
}
