package tickets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// FormSettings are the company's hosted form: on or off, its title and
// introduction (empty: the default texts of the page's language).
type FormSettings struct {
	Enabled bool   `bun:"enabled" json:"enabled" doc:"the form takes submissions; off: it answers 404"`
	Title   string `bun:"title" json:"title" maxLength:"200"`
	Intro   string `bun:"intro" json:"intro" maxLength:"2000"`
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
	return out, db.Classify(err, "form")
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
		if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_form_settings (tenant_id, enabled, title, intro) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id) DO UPDATE SET enabled = EXCLUDED.enabled, title = EXCLUDED.title, intro = EXCLUDED.intro, updated_at = now()`,
			tenant, in.Enabled, in.Title, in.Intro); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "ticket_form.update", Entity: "ticket_form", EntityID: tenant.String(), Before: before, After: in})
	})
	if err != nil {
		return nil, db.Classify(err, "form")
	}
	return &in, nil
}

// PublicForm is what the hosted form shows.
type PublicForm struct {
	Company string   `json:"company"`
	Locale  string   `json:"locale" enum:"en,zh-CN" doc:"the company's language: the page is shown in it"`
	Title   string   `json:"title"`
	Intro   string   `json:"intro"`
	Types   []string `json:"types" doc:"what a submission may be"`
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
	out := &PublicForm{Company: tn.Name, Locale: loc, Title: s.Title, Intro: s.Intro, Types: formTypes}
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
	if in.Email == "" && in.Phone == "" {
		return nil, errs.Field("body.email", "give an email or a phone so we can answer")
	}
	if in.Type == "" {
		in.Type = "request"
	}
	if !oneOf(in.Type, formTypes) {
		return nil, errs.Field("body.type", "must be "+listed(formTypes))
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
	t, err := m.CreateTicket(sys, tn.ID, TicketInput{Subject: in.Subject, Description: in.Message, RequesterEmail: in.Email, RequesterPhone: in.Phone,
		RequesterName: strings.TrimSpace(in.Name), Channel: "web_form", Type: in.Type})
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
