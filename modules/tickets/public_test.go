package tickets_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/modules/tickets"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/identity"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// public is the context of a request to a company's public routes: the
// company resolved from its slug, nobody signed in.
func public(tn testkit.Tenant, locale string) context.Context {
	return tenancy.With(context.Background(), tenancy.Tenant{ID: tn.ID, Slug: tn.Slug, Name: tn.Name, Locale: locale})
}

var surveyLink = regexp.MustCompile(`/csat/([a-z0-9-]+)/([A-Za-z0-9_-]{43})`)

// surveyMail waits for the survey mail about ticket number and returns it with
// its token.
func (r *rigT) surveyMail(t *testing.T, number string) (identity.Mail, string) {
	t.Helper()
	var got identity.Mail
	waitFor(t, "the survey mail of #"+number, 15*time.Second, func() bool {
		for _, m := range r.mail.all() {
			if strings.Contains(m.Subject, "#"+number) && surveyLink.MatchString(m.Text) {
				got = m
				return true
			}
		}
		return false
	})
	match := surveyLink.FindStringSubmatch(got.Text)
	if match[1] != r.a.Slug {
		t.Fatalf("the link names company %q, want %q", match[1], r.a.Slug)
	}
	return got, match[2]
}

// A solved ticket's requester is mailed a survey link in the company's
// language; the link rates the ticket once, shows on the ticket, expires
// (gone), and is nothing under another company or when forged.
func TestCSATLinkWorksOnceExpiresAndStaysInItsCompany(t *testing.T) {
	r := rig(t, true)
	r.env.Owner.ExecContext(context.Background(), "UPDATE tenants SET locale = 'zh-CN' WHERE id = ?", r.a.ID)
	a := public(r.a, "zh-CN")
	b := r.env.NewTenant(t)
	tk := r.ticket(t, lead, tickets.TicketInput{Subject: "Refund 退款"})
	if _, err := r.m.ChangeStatus(lead, r.a.ID, tk.ID, "solved", 0); err != nil {
		t.Fatal(err)
	}
	mail, token := r.surveyMail(t, "1001")
	if mail.To != "wang.fang@example.com" || !strings.Contains(mail.Subject, "满意") || !strings.Contains(mail.Text, "Refund 退款") {
		t.Fatalf("survey mail %+v", mail)
	}
	s, err := r.m.ShowSurvey(a, token)
	if err != nil || s.Number != 1001 || s.Locale != "zh-CN" || s.Rated {
		t.Fatalf("survey %+v, %v", s, err)
	}
	// Another company's slug with this token, and a forged token: nothing.
	if _, err := r.m.ShowSurvey(public(b, "en"), token); !errs.Is(err, errs.NotFound) {
		t.Errorf("the token under another company: %v", err)
	}
	if _, err := r.m.RateTicket(public(b, "en"), token, tickets.RatingInput{Rating: 1}); !errs.Is(err, errs.NotFound) {
		t.Errorf("rated under another company: %v", err)
	}
	forged := strings.Repeat("A", 43)
	if _, err := r.m.RateTicket(a, forged, tickets.RatingInput{Rating: 1}); !errs.Is(err, errs.NotFound) {
		t.Errorf("a forged token: %v", err)
	}
	if _, err := r.m.ShowSurvey(a, "../../etc"); !errs.Is(err, errs.NotFound) {
		t.Errorf("a malformed token: %v", err)
	}
	_, err = r.m.RateTicket(a, token, tickets.RatingInput{Rating: 6})
	wantField(t, "a rating of 6", err, errs.Invalid, "body.rating")
	rated, err := r.m.RateTicket(a, token, tickets.RatingInput{Rating: 4, Comment: "  很快，谢谢  "})
	if err != nil || !rated.Rated || *rated.Rating != 4 || rated.Comment != "很快，谢谢" {
		t.Fatalf("rated %+v, %v", rated, err)
	}
	if _, err := r.m.RateTicket(a, token, tickets.RatingInput{Rating: 1}); !errs.Is(err, errs.Conflict) {
		t.Errorf("the link used twice: %v", err)
	}
	got, err := r.m.GetTicket(lead, r.a.ID, tk.ID)
	if err != nil || got.CSATRating == nil || *got.CSATRating != 4 || got.CSATComment == nil || *got.CSATComment != "很快，谢谢" {
		t.Fatalf("the rating on the ticket: %+v, %v", got, err)
	}
	// Reopened and solved again, the ticket is not surveyed twice.
	if _, err := r.m.ChangeStatus(lead, r.a.ID, tk.ID, "open", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.m.ChangeStatus(lead, r.a.ID, tk.ID, "solved", 0); err != nil {
		t.Fatal(err)
	}

	// An expired link is gone, for reading and rating.
	old := r.ticket(t, lead, tickets.TicketInput{Subject: "Late parcel"})
	if _, _, err := r.m.AddMessage(lead, r.a.ID, old.ID, tickets.MessageInput{Kind: "reply", Body: "Delivered today.", Status: "solved"}); err != nil {
		t.Fatal(err)
	}
	_, expired := r.surveyMail(t, "1002")
	r.env.Owner.ExecContext(context.Background(), "UPDATE ticket_csat SET expires_at = now() - interval '1 second' WHERE tenant_id = ? AND ticket_id = ?", r.a.ID, old.ID)
	if _, err := r.m.ShowSurvey(a, expired); !errs.Is(err, errs.Gone) {
		t.Errorf("an expired link read: %v", err)
	}
	if _, err := r.m.RateTicket(a, expired, tickets.RatingInput{Rating: 5}); !errs.Is(err, errs.Gone) {
		t.Errorf("an expired link rated: %v", err)
	}
	time.Sleep(time.Second)
	surveys := 0
	for _, m := range r.mail.all() {
		if surveyLink.MatchString(m.Text) {
			surveys++
		}
	}
	if surveys != 2 {
		t.Errorf("%d survey mails, want one per solved ticket", surveys)
	}
}

// The hosted form makes a web-form ticket of a submission, matching the
// sender by email or phone or making a lead, and answers the ticket number in
// the company's language; robots, missing contacts and a closed form are
// refused; a submission lands in its own company only.
func TestPublicFormCreatesTicketsInItsOwnCompany(t *testing.T) {
	r := rig(t, false)
	a := public(r.a, "en")
	f, err := r.m.ShowForm(a)
	if err != nil || f.Title != "Contact us" || len(f.Types) != 4 {
		t.Fatalf("form %+v, %v", f, err)
	}
	_, err = r.m.SubmitForm(a, tickets.FormInput{Email: "bot@example.com", Subject: "Cheap pills", Website: "http://spam.example"})
	wantField(t, "the honeypot filled in", err, errs.Invalid, "body.website")
	_, err = r.m.SubmitForm(a, tickets.FormInput{Subject: "No way to answer"})
	wantField(t, "no email or phone", err, errs.Invalid, "body.email")
	_, err = r.m.SubmitForm(a, tickets.FormInput{Email: "not-an-address", Subject: "Hello"})
	wantField(t, "a bad email", err, errs.Invalid, "body.email")
	_, err = r.m.SubmitForm(a, tickets.FormInput{Email: "x@example.com", Subject: "Hello", Type: "rant"})
	wantField(t, "an unknown type", err, errs.Invalid, "body.type")

	known, err := r.m.SubmitForm(a, tickets.FormInput{Phone: "+86 138 0013 8000", Subject: "Invoice wrong 发票有误", Type: "complaint", Message: "The amount is wrong."})
	if err != nil || known.Number != 1001 || !strings.Contains(known.Message, "#1001") {
		t.Fatalf("receipt %+v, %v", known, err)
	}
	list, _, err := r.m.ListTickets(lead, r.a.ID, tickets.Filter{Limit: 10})
	if err != nil || len(list) != 1 || list[0].RequesterID != r.first.ID || list[0].Channel != "web_form" || list[0].Type != "complaint" || list[0].Description != "The amount is wrong." {
		t.Fatalf("the form's ticket %+v, %v", list, err)
	}
	lead2, err := r.m.SubmitForm(a, tickets.FormInput{Name: "Zhao Lei 赵磊", Email: "zhao.lei@example.com", Subject: "Feedback"})
	if err != nil || lead2.Number != 1002 {
		t.Fatalf("a new sender: %+v, %v", lead2, err)
	}
	b := r.env.NewTenant(t)
	r.env.Owner.ExecContext(context.Background(), "UPDATE tenants SET locale = 'zh-CN' WHERE id = ?", b.ID)
	inB, err := r.m.SubmitForm(public(b, "zh-CN"), tickets.FormInput{Email: "zhao.lei@example.com", Subject: "Other company"})
	if err != nil || inB.Number != 1001 || !strings.Contains(inB.Message, "工单 #1001") {
		t.Fatalf("a submission to company B: %+v, %v", inB, err)
	}
	if list, _, _ := r.m.ListTickets(lead, r.a.ID, tickets.Filter{Limit: 10}); len(list) != 2 {
		t.Errorf("company A has %d tickets, want its own 2", len(list))
	}
	if _, err := r.m.SaveFormSettings(lead, r.a.ID, tickets.FormSettings{Enabled: false, Title: "Closed"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.m.ShowForm(a); !errs.Is(err, errs.NotFound) {
		t.Errorf("a closed form shown: %v", err)
	}
	if _, err := r.m.SubmitForm(a, tickets.FormInput{Email: "x@example.com", Subject: "Hello"}); !errs.Is(err, errs.NotFound) {
		t.Errorf("a closed form took a submission: %v", err)
	}
	if s, err := r.m.GetFormSettings(lead, r.a.ID); err != nil || s.Enabled || s.Title != "Closed" {
		t.Errorf("settings %+v, %v", s, err)
	}
}
