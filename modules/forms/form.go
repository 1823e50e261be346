package forms

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// Limits of a form.
const (
	MaxFields     = 30
	MaxForms      = 100
	maxLabel      = 200
	maxText       = 2000
	maxTaskTitle  = 300
	maxRedirect   = 2048
	customPrefix  = "custom."
	tokenPrefix   = "lf_"
	tokenMaxChars = 64
)

// Standard are the fields of a customer a form may ask for besides custom
// fields: message is not stored on the customer but on its timeline entry.
var Standard = []StandardField{
	{Key: "name", Type: "text", LabelEN: "Name", LabelZH: "姓名", Max: 300},
	{Key: "email", Type: "email", LabelEN: "Email", LabelZH: "电子邮箱", Max: 254},
	{Key: "phone", Type: "phone", LabelEN: "Phone", LabelZH: "电话", Max: 40},
	{Key: "message", Type: "long_text", LabelEN: "Message", LabelZH: "留言", Max: 5000},
}

// StandardField is a standard field a form may ask for.
type StandardField struct {
	Key     string `json:"key"`
	Type    string `json:"type"`
	LabelEN string `json:"label_en"`
	LabelZH string `json:"label_zh"`
	Max     int    `json:"max_length"`
}

func standard(key string) (StandardField, bool) {
	for _, s := range Standard {
		if s.Key == key {
			return s, true
		}
	}
	return StandardField{}, false
}

// Field is one field of a form: a standard field (name, email, phone,
// message) or a custom customer field (custom.<key>), with its labels.
type Field struct {
	Key      string `json:"key" maxLength:"80" doc:"name, email, phone, message, or custom.<key> of a customers' custom field"`
	LabelEN  string `json:"label_en,omitempty" maxLength:"200" doc:"default: the field's own label"`
	LabelZH  string `json:"label_zh,omitempty" maxLength:"200" doc:"default: the field's own label"`
	Required bool   `json:"required,omitempty"`
}

// Form is a web-to-lead form.
type Form struct {
	ID          uuid.UUID  `json:"id" bun:"id"`
	Name        string     `json:"name" bun:"name"`
	Token       string     `json:"token" bun:"token" doc:"the public token the hosted page and the snippet carry"`
	Enabled     bool       `json:"enabled" bun:"enabled"`
	Fields      []Field    `json:"fields" bun:"fields,type:jsonb"`
	TitleEN     string     `json:"title_en" bun:"title_en"`
	TitleZH     string     `json:"title_zh" bun:"title_zh"`
	Consent     bool       `json:"consent" bun:"consent" doc:"the sender must tick a consent checkbox; its text and time are stored with the submission"`
	ConsentEN   string     `json:"consent_en" bun:"consent_en"`
	ConsentZH   string     `json:"consent_zh" bun:"consent_zh"`
	ThanksEN    string     `json:"thanks_en" bun:"thanks_en"`
	ThanksZH    string     `json:"thanks_zh" bun:"thanks_zh"`
	RedirectURL string     `json:"redirect_url" bun:"redirect_url" doc:"where the hosted page goes after a submission; empty: it shows the thank-you message"`
	OwnerID     *uuid.UUID `json:"owner_id,omitempty" bun:"owner_id" doc:"owner of new leads, and whom tasks go to when the customer has no owner"`
	CreateTask  bool       `json:"create_task" bun:"create_task" doc:"each submission creates a follow-up task for the customer's owner (or the form's owner)"`
	TaskTitle   string     `json:"task_title" bun:"task_title"`
	PipelineID  *uuid.UUID `json:"pipeline_id,omitempty" bun:"pipeline_id"`
	StageID     *uuid.UUID `json:"stage_id,omitempty" bun:"stage_id" doc:"each submission opens a deal in this stage, while the sales funnel is on"`
	Submissions int64      `json:"submissions" bun:"submissions"`
	CreatedBy   *uuid.UUID `json:"created_by,omitempty" bun:"created_by" readOnly:"true" doc:"who built the form: tasks go to them when neither the customer nor the form has an owner"`
	CreatedAt   time.Time  `json:"created_at" bun:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at" bun:"updated_at"`
	HostedURL   string     `json:"hosted_url" bun:"-" readOnly:"true" doc:"the page Clientele hosts the form on"`
	Snippet     string     `json:"snippet" bun:"-" readOnly:"true" doc:"HTML that embeds the form in another site, passing on its page address and UTM parameters"`
}

// FormInput creates a form or, in a PUT, replaces its settings. Enabled is
// nil to keep (a new form is on).
type FormInput struct {
	Name        string     `json:"name" minLength:"1" maxLength:"200"`
	Enabled     *bool      `json:"enabled,omitempty"`
	Fields      []Field    `json:"fields" minItems:"1" maxItems:"30"`
	TitleEN     string     `json:"title_en,omitempty" maxLength:"200"`
	TitleZH     string     `json:"title_zh,omitempty" maxLength:"200"`
	Consent     bool       `json:"consent,omitempty"`
	ConsentEN   string     `json:"consent_en,omitempty" maxLength:"2000" doc:"the consent text in English; required with consent"`
	ConsentZH   string     `json:"consent_zh,omitempty" maxLength:"2000" doc:"the consent text in Chinese; required with consent"`
	ThanksEN    string     `json:"thanks_en,omitempty" maxLength:"2000"`
	ThanksZH    string     `json:"thanks_zh,omitempty" maxLength:"2000"`
	RedirectURL string     `json:"redirect_url,omitempty" maxLength:"2048" doc:"an http(s) URL"`
	OwnerID     *uuid.UUID `json:"owner_id,omitempty" doc:"a member of the company"`
	CreateTask  bool       `json:"create_task,omitempty"`
	TaskTitle   string     `json:"task_title,omitempty" maxLength:"300"`
	PipelineID  *uuid.UUID `json:"pipeline_id,omitempty" doc:"with stage_id: a pipeline of the sales funnel"`
	StageID     *uuid.UUID `json:"stage_id,omitempty" doc:"with pipeline_id: a stage of that pipeline"`
}

func newToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// manage opens the tenant transaction of an admin's action on forms.
func (m *Module) manage(ctx context.Context, tenant uuid.UUID, fn func(ctx context.Context, tx bun.Tx) error) error {
	if err := authz.Require(ctx, PermManage); err != nil {
		return err
	}
	err := db.InTenant(ctx, m.d.DB, tenant, fn)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.E(errs.NotFound, "form not found")
	}
	return db.Classify(err, "form")
}

const formColumns = "id, name, token, enabled, fields, title_en, title_zh, consent, consent_en, consent_zh, thanks_en, thanks_zh, redirect_url, owner_id, create_task, task_title, pipeline_id, stage_id, submissions, created_by, created_at, updated_at"

func getForm(ctx context.Context, tx bun.IDB, tenant uuid.UUID, where string, arg any, lock bool) (*Form, error) {
	f := &Form{}
	q := "SELECT " + formColumns + " FROM lead_forms WHERE tenant_id = ? AND " + where + " = ?"
	if lock {
		q += " FOR UPDATE"
	}
	if err := tx.NewRaw(q, tenant, arg).Scan(ctx, f); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.E(errs.NotFound, "form not found")
		}
		return nil, err
	}
	if f.Fields == nil {
		f.Fields = []Field{}
	}
	return f, nil
}

// decorate adds the hosted page's address and the snippet.
func (m *Module) decorate(ctx context.Context, f *Form) *Form {
	tn, _ := tenancy.From(ctx)
	f.HostedURL = strings.TrimRight(m.d.PublicURL, "/") + "/lead-form/" + tn.Slug + "/" + f.Token
	id := "clientele-form-" + f.Token
	f.Snippet = fmt.Sprintf(`<div id="%s"></div>
<script>(function(){var d=document,f=d.createElement("iframe"),q=new URLSearchParams(location.search);q.set("source",location.href);if(d.referrer)q.set("referrer",d.referrer);
f.src=%q+"?"+q.toString();f.title=%q;f.loading="lazy";f.style.cssText="width:100%%;max-width:640px;height:720px;border:0";d.getElementById(%q).appendChild(f);})();</script>
<noscript><iframe src="%s" title="%s" style="width:100%%;max-width:640px;height:720px;border:0"></iframe></noscript>`,
		id, f.HostedURL, html.EscapeString(f.Name), id, f.HostedURL, html.EscapeString(f.Name))
	return f
}

// check validates a form's settings in place, collecting every problem.
func (m *Module) check(ctx context.Context, tx bun.Tx, tenant uuid.UUID, in *FormInput) error {
	var fe []errs.FieldError
	bad := func(loc, msg string, v any) { fe = append(fe, errs.FieldError{Location: loc, Message: msg, Value: v}) }
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		bad("body.name", "is required", nil)
	} else if len([]rune(in.Name)) > maxLabel {
		bad("body.name", "is at most 200 characters", nil)
	}
	var defs map[string]fields.Definition
	if m.d.Fields != nil {
		list, err := m.d.Fields.Definitions(ctx, tx, tenant, entityCustomers)
		if err != nil {
			return err
		}
		defs = map[string]fields.Definition{}
		for _, d := range list {
			defs[d.Key] = d
		}
	}
	if len(in.Fields) == 0 {
		bad("body.fields", "add at least one field, and an email or a phone", nil)
	}
	if len(in.Fields) > MaxFields {
		bad("body.fields", fmt.Sprintf("at most %d fields", MaxFields), nil)
	}
	seen := map[string]bool{}
	contact := false
	for i := range in.Fields {
		f := &in.Fields[i]
		loc := fmt.Sprintf("body.fields[%d]", i)
		f.Key = strings.TrimSpace(f.Key)
		f.LabelEN, f.LabelZH = strings.TrimSpace(f.LabelEN), strings.TrimSpace(f.LabelZH)
		if len([]rune(f.LabelEN)) > maxLabel || len([]rune(f.LabelZH)) > maxLabel {
			bad(loc+".label_en", "labels are at most 200 characters", nil)
		}
		switch {
		case seen[f.Key]:
			bad(loc+".key", "is on the form already", f.Key)
		case strings.HasPrefix(f.Key, customPrefix):
			if _, ok := defs[strings.TrimPrefix(f.Key, customPrefix)]; !ok {
				bad(loc+".key", "is not a custom field of customers; see GET /lead-form-fields", f.Key)
			}
		default:
			if _, ok := standard(f.Key); !ok {
				bad(loc+".key", "must be name, email, phone, message or custom.<key>", f.Key)
			}
		}
		seen[f.Key] = true
		if f.Key == "email" || f.Key == "phone" {
			contact = true
		}
	}
	if len(in.Fields) > 0 && !contact {
		bad("body.fields", "a form needs an email or a phone field: submissions are matched to customers by them", nil)
	}
	in.TitleEN, in.TitleZH = strings.TrimSpace(in.TitleEN), strings.TrimSpace(in.TitleZH)
	in.ConsentEN, in.ConsentZH = strings.TrimSpace(in.ConsentEN), strings.TrimSpace(in.ConsentZH)
	if in.Consent && in.ConsentEN == "" {
		bad("body.consent_en", "a consent checkbox needs its text in English", nil)
	}
	if in.Consent && in.ConsentZH == "" {
		bad("body.consent_zh", "a consent checkbox needs its text in Chinese", nil)
	}
	in.RedirectURL = strings.TrimSpace(in.RedirectURL)
	if in.RedirectURL != "" {
		u, err := url.Parse(in.RedirectURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("body.redirect_url", "must be an http or https URL, such as https://example.com/thanks", in.RedirectURL)
		}
	}
	in.TaskTitle = strings.TrimSpace(in.TaskTitle)
	if in.CreateTask && m.d.FollowUps == nil {
		bad("body.create_task", "tasks are not available", nil)
	}
	if in.OwnerID != nil && m.d.Members != nil {
		ok, err := m.d.Members.IsMember(ctx, tenant, *in.OwnerID)
		if err != nil {
			return err
		}
		if !ok {
			bad("body.owner_id", "is not a member of this company", in.OwnerID.String())
		}
	}
	switch {
	case (in.PipelineID == nil) != (in.StageID == nil):
		bad("body.stage_id", "give both pipeline_id and stage_id to open deals, or neither", nil)
	case in.StageID != nil && m.d.Deals == nil:
		bad("body.stage_id", "deals are not available", nil)
	case in.StageID != nil:
		if err := m.d.Deals.CheckStage(ctx, tenant, *in.PipelineID, *in.StageID, "body.stage_id"); err != nil {
			var e *errs.Error
			if errors.As(err, &e) && len(e.Errors) > 0 {
				fe = append(fe, e.Errors...)
			} else {
				return err
			}
		}
	}
	if len(fe) > 0 {
		return errs.E(errs.Invalid, "The form could not be saved: %s %s.", fe[0].Location, fe[0].Message).WithFields(fe...)
	}
	return nil
}

func (f *Form) set(in FormInput) {
	f.Name, f.Fields, f.TitleEN, f.TitleZH = in.Name, in.Fields, in.TitleEN, in.TitleZH
	f.Consent, f.ConsentEN, f.ConsentZH, f.ThanksEN, f.ThanksZH = in.Consent, in.ConsentEN, in.ConsentZH, strings.TrimSpace(in.ThanksEN), strings.TrimSpace(in.ThanksZH)
	f.RedirectURL, f.OwnerID, f.CreateTask, f.TaskTitle, f.PipelineID, f.StageID = in.RedirectURL, in.OwnerID, in.CreateTask, in.TaskTitle, in.PipelineID, in.StageID
	if in.Enabled != nil {
		f.Enabled = *in.Enabled
	}
}

func writeForm(ctx context.Context, tx bun.Tx, tenant uuid.UUID, f *Form, insert bool) error {
	fj, err := json.Marshal(f.Fields)
	if err != nil {
		return err
	}
	args := []any{f.Name, f.Enabled, string(fj), f.TitleEN, f.TitleZH, f.Consent, f.ConsentEN, f.ConsentZH, f.ThanksEN, f.ThanksZH,
		f.RedirectURL, f.OwnerID, f.CreateTask, f.TaskTitle, f.PipelineID, f.StageID}
	if insert {
		return tx.NewRaw(`INSERT INTO lead_forms (name, enabled, fields, title_en, title_zh, consent, consent_en, consent_zh, thanks_en, thanks_zh,
			redirect_url, owner_id, create_task, task_title, pipeline_id, stage_id, tenant_id, id, token, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING created_at, updated_at`,
			append(args, tenant, f.ID, f.Token, f.CreatedBy)...).Scan(ctx, &f.CreatedAt, &f.UpdatedAt)
	}
	return tx.NewRaw(`UPDATE lead_forms SET name = ?, enabled = ?, fields = ?, title_en = ?, title_zh = ?, consent = ?, consent_en = ?, consent_zh = ?,
			thanks_en = ?, thanks_zh = ?, redirect_url = ?, owner_id = ?, create_task = ?, task_title = ?, pipeline_id = ?, stage_id = ?,
			updated_at = now() WHERE tenant_id = ? AND id = ? RETURNING updated_at`, append(args, tenant, f.ID)...).Scan(ctx, &f.UpdatedAt)
}

// CreateForm saves a new form, on, with a fresh public token.
func (m *Module) CreateForm(ctx context.Context, tenant uuid.UUID, in FormInput) (*Form, error) {
	f := &Form{ID: uuid.New(), Token: newToken(), Enabled: true, CreatedBy: authz.RequesterID(ctx)}
	err := m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		var n int
		if err := tx.NewRaw("SELECT count(*) FROM lead_forms WHERE tenant_id = ?", tenant).Scan(ctx, &n); err != nil {
			return err
		}
		if n >= MaxForms {
			return errs.E(errs.Conflict, "The company has %d forms, the most it may keep; delete one first.", MaxForms)
		}
		if err := m.check(ctx, tx, tenant, &in); err != nil {
			return err
		}
		f.set(in)
		if err := writeForm(ctx, tx, tenant, f, true); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "lead_form.create", Entity: "lead_form", EntityID: f.ID.String(), After: f})
	})
	if err != nil {
		return nil, err
	}
	return m.decorate(ctx, f), nil
}

// ListForms lists the company's forms, oldest first.
func (m *Module) ListForms(ctx context.Context, tenant uuid.UUID) ([]Form, error) {
	out := []Form{}
	err := m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		err := tx.NewRaw("SELECT "+formColumns+" FROM lead_forms WHERE tenant_id = ? ORDER BY created_at, id", tenant).Scan(ctx, &out)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	for i := range out {
		if out[i].Fields == nil {
			out[i].Fields = []Field{}
		}
		m.decorate(ctx, &out[i])
	}
	return out, err
}

// GetForm returns one form.
func (m *Module) GetForm(ctx context.Context, tenant, id uuid.UUID) (*Form, error) {
	var f *Form
	err := m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) (err error) {
		f, err = getForm(ctx, tx, tenant, "id", id, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m.decorate(ctx, f), nil
}

// UpdateForm replaces a form's settings; its token and submissions stay.
func (m *Module) UpdateForm(ctx context.Context, tenant, id uuid.UUID, in FormInput) (*Form, error) {
	var f *Form
	err := m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) (err error) {
		if f, err = getForm(ctx, tx, tenant, "id", id, true); err != nil {
			return err
		}
		before := *f
		if err := m.check(ctx, tx, tenant, &in); err != nil {
			return err
		}
		f.set(in)
		if err := writeForm(ctx, tx, tenant, f, false); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "lead_form.update", Entity: "lead_form", EntityID: id.String(), Before: before, After: f})
	})
	if err != nil {
		return nil, err
	}
	return m.decorate(ctx, f), nil
}

// SetFormEnabled switches a form on or off; a form that is off answers 410
// on its hosted page.
func (m *Module) SetFormEnabled(ctx context.Context, tenant, id uuid.UUID, on bool) (*Form, error) {
	var f *Form
	err := m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) (err error) {
		if f, err = getForm(ctx, tx, tenant, "id", id, true); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE lead_forms SET enabled = ?, updated_at = now() WHERE tenant_id = ? AND id = ?", on, tenant, id); err != nil {
			return err
		}
		f.Enabled = on
		return audit.Record(ctx, tx, audit.Entry{Action: "lead_form.update", Entity: "lead_form", EntityID: id.String(),
			Before: map[string]any{"enabled": !on}, After: map[string]any{"enabled": on}})
	})
	if err != nil {
		return nil, err
	}
	return m.decorate(ctx, f), nil
}

// RotateToken gives a form a new public token: the old hosted link and
// snippets stop working (404), for a form whose link leaked.
func (m *Module) RotateToken(ctx context.Context, tenant, id uuid.UUID) (*Form, error) {
	var f *Form
	err := m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) (err error) {
		if f, err = getForm(ctx, tx, tenant, "id", id, true); err != nil {
			return err
		}
		f.Token = newToken()
		if _, err := tx.ExecContext(ctx, "UPDATE lead_forms SET token = ?, updated_at = now() WHERE tenant_id = ? AND id = ?", f.Token, tenant, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "lead_form.rotate_token", Entity: "lead_form", EntityID: id.String()})
	})
	if err != nil {
		return nil, err
	}
	return m.decorate(ctx, f), nil
}

// DeleteForm removes a form and its submissions; the customers, timeline
// entries, tasks and deals they made stay.
func (m *Module) DeleteForm(ctx context.Context, tenant, id uuid.UUID) error {
	return m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		f, err := getForm(ctx, tx, tenant, "id", id, true)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM lead_forms WHERE tenant_id = ? AND id = ?", tenant, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "lead_form.delete", Entity: "lead_form", EntityID: id.String(), Before: f})
	})
}

// AvailableField is a field the builder offers.
type AvailableField struct {
	Key     string          `json:"key"`
	Type    string          `json:"type"`
	LabelEN string          `json:"label_en"`
	LabelZH string          `json:"label_zh"`
	Options []fields.Option `json:"options,omitempty"`
	Custom  bool            `json:"custom"`
}

// AvailableFields lists what a form may ask for: the standard fields and the
// customers' active custom fields.
func (m *Module) AvailableFields(ctx context.Context, tenant uuid.UUID) ([]AvailableField, error) {
	out := []AvailableField{}
	for _, s := range Standard {
		out = append(out, AvailableField{Key: s.Key, Type: s.Type, LabelEN: s.LabelEN, LabelZH: s.LabelZH})
	}
	err := m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		if m.d.Fields == nil {
			return nil
		}
		defs, err := m.d.Fields.Definitions(ctx, tx, tenant, entityCustomers)
		for _, d := range defs {
			out = append(out, AvailableField{Key: customPrefix + d.Key, Type: string(d.Type), LabelEN: d.LabelEN, LabelZH: d.LabelZH, Options: d.Options, Custom: true})
		}
		return err
	})
	return out, err
}
