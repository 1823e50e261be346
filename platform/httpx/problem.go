package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"

	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/logx"
)

// installHumaErrors makes every error Huma produces (validation, parsing, unknown
// handler errors) an *errs.Error, so one type reaches clients from every path.
func installHumaErrors() {
	huma.NewError = func(status int, msg string, es ...error) huma.StatusError {
		return problemFromHuma(context.Background(), status, msg, es...)
	}
	huma.NewErrorWithContext = func(hctx huma.Context, status int, msg string, es ...error) huma.StatusError {
		ctx := context.Background()
		if hctx != nil {
			ctx = hctx.Context()
		}
		return problemFromHuma(ctx, status, msg, es...)
	}
}

func problemFromHuma(ctx context.Context, status int, msg string, es ...error) *errs.Error {
	code := errs.CodeForStatus(status)
	if status >= 500 {
		var cause error
		for _, e := range es {
			if e != nil {
				cause = e
				break
			}
		}
		var known *errs.Error
		if errors.As(cause, &known) {
			return known
		}
		if cause == nil {
			cause = errors.New(msg)
		}
		e := errs.From(cause)
		e.RequestID = logx.RequestID(ctx)
		return e
	}
	var fields []errs.FieldError
	for _, e := range es {
		if e == nil {
			continue
		}
		var known *errs.Error
		if errors.As(e, &known) {
			fields = append(fields, known.Errors...)
			continue
		}
		if d, ok := e.(huma.ErrorDetailer); ok {
			det := d.ErrorDetail()
			fields = append(fields, errs.FieldError{Location: det.Location, Message: det.Message, Value: det.Value})
			continue
		}
		fields = append(fields, errs.FieldError{Location: "body", Message: e.Error()})
	}
	out := errs.E(code, "%s", describe(status, msg, fields))
	out.Status = status // keep Huma's precise status (e.g. 400 vs 422)
	out.Errors = fields
	out.RequestID = logx.RequestID(ctx)
	return out
}

// describe writes a detail that says what to fix.
func describe(status int, msg string, fields []errs.FieldError) string {
	if len(fields) == 0 {
		if msg == "" {
			return "The request could not be processed."
		}
		return upperFirst(msg) + "."
	}
	var parts []string
	for i, f := range fields {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(fields)-3))
			break
		}
		parts = append(parts, f.Location+": "+f.Message)
	}
	lead := "Some fields are invalid"
	switch status {
	case 400:
		lead = "The request could not be read"
	case 415:
		lead = "The request body is in a media type this operation does not take"
	}
	if status == 415 {
		return lead + ": " + strings.Join(parts, "; ") + ". Send the body as the operation documents it (JSON, or a multipart form for uploads)."
	}
	return lead + ": " + strings.Join(parts, "; ") + ". Fix them and send the request again."
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// fiberErrorHandler renders every error that reaches Fiber as a problem document:
// unmatched routes, body limits, panics, and raw Fiber routes.
func fiberErrorHandler(log *slog.Logger, probs func(code string)) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		if unheard(c, err) {
			// The read timeout on a connection that sent no whole request
			// head: most often one a client opened and never used (Go's
			// transport keeps the spare of a dial race). An answer there is
			// unsolicited, or taken as the answer to a request sent at that
			// moment; the connection is closed without one, as a client
			// closing an idle connection expects.
			if conn := c.Context().Conn(); conn != nil {
				_ = conn.Close()
			}
			return nil
		}
		e := toProblem(err)
		e.RequestID = requestID(c)
		if e.RequestID == "" {
			// Refused before any middleware ran (e.g. an oversize body).
			e.RequestID = newRequestID()
			c.Set(fiber.HeaderXRequestID, e.RequestID)
		}
		if e.Code == errs.Internal {
			log.ErrorContext(c.UserContext(), "request failed", "error", err.Error())
		}
		return writeProblem(c, e, probs)
	}
}

// unheard reports whether err is the server's read timeout before a whole
// request head arrived: fasthttp calls the error handler for it on a
// connection's first request (a later one it closes silently itself).
func unheard(c *fiber.Ctx, err error) bool {
	var fe *fiber.Error
	return errors.As(err, &fe) && fe.Code == fiber.StatusRequestTimeout && len(c.Request().Header.RawHeaders()) == 0
}

func toProblem(err error) *errs.Error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case fiber.StatusNotFound:
			return errs.E(errs.NotFound, "Nothing lives at this address. Check the URL; the API is under /api/v1 and documented at /api/v1/docs.")
		case fiber.StatusRequestEntityTooLarge:
			return errs.E(errs.TooLarge, "The request body is larger than this server accepts. Send a smaller body, or upload large files through the import endpoint.").
				WithFields(errs.FieldError{Location: "body", Message: "too large"})
		case fiber.StatusMethodNotAllowed:
			return errs.E(errs.MethodNotAllowed, "This address does not accept that method.")
		case fiber.StatusBadRequest:
			return errs.E(errs.Malformed, "The request could not be read: %s", fe.Message)
		case fiber.StatusRequestTimeout:
			return errs.E(errs.Timeout, "The request was not received in time.")
		}
		if fe.Code >= 500 {
			return errs.InternalErr(err)
		}
		e := errs.E(errs.CodeForStatus(fe.Code), "%s", fe.Message)
		e.Status = fe.Code
		return e
	}
	return errs.From(err)
}

// problemHeaders sets the headers a problem implies: Retry-After when the client
// should wait, WWW-Authenticate on every 401 (RFC 9110 requires it).
func problemHeaders(set func(name, value string), e *errs.Error) {
	if e.RetryAfter > 0 {
		set(fiber.HeaderRetryAfter, strconv.Itoa(e.RetryAfter))
	}
	if e.Status == fiber.StatusUnauthorized {
		set(fiber.HeaderWWWAuthenticate, nonEmpty(e.Challenge, DefaultChallenge))
	}
}

func writeProblem(c *fiber.Ctx, e *errs.Error, probs func(code string)) error {
	if probs != nil {
		probs(string(e.Code))
	}
	problemHeaders(c.Set, e)
	body, err := json.Marshal(e)
	if err != nil {
		body = []byte(`{"title":"Internal Server Error","status":500,"code":"internal"}`)
	}
	c.Set(fiber.HeaderContentType, "application/problem+json")
	return c.Status(e.Status).Send(body)
}
