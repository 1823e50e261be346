// Package errs is Clientele's one error type. Every failure a client can see is an
// *Error, rendered as an RFC 9457 problem document; the mapping from code to HTTP
// status lives here and nowhere else.
package errs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Code classifies an error for clients and for the status mapping.
type Code string

// The codes a client may see.
const (
	Invalid          Code = "invalid"            // input failed validation (names the field)
	Malformed        Code = "malformed"          // the request could not be parsed at all
	NotFound         Code = "not_found"          // no such record, or not visible to the caller
	Gone             Code = "gone"               // the record existed but its content is no longer kept (an expired export)
	Conflict         Code = "conflict"           // a uniqueness or state conflict
	Forbidden        Code = "forbidden"          // authenticated but not allowed
	Unauthenticated  Code = "unauthenticated"    // no valid credentials
	RateLimited      Code = "rate_limited"       // too many requests; retry later
	TooLarge         Code = "too_large"          // the request body or file is over the limit
	MethodNotAllowed Code = "method_not_allowed" // the route exists for other methods
	Unsupported      Code = "unsupported_media"  // content type or Accept cannot be served
	Timeout          Code = "timeout"            // the request ran past its deadline
	Unavailable      Code = "unavailable"        // a dependency is down; retry later
	NotImplemented   Code = "not_implemented"    // the feature does not run on this deployment (a Citus cluster)
	Internal         Code = "internal"           // a bug or unexpected failure; details are logged only
)

// statusByCode is the single place where codes meet HTTP statuses.
var statusByCode = map[Code]int{
	Invalid:          http.StatusUnprocessableEntity,
	Malformed:        http.StatusBadRequest,
	NotFound:         http.StatusNotFound,
	Gone:             http.StatusGone,
	Conflict:         http.StatusConflict,
	Forbidden:        http.StatusForbidden,
	Unauthenticated:  http.StatusUnauthorized,
	RateLimited:      http.StatusTooManyRequests,
	TooLarge:         http.StatusRequestEntityTooLarge,
	MethodNotAllowed: http.StatusMethodNotAllowed,
	Unsupported:      http.StatusUnsupportedMediaType,
	Timeout:          http.StatusGatewayTimeout,
	Unavailable:      http.StatusServiceUnavailable,
	NotImplemented:   http.StatusNotImplemented,
	Internal:         http.StatusInternalServerError,
}

// Status is the HTTP status for a code.
func (c Code) Status() int {
	if s, ok := statusByCode[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// CodeForStatus maps a status produced by a library (Huma, Fiber) back to a code.
func CodeForStatus(status int) Code {
	switch status {
	case http.StatusBadRequest:
		return Malformed
	case http.StatusNotAcceptable:
		return Unsupported
	case http.StatusRequestTimeout:
		return Timeout
	}
	for c, s := range statusByCode {
		if s == status {
			return c
		}
	}
	if status >= 500 {
		return Internal
	}
	return Invalid
}

// FieldError names one offending input and why it was refused. Location uses
// Huma's form: "body.name", "query.limit", "path.tenant", "body.custom.size".
type FieldError struct {
	Location string `json:"location" xml:"location"`
	Message  string `json:"message" xml:"message"`
	Value    any    `json:"value,omitempty" xml:"-"`
}

// Error is the problem document itself; its exported fields are what clients see.
type Error struct {
	XMLName   struct{}     `json:"-" xml:"problem"`
	Type      string       `json:"type" xml:"type"`
	Title     string       `json:"title" xml:"title"`
	Status    int          `json:"status" xml:"status"`
	Detail    string       `json:"detail,omitempty" xml:"detail,omitempty"`
	Code      Code         `json:"code" xml:"code"`
	RequestID string       `json:"request_id,omitempty" xml:"request_id,omitempty"`
	Errors    []FieldError `json:"errors,omitempty" xml:"errors>error,omitempty"`
	// Current is the record as it stands, sent with a 409 for a stale version
	// so the client can show it and retry without another read.
	Current any `json:"current,omitempty" xml:"-"`
	// Dependency names what is unavailable on a 503: "database", "redis",
	// "identity", or "files" when the file store is full, so that clients can
	// say so (the web app shows a banner).
	Dependency string `json:"dependency,omitempty" xml:"dependency,omitempty" enum:"database,redis,identity,files"`
	// RetryAfter, in seconds, is sent as a Retry-After header when set.
	RetryAfter int `json:"-" xml:"-"`
	// Challenge is the WWW-Authenticate value sent with a 401; empty sends the
	// server's default challenge.
	Challenge string `json:"-" xml:"-"`

	cause error
}

// E builds an error with a code and a message that is safe to show a client.
func E(code Code, format string, args ...any) *Error {
	st := code.Status()
	return &Error{
		Type:   "urn:clientele:problem:" + string(code),
		Title:  http.StatusText(st),
		Status: st,
		Code:   code,
		Detail: fmt.Sprintf(format, args...),
	}
}

// Field builds an invalid-input error naming one field.
func Field(location, message string) *Error {
	return E(Invalid, "%s: %s", location, message).WithFields(FieldError{Location: location, Message: message})
}

// Wrap hides cause behind a client-safe error of the given code. The cause is
// kept for logs and errors.Is, never rendered.
func Wrap(code Code, cause error, format string, args ...any) *Error {
	e := E(code, format, args...)
	e.cause = cause
	return e
}

// InternalErr hides an unexpected failure; clients see a generic message.
func InternalErr(cause error) *Error {
	// A full file store is the client's 503 with what to do, not our 500,
	// even where the code that met it did not expect it: handlers return this
	// error as it is. (A database outage is not turned here: whether a write
	// was applied depends on where it broke, which db.Classify knows.)
	if IsStorageFull(cause) {
		return Down(DependencyFiles, cause)
	}
	return Wrap(Internal, cause, "Something went wrong on our side. Try again; if it keeps happening, contact support with the request id.")
}

// WithFields attaches field errors.
func (e *Error) WithFields(f ...FieldError) *Error {
	e.Errors = append(e.Errors, f...)
	return e
}

// WithCurrent attaches the record as it stands (a stale write's 409).
func (e *Error) WithCurrent(v any) *Error {
	e.Current = v
	return e
}

// Error implements error. It includes the hidden cause for logs.
func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Detail, e.cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Detail)
}

// Unwrap exposes the hidden cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.cause }

// GetStatus lets Huma pick the response status.
func (e *Error) GetStatus() int { return e.Status }

// ContentType makes Huma send problem documents with the problem media types:
// XML to callers that asked for XML, JSON to everyone else. A problem is never
// a CSV table, whatever a list's caller accepts.
func (e *Error) ContentType(ct string) string {
	switch ct {
	case "application/xml", "text/xml":
		return "application/problem+xml"
	}
	return "application/problem+json"
}

// CodeOf returns the code carried by err, Internal for foreign errors.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// From turns any error into a client-safe *Error. Foreign errors become Internal,
// except deadline and cancellation, which become Timeout.
func From(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Code == Internal && e.cause != nil {
			// Code that gave up on an error it did not recognise may still be
			// holding an outage, which is the client's 503, not our 500.
			if d := outage(e.cause); d != nil {
				d.RequestID = e.RequestID
				return d
			}
		}
		return e
	}
	if d := outage(err); d != nil {
		return d
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Wrap(Timeout, err, "The request took too long and was stopped. Narrow it (fewer rows, a tighter filter) or try again.")
	}
	if errors.Is(err, context.Canceled) {
		return Wrap(Timeout, err, "The request was canceled before it finished.")
	}
	return InternalErr(err)
}

// SchemaName names the problem document in the API document (httpx.SchemaNamer).
func (Error) SchemaName() string { return "Problem" }
