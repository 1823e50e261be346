// Package idem keeps the first result of each POST sent with an
// Idempotency-Key header, per company, caller and key, for 24 hours, so that a
// client retrying after a timeout or a dropped connection gets that result
// back instead of creating the record twice. The same key with a different
// request is refused. Concurrent retries wait for the first to finish.
//
// The key is claimed in a transaction of its own before the request runs, and
// the result recorded after it. The claim is a lease that the running request
// renews (Hold); a process that dies mid-request stops renewing it, and a
// retry takes the key over once the lease has run out, within seconds. A
// process that dies between the request's commit and the record of its
// result leaves a request that was applied without a kept answer: the retry
// runs it again, so that narrow case is at-least-once.
package idem

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/jobs"
)

// Header is the request header that carries the key.
const Header = "Idempotency-Key"

// ReplayedHeader marks a response that is a stored first result.
const ReplayedHeader = "Idempotent-Replayed"

// MaxKeyLen is the longest key accepted.
const MaxKeyLen = 255

// MaxKept is the largest answer kept under a key; a larger one (none of the
// API's creates comes near it) is not kept, and a retry runs the request again.
const MaxKept = 4 << 20

// Keep is how long a key's result is kept.
const Keep = 24 * time.Hour

// Saved is a stored first result.
type Saved struct {
	Status      int
	ContentType string
	Body        []byte
}

// Store keeps keys in PostgreSQL.
type Store struct {
	DB *bun.DB
	// Wait is how long a request waits for a concurrent one with its key to
	// finish before it is told to retry (409); zero: 10s.
	Wait time.Duration
	// Lease is how long a claim holds unless its request renews it (Hold
	// renews it every third of it); zero: 10 s.
	Lease time.Duration
}

func (s *Store) lease() time.Duration {
	if s.Lease <= 0 {
		return 10 * time.Second
	}
	return s.Lease
}

// legacyClaim is how long a claim made before leases holds.
const legacyClaim = 2 * time.Minute

// Fingerprint identifies a request: its method, path and body.
func Fingerprint(method, path string, body []byte) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", method, path)
	h.Write(body)
	return h.Sum(nil)
}

// CheckKey refuses a key that is empty, too long or not printable ASCII.
func CheckKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return errs.E(errs.Invalid, "The %s header must be 1 to %d characters; a UUID is a good key.", Header, MaxKeyLen).
			WithFields(errs.FieldError{Location: "header." + Header, Message: fmt.Sprintf("must be 1 to %d characters", MaxKeyLen)})
	}
	for _, r := range key {
		if r < 0x21 || r > 0x7e {
			return errs.E(errs.Invalid, "The %s header must be printable ASCII without spaces; a UUID is a good key.", Header).
				WithFields(errs.FieldError{Location: "header." + Header, Message: "must be printable ASCII without spaces"})
		}
	}
	return nil
}

// Begin claims key for this request. It returns (nil, nil) when the request
// should run (and Finish or Abandon be called after), the saved result when
// the key has one, or an error: 422 when the key came with another request,
// 409 when a request with the key is still running after the wait.
func (s *Store) Begin(ctx context.Context, tenant uuid.UUID, caller, key string, fp []byte) (*Saved, error) {
	wait := s.Wait
	if wait <= 0 {
		wait = 10 * time.Second
	}
	deadline := time.Now().Add(wait)
	pause := 20 * time.Millisecond
	for {
		var row claimRow
		err := db.InTenant(ctx, s.DB, tenant, func(ctx context.Context, tx bun.Tx) (err error) {
			row, err = s.claim(ctx, tx, tenant, caller, key, fp)
			return err
		})
		if errors.Is(err, sql.ErrNoRows) {
			continue // pruned in between: claim again
		}
		if err != nil {
			return nil, err
		}
		if saved, settled, err := row.settle(fp); settled {
			return saved, err
		}
		if time.Now().After(deadline) {
			return nil, errs.E(errs.Conflict, "A request with this %s is still being processed. Retry it in a few seconds.", Header)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(pause*2, 500*time.Millisecond)
	}
}

// BeginIn claims key inside tx, the request's own transaction: the claim, the
// request's writes and its answer (FinishIn) commit together or not at all.
// A concurrent request with the key waits on the claim's row lock until this
// transaction ends (at most Wait), then finds the answer; a process that dies
// mid-request takes its transaction, and the claim, with it. It returns the
// saved result when the key has one, (nil, nil) when the request should run,
// or the refusals of Begin.
func (s *Store) BeginIn(ctx context.Context, tx bun.Tx, tenant uuid.UUID, caller, key string, fp []byte) (*Saved, error) {
	wait := s.Wait
	if wait <= 0 {
		wait = 10 * time.Second
	}
	// A wait on another request's claim is bounded; after a refusal the
	// transaction is good only for its rollback.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", wait.Milliseconds())); err != nil {
		return nil, err
	}
	row, err := s.claim(ctx, tx, tenant, caller, key, fp)
	if _, lerr := tx.ExecContext(ctx, "SET LOCAL lock_timeout = 0"); err == nil && lerr != nil {
		err = lerr
	}
	var pe interface{ SQLState() string }
	if errors.As(err, &pe) && pe.SQLState() == "55P03" { // lock_not_available
		return nil, errs.E(errs.Conflict, "A request with this %s is still being processed. Retry it in a few seconds.", Header)
	}
	if err != nil {
		return nil, err
	}
	if saved, settled, err := row.settle(fp); settled {
		return saved, err
	}
	// A claim of the older, two-transaction kind, still running elsewhere.
	return nil, errs.E(errs.Conflict, "A request with this %s is still being processed. Retry it in a few seconds.", Header)
}

// claimRow is a key's row as a claim found it.
type claimRow struct {
	Mine        bool   `bun:"mine"`
	Fingerprint []byte `bun:"fingerprint"`
	State       string `bun:"state"`
	Status      *int   `bun:"status"`
	ContentType string `bun:"content_type"`
	Body        []byte `bun:"body"`
}

// claim takes key in tx, or reads it as it stands: a key past its day, or
// claimed by a request whose lease ran out (its process died), is taken over.
// sql.ErrNoRows means the row was pruned in between.
func (s *Store) claim(ctx context.Context, tx bun.Tx, tenant uuid.UUID, caller, key string, fp []byte) (claimRow, error) {
	var row claimRow
	// The clock is read in VALUES and reached through EXCLUDED, and ages are
	// differences of two times: Citus refuses a non-immutable function in ON
	// CONFLICT DO UPDATE, its SET or its WHERE (now(), and timestamptz plus or
	// minus an interval, which depends on the time zone).
	err := tx.NewRaw(`INSERT INTO idempotency_keys AS k (tenant_id, caller, key, fingerprint, created_at, lease_until)
		VALUES (?, ?, ?, ?, now(), now() + make_interval(secs => ?))
		ON CONFLICT (tenant_id, caller, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, state = 'running',
			status = NULL, content_type = '', body = NULL, created_at = EXCLUDED.created_at, completed_at = NULL,
			lease_until = EXCLUDED.lease_until
		WHERE EXCLUDED.created_at - k.created_at > make_interval(secs => ?)
		   OR (k.state = 'running' AND (k.lease_until < EXCLUDED.created_at
		       OR (k.lease_until IS NULL AND EXCLUDED.created_at - k.created_at > make_interval(secs => ?))))
		RETURNING true AS mine, fingerprint, state, status, content_type, body`,
		tenant, caller, key, fp, s.lease().Seconds(), Keep.Seconds(), legacyClaim.Seconds()).Scan(ctx, &row)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.NewRaw(`SELECT false AS mine, fingerprint, state, status, content_type, body FROM idempotency_keys
			WHERE tenant_id = ? AND caller = ? AND key = ?`, tenant, caller, key).Scan(ctx, &row)
	}
	return row, err
}

// settle says what a claim's row means for the request with fingerprint fp:
// run it (nil, true, nil), replay a kept answer, or refuse a key that came
// with another request. Not settled: another request holds the key.
func (r claimRow) settle(fp []byte) (*Saved, bool, error) {
	switch {
	case r.Mine:
		return nil, true, nil
	case string(r.Fingerprint) != string(fp):
		return nil, true, errs.E(errs.Invalid, "This %s was used with a different request in the last 24 hours. Use a new key for a new request.", Header).
			WithFields(errs.FieldError{Location: "header." + Header, Message: "was used with a different request"})
	case r.State == "done" && r.Status != nil:
		return &Saved{Status: *r.Status, ContentType: r.ContentType, Body: r.Body}, true, nil
	}
	return nil, false, nil
}

// FinishIn records the request's answer in its own transaction.
func (s *Store) FinishIn(ctx context.Context, tx bun.Tx, tenant uuid.UUID, caller, key string, res Saved) error {
	_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET state = 'done', status = ?, content_type = ?, body = ?, completed_at = now()
		WHERE tenant_id = ? AND caller = ? AND key = ? AND state = 'running'`, res.Status, cut(res.ContentType, 200), res.Body, tenant, caller, key)
	return err
}

// Hold renews the claim's lease while its request runs, and returns the
// function that stops renewing. A renewal that fails is tried again at the
// next tick; the lease is three ticks long.
func (s *Store) Hold(ctx context.Context, tenant uuid.UUID, caller, key string) (stop func()) {
	lease := s.lease()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = db.InTenant(context.WithoutCancel(ctx), s.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
					_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET lease_until = now() + make_interval(secs => ?)
						WHERE tenant_id = ? AND caller = ? AND key = ? AND state = 'running'`, lease.Seconds(), tenant, caller, key)
					return err
				})
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// Finish records the request's result under its key.
func (s *Store) Finish(ctx context.Context, tenant uuid.UUID, caller, key string, res Saved) error {
	return db.InTenant(context.WithoutCancel(ctx), s.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET state = 'done', status = ?, content_type = ?, body = ?, completed_at = now()
			WHERE tenant_id = ? AND caller = ? AND key = ? AND state = 'running'`, res.Status, cut(res.ContentType, 200), res.Body, tenant, caller, key)
		return err
	})
}

// Abandon releases the key of a request that failed on the server's side, so
// a retry runs it again.
func (s *Store) Abandon(ctx context.Context, tenant uuid.UUID, caller, key string) error {
	return db.InTenant(context.WithoutCancel(ctx), s.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM idempotency_keys WHERE tenant_id = ? AND caller = ? AND key = ? AND state = 'running'", tenant, caller, key)
		return err
	})
}

// Keeps reports whether a response of status is the key's result for good.
// Server failures, and answers that say "try again" (409 conflicts, 429), are
// not: a retry runs the request again.
func Keeps(status int) bool {
	return status < 500 && status != 409 && status != 429 && status != 408
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return strings.ToValidUTF8(s, "")
}

// TypePrune drops keys past their day.
const TypePrune = "idempotency:prune"

// Module serves the daily prune.
type Module struct{ s *Store }

// NewModule wraps the store as a kernel module.
func NewModule(s *Store) *Module { return &Module{s: s} }

// Name is the job namespace.
func (m *Module) Name() string { return "idempotency" }

// Jobs declares the prune.
func (m *Module) Jobs() []jobs.Handler {
	return []jobs.Handler{{Type: TypePrune, Queue: jobs.QueueBulk, Timeout: 10 * time.Minute,
		RunGlobal: func(ctx context.Context, _ json.RawMessage) error {
			_, err := m.s.DB.ExecContext(ctx, "SELECT clientele_prune_idempotency_keys()")
			return err
		}}}
}

// Schedules runs the prune daily.
func (m *Module) Schedules() []jobs.Schedule {
	return []jobs.Schedule{{Name: "idempotency-prune", Cron: "37 4 * * *", Type: TypePrune, Queue: jobs.QueueBulk}}
}
