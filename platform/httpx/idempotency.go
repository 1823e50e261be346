package httpx

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humafiber"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/idem"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// idempotent runs a tenant POST that carries an Idempotency-Key through the
// store: the first request with the key runs and its result is kept; a retry
// gets that result back (marked Idempotent-Replayed: true) without running;
// the key with a different request is refused (422); a retry while the first
// still runs waits for it. Requests without the header run as they are.
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
	saved, err := s.opts.Idempotency.Begin(ctx.Context(), tn.ID, caller, key, fp)
	if err != nil {
		s.WriteError(ctx, err)
		return
	}
	if saved != nil {
		if saved.ContentType != "" {
			ctx.SetHeader("Content-Type", saved.ContentType)
		}
		ctx.SetHeader(idem.ReplayedHeader, "true")
		ctx.SetStatus(saved.Status)
		_, _ = ctx.BodyWriter().Write(saved.Body)
		return
	}
	// Renew the claim while the handler runs: if this process dies, the
	// lease runs out and a retry elsewhere takes the key over.
	stopHold := s.opts.Idempotency.Hold(ctx.Context(), tn.ID, caller, key)
	done := false
	defer func() {
		if !done {
			// The handler panicked: free the key, then let the panic go on.
			_ = s.opts.Idempotency.Abandon(ctx.Context(), tn.ID, caller, key)
		}
	}()
	func() {
		defer stopHold()
		next(ctx)
	}()
	done = true
	status := fc.Response().StatusCode()
	if !idem.Keeps(status) || len(fc.Response().Body()) > idem.MaxKept {
		if err := s.opts.Idempotency.Abandon(ctx.Context(), tn.ID, caller, key); err != nil {
			s.log.ErrorContext(ctx.Context(), "idempotency: releasing a key failed; a retry waits until its claim ends", "error", err.Error())
		}
		return
	}
	res := idem.Saved{Status: status, ContentType: string(fc.Response().Header.ContentType()), Body: bytes.Clone(fc.Response().Body())}
	if err := s.opts.Idempotency.Finish(ctx.Context(), tn.ID, caller, key, res); err != nil {
		s.log.ErrorContext(ctx.Context(), "idempotency: recording a result failed; a retry runs the request again", "status", strconv.Itoa(status), "error", err.Error())
	}
}
