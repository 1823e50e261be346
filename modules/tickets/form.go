package tickets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"html"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/identity"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// FormSettings are the company's hosted form: on or off, its title and
// introduction (empty: the default texts of the page's language).
type FormSettings struct {
	Enabled bool   `bun:"enabled" json:"enabled" doc:"the form takes submissions; off: it answers 404"`
	Title   string `bun:"title" json:"title" maxLength:"200"`
	Intro   string `bun:"intro" json:"intro" maxLength:"2000"`
	// Snippet embeds the form in the company's own site; answered, not stored.
	Snippet string `bun:"-" json:"snippet,omitempty" readOnly:"true" doc:"HTML that embeds the hosted form in another site"`
}

// snippet is the HTML that embeds a company's hosted form.
func (m *Module) snippet(ctx context.Context) string {
	tn, ok := tenancy.From(ctx)
	if !ok || tn.Slug == "" {
		return ""
	}
	src := strings.TrimRight(m.d.PublicURL, "/") + "/form/" + tn.Slug
	return fmt.Sprintf(`<iframe src="%s" title="%s" style="width:100%%;max-width:640px;height:760px;border:0" loading="lazy"></iframe>`, src, html.EscapeString(tn.Name))
}

// formSettings reads a company's settings; a company without a row has the
// form on with the default texts.
func formSettings(ctx context.Context, tx bun.Tx, tenant uuid.UUID) (*FormSettings, error) {
	s := &FormSettings{Enabled: true}
	err := tx.NewRaw("SELECT enabled, title, intro FROM ticket_form_settings WHERE tenant_id = ?", tenant).Scan(ctx, s)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	return s, nil
}

// GetFormSettings returns the company's form settings.
func (m *Module) GetFormSettings(ctx context.Context, tenant uuid.UUID) (*FormSettings, error) {
	if err := authz.Require(ctx, PermRead); err != nil {
		return nil, err
	}
	var out *FormSettings
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		var err error
		out, err = formSettings(ctx, tx, tenant)
		return err
	})
	if err != nil {
		return nil, db.Classify(err, "form")
	}
	out.Snippet = m.snippet(ctx)
	return out, nil
}

// SaveFormSettings turns the form on or off and sets its texts.
func (m *Module) SaveFormSettings(ctx context.Context, tenant uuid.UUID, in FormSettings) (*FormSettings, error) {
	if err := authz.Require(ctx, PermManage); err != nil {
		return nil, err
	}
	in.Title, in.Intro = strings.TrimSpace(in.Title), strings.TrimSpace(in.Intro)
	if len([]rune(in.Title)) > 200 {
		return nil, errs.Field("body.title", "is at most 200 characters")
	}
	if len([]rune(in.Intro)) > 2000 {
		return nil, errs.Field("body.intro", "is at most 2000 characters")
	}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		before, err := formSettings(ctx, tx, tenant)
		if err != nil {
			return err
		}
		// The time goes through EXCLUDED: Citus refuses now() in DO UPDATE SET.
		if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_form_settings (tenant_id, enabled, title, intro, updated_at) VALUES (?, ?, ?, ?, now())
			ON CONFLICT (tenant_id) DO UPDATE SET enabled = EXCLUDED.enabled, title = EXCLUDED.title, intro = EXCLUDED.intro, updated_at = EXCLUDED.updated_at`,
			tenant, in.Enabled, in.Title, in.Intro); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "ticket_form.update", Entity: "ticket_form", EntityID: tenant.String(), Before: before, After: in})
	})
	if err != nil {
		return nil, db.Classify(err, "form")
	}
	in.Snippet = m.snippet(ctx)
	return &in, nil
}

// PublicForm is what the hosted form shows.
type PublicForm struct {
	Company string   `json:"company"`
	Locale  string   `json:"locale" enum:"en,zh-CN" doc:"the company's language: the page is shown in it"`
	Title   string   `json:"title"`
	Intro   string   `json:"intro"`
	Types   []string `json:"types" doc:"what a submission may be"`
	// The files a submission may carry (POST .../ticket-form/with-files).
	MaxFiles     int      `json:"max_files"`
	MaxFileBytes int64    `json:"max_file_bytes"`
	FileTypes    []string `json:"file_types" doc:"the extensions files may have"`
}

// formTypes are what a submission may be; request when none is given.
var formTypes = []string{"feedback", "complaint", "request", "question"}

// formTexts are the form's default texts and its confirmation, per language.
var formTexts = map[string]struct{ title, intro, thanks string }{
	"en":    {"Contact us", "Send us your feedback, a complaint or a request. We answer by email or phone.", "Thank you. We received your message as ticket #%d and will get back to you."},
	"zh-CN": {"联系我们", "欢迎提交反馈、投诉或服务请求，我们会通过邮件或电话回复您。", "感谢您的来信。我们已将其登记为工单 #%d，会尽快与您联系。"},
}

func localeOf(tn tenancy.Tenant) string {
	if _, ok := formTexts[tn.Locale]; ok {
		return tn.Locale
	}
	return "en"
}

// publicTenant is the company of a public request, NotFound without one.
func publicTenant(ctx context.Context) (tenancy.Tenant, error) {
	tn, ok := tenancy.From(ctx)
	if !ok || tn.ID == uuid.Nil {
		return tn, errs.E(errs.NotFound, "not found")
	}
	return tn, nil
}

// ShowForm answers the company's hosted form: its texts in the company's
// language, or 404 when the form is off.
func (m *Module) ShowForm(ctx context.Context) (*PublicForm, error) {
	tn, err := publicTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := m.limitPublic(ctx, "form-read", tn.ID, csatPerAddr, csatPerCompany); err != nil {
		return nil, err
	}
	var s *FormSettings
	if err := db.InTenant(authz.AsSystem(ctx), m.d.DB, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		s, err = formSettings(ctx, tx, tn.ID)
		return err
	}); err != nil {
		return nil, db.Classify(err, "form")
	}
	if !s.Enabled {
		return nil, errs.E(errs.NotFound, "This company's form is not open.")
	}
	loc := localeOf(tn)
	out := &PublicForm{Company: tn.Name, Locale: loc, Title: s.Title, Intro: s.Intro, Types: formTypes,
		MaxFiles: MaxFormFiles, MaxFileBytes: MaxFormAttachmentBytes, FileTypes: fileTypes()}
	if out.Title == "" {
		out.Title = formTexts[loc].title
	}
	if out.Intro == "" {
		out.Intro = formTexts[loc].intro
	}
	return out, nil
}

// FormInput is one submission of the hosted form.
type FormInput struct {
	Name    string `json:"name,omitempty" maxLength:"300"`
	Email   string `json:"email,omitempty" maxLength:"254" doc:"give an email or a phone, or both, so we can answer"`
	Phone   string `json:"phone,omitempty" maxLength:"40"`
	Type    string `json:"type,omitempty" enum:"feedback,complaint,request,question," doc:"default request"`
	Subject string `json:"subject" minLength:"1" maxLength:"300"`
	Message string `json:"message,omitempty" maxLength:"20000"`
	// Website is a honeypot: people never see it, robots fill it in.
	Website string `json:"website,omitempty" maxLength:"300" doc:"leave empty"`
}

// FormReceipt confirms a submission with its ticket number.
type FormReceipt struct {
	Number  int64  `json:"number" doc:"the ticket's number, to quote when asking about it"`
	Message string `json:"message" doc:"the confirmation, in the company's language"`
}

// SubmitForm makes a ticket of a form submission: channel web form, the
// requester matched by email or phone or made a lead. Robots (the honeypot
// filled in) and floods (per address and per company) are refused.
func (m *Module) SubmitForm(ctx context.Context, in FormInput) (*FormReceipt, error) {
	return m.SubmitFormWithFiles(ctx, in, nil)
}

// SubmitFormWithFiles is SubmitForm with attached files (at most
// MaxFormFiles of MaxFormAttachmentBytes each, of the kinds replies take):
// they are checked before anything is written and kept on the new ticket;
// a refused submission leaves neither a ticket nor a file.
func (m *Module) SubmitFormWithFiles(ctx context.Context, in FormInput, files []Upload) (*FormReceipt, error) {
	tn, err := publicTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := m.limitPublic(ctx, "form", tn.ID, formPerAddr, formPerCompany); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Website) != "" {
		return nil, errs.E(errs.Invalid, "The form could not be sent.").WithFields(errs.FieldError{Location: "body.website", Message: "must be empty"})
	}
	in.Email, in.Phone = strings.TrimSpace(in.Email), strings.TrimSpace(in.Phone)
	if !errs.OneLine(in.Name) {
		return nil, errs.Field("body.name", errs.OneLineMessage)
	}
	if in.Email == "" && in.Phone == "" {
		return nil, errs.Field("body.email", "give an email or a phone so we can answer")
	}
	if in.Type == "" {
		in.Type = "request"
	}
	if !oneOf(in.Type, formTypes) {
		return nil, errs.Field("body.type", "must be "+listed(formTypes))
	}
	staged, err := checkUploads(tn.ID, files, MaxFormFiles, MaxFormAttachmentBytes, "body.files")
	if err != nil {
		return nil, err
	}
	sys := authz.AsSystem(ctx)
	var open bool
	if err := db.InTenant(sys, m.d.DB, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		s, err := formSettings(ctx, tx, tn.ID)
		open = err == nil && s.Enabled
		return err
	}); err != nil {
		return nil, db.Classify(err, "form")
	}
	if !open {
		return nil, errs.E(errs.NotFound, "This company's form is not open.")
	}
	var t *Ticket
	err = m.storeFiles(ctx, staged, func() error {
		return db.InTenant(sys, m.d.DB, tn.ID, func(ctx context.Context, tx bun.Tx) error {
			var err error
			if t, err = m.CreateTicket(ctx, tn.ID, TicketInput{Subject: in.Subject, Description: in.Message, RequesterEmail: in.Email, RequesterPhone: in.Phone,
				RequesterName: strings.TrimSpace(in.Name), Channel: "web_form", Type: in.Type}); err != nil {
				return err
			}
			if err := formAttachments(ctx, tx, t, staged); err != nil {
				return err
			}
			if m.d.Jobs == nil || m.d.Mail == nil {
				return nil
			}
			// The sender also gets the number by mail, sent when the ticket exists.
			_, err = m.d.Jobs.Enqueue(ctx, tn.ID, jobs.Spec{Type: TypeMailReceipt, Queue: jobs.QueueDefault,
				Payload: csatPayload{Ticket: t.ID}, DedupeKey: "mail-receipt:" + t.ID.String()})
			return err
		})
	})
	if err != nil {
		return nil, formFields(err)
	}
	return &FormReceipt{Number: t.Number, Message: fmt.Sprintf(formTexts[localeOf(tn)].thanks, t.Number)}, nil
}

// formFields names a ticket's fields as the form calls them.
func formFields(err error) error {
	var e *errs.Error
	if !errors.As(err, &e) || len(e.Errors) == 0 {
		return err
	}
	names := map[string]string{"body.requester_email": "body.email", "body.requester_phone": "body.phone", "body.requester_name": "body.name",
		"body.description": "body.message", "body.requester_id": "body.email"}
	out := *e
	out.Errors = append([]errs.FieldError(nil), e.Errors...)
	for i := range out.Errors {
		if n, ok := names[out.Errors[i].Location]; ok {
			out.Errors[i].Location = n
		}
	}
	return &out
}

// TypeMailReceipt is the job that confirms a form submission to its sender
// by mail, with the ticket number.
const TypeMailReceipt = "tickets:mail-receipt"

// receiptTexts are the confirmation mail's words per language.
var receiptTexts = map[string]struct{ subject, body string }{
	"en":    {"We received your message: ticket #%d", "Hello%s,\n\nThank you for contacting %s. Your message \"%s\" is ticket #%d; quote this number when you write to us about it. We will get back to you soon.\n"},
	"zh-CN": {"我们已收到您的来信：工单 #%d", "您好%s：\n\n感谢您联系%s。您的来信「%s」已登记为工单 #%d，咨询时请提供此编号。我们会尽快回复您。\n"},
}

// mailReceipt sends a form's sender the number of their ticket. A sender
// without an email address (a phone only) gets the number on the page only.
func (m *Module) mailReceipt(ctx context.Context, tx bun.Tx, j *jobs.Job) error {
	var p csatPayload
	if err := j.Decode(&p); err != nil || p.Ticket == uuid.Nil {
		return errs.E(errs.Invalid, "malformed receipt payload")
	}
	var r struct {
		Number  int64     `bun:"number"`
		Subject string    `bun:"subject"`
		Who     uuid.UUID `bun:"requester_id"`
	}
	err := tx.NewRaw("SELECT number, subject, requester_id FROM tickets WHERE tenant_id = ? AND id = ?", j.TenantID, p.Ticket).Scan(ctx, &r)
	if errors.Is(err, sql.ErrNoRows) || m.d.People == nil || m.d.Mail == nil {
		return nil
	}
	if err != nil {
		return err
	}
	var tn tenancy.Tenant
	if err := tx.NewSelect().Model(&tn).Where("id = ?", j.TenantID).Scan(ctx); err != nil {
		return err
	}
	name, email, err := m.d.People.Address(authz.AsSystem(ctx), j.TenantID, r.Who)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return err
	}
	if email == "" {
		return nil
	}
	texts, ok := receiptTexts[tn.Locale]
	if !ok {
		texts = receiptTexts["en"]
	}
	if name != "" {
		name = " " + name
	}
	return m.d.Mail.Send(ctx, identity.Mail{To: email, Subject: fmt.Sprintf(texts.subject, r.Number), Text: fmt.Sprintf(texts.body, name, tn.Name, r.Subject, r.Number)})
}
