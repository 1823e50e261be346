package tickets

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/identity"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// TypeMailCSAT is the job that sends a solved ticket's requester the link to
// rate it.
const TypeMailCSAT = "tickets:mail-csat"

// CSATValidity is how long a survey link works after it is sent.
const CSATValidity = 7 * 24 * time.Hour

// Limiter counts a request against a per-minute limit for a key (the
// platform's public limiter, passed in by cmd).
type Limiter = httpx.Limiter

// Limits of the public routes, per minute: one client address, one company.
const (
	csatPerAddr    = 30
	csatPerCompany = 600
	formPerAddr    = 10
	formPerCompany = 300
)

// limitPublic counts a public request by client address and by company.
func (m *Module) limitPublic(ctx context.Context, what string, tenant uuid.UUID, perAddr, perCompany int) error {
	return httpx.LimitPublic(ctx, m.d.Limiter, "tickets:"+what, tenant, perAddr, perCompany)
}

type csatPayload struct {
	Ticket uuid.UUID `json:"ticket"`
}

// requestCSAT records, in the transaction that solves t, that its requester
// is to be asked for a rating, and the job that sends the link. A ticket is
// asked once: solving it again after a reopen adds nothing.
func (m *Module) requestCSAT(ctx context.Context, tx bun.Tx, t *Ticket) error {
	if m.d.Jobs == nil || m.d.Mail == nil {
		return nil
	}
	var made []uuid.UUID
	if err := tx.NewRaw("INSERT INTO ticket_csat (tenant_id, ticket_id) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING ticket_id", t.TenantID, t.ID).
		Scan(ctx, &made); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if len(made) == 0 {
		return nil
	}
	_, err := m.d.Jobs.Enqueue(authz.AsSystem(ctx), t.TenantID, jobs.Spec{Type: TypeMailCSAT, Queue: jobs.QueueDefault,
		Payload: csatPayload{Ticket: t.ID}, DedupeKey: "mail-csat:" + t.ID.String()})
	return err
}

// hashToken is what is kept of a survey token.
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// csatTexts are the survey mail's words in each language a company may use.
var csatTexts = map[string]struct{ subject, body string }{
	"en":    {"How did we do? Ticket #%d", "Hello%s,\n\nYour request \"%s\" (ticket #%d) is solved. How satisfied are you? Rate it from 1 to 5, with a comment if you like:\n\n%s\n\nThe link works once, for 7 days.\n\n-- \n%s"},
	"zh-CN": {"您对我们的服务满意吗？工单 #%d", "您好%s：\n\n您的请求「%s」（工单 #%d）已解决。请为本次服务打分（1 至 5 分），也可以留下意见：\n\n%s\n\n该链接仅可使用一次，7 天内有效。\n\n-- \n%s"},
}

// mailCSAT sends the survey link, in the job's transaction: it makes the
// token, keeps only its hash with the expiry, marks the survey sent, and
// sends the mail last, so a failed send rolls all back and the retry makes a
// new token. A survey sent already (a repeated job) sends nothing.
func (m *Module) mailCSAT(ctx context.Context, tx bun.Tx, j *jobs.Job) error {
	var p csatPayload
	if err := j.Decode(&p); err != nil || p.Ticket == uuid.Nil {
		return errs.E(errs.Invalid, "malformed survey mail payload")
	}
	var r struct {
		State   string    `bun:"state"`
		Number  int64     `bun:"number"`
		Subject string    `bun:"subject"`
		Who     uuid.UUID `bun:"requester_id"`
	}
	err := tx.NewRaw(`SELECT c.state, t.number, t.subject, t.requester_id FROM ticket_csat c
		JOIN tickets t ON t.tenant_id = c.tenant_id AND t.id = c.ticket_id
		WHERE c.tenant_id = ? AND c.ticket_id = ? FOR UPDATE OF c`, j.TenantID, p.Ticket).Scan(ctx, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // the ticket was removed meanwhile
	}
	if err != nil || r.State != "pending" {
		return err
	}
	var tn tenancy.Tenant
	if err := tx.NewSelect().Model(&tn).Where("id = ?", j.TenantID).Scan(ctx); err != nil {
		return err
	}
	name, email := "", ""
	if m.d.People != nil {
		if name, email, err = m.d.People.Address(authz.AsSystem(ctx), j.TenantID, r.Who); err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
	}
	if email == "" || m.d.Mail == nil {
		_, err := tx.ExecContext(ctx, "UPDATE ticket_csat SET state = 'no_address' WHERE tenant_id = ? AND ticket_id = ?", j.TenantID, p.Ticket)
		return err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	if _, err := tx.ExecContext(ctx, `UPDATE ticket_csat SET state = 'sent', token_hash = ?, sent_at = now(), expires_at = now() + make_interval(secs => ?)
		WHERE tenant_id = ? AND ticket_id = ?`, hashToken(token), CSATValidity.Seconds(), j.TenantID, p.Ticket); err != nil {
		return err
	}
	texts, ok := csatTexts[tn.Locale]
	if !ok {
		texts = csatTexts["en"]
	}
	link := strings.TrimRight(m.d.PublicURL, "/") + "/csat/" + tn.Slug + "/" + token
	if name != "" {
		name = " " + name
	}
	return m.d.Mail.Send(ctx, identity.Mail{To: email, Subject: fmt.Sprintf(texts.subject, r.Number),
		Text: fmt.Sprintf(texts.body, name, r.Subject, r.Number, link, tn.Name)})
}

// Survey is what a survey link shows: the ticket asked about, in the
// company's language, and whether it is rated already.
type Survey struct {
	Company   string    `json:"company"`
	Locale    string    `json:"locale" enum:"en,zh-CN" doc:"the company's language: the page is shown in it"`
	Number    int64     `json:"number"`
	Subject   string    `json:"subject"`
	ExpiresAt time.Time `json:"expires_at"`
	Rated     bool      `json:"rated"`
	Rating    *int      `json:"rating,omitempty"`
	Comment   string    `json:"comment,omitempty"`
}

// RatingInput is a requester's rating.
type RatingInput struct {
	Rating  int    `json:"rating" minimum:"1" maximum:"5" doc:"1 (very unsatisfied) to 5 (very satisfied)"`
	Comment string `json:"comment,omitempty" maxLength:"2000"`
}

// surveyRow is a survey with its ticket, found by token.
type surveyRow struct {
	TicketID  uuid.UUID  `bun:"ticket_id"`
	State     string     `bun:"state"`
	ExpiresAt time.Time  `bun:"expires_at"`
	Rating    *int       `bun:"rating"`
	Comment   string     `bun:"comment"`
	Number    int64      `bun:"number"`
	Subject   string     `bun:"subject"`
	RatedAt   *time.Time `bun:"rated_at"`
}

// survey finds a company's survey by its token, optionally locked. A token
// that is malformed, forged or another company's is NotFound; an expired
// link is Gone.
func survey(ctx context.Context, tx bun.Tx, tenant uuid.UUID, token string, lock bool) (*surveyRow, error) {
	if len(token) != 43 || strings.Trim(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return nil, errs.E(errs.NotFound, "This survey link is not valid.")
	}
	r := &surveyRow{}
	q := `SELECT c.ticket_id, c.state, c.expires_at, c.rating, c.comment, c.rated_at, t.number, t.subject FROM ticket_csat c
		JOIN tickets t ON t.tenant_id = c.tenant_id AND t.id = c.ticket_id
		WHERE c.tenant_id = ? AND c.token_hash = ?`
	if lock {
		q += " FOR UPDATE OF c"
	}
	if err := tx.NewRaw(q, tenant, hashToken(token)).Scan(ctx, r); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.E(errs.NotFound, "This survey link is not valid.")
		}
		return nil, err
	}
	if r.State != "rated" && time.Now().After(r.ExpiresAt) {
		return nil, errs.E(errs.Gone, "This survey link has expired. Thank you all the same.")
	}
	return r, nil
}

func (r *surveyRow) out(tn tenancy.Tenant) *Survey {
	loc := tn.Locale
	if _, ok := csatTexts[loc]; !ok {
		loc = "en"
	}
	return &Survey{Company: tn.Name, Locale: loc, Number: r.Number, Subject: r.Subject, ExpiresAt: r.ExpiresAt,
		Rated: r.State == "rated", Rating: r.Rating, Comment: r.Comment}
}

// ShowSurvey answers a survey link of the company in ctx (a public route:
// nobody signs in; the token is the key).
func (m *Module) ShowSurvey(ctx context.Context, token string) (*Survey, error) {
	tn, ok := tenancy.From(ctx)
	if !ok {
		return nil, errs.E(errs.NotFound, "This survey link is not valid.")
	}
	if err := m.limitPublic(ctx, "csat", tn.ID, csatPerAddr, csatPerCompany); err != nil {
		return nil, err
	}
	var out *Survey
	err := db.InTenant(authz.AsSystem(ctx), m.d.DB, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		r, err := survey(ctx, tx, tn.ID, token, false)
		if err != nil {
			return err
		}
		out = r.out(tn)
		return nil
	})
	return out, err
}

// RateTicket stores the requester's rating through a survey link: once; a
// used link is a conflict, an expired one is gone. The rating shows on the
// ticket.
func (m *Module) RateTicket(ctx context.Context, token string, in RatingInput) (*Survey, error) {
	tn, ok := tenancy.From(ctx)
	if !ok {
		return nil, errs.E(errs.NotFound, "This survey link is not valid.")
	}
	if err := m.limitPublic(ctx, "csat", tn.ID, csatPerAddr, csatPerCompany); err != nil {
		return nil, err
	}
	in.Comment = strings.TrimSpace(in.Comment)
	if in.Rating < 1 || in.Rating > 5 {
		return nil, errs.Field("body.rating", "must be 1 to 5")
	}
	if len([]rune(in.Comment)) > 2000 {
		return nil, errs.Field("body.comment", "is at most 2000 characters")
	}
	var out *Survey
	err := db.InTenant(authz.AsSystem(ctx), m.d.DB, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		r, err := survey(ctx, tx, tn.ID, token, true)
		if err != nil {
			return err
		}
		if r.State == "rated" {
			return errs.E(errs.Conflict, "This ticket is rated already; a survey link works once. Thank you!")
		}
		if _, err := tx.ExecContext(ctx, "UPDATE ticket_csat SET state = 'rated', rating = ?, comment = ?, rated_at = now() WHERE tenant_id = ? AND ticket_id = ?",
			in.Rating, in.Comment, tn.ID, r.TicketID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE tickets SET csat_rating = ?, csat_comment = ?, csat_rated_at = now(), updated_at = now() WHERE tenant_id = ? AND id = ?",
			in.Rating, in.Comment, tn.ID, r.TicketID); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "ticket.rated", Entity: "ticket", EntityID: r.TicketID.String(),
			After: map[string]any{"rating": in.Rating}}); err != nil {
			return err
		}
		m.publish(ctx, "ticket.rated", r.TicketID)
		rating := in.Rating
		r.State, r.Rating, r.Comment = "rated", &rating, in.Comment
		out = r.out(tn)
		return nil
	})
	return out, err
}
