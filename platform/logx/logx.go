// Package logx builds the process logger (slog JSON) and carries request-scoped
// attributes (request id, tenant id, module) in the context. Never log PII or
// secrets: log ids, not names, emails or tokens.
package logx

import (
	"context"
	"io"
	"log/slog"
)

// New returns a JSON (or text) logger at level.
func New(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if format == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(&ctxHandler{h})
}

type attrsKey struct{}

// With returns ctx carrying extra log attributes, e.g. logx.With(ctx, "tenant_id", id).
func With(ctx context.Context, args ...any) context.Context {
	prev, _ := ctx.Value(attrsKey{}).([]any)
	next := make([]any, 0, len(prev)+len(args))
	next = append(append(next, prev...), args...)
	return context.WithValue(ctx, attrsKey{}, next)
}

type ridKey struct{}

// WithRequestID stores the request id for logs and problem documents.
func WithRequestID(ctx context.Context, id string) context.Context {
	return With(context.WithValue(ctx, ridKey{}, id), "request_id", id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(ridKey{}).(string)
	return s
}

// ctxHandler adds the context's attributes to every record logged with a context.
type ctxHandler struct{ slog.Handler }

func (h *ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	if attrs, ok := ctx.Value(attrsKey{}).([]any); ok {
		r.Add(attrs...)
	}
	return h.Handler.Handle(ctx, r)
}

func (h *ctxHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &ctxHandler{h.Handler.WithAttrs(as)}
}
func (h *ctxHandler) WithGroup(name string) slog.Handler {
	return &ctxHandler{h.Handler.WithGroup(name)}
}
