package main

import (
	"bytes"
	"context"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/identity"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// Names that people type reach the headers of the mail Clientele sends: a
// company's name goes into an invitation's subject, a ticket's subject into
// its replies', a task's title into its reminder's. A line break in one of
// them must never start a header of its own (Bcc: to an attacker, or a body
// of the attacker's). This journey types such names into every route that
// leads to a mail and is refused with the field named; then it plants one in a
// ticket stored before the routes checked, answers it, and reads every message
// the mail sink holds: each has its own headers only, and the reply still went.
func TestLineBreaksInNamesNeverBecomeMailHeaders(t *testing.T) {
	a := newAppWith(t, func(c *config.Config) { c.DataDir = t.TempDir() })
	const evil = "Evil\r\nBcc: spy@attacker.example\r\n\r\nInjected body"
	s := slug("hdr")
	tok, _ := a.company(s)
	base, pub := "/api/v1/t/"+s, "/api/v1/public/"+s
	cust := a.must(201, "POST", base+"/customers", `{"name":"Li Na 李娜","emails":["li.na@example.com"]}`, tokenHdr(tok)...)["id"].(string)

	q := func(v string) string { return fmt.Sprintf("%q", v) }
	for _, c := range []struct{ loc, method, path, body string }{
		{"body.name", "POST", "/api/v1/tenants", `{"name":` + q(evil) + `,"slug":` + q(slug("hdrx")) + `}`},
		{"body.name", "PATCH", base + "/settings", `{"name":` + q("Acme\nBcc: spy@attacker.example") + `}`},
		{"body.subject", "POST", base + "/tickets", `{"subject":` + q(evil) + `,"channel":"email","requester_id":` + q(cust) + `}`},
		{"body.subject", "POST", base + "/tickets", `{"subject":` + q("Line\u2028Separator") + `,"channel":"email","requester_id":` + q(cust) + `}`},
		{"body.name", "POST", pub + "/ticket-form", `{"name":` + q(evil) + `,"email":"zhao.lei@example.com","subject":"Hello","message":"hi"}`},
		{"body.subject", "POST", pub + "/ticket-form", `{"name":"Zhao Lei","email":"zhao.lei@example.com","subject":` + q(evil) + `,"message":"hi"}`},
		{"body.title", "POST", base + "/tasks", `{"title":` + q(evil) + `,"customer_id":` + q(cust) + `}`},
	} {
		a.wantProblem(422, c.loc, c.method, c.path, c.body, tokenHdr(tok)...)
	}
	settings := a.must(200, "GET", base+"/settings", "", tokenHdr(tok)...)
	if strings.Contains(fmt.Sprint(settings["name"]), "attacker") {
		t.Fatalf("a refused name was stored: %v", settings)
	}

	// A ticket stored before the routes refused line breaks in subjects.
	ticket := a.must(201, "POST", base+"/tickets", `{"subject":"Delivery late","channel":"email","requester_id":`+q(cust)+`}`, tokenHdr(tok)...)
	id := ticket["id"].(string)
	var tenant uuid.UUID
	if err := a.d.db.NewRaw("SELECT id FROM tenants WHERE slug = ?", s).Scan(context.Background(), &tenant); err != nil {
		t.Fatal(err)
	}
	if err := db.InTenant(authz.AsSystem(context.Background()), a.d.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE tickets SET subject = ? WHERE tenant_id = ? AND id = ?", evil, tenant, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	a.must(201, "POST", base+"/tickets/"+id+"/messages", `{"kind":"reply","body":"It ships today. 今天发货。"}`, tokenHdr(tok)...)
	w := buildWorker(a.d)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown()
	sink := identity.NewFileMailer(filepath.Join(a.d.cfg.DataDir, "mail"), testkit.Quiet)
	var reply identity.Mail
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		m, err := sink.Last("li.na@example.com")
		if err == nil && strings.Contains(m.Text, "今天发货") {
			reply = m
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reply to a ticket with a line break in its subject was not sent: %v", err)
		}
	}
	if reply.Subject != "[#1001] Evil Bcc: spy@attacker.example Injected body" {
		t.Errorf("the reply's subject is not folded onto one line: %q", reply.Subject)
	}

	// Every message in the sink has its own headers only.
	dir := filepath.Join(a.d.cfg.DataDir, "mail")
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("no mail in the sink: %v", err)
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Errorf("%s does not parse: %v", e.Name(), err)
			continue
		}
		for k := range msg.Header {
			switch k {
			case "From", "To", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type", "Content-Transfer-Encoding":
			default:
				t.Errorf("%s has a header %s: %v", e.Name(), k, msg.Header[k])
			}
		}
		if to := msg.Header.Get("To"); strings.Contains(to, "attacker") || strings.Count(to, "@") != 1 {
			t.Errorf("%s goes to %q", e.Name(), to)
		}
		body, _ := mail.ReadMessage(bytes.NewReader(raw))
		var b bytes.Buffer
		_, _ = b.ReadFrom(body.Body)
		if strings.HasPrefix(strings.TrimSpace(b.String()), "Injected body") {
			t.Errorf("%s: the body starts with the injected text", e.Name())
		}
	}
}
