package errs

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"math"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// The dependencies a 503 may name.
const (
	DependencyDatabase = "database"
	DependencyRedis    = "redis"
	DependencyIdentity = "identity"
	DependencyFiles    = "files"
)

// StorageFullRetryAfter is the Retry-After, in seconds, when the file store is
// full: space comes back when someone frees it, not within seconds.
const StorageFullRetryAfter = 60

// IsStorageFull reports a write refused because the disk, or the quota, of the
// file store is full.
func IsStorageFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// DefaultRetryAfter is the Retry-After, in seconds, of a 503 for a dependency
// outage when nothing better is known: long enough for a restart or a failover
// to finish, short enough that a person retrying does not give up.
const DefaultRetryAfter = 2

// unavailable is implemented by errors that know which dependency is down, such
// as the *breaker.OpenError a call gets while that dependency's breaker is open.
type unavailable interface{ UnavailableDependency() string }

// retryAfter is implemented by errors that know when to try again.
type retryAfterer interface{ RetryIn() time.Duration }

// Down is the 503 for a dependency outage: it names the dependency, says that the
// request changed nothing, and tells the client when to retry.
func Down(dependency string, cause error) *Error {
	var msg string
	switch dependency {
	case DependencyDatabase:
		msg = "The database is unavailable right now (it may be restarting or failing over). This request was not applied; send it again in a few seconds."
	case DependencyIdentity:
		msg = "The identity service is unavailable right now, so sign-in cannot be checked. Nothing was changed; try again in a few seconds."
	case DependencyRedis:
		msg = "A service this request needs (Redis) is unavailable right now. Nothing was changed; try again in a few seconds."
	case DependencyFiles:
		msg = "The file store is full, so nothing was saved or changed. Ask your administrator to free space on it, then try again."
	default:
		msg = "A service this request needs is unavailable right now. Nothing was changed; try again in a few seconds."
	}
	e := Wrap(Unavailable, cause, "%s", msg)
	e.Dependency = dependency
	e.RetryAfter = retryAfterOf(cause)
	if dependency == DependencyFiles {
		e.RetryAfter = StorageFullRetryAfter
	}
	return e
}

// DownUncertain is the 503 for a write whose commit was cut off by a database
// outage: PostgreSQL may have applied it before the connection broke, so the
// client must check before sending it again.
func DownUncertain(cause error) *Error {
	e := Wrap(Unavailable, cause, "The database became unavailable while this change was being committed; it may or may not have been applied. Check before sending it again.")
	e.Dependency = DependencyDatabase
	e.RetryAfter = retryAfterOf(cause)
	return e
}

func retryAfterOf(cause error) int {
	var r retryAfterer
	if errors.As(cause, &r) {
		if s := int(math.Ceil(r.RetryIn().Seconds())); s > 0 {
			return s
		}
		return 1
	}
	return DefaultRetryAfter
}

// OutageDependency reports which dependency err says is down ("" when err is
// not an outage): a breaker that is open, or a PostgreSQL connection that was
// refused, reset, shut down by an administrator, or that reached a server which
// cannot accept writes (a standby during failover).
func OutageDependency(err error) string {
	if err == nil {
		return ""
	}
	var u unavailable
	if errors.As(err, &u) {
		return u.UnavailableDependency()
	}
	if IsDBOutage(err) {
		return DependencyDatabase
	}
	return ""
}

// IsDBOutage reports database errors that mean the server is unreachable or
// going away, rather than that the statement was wrong.
func IsDBOutage(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case len(pe.Code) == 5 && pe.Code[:2] == "08": // connection exception
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // admin/crash shutdown, cannot connect now
			return true
		case pe.Code == "25006": // read-only transaction: a standby during failover
			return true
		case pe.Code == "53300": // too many connections
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	// pgconn's own transport errors ("failed to receive message", "failed to
	// write") are the only ones that offer SafeToRetry besides the above.
	var t interface{ SafeToRetry() bool }
	return errors.As(err, &t)
}

func isContextErr(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// outage maps an outage error to its 503, or returns nil.
func outage(err error) *Error {
	var u unavailable
	if errors.As(err, &u) {
		return Down(u.UnavailableDependency(), err)
	}
	if IsDBOutage(err) && !isContextErr(err) {
		return Down(DependencyDatabase, err)
	}
	if IsStorageFull(err) {
		return Down(DependencyFiles, err)
	}
	return nil
}
