package forms

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/page"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// Limits of the public routes, per minute: one client address, one company.
const (
	readPerAddr      = 60
	readPerCompany   = 1200
	submitPerAddr    = 10
	submitPerCompany = 300
)

// Source is what a submission's timeline entry and a new lead record as
// where it came from.
const Source = "web_form"

// texts are the hosted page's default words per language.
var texts = map[string]struct{ title, thanks, submit, consentMissing, summary, task string }{
	"en":    {"Get in touch", "Thank you. We received your details and will contact you soon.", "Send", "must be ticked to send the form", "Web form: %s", "Follow up web form lead: %s"},
	"zh-CN": {"联系我们", "感谢您的提交，我们已收到您的信息，会尽快与您联系。", "提交", "请勾选同意后再提交", "网站表单：%s", "跟进网站表单线索：%s"},
}

func locale(tn tenancy.Tenant, asked string) string {
	if _, ok := texts[asked]; ok {
		return asked
	}
	if _, ok := texts[tn.Locale]; ok {
		return tn.Locale
	}
	return "en"
}

func pick(loc, en, zh string) string {
	if loc == "zh-CN" && zh != "" {
		return zh
	}
	if en != "" {
		return en
	}
	return zh
}

// PublicField is a field as the hosted page shows it.
type PublicField struct {
	Key       string          `json:"key"`
	Label     string          `json:"label"`
	Type      string          `json:"type"`
	Required  bool            `json:"required"`
	MaxLength int             `json:"max_length,omitempty"`
	Options   []fields.Option `json:"options,omitempty"`
}

// PublicForm is what the hosted page shows, in one language.
type PublicForm struct {
	Company     string        `json:"company"`
	Locale      string        `json:"locale" enum:"en,zh-CN"`
	Title       string        `json:"title"`
	Fields      []PublicField `json:"fields"`
	Consent     string        `json:"consent,omitempty" doc:"the consent checkbox's text; empty: the form has none"`
	Submit      string        `json:"submit" doc:"the send button's label"`
	RedirectURL string        `json:"redirect_url,omitempty"`
}

// publicForm finds an enabled form by its token in the request's company:
// 404 for a token the company does not have (another company's included),
// 410 for a form switched off.
func (m *Module) publicForm(ctx context.Context, tx bun.Tx, tenant uuid.UUID, token string) (*Form, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > tokenMaxChars {
		return nil, errs.E(errs.NotFound, "No such form: check the link.")
	}
	f, err := getForm(ctx, tx, tenant, "token", token, false)
	if errs.Is(err, errs.NotFound) {
		return nil, errs.E(errs.NotFound, "No such form: check the link.")
	}
	if err != nil {
		return nil, err
	}
	if !f.Enabled {
		return nil, errs.E(errs.Gone, "This form is closed and takes no more submissions.")
	}
	return f, nil
}

func publicTenant(ctx context.Context) (tenancy.Tenant, error) {
	tn, ok := tenancy.From(ctx)
	if !ok || tn.ID == uuid.Nil {
		return tn, errs.E(errs.NotFound, "not found")
	}
	return tn, nil
}

// ShowForm answers the hosted page's form in the company's language (or
// lang, when given).
func (m *Module) ShowForm(ctx context.Context, token, lang string) (*PublicForm, error) {
	tn, err := publicTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := httpx.LimitPublic(ctx, m.d.Limiter, "forms:read", tn.ID, readPerAddr, readPerCompany); err != nil {
		return nil, err
	}
	loc := locale(tn, lang)
	var out *PublicForm
	err = db.InTenant(authz.AsSystem(ctx), m.d.DB, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		f, err := m.publicForm(ctx, tx, tn.ID, token)
		if err != nil {
			return err
		}
		defs, err := m.customDefs(ctx, tx, tn.ID)
		if err != nil {
			return err
		}
		out = &PublicForm{Company: tn.Name, Locale: loc, Title: pick(loc, f.TitleEN, f.TitleZH), Submit: texts[loc].submit, RedirectURL: f.RedirectURL, Fields: []PublicField{}}
		if out.Title == "" {
			out.Title = texts[loc].title
		}
		if f.Consent {
			out.Consent = pick(loc, f.ConsentEN, f.ConsentZH)
		}
		for _, ff := range f.Fields {
			pf := PublicField{Key: ff.Key, Required: ff.Required}
			if s, ok := standard(ff.Key); ok {
				pf.Type, pf.MaxLength, pf.Label = s.Type, s.Max, pick(loc, s.LabelEN, s.LabelZH)
			} else if d, ok := defs[strings.TrimPrefix(ff.Key, customPrefix)]; ok {
				pf.Type, pf.Options, pf.Label = string(d.Type), d.Options, pick(loc, d.LabelEN, d.LabelZH)
			} else {
				continue // a custom field archived since the form was built
			}
			if l := pick(loc, ff.LabelEN, ff.LabelZH); l != "" {
				pf.Label = l
			}
			out.Fields = append(out.Fields, pf)
		}
		return nil
	})
	if err != nil {
		return nil, db.Classify(err, "form")
	}
	return out, nil
}

func (m *Module) customDefs(ctx context.Context, tx bun.Tx, tenant uuid.UUID) (map[string]fields.Definition, error) {
	out := map[string]fields.Definition{}
	if m.d.Fields == nil {
		return out, nil
	}
	defs, err := m.d.Fields.Definitions(ctx, tx, tenant, entityCustomers)
	for _, d := range defs {
		out[d.Key] = d
	}
	return out, err
}

// UTM are the campaign parameters of the page a form was filled on.
type UTM struct {
	Source   string `json:"utm_source,omitempty" maxLength:"200"`
	Medium   string `json:"utm_medium,omitempty" maxLength:"200"`
	Campaign string `json:"utm_campaign,omitempty" maxLength:"200"`
	Term     string `json:"utm_term,omitempty" maxLength:"200"`
	Content  string `json:"utm_content,omitempty" maxLength:"200"`
}

func (u UTM) lines() []string {
	var out []string
	for _, p := range [][2]string{{"utm_source", u.Source}, {"utm_medium", u.Medium}, {"utm_campaign", u.Campaign}, {"utm_term", u.Term}, {"utm_content", u.Content}} {
		if v := strings.TrimSpace(p[1]); v != "" {
			out = append(out, p[0]+": "+v)
		}
	}
	return out
}

// SubmissionInput is what the hosted page (or a site posting directly) sends.
type SubmissionInput struct {
	Fields   map[string]any `json:"fields" maxProperties:"30" doc:"values by the form's field keys (name, email, custom.<key>...)"`
	Consent  bool           `json:"consent,omitempty" doc:"the sender ticked the consent checkbox"`
	Locale   string         `json:"locale,omitempty" enum:"en,zh-CN," doc:"the language the form was shown in: the consent text stored is that language's"`
	Source   string         `json:"source,omitempty" maxLength:"2048" doc:"the address of the page the form was filled on"`
	Referrer string         `json:"referrer,omitempty" maxLength:"2048"`
	UTM      UTM            `json:"utm,omitempty"`
	// Website is a honeypot: people never see it, robots fill it in.
	Website string `json:"website,omitempty" maxLength:"300" doc:"leave empty"`
}

// Receipt confirms a submission.
type Receipt struct {
	Message     string `json:"message" doc:"the thank-you message, in the form's language"`
	RedirectURL string `json:"redirect_url,omitempty" doc:"where the page goes next, when the form has one"`
}

// Submit takes a submission: the customer matched by email or phone is
// updated, or a lead is created; its timeline gets an entry with the source
// and UTM parameters; a task and a deal follow when the form says so. All of
// it is one transaction: a refusal anywhere leaves nothing written.
func (m *Module) Submit(ctx context.Context, token string, in SubmissionInput) (*Receipt, error) {
	tn, err := publicTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := httpx.LimitPublic(ctx, m.d.Limiter, "forms:submit", tn.ID, submitPerAddr, submitPerCompany); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Website) != "" {
		return nil, errs.E(errs.Invalid, "The form could not be sent.").WithFields(errs.FieldError{Location: "body.website", Message: "must be empty"})
	}
	loc := locale(tn, in.Locale)
	var out *Receipt
	err = db.InTenant(authz.AsSystem(ctx), m.d.DB, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		f, err := m.publicForm(ctx, tx, tn.ID, token)
		if err != nil {
			return err
		}
		defs, err := m.customDefs(ctx, tx, tn.ID)
		if err != nil {
			return err
		}
		lead, message, data, err := read(f, defs, in, loc)
		if err != nil {
			return err
		}
		lead.Owner = f.OwnerID
		got, err := m.d.Leads.CaptureLead(ctx, tn.ID, lead)
		if err != nil {
			return err
		}
		sub := submission{ID: uuid.New(), FormID: f.ID, CustomerID: got.ID, CreatedCustomer: got.Created, Locale: loc,
			Source: strings.TrimSpace(in.Source), Referrer: strings.TrimSpace(in.Referrer), UTM: in.UTM}
		if f.Consent {
			text, now := pick(loc, f.ConsentEN, f.ConsentZH), time.Now().UTC()
			sub.ConsentText, sub.ConsentAt = &text, &now
		}
		who := lead.Name
		if who == "" {
			who = strings.TrimSpace(lead.Email + " " + lead.Phone)
		}
		body := []string{}
		if sub.Source != "" {
			body = append(body, "Source: "+sub.Source)
		}
		if sub.Referrer != "" {
			body = append(body, "Referrer: "+sub.Referrer)
		}
		body = append(body, in.UTM.lines()...)
		if sub.ConsentText != nil {
			body = append(body, "Consent: "+*sub.ConsentText)
		}
		if message != "" {
			body = append(body, "", message)
		}
		if err := m.d.Leads.AddTimelineEntry(ctx, tn.ID, got.ID, records.LeadNote{Channel: Source,
			Summary: fmt.Sprintf(texts[loc].summary, f.Name), Body: strings.Join(body, "\n")}); err != nil {
			return err
		}
		assignee, err := m.assignee(ctx, tn.ID, got.Owner, f)
		if err != nil {
			return err
		}
		if f.CreateTask && assignee != nil && m.d.FollowUps != nil {
			title := f.TaskTitle
			if title == "" {
				title = fmt.Sprintf(texts[loc].task, who)
			}
			if r := []rune(title); len(r) > maxTaskTitle {
				title = string(r[:maxTaskTitle])
			}
			due := time.Now().UTC().Add(24 * time.Hour)
			id := uuid.New()
			if err := m.d.FollowUps.AddFollowUps(ctx, tx, tn.ID, []records.FollowUp{{ID: id, Entity: entityCustomers, RecordID: got.ID,
				Title: title, Assignee: *assignee, DueAt: &due}}); err != nil {
				return err
			}
			sub.TaskID = &id
		}
		if f.StageID != nil && f.PipelineID != nil && m.d.Deals != nil {
			id, ok, err := m.d.Deals.OpenDeal(ctx, tn.ID, DealDraft{Title: fmt.Sprintf("%s · %s", who, f.Name), Customer: got.ID,
				Pipeline: *f.PipelineID, Stage: *f.StageID, Owner: assignee, Source: Source})
			if err != nil {
				return err
			}
			if ok {
				sub.DealID = &id
			}
		}
		sub.Data = data
		if err := sub.insert(ctx, tx, tn.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE lead_forms SET submissions = submissions + 1 WHERE tenant_id = ? AND id = ?", tn.ID, f.ID); err != nil {
			return err
		}
		out = &Receipt{Message: pick(loc, f.ThanksEN, f.ThanksZH), RedirectURL: f.RedirectURL}
		if out.Message == "" {
			out.Message = texts[loc].thanks
		}
		return nil
	})
	if err != nil {
		return nil, db.Classify(err, "form")
	}
	return out, nil
}

// read checks a submission against its form, naming body.fields.<key> for
// each problem, and splits it into the lead, the message and what is stored.
func read(f *Form, defs map[string]fields.Definition, in SubmissionInput, loc string) (records.Lead, string, map[string]any, error) {
	lead := records.Lead{Source: Source, Custom: map[string]any{}, Locations: map[string]string{}}
	data := map[string]any{}
	var message string
	var fe []errs.FieldError
	known := map[string]bool{}
	for _, ff := range f.Fields {
		known[ff.Key] = true
	}
	for k := range in.Fields {
		if !known[k] {
			fe = append(fe, errs.FieldError{Location: "body.fields." + k, Message: "is not a field of this form"})
		}
	}
	for _, ff := range f.Fields {
		at := "body.fields." + ff.Key
		v, given := in.Fields[ff.Key]
		if s, ok := v.(string); ok {
			v = strings.TrimSpace(s)
			given = v != ""
		}
		if v == nil {
			given = false
		}
		if !given {
			if ff.Required {
				fe = append(fe, errs.FieldError{Location: at, Message: "is required"})
			}
			continue
		}
		if s, ok := standard(ff.Key); ok {
			str, ok := v.(string)
			if !ok {
				fe = append(fe, errs.FieldError{Location: at, Message: "must be text"})
				continue
			}
			if len([]rune(str)) > s.Max {
				fe = append(fe, errs.FieldError{Location: at, Message: fmt.Sprintf("is at most %d characters", s.Max)})
				continue
			}
			switch ff.Key {
			case "name":
				lead.Name = str
			case "email":
				lead.Email = str
			case "phone":
				lead.Phone = str
			case "message":
				message = str
			}
			data[ff.Key] = str
			lead.Locations[ff.Key] = at
			continue
		}
		key := strings.TrimPrefix(ff.Key, customPrefix)
		if _, ok := defs[key]; !ok {
			fe = append(fe, errs.FieldError{Location: at, Message: "is not a field of this form"})
			continue
		}
		if b, _ := json.Marshal(v); len(b) > 5000 {
			fe = append(fe, errs.FieldError{Location: at, Message: "is too long"})
			continue
		}
		lead.Custom[key] = v
		lead.Locations[ff.Key] = at
		data[ff.Key] = v
	}
	if lead.Email == "" && lead.Phone == "" && len(fe) == 0 {
		fe = append(fe, errs.FieldError{Location: "body.fields.email", Message: "give an email or a phone so we can contact you"})
	}
	if f.Consent && !in.Consent {
		fe = append(fe, errs.FieldError{Location: "body.consent", Message: texts[loc].consentMissing})
	}
	if len(fe) > 0 {
		return lead, "", nil, errs.E(errs.Invalid, "The form could not be sent: %s %s.", fe[0].Location, fe[0].Message).WithFields(fe...)
	}
	lead.Locations["email"], lead.Locations["phone"] = "body.fields.email", "body.fields.phone"
	for k := range lead.Custom {
		lead.Locations["custom."+k] = "body.fields.custom." + k
	}
	if len(lead.Custom) == 0 {
		lead.Custom = nil
	}
	return lead, message, data, nil
}

// submission is one stored submission.
type submission struct {
	ID              uuid.UUID
	FormID          uuid.UUID
	CustomerID      uuid.UUID
	CreatedCustomer bool
	Data            map[string]any
	Locale          string
	ConsentText     *string
	ConsentAt       *time.Time
	Source          string
	Referrer        string
	UTM             UTM
	TaskID          *uuid.UUID
	DealID          *uuid.UUID
}

func (s submission) insert(ctx context.Context, tx bun.Tx, tenant uuid.UUID) error {
	data, err := json.Marshal(s.Data)
	if err != nil {
		return err
	}
	utm, err := json.Marshal(s.UTM)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO lead_form_submissions (tenant_id, id, form_id, customer_id, created_customer, data, locale,
		consent_text, consent_at, source, referrer, utm, task_id, deal_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tenant, s.ID, s.FormID, s.CustomerID, s.CreatedCustomer, string(data), s.Locale, s.ConsentText, s.ConsentAt, s.Source, s.Referrer, string(utm), s.TaskID, s.DealID)
	return err
}

// Submission is a stored submission as the admin reads it.
type Submission struct {
	ID              uuid.UUID      `json:"id" bun:"id"`
	FormID          uuid.UUID      `json:"form_id" bun:"form_id"`
	CustomerID      uuid.UUID      `json:"customer_id" bun:"customer_id"`
	CreatedCustomer bool           `json:"created_customer" bun:"created_customer" doc:"the submission created the customer (a new lead); false: it matched one by email or phone"`
	Data            map[string]any `json:"data" bun:"data,type:jsonb" doc:"the values sent, by field key; sensitive custom values are masked without pii.read"`
	Locale          string         `json:"locale" bun:"locale"`
	ConsentText     *string        `json:"consent_text,omitempty" bun:"consent_text" doc:"the consent text the sender ticked, as shown to them"`
	ConsentAt       *time.Time     `json:"consent_at,omitempty" bun:"consent_at"`
	Source          string         `json:"source" bun:"source"`
	Referrer        string         `json:"referrer" bun:"referrer"`
	UTM             UTM            `json:"utm" bun:"utm,type:jsonb"`
	TaskID          *uuid.UUID     `json:"task_id,omitempty" bun:"task_id"`
	DealID          *uuid.UUID     `json:"deal_id,omitempty" bun:"deal_id"`
	CreatedAt       time.Time      `json:"created_at" bun:"created_at"`
}

// ListSubmissions lists a form's submissions, newest first, a page at a time.
func (m *Module) ListSubmissions(ctx context.Context, tenant, form uuid.UUID, cursor string, limit int) ([]Submission, string, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	before, err := page.Start[page.After](cursor)
	if err != nil {
		return nil, "", err
	}
	out := []Submission{}
	err = m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		if _, err := getForm(ctx, tx, tenant, "id", form, false); err != nil {
			return err
		}
		q := tx.NewSelect().TableExpr("lead_form_submissions").Column("id", "form_id", "customer_id", "created_customer", "data", "locale", "consent_text",
			"consent_at", "source", "referrer", "utm", "task_id", "deal_id", "created_at").Where("tenant_id = ? AND form_id = ?", tenant, form)
		if before != nil {
			q = q.Where("(created_at, id) < (?, ?)", before.At, before.ID)
		}
		err := q.OrderExpr("created_at DESC, id DESC").Limit(limit+1).Scan(ctx, &out)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if authz.ActorFrom(ctx).Can(fields.PermPIIRead) {
			return nil
		}
		defs, err := m.customDefs(ctx, tx, tenant)
		if err != nil {
			return err
		}
		for _, s := range out {
			for k := range s.Data {
				if d, ok := defs[strings.TrimPrefix(k, customPrefix)]; ok && strings.HasPrefix(k, customPrefix) && d.Sensitive {
					s.Data[k] = fields.MaskText
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	out, next := page.Cut(out, limit, func(last Submission) any { return page.After{At: last.CreatedAt, ID: last.ID} })
	return out, next, nil
}

// assignee is whom a submission's task and deal go to: the customer's owner,
// else the form's owner, else whoever built the form while still a member;
// nil: nobody (no task is made).
func (m *Module) assignee(ctx context.Context, tenant uuid.UUID, owner *uuid.UUID, f *Form) (*uuid.UUID, error) {
	if owner != nil {
		return owner, nil
	}
	if f.OwnerID != nil {
		return f.OwnerID, nil
	}
	if f.CreatedBy == nil || m.d.Members == nil {
		return f.CreatedBy, nil
	}
	ok, err := m.d.Members.IsMember(ctx, tenant, *f.CreatedBy)
	if err != nil || !ok {
		return nil, err
	}
	return f.CreatedBy, nil
}
