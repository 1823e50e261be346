package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/notify"
)

// APIVersion is the version of the envelope deliveries carry.
const APIVersion = "2026-12-01"

// Envelope is the body of every delivery.
type Envelope struct {
	ID         uuid.UUID `json:"id" doc:"the event's id: the same in every delivery and replay of the event"`
	Type       string    `json:"type" doc:"customer.created, deal.won..."`
	APIVersion string    `json:"api_version"`
	OccurredAt time.Time `json:"occurred_at"`
	Tenant     string    `json:"tenant" doc:"the company's slug"`
	Sequence   int64     `json:"sequence" doc:"increases by one per event for a subscription, in dispatch order: a gap means a delivery still to come or one that failed"`
	Data       EventData `json:"data"`
}

// EventData says what the event is about.
type EventData struct {
	ID     string `json:"id,omitempty" doc:"the record's id"`
	Object any    `json:"object" doc:"the record as the API returns it when the event was first sent; null when it is gone"`
}

// record is the events recorder: inside the transaction that caused e, it
// collects e, and just before that transaction commits one statement queues a
// delivery per event and enabled subscription that names the event's type, its
// object's wildcard or "*", sent with the COMMIT (no round trip of its own).
// A tenant with no subscription gets one insert of no rows per transaction.
func (m *Module) record(ctx context.Context, e events.Event) error {
	if e.TenantID == uuid.Nil || e.Topic == "" {
		return nil
	}
	return db.InTenant(ctx, m.d.DB, e.TenantID, func(ctx context.Context, tx bun.Tx) error {
		return db.Collect(ctx, outboxKey{}, e, m.flushOutbox)
	})
}

type outboxKey struct{}

func (m *Module) flushOutbox(ctx context.Context, tx bun.Tx, values []any) error {
	n := len(values)
	ids, types, entities, ats := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	var tenant uuid.UUID
	for _, v := range values {
		e := v.(events.Event)
		tenant = e.TenantID
		ids, types, entities = append(ids, e.ID.String()), append(types, e.Topic), append(entities, e.EntityID)
		ats = append(ats, e.At.UTC().Format(time.RFC3339Nano))
	}
	// clock_timestamp() grows row by row, in event order: the dispatcher
	// numbers a subscription's deliveries in that order.
	return db.Defer(ctx, tx, `INSERT INTO webhook_deliveries (tenant_id, id, subscription_id, event_id, event_type, entity_id, occurred_at, created_at)
		SELECT s.tenant_id, gen_random_uuid(), s.id, e.id, e.type, e.entity, e.at, clock_timestamp()
		FROM unnest(?::uuid[], ?::text[], ?::text[], ?::timestamptz[]) WITH ORDINALITY AS e (id, type, entity, at, n)
		JOIN webhook_subscriptions s ON s.tenant_id = ? AND s.enabled
		  AND s.events && ARRAY[e.type, split_part(e.type, '.', 1) || '.*', '*']
		ORDER BY e.n, s.id`,
		pgArray(ids), pgArray(types), pgArray(entities), pgArray(ats), tenant)
}

// kickAfterCommit wakes a dispatcher for the event's tenant when the tenant
// has subscriptions. It is only a hint: the sweep finds due deliveries anyway.
func (m *Module) kickAfterCommit(ctx context.Context, e events.Event) error {
	if e.TenantID == uuid.Nil || !m.hasSubscriptions(ctx, e.TenantID) {
		return nil
	}
	m.kick(ctx, e.TenantID, 0, strconv.FormatInt(time.Now().Unix(), 10))
	return nil
}

// kick asks for a dispatcher of tenant in `in`; key makes equal kicks one.
func (m *Module) kick(ctx context.Context, tenant uuid.UUID, in time.Duration, key string) {
	if m.d.Jobs == nil {
		return
	}
	m.d.Jobs.Kick(ctx, TypeDispatch, jobs.QueueDefault, "webhooks:dispatch:"+tenant.String()+":"+key, dispatchPayload{Tenant: tenant}, in)
}

const knownFor = 5 * time.Second

func (m *Module) hasSubscriptions(ctx context.Context, tenant uuid.UUID) bool {
	m.mu.Lock()
	c, ok := m.known[tenant]
	m.mu.Unlock()
	if ok && time.Since(c.at) < knownFor {
		return c.has
	}
	var has bool
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE tenant_id = ? AND enabled)", tenant).Scan(ctx, &has)
	})
	if err != nil {
		return true // unsure: a needless kick costs little
	}
	m.mu.Lock()
	if len(m.known) > 100_000 {
		clear(m.known)
	}
	m.known[tenant] = cached{has: has, at: time.Now()}
	m.mu.Unlock()
	return has
}

// forget drops what is cached about tenant's subscriptions.
func (m *Module) forget(tenant uuid.UUID) {
	m.mu.Lock()
	delete(m.known, tenant)
	m.mu.Unlock()
}

type dispatchPayload struct {
	Tenant uuid.UUID `json:"tenant"`
}

// claimed is one delivery a dispatcher holds.
type claimed struct {
	ID             uuid.UUID `bun:"id"`
	SubscriptionID uuid.UUID `bun:"subscription_id"`
	EventID        uuid.UUID `bun:"event_id"`
	EventType      string    `bun:"event_type"`
	EntityID       string    `bun:"entity_id"`
	OccurredAt     time.Time `bun:"occurred_at"`
	Seq            *int64    `bun:"seq"`
	Body           []byte    `bun:"body"`
	Attempts       int       `bun:"attempts"`
	CreatedAt      time.Time `bun:"created_at"`
}

// dispatchBatch is how many deliveries one claim takes.
const dispatchBatch = 200

// dispatch sends a tenant's due deliveries until none is left (or a few
// minutes have passed), then asks to run again when the next retry falls due.
func (m *Module) dispatch(ctx context.Context, payload json.RawMessage) error {
	var p dispatchPayload
	if err := json.Unmarshal(payload, &p); err != nil || p.Tenant == uuid.Nil {
		return fmt.Errorf("webhooks: dispatch payload %q: %w", payload, errors.Join(err, errors.New("no tenant")))
	}
	ctx = authz.AsSystem(ctx)
	stop := time.Now().Add(4 * time.Minute)
	sent := 0
	for time.Now().Before(stop) {
		// Sends stop at half the lease: the rest is handed back rather than
		// left to a dispatcher that would claim it while this one still sends.
		until := time.Now().Add(m.d.Lease / 2)
		batch, subs, err := m.claim(ctx, p.Tenant, dispatchBatch)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			break
		}
		m.send(ctx, p.Tenant, batch, subs, until)
		sent += len(batch)
	}
	if sent > 0 {
		// A delivery committed while this run was finishing had its kick
		// dropped as a duplicate of this one: look once more shortly.
		m.kick(ctx, p.Tenant, time.Second, "again:"+strconv.FormatInt(time.Now().Unix(), 10))
	}
	var next *time.Time
	err := db.InTenant(ctx, m.d.DB, p.Tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT min(CASE WHEN status = 'pending' THEN next_attempt_at ELSE lease_until END) FROM webhook_deliveries
			WHERE tenant_id = ? AND status IN ('pending', 'sending')`, p.Tenant).Scan(ctx, &next)
	})
	if err != nil {
		return err
	}
	if next != nil {
		in := max(time.Until(*next), 0) + 50*time.Millisecond
		if in < 15*time.Minute {
			m.kick(ctx, p.Tenant, in, "at:"+strconv.FormatInt(next.UnixMilli(), 10))
		}
	}
	return nil
}

// sub is a subscription as the dispatcher needs it.
type sub struct {
	ID        uuid.UUID  `bun:"id"`
	URL       string     `bun:"url"`
	Enabled   bool       `bun:"enabled"`
	Secret    string     `bun:"secret"`
	OldSecret *string    `bun:"old_secret"`
	OldUntil  *time.Time `bun:"old_secret_until"`
}

// claim takes up to limit due deliveries of tenant (pending and due, or held
// by a dispatcher whose lease ended), gives each a sequence number and a body
// the first time, and returns them with their subscriptions. Deliveries of a
// switched-off subscription are marked failed instead.
func (m *Module) claim(ctx context.Context, tenant uuid.UUID, limit int) ([]claimed, map[uuid.UUID]sub, error) {
	var rows []claimed
	subs := map[uuid.UUID]sub{}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		err := tx.NewRaw(`WITH due AS (
				SELECT id FROM webhook_deliveries
				WHERE tenant_id = ? AND status IN ('pending', 'sending') AND next_attempt_at <= now()
				  AND (status = 'pending' OR lease_until < now())
				ORDER BY next_attempt_at, created_at, id LIMIT ? FOR UPDATE SKIP LOCKED)
			UPDATE webhook_deliveries d SET status = 'sending', attempts = d.attempts + 1,
				lease_until = now() + make_interval(secs => ?)
			FROM due WHERE d.tenant_id = ? AND d.id = due.id
			RETURNING d.id, d.subscription_id, d.event_id, d.event_type, d.entity_id, d.occurred_at, d.seq, d.body, d.attempts, d.created_at`,
			tenant, limit, m.d.Lease.Seconds(), tenant).Scan(ctx, &rows)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		ids := map[uuid.UUID]bool{}
		for _, r := range rows {
			ids[r.SubscriptionID] = true
		}
		var list []sub
		// FOR NO KEY UPDATE: the sequence counter changes under this lock, while
		// writers inserting deliveries (a key share lock) are not held up.
		if err := tx.NewRaw(`SELECT id, url, enabled, secret, old_secret, old_secret_until FROM webhook_subscriptions
			WHERE tenant_id = ? AND id IN (?) ORDER BY id FOR NO KEY UPDATE`, tenant, bun.In(keys(ids))).Scan(ctx, &list); err != nil {
			return err
		}
		for _, s := range list {
			subs[s.ID] = s
		}
		sort.SliceStable(rows, func(i, j int) bool {
			a, b := rows[i], rows[j]
			if a.SubscriptionID != b.SubscriptionID {
				return a.SubscriptionID.String() < b.SubscriptionID.String()
			}
			if !a.CreatedAt.Equal(b.CreatedAt) {
				return a.CreatedAt.Before(b.CreatedAt)
			}
			return a.ID.String() < b.ID.String()
		})
		return m.prepare(ctx, tx, tenant, rows, subs)
	})
	if err != nil {
		return nil, nil, err
	}
	live := rows[:0]
	for _, r := range rows {
		if s, ok := subs[r.SubscriptionID]; ok && s.Enabled {
			live = append(live, r)
		}
	}
	return live, subs, nil
}

// prepare numbers and renders, in the claim's transaction, the deliveries
// sent for the first time, and fails those of switched-off subscriptions.
func (m *Module) prepare(ctx context.Context, tx bun.Tx, tenant uuid.UUID, rows []claimed, subs map[uuid.UUID]sub) error {
	var off []uuid.UUID
	need := map[uuid.UUID]int64{}
	for _, r := range rows {
		s, ok := subs[r.SubscriptionID]
		switch {
		case !ok || !s.Enabled:
			off = append(off, r.ID)
		case r.Seq == nil:
			need[r.SubscriptionID]++
		}
	}
	if len(off) > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'failed', lease_until = NULL,
			last_error = 'the subscription is switched off; replay the delivery after switching it on' WHERE tenant_id = ? AND id IN (?)`, tenant, bun.In(off)); err != nil {
			return err
		}
	}
	if len(need) == 0 {
		return nil
	}
	next := map[uuid.UUID]int64{}
	for id, n := range need {
		var first int64
		if err := tx.NewRaw("UPDATE webhook_subscriptions SET next_seq = next_seq + ? WHERE tenant_id = ? AND id = ? RETURNING next_seq - ?",
			n, tenant, id, n).Scan(ctx, &first); err != nil {
			return err
		}
		next[id] = first
	}
	var slug string
	if err := tx.NewRaw("SELECT slug FROM tenants WHERE id = ?", tenant).Scan(ctx, &slug); err != nil {
		return err
	}
	var ids []uuid.UUID
	var seqs []int64
	var bodies []string
	for i := range rows {
		r := &rows[i]
		s, ok := subs[r.SubscriptionID]
		if !ok || !s.Enabled || r.Seq != nil {
			continue
		}
		seq := next[r.SubscriptionID]
		next[r.SubscriptionID]++
		body, err := m.render(ctx, tenant, slug, r, seq)
		if err != nil {
			return err
		}
		r.Seq, r.Body = &seq, body
		ids, seqs, bodies = append(ids, r.ID), append(seqs, seq), append(bodies, string(body))
	}
	_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries d SET seq = v.seq, body = v.body::jsonb
		FROM (SELECT unnest(?::uuid[]) AS id, unnest(?::bigint[]) AS seq, unnest(?::text[]) AS body) v
		WHERE d.tenant_id = ? AND d.id = v.id`, pgArray(uuidStrings(ids)), pgInts(seqs), pgArray(bodies), tenant)
	return err
}

// render builds a delivery's body: the envelope with the record as the API
// returns it now (or null when it is gone).
func (m *Module) render(ctx context.Context, tenant uuid.UUID, slug string, r *claimed, seq int64) ([]byte, error) {
	env := Envelope{ID: r.EventID, Type: r.EventType, APIVersion: APIVersion, OccurredAt: r.OccurredAt.UTC(), Tenant: slug, Sequence: seq,
		Data: EventData{ID: r.EntityID}}
	obj, plural, _ := strings.Cut(r.EventType, ".")
	switch {
	case r.EventType == TestEvent:
		env.Data.Object = map[string]any{"message": "This is a test event from Clientele. 这是一条测试事件。"}
	case strings.HasSuffix(obj, "s"), plural == "":
		// "customers.imported": the id is the import's; no record to show.
	case m.d.Objects != nil:
		if id, err := uuid.Parse(r.EntityID); err == nil {
			o, err := m.d.Objects(ctx, tenant, obj+"s", id)
			if err != nil && !errs.Is(err, errs.NotFound) {
				return nil, err
			}
			env.Data.Object = o
		}
	}
	return json.Marshal(env)
}

// result is what one attempt got.
type result struct {
	status   int
	err      string
	latency  time.Duration
	response string
}

func (r result) ok() bool { return r.err == "" && r.status >= 200 && r.status < 300 }

// maxConcurrentSubs bounds the subscriptions one dispatcher sends to at once;
// within a subscription deliveries go one at a time, in sequence order.
const maxConcurrentSubs = 8

func (m *Module) send(ctx context.Context, tenant uuid.UUID, rows []claimed, subs map[uuid.UUID]sub, until time.Time) {
	bySub := map[uuid.UUID][]claimed{}
	var order []uuid.UUID
	for _, r := range rows {
		if _, seen := bySub[r.SubscriptionID]; !seen {
			order = append(order, r.SubscriptionID)
		}
		bySub[r.SubscriptionID] = append(bySub[r.SubscriptionID], r)
	}
	sem := make(chan struct{}, maxConcurrentSubs)
	var wg sync.WaitGroup
	for _, id := range order {
		sem <- struct{}{}
		wg.Add(1)
		go func(s sub, list []claimed) {
			defer func() { <-sem; wg.Done() }()
			for i, r := range list {
				if time.Now().After(until) {
					if err := m.release(ctx, tenant, list[i:]); err != nil {
						m.d.Log.ErrorContext(ctx, "webhooks: handing back deliveries failed; they are claimed again after their lease", "error", err.Error())
					}
					return
				}
				res := m.attempt(ctx, s, r)
				if err := m.settle(ctx, tenant, s, r, res); err != nil {
					m.d.Log.ErrorContext(ctx, "webhooks: recording a delivery failed; it is sent again after its lease", "delivery_id", r.ID.String(), "error", err.Error())
				}
			}
		}(subs[id], bySub[id])
	}
	wg.Wait()
}

// release hands claimed deliveries back unsent, fenced by their attempt.
func (m *Module) release(ctx context.Context, tenant uuid.UUID, rows []claimed) error {
	ids, attempts := make([]string, len(rows)), make([]int64, len(rows))
	for i, r := range rows {
		ids[i], attempts[i] = r.ID.String(), int64(r.Attempts)
	}
	return db.InTenant(context.WithoutCancel(ctx), m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries d SET status = 'pending', attempts = d.attempts - 1, lease_until = NULL
			FROM (SELECT unnest(?::uuid[]) AS id, unnest(?::int[]) AS attempts) v
			WHERE d.tenant_id = ? AND d.id = v.id AND d.status = 'sending' AND d.attempts = v.attempts`, pgArray(ids), pgInts(attempts), tenant)
		return err
	})
}

// Sign returns the Clientele-Signature header for body at time t with each
// secret: t=<unix>,v1=<hex hmac-sha256(secret, "<unix>." + body)>[,v1=...].
func Sign(t time.Time, body []byte, secrets ...string) string {
	var b strings.Builder
	ts := strconv.FormatInt(t.Unix(), 10)
	b.WriteString("t=" + ts)
	for _, s := range secrets {
		mac := hmac.New(sha256.New, []byte(s))
		mac.Write([]byte(ts + "."))
		mac.Write(body)
		b.WriteString(",v1=" + hex.EncodeToString(mac.Sum(nil)))
	}
	return b.String()
}

// Verify checks a Clientele-Signature header against body and secret: one of
// its v1 signatures must match, and its time be within tolerance of now. It is
// what a receiver written in Go runs (docs/webhooks.md has Python and Node).
func Verify(header string, body []byte, secret string, tolerance time.Duration, now time.Time) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("webhooks: signature has no time")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhooks: signature time is outside the tolerance")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range sigs {
		got, err := hex.DecodeString(s)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("webhooks: no signature matches")
}

// responseKept is how much of a receiver's answer the log keeps.
const responseKept = 1024

func (m *Module) attempt(ctx context.Context, s sub, r claimed) result {
	ctx, cancel := context.WithTimeout(ctx, m.d.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(r.Body))
	if err != nil {
		return result{err: "the URL cannot be requested: " + err.Error()}
	}
	secrets := []string{s.Secret}
	if s.OldSecret != nil && s.OldUntil != nil && time.Now().Before(*s.OldUntil) {
		secrets = append(secrets, *s.OldSecret)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Clientele-Webhooks/1")
	req.Header.Set("Clientele-Event-Id", r.EventID.String())
	req.Header.Set("Clientele-Event-Type", r.EventType)
	req.Header.Set("Clientele-Delivery-Id", r.ID.String())
	if r.Seq != nil {
		req.Header.Set("Clientele-Sequence", strconv.FormatInt(*r.Seq, 10))
	}
	req.Header.Set("Clientele-Signature", Sign(time.Now(), r.Body, secrets...))
	start := time.Now()
	resp, err := m.client.Do(req)
	lat := time.Since(start)
	if err != nil {
		return result{err: describeSendError(err), latency: lat}
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, responseKept))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return result{status: resp.StatusCode, latency: lat, response: strings.ToValidUTF8(string(head), "")}
}

func describeSendError(err error) string {
	var s string
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		s = "no answer within the time limit"
	default:
		s = err.Error()
	}
	if len(s) > 500 {
		s = s[:500]
	}
	return strings.ToValidUTF8(s, "")
}

// backoff is the delay before attempt n+1: RetryBase doubled per attempt, at
// most RetryMax, with ±25% jitter derived from the delivery (so two
// dispatchers agree, and retries of many deliveries spread out).
func (m *Module) backoff(r claimed) time.Duration {
	d := m.d.RetryBase
	for i := 1; i < r.Attempts && d < m.d.RetryMax; i++ {
		d *= 2
	}
	d = min(d, m.d.RetryMax)
	h := fnv.New64a()
	_, _ = h.Write(r.ID[:])
	_, _ = fmt.Fprint(h, r.Attempts)
	j := float64(h.Sum64()%1000)/1000*0.5 + 0.75
	return time.Duration(float64(d) * j)
}

// settle records an attempt, fenced by the attempt number: a dispatcher whose
// lease was taken over records nothing. A failure schedules the next attempt,
// or gives up after the retry window; it lengthens the subscription's failure
// streak, which past the limit switches the subscription off and tells the
// company's admins.
func (m *Module) settle(ctx context.Context, tenant uuid.UUID, s sub, r claimed, res result) error {
	ctx = context.WithoutCancel(ctx)
	var disabled bool
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		lat := int(res.latency.Milliseconds())
		var status *int
		if res.status != 0 {
			status = &res.status
		}
		if res.ok() {
			n, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'succeeded', delivered_at = now(), lease_until = NULL,
				last_status = ?, last_error = '', last_latency_ms = ?, last_response = ?
				WHERE tenant_id = ? AND id = ? AND status = 'sending' AND attempts = ?`, status, lat, res.response, tenant, r.ID, r.Attempts)
			if err != nil {
				return err
			}
			if k, _ := n.RowsAffected(); k == 0 {
				return nil
			}
			_, err = tx.ExecContext(ctx, "UPDATE webhook_subscriptions SET failure_streak = 0, failing_since = NULL WHERE tenant_id = ? AND id = ? AND failure_streak <> 0", tenant, s.ID)
			return err
		}
		why := res.err
		if why == "" {
			why = fmt.Sprintf("the receiver answered %d", res.status)
		}
		delay := m.backoff(r)
		state := "pending"
		if time.Now().Add(delay).After(r.CreatedAt.Add(m.d.RetryWindow)) {
			state = "failed"
			why += fmt.Sprintf("; gave up after %d attempts over %s", r.Attempts, m.d.RetryWindow)
		}
		n, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, next_attempt_at = now() + make_interval(secs => ?), lease_until = NULL,
			last_status = ?, last_error = ?, last_latency_ms = ?, last_response = ?
			WHERE tenant_id = ? AND id = ? AND status = 'sending' AND attempts = ?`,
			state, delay.Seconds(), status, why, lat, res.response, tenant, r.ID, r.Attempts)
		if err != nil {
			return err
		}
		if k, _ := n.RowsAffected(); k == 0 {
			return nil
		}
		var st struct {
			Streak  int       `bun:"failure_streak"`
			Since   time.Time `bun:"failing_since"`
			Enabled bool      `bun:"enabled"`
		}
		// least() skips a NULL, so it keeps the first failure's time; Citus
		// refuses now() inside coalesce() in an UPDATE.
		if err := tx.NewRaw(`UPDATE webhook_subscriptions SET failure_streak = failure_streak + 1, failing_since = least(failing_since, now())
			WHERE tenant_id = ? AND id = ? RETURNING failure_streak, failing_since, enabled`, tenant, s.ID).Scan(ctx, &st); err != nil {
			return err
		}
		if st.Enabled && st.Streak >= m.d.DisableAfter && time.Since(st.Since) >= m.d.DisableAge {
			reason := fmt.Sprintf("switched off after %d failed attempts in a row since %s; the last: %s", st.Streak, st.Since.UTC().Format(time.RFC3339), why)
			if _, err := tx.ExecContext(ctx, "UPDATE webhook_subscriptions SET enabled = false, disabled_reason = ?, updated_at = now() WHERE tenant_id = ? AND id = ?",
				cut(reason, 1000), tenant, s.ID); err != nil {
				return err
			}
			// What is still queued fails now, ready to be replayed, rather than
			// when each delivery's next attempt comes round (up to the longest
			// backoff later); one being sent fails when its attempt ends.
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'failed', lease_until = NULL,
				last_error = 'the subscription is switched off; replay the delivery after switching it on'
				WHERE tenant_id = ? AND subscription_id = ? AND status = 'pending'`, tenant, s.ID); err != nil {
				return err
			}
			disabled = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	if disabled {
		m.forget(tenant)
		m.tellAdmins(ctx, tenant, s)
	}
	return nil
}

func (m *Module) tellAdmins(ctx context.Context, tenant uuid.UUID, s sub) {
	if m.d.Admins == nil || m.d.Notify == nil {
		return
	}
	ids, err := m.d.Admins.Admins(ctx, tenant)
	if err != nil {
		m.d.Log.ErrorContext(ctx, "webhooks: cannot list the admins to tell of a switched-off subscription", "error", err.Error())
		return
	}
	n := notify.Notice{
		Kind:  "webhook.disabled",
		Title: "A webhook was switched off after failing repeatedly · Webhook 多次推送失败，已停用",
		Body: "Deliveries to " + cut(s.URL, 200) + " kept failing, so Clientele stopped sending them. Check the receiver, then switch the subscription on and replay the failed deliveries from its log. " +
			"推送到该地址的请求持续失败，已暂停推送。请检查接收端，然后重新启用订阅并在推送记录中重发失败的推送。",
		Link:      "/settings/webhooks/" + s.ID.String(),
		SourceKey: "webhook:" + s.ID.String() + ":disabled:" + strconv.FormatInt(time.Now().Unix()/3600, 10),
	}
	for _, id := range ids {
		if _, err := m.d.Notify.Notify(ctx, tenant, id, n); err != nil {
			m.d.Log.ErrorContext(ctx, "webhooks: telling an admin of a switched-off subscription failed", "error", err.Error())
		}
	}
}

// sweep kicks a dispatcher for every tenant with due deliveries. It reads
// only scheduling columns, as the sweeper role, in a read-only transaction.
func (m *Module) sweep(ctx context.Context, _ json.RawMessage) error {
	var tenants []uuid.UUID
	err := m.d.DB.RunInTx(ctx, &sql.TxOptions{ReadOnly: true}, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SET LOCAL ROLE "+jobs.SweeperRole); err != nil {
			return err
		}
		return tx.NewRaw(`SELECT DISTINCT tenant_id FROM webhook_deliveries
			WHERE status IN ('pending', 'sending') AND next_attempt_at <= now() AND (status = 'pending' OR lease_until < now())
			LIMIT 10000`).Scan(ctx, &tenants)
	})
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("webhooks: sweep: %w", err)
	}
	bucket := "sweep:" + strconv.FormatInt(time.Now().Unix()/10, 10)
	for _, t := range tenants {
		m.kick(ctx, t, 0, bucket)
	}
	return nil
}

// Sweep runs one sweep now (tests and drills).
func (m *Module) Sweep(ctx context.Context) error { return m.sweep(ctx, nil) }

// keepDays is how long delivery records are kept.
const keepDays = 30

func (m *Module) prune(ctx context.Context, _ json.RawMessage) error {
	_, err := m.d.DB.ExecContext(ctx, "SELECT webhook_prune_deliveries(?)", keepDays)
	return err
}

func keys(m map[uuid.UUID]bool) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func uuidStrings(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

func pgInts(v []int64) any { return pgdialect.Array(v) }

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
