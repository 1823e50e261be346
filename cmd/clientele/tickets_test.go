package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/identity"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// wantProblem calls and checks the status and that the problem names loc.
func (a *app) wantProblem(status int, loc, method, path, body string, hdr ...string) {
	a.t.Helper()
	code, out, h := a.call(method, path, body, hdr...)
	if code != status || (loc != "" && !strings.Contains(out, `"`+loc+`"`)) || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
		a.t.Errorf("%s %s: %d %s %.300s, want %d naming %s", method, path, code, h.Get("Content-Type"), out, status, loc)
	}
}

// Tickets through the API as members use them: roles and scope hold on every
// action, bad input names its field, a stale version is refused, saved views
// and tasks work on tickets, another company's ticket is 404 even by id under
// one's own company, and a public reply reaches the requester through the
// configured mailer (the file sink here).
func TestTicketsThroughTheAPI(t *testing.T) {
	a := newAppWith(t, func(c *config.Config) { c.DataDir = t.TempDir() })
	s, sb := slug("desk"), slug("deskb")
	tok, _ := a.company(s)
	tokB, _ := a.company(sb)
	viewer := a.member(s, tok, "viewer")
	agent := a.member(s, tok, "agent")
	base, baseB := "/api/v1/t/"+s, "/api/v1/t/"+sb
	cust := a.must(201, "POST", base+"/customers", `{"name":"Chen Jing 陈静","emails":["chen.jing@example.com"]}`, tokenHdr(tok)...)["id"].(string)

	a.wantProblem(422, "body.channel", "POST", base+"/tickets", fmt.Sprintf(`{"subject":"x","channel":"pigeon","requester_id":%q}`, cust), tokenHdr(tok)...)
	a.wantProblem(422, "body.requester_id", "POST", base+"/tickets", `{"subject":"x","channel":"email"}`, tokenHdr(tok)...)
	a.wantProblem(422, "body.requester_email", "POST", base+"/tickets", `{"subject":"x","channel":"email","requester_email":"nope"}`, tokenHdr(tok)...)
	a.wantProblem(403, "", "POST", base+"/tickets", fmt.Sprintf(`{"subject":"x","channel":"email","requester_id":%q}`, cust), tokenHdr(viewer)...)

	a.wantProblem(403, "", "POST", base+"/sla-policies", `{"name":"Urgent","priorities":["urgent"],"resolution_minutes":240}`, tokenHdr(viewer)...)
	a.wantProblem(422, "body.priorities[0]", "POST", base+"/sla-policies", `{"name":"Bad","priorities":["asap"],"resolution_minutes":240}`, tokenHdr(tok)...)
	a.wantProblem(422, "body.resolution_minutes", "POST", base+"/sla-policies", `{"name":"Empty"}`, tokenHdr(tok)...)
	policy := a.must(201, "POST", base+"/sla-policies", `{"name":"Urgent","priorities":["urgent"],"first_response_minutes":30,"resolution_minutes":240}`, tokenHdr(tok)...)
	a.wantProblem(404, "", "PUT", baseB+"/sla-policies/"+policy["id"].(string), `{"name":"Mine now","resolution_minutes":1}`, tokenHdr(tokB)...)
	tk := a.must(201, "POST", base+"/tickets", fmt.Sprintf(`{"subject":"Delivery late","channel":"phone","priority":"urgent","requester_id":%q,"tags":["shipping"]}`, cust), tokenHdr(tok)...)
	id := tk["id"].(string)
	if tk["number"] != float64(1001) || tk["status"] != "new" || tk["version"] != float64(1) || tk["sla_policy_id"] != policy["id"] || tk["resolution_due_at"] == nil {
		t.Fatalf("ticket %v", tk)
	}
	byMail := a.must(201, "POST", base+"/tickets", `{"subject":"Feedback","channel":"web_form","type":"feedback","requester_email":"CHEN.JING@example.com"}`, tokenHdr(tok)...)
	if byMail["requester_id"] != cust || byMail["number"] != float64(1002) {
		t.Fatalf("ticket by the requester's email %v", byMail)
	}
	a.must(200, "GET", base+"/tickets/"+id, "", tokenHdr(viewer)...)

	// The agent sees only their own tickets: the owner's is 404 on every action.
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/tickets/" + id, ""},
		{"PATCH", "/tickets/" + id, `{"version":1,"priority":"low"}`},
		{"POST", "/tickets/" + id + "/status", `{"status":"solved"}`},
		{"GET", "/tickets/" + id + "/messages", ""},
		{"POST", "/tickets/" + id + "/messages", `{"kind":"note","body":"x"}`},
		{"POST", "/tickets/" + id + "/merge", `{"into_id":"` + byMail["id"].(string) + `"}`},
	} {
		if code, out, _ := a.call(c.method, base+c.path, c.body, tokenHdr(agent)...); code != 404 {
			t.Errorf("agent %s %s: %d %.200s, want 404", c.method, c.path, code, out)
		}
		// And another company's member, by the ticket's id under their own company.
		if code, out, _ := a.call(c.method, baseB+c.path, c.body, tokenHdr(tokB)...); code != 404 {
			t.Errorf("company B %s %s: %d %.200s, want 404", c.method, c.path, code, out)
		}
	}
	if list := a.must(200, "GET", base+"/tickets", "", tokenHdr(agent)...); len(list["items"].([]any)) != 0 {
		t.Errorf("the agent lists others' tickets: %v", list)
	}
	if list := a.must(200, "GET", baseB+"/tickets", "", tokenHdr(tokB)...); len(list["items"].([]any)) != 0 {
		t.Errorf("company B lists A's tickets: %v", list)
	}

	up := a.must(200, "PATCH", base+"/tickets/"+id, `{"version":1,"priority":"high","tags":["shipping","vip"]}`, tokenHdr(tok)...)
	if up["version"] != float64(2) || up["priority"] != "high" {
		t.Fatalf("update %v", up)
	}
	a.wantProblem(409, "body.version", "PATCH", base+"/tickets/"+id, `{"version":1,"priority":"low"}`, tokenHdr(tok)...)
	a.wantProblem(422, "body.priority", "PATCH", base+"/tickets/"+id, `{"version":2,"priority":"whenever"}`, tokenHdr(tok)...)
	a.wantProblem(422, "body.status", "POST", base+"/tickets/"+id+"/status", `{"status":"closed"}`, tokenHdr(tok)...)
	a.wantProblem(422, "query.status", "GET", base+"/tickets?status=sleeping", "", tokenHdr(tok)...)
	a.wantProblem(422, "query.size[eq]", "GET", base+"/tickets?size[eq]=3", "", tokenHdr(tok)...)
	a.wantProblem(422, "query.cursor", "GET", base+"/tickets?cursor=forged", "", tokenHdr(tok)...)

	list := a.must(200, "GET", base+"/tickets?priority=high,urgent&tag=vip&number[gte]=1001&sort=number", "", tokenHdr(tok)...)
	if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != id {
		t.Fatalf("filtered list %v", list)
	}
	// Reads come as CSV and XML too, as every list does.
	for accept, want := range map[string]string{"text/csv": "Delivery late", "application/xml": "<subject>Delivery late</subject>"} {
		code, out, h := a.call("GET", base+"/tickets?tag=vip", "", append(tokenHdr(tok), "Accept", accept)...)
		if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), accept) || !strings.Contains(out, want) {
			t.Errorf("tickets as %s: %d %s %.300s", accept, code, h.Get("Content-Type"), out)
		}
	}
	view := a.must(201, "POST", base+"/views", `{"entity":"tickets","name":"Feedback","query":"type=feedback","shared":true}`, tokenHdr(tok)...)
	if view["count"] != nil && view["count"] != float64(1) {
		t.Errorf("view count %v", view["count"])
	}
	list = a.must(200, "GET", base+"/tickets?view_id="+view["id"].(string), "", tokenHdr(tok)...)
	if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != byMail["id"] {
		t.Fatalf("the view's list %v", list)
	}
	a.wantProblem(422, "body.query.type", "POST", base+"/views", `{"entity":"tickets","name":"Bad","query":"type=rant"}`, tokenHdr(tok)...)

	// Tasks attach to tickets; not to another company's.
	task := a.must(201, "POST", base+"/tasks", fmt.Sprintf(`{"title":"Call back","entity":"tickets","record_id":%q}`, id), tokenHdr(tok)...)
	if task["entity"] != "tickets" {
		t.Fatalf("task %v", task)
	}
	a.wantProblem(422, "body.record_id", "POST", baseB+"/tasks", fmt.Sprintf(`{"title":"x","entity":"tickets","record_id":%q}`, id), tokenHdr(tokB)...)

	// A team's tickets go to its available members in turn.
	var agentID, ownerID string
	for _, mm := range a.must(200, "GET", base+"/members", "", tokenHdr(tok)...)["items"].([]any) {
		switch m := mm.(map[string]any); m["role"] {
		case "agent":
			agentID = m["identity_id"].(string)
		case "owner":
			ownerID = m["identity_id"].(string)
		}
	}
	team := a.must(201, "POST", base+"/teams", fmt.Sprintf(`{"name":"Support","members":[%q]}`, agentID), tokenHdr(tok)...)["id"].(string)
	a.wantProblem(403, "", "PUT", base+"/ticket-teams/"+team+"/agents/"+agentID, `{"available":true}`, tokenHdr(viewer)...)
	a.wantProblem(422, "path.member_id", "PUT", base+"/ticket-teams/"+team+"/agents/"+ownerID, `{"available":true}`, tokenHdr(tok)...)
	a.wantProblem(422, "body.max_open", "PUT", base+"/ticket-teams/"+team+"/agents/"+agentID, `{"available":true,"max_open":0}`, tokenHdr(tok)...)
	a.wantProblem(404, "", "PUT", baseB+"/ticket-teams/"+team+"/agents/"+agentID, `{"available":true}`, tokenHdr(tokB)...)
	a.must(200, "PUT", base+"/ticket-teams/"+team+"/agents/"+agentID, `{"available":true,"max_open":5}`, tokenHdr(tok)...)
	dealt := a.must(201, "POST", base+"/tickets", fmt.Sprintf(`{"subject":"Where is my order","channel":"chat","requester_id":%q,"team_id":%q}`, cust, team), tokenHdr(tok)...)
	if dealt["assignee_id"] != agentID || dealt["status"] != "open" {
		t.Fatalf("the team's ticket %v", dealt)
	}
	a.must(200, "GET", base+"/tickets/"+dealt["id"].(string), "", tokenHdr(agent)...)
	agents := a.must(200, "GET", base+"/ticket-teams/"+team+"/agents", "", tokenHdr(agent)...)
	if items := agents["items"].([]any); len(items) != 1 || items[0].(map[string]any)["open"] != float64(1) {
		t.Fatalf("the team's agents %v", agents)
	}

	// A public reply reaches the requester; a note does not.
	a.must(201, "POST", base+"/tickets/"+id+"/messages", `{"kind":"note","body":"Courier says Tuesday"}`, tokenHdr(tok)...)
	added := a.must(201, "POST", base+"/tickets/"+id+"/messages", `{"kind":"reply","body":"Your parcel arrives on Tuesday. 包裹将于周二送达。","status":"pending"}`, tokenHdr(tok)...)
	if added["ticket"].(map[string]any)["status"] != "pending" || added["message"].(map[string]any)["seq"] != float64(2) {
		t.Fatalf("reply %v", added)
	}
	w := buildWorker(a.d)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown()
	sink := identity.NewFileMailer(filepath.Join(a.d.cfg.DataDir, "mail"), testkit.Quiet)
	var got identity.Mail
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := sink.Last("chen.jing@example.com")
		if err == nil {
			got = m
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reply mail in the sink: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got.Subject != "[#1001] Delivery late" || !strings.Contains(got.Text, "周二送达") || strings.Contains(got.Text, "Courier says") {
		t.Fatalf("reply mail %+v", got)
	}
	msgs := a.must(200, "GET", base+"/tickets/"+id+"/messages?kind=reply", "", tokenHdr(tok)...)
	b, _ := json.Marshal(msgs)
	if !strings.Contains(string(b), `"email_state":"sent"`) {
		// The state commits with the job, just after the mail is written.
		time.Sleep(time.Second)
		msgs = a.must(200, "GET", base+"/tickets/"+id+"/messages?kind=reply", "", tokenHdr(tok)...)
		if b, _ = json.Marshal(msgs); !strings.Contains(string(b), `"email_state":"sent"`) {
			t.Errorf("reply email state %s", b)
		}
	}
}

// Business-hour calendars through the API: tickets.manage to change them,
// bad hours and time zones named, another company's calendar 404 by id under
// its own slug, and a business-hours policy counting them.
func TestSLACalendarsThroughTheAPI(t *testing.T) {
	a := newApp(t)
	s, sb := slug("hours"), slug("hoursb")
	tok, _ := a.company(s)
	tokB, _ := a.company(sb)
	viewer := a.member(s, tok, "viewer")
	base, baseB := "/api/v1/t/"+s, "/api/v1/t/"+sb
	good := `{"name":"Beijing 北京","time_zone":"Asia/Shanghai","default":true,"hours":[{"days":["mon","tue","wed","thu","fri"],"start":"09:00","end":"18:00"}],"holidays":[{"date":"2027-01-01","name":"元旦"}]}`
	a.wantProblem(403, "", "POST", base+"/sla-calendars", good, tokenHdr(viewer)...)
	a.wantProblem(422, "body.time_zone", "POST", base+"/sla-calendars", `{"name":"x","time_zone":"Mars/Base","hours":[{"days":["mon"],"start":"09:00","end":"17:00"}]}`, tokenHdr(tok)...)
	a.wantProblem(422, "body.hours[1]", "POST", base+"/sla-calendars", `{"name":"x","time_zone":"UTC","hours":[{"days":["mon"],"start":"09:00","end":"17:00"},{"days":["mon"],"start":"16:00","end":"20:00"}]}`, tokenHdr(tok)...)
	a.wantProblem(422, "body.hours[0].end", "POST", base+"/sla-calendars", `{"name":"x","time_zone":"UTC","hours":[{"days":["mon"],"start":"09:00","end":"08:00"}]}`, tokenHdr(tok)...)
	a.wantProblem(422, "body.team_id", "POST", base+"/sla-calendars", `{"name":"x","time_zone":"UTC","team_id":"`+uuid.NewString()+`","hours":[{"days":["mon"],"start":"09:00","end":"17:00"}]}`, tokenHdr(tok)...)
	cal := a.must(201, "POST", base+"/sla-calendars", good, tokenHdr(tok)...)
	id := cal["id"].(string)
	a.wantProblem(409, "body.default", "POST", base+"/sla-calendars", strings.Replace(good, "Beijing 北京", "Second", 1), tokenHdr(tok)...)
	a.must(200, "GET", base+"/sla-calendars/"+id, "", tokenHdr(viewer)...)
	if list := a.must(200, "GET", base+"/sla-calendars", "", tokenHdr(viewer)...); len(list["items"].([]any)) != 1 {
		t.Fatalf("calendars %v", list)
	}
	for _, c := range []struct{ method, body string }{{"GET", ""}, {"PUT", good}, {"DELETE", ""}} {
		if code, out, _ := a.call(c.method, baseB+"/sla-calendars/"+id, c.body, tokenHdr(tokB)...); code != 404 {
			t.Errorf("company B %s its own slug with A's calendar: %d %.200s, want 404", c.method, code, out)
		}
	}
	if list := a.must(200, "GET", baseB+"/sla-calendars", "", tokenHdr(tokB)...); len(list["items"].([]any)) != 0 {
		t.Errorf("company B lists A's calendars: %v", list)
	}
	a.must(201, "POST", base+"/sla-policies", `{"name":"Business","business_hours":true,"warn_percent":50,"first_response_minutes":60,"next_response_minutes":30,"resolution_minutes":480}`, tokenHdr(tok)...)
	a.wantProblem(422, "body.warn_percent", "POST", base+"/sla-policies", `{"name":"Late","warn_percent":150,"resolution_minutes":480}`, tokenHdr(tok)...)
	cust := a.must(201, "POST", base+"/customers", `{"name":"Li Lei"}`, tokenHdr(tok)...)["id"].(string)
	tk := a.must(201, "POST", base+"/tickets", fmt.Sprintf(`{"subject":"Invoice","channel":"email","requester_id":%q}`, cust), tokenHdr(tok)...)
	if tk["first_response_due_at"] == nil || tk["first_response_warn_at"] == nil || tk["resolution_due_at"] == nil {
		t.Fatalf("ticket under a business-hours policy %v", tk)
	}
	a.must(200, "PUT", base+"/sla-calendars/"+id, strings.Replace(good, `"09:00"`, `"08:00"`, 1), tokenHdr(tok)...)
	a.must(204, "DELETE", base+"/sla-calendars/"+id, "", tokenHdr(tok)...)
	a.wantProblem(404, "", "GET", base+"/sla-calendars/"+id, "", tokenHdr(tok)...)
}

// The public routes through the API, with nobody signed in: the hosted form
// makes a ticket in its own company and answers its number; the survey link
// mailed when the ticket is solved rates it once and shows on the ticket; an
// unknown company, another company's slug with the token, or a forged token
// is 404; the form is limited per client address.
func TestPublicFormAndSurveyThroughTheAPI(t *testing.T) {
	a := newAppWith(t, func(c *config.Config) { c.DataDir = t.TempDir() })
	s, sb := slug("front"), slug("frontb")
	tok, _ := a.company(s)
	a.company(sb)
	pub, pubB := "/api/v1/public/"+s, "/api/v1/public/"+sb
	form := a.must(200, "GET", pub+"/ticket-form", "")
	if form["title"] != "Contact us" || form["locale"] != "en" {
		t.Fatalf("form %v", form)
	}
	a.wantProblem(404, "", "GET", "/api/v1/public/no-such-company-x/ticket-form", "")
	if settings := a.must(200, "GET", "/api/v1/t/"+s+"/ticket-form", "", tokenHdr(tok)...); !strings.Contains(settings["snippet"].(string), "/form/"+s+`"`) {
		t.Errorf("the form's snippet %v", settings)
	}
	a.wantProblem(422, "body.website", "POST", pub+"/ticket-form", `{"email":"bot@example.com","subject":"Buy now","website":"spam"}`)
	a.wantProblem(422, "body.email", "POST", pub+"/ticket-form", `{"subject":"Nobody to answer"}`)
	got := a.must(201, "POST", pub+"/ticket-form", `{"name":"Sun Li 孙丽","email":"sun.li@example.com","subject":"Broken lid 盖子坏了","type":"complaint","message":"Arrived cracked."}`)
	if got["number"] != float64(1001) || !strings.Contains(got["message"].(string), "#1001") {
		t.Fatalf("receipt %v", got)
	}
	items := a.must(200, "GET", "/api/v1/t/"+s+"/tickets", "", tokenHdr(tok)...)["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("tickets after the form %v", items)
	}
	tk := items[0].(map[string]any)
	if tk["channel"] != "web_form" || tk["type"] != "complaint" {
		t.Fatalf("the form's ticket %v", tk)
	}
	id := tk["id"].(string)
	w := buildWorker(a.d)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown()
	sink := identity.NewFileMailer(filepath.Join(a.d.cfg.DataDir, "mail"), testkit.Quiet)
	lastMail := func(what, want string) identity.Mail {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			m, err := sink.Last("sun.li@example.com")
			if err == nil && strings.Contains(m.Text, want) {
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s in the sink: %v", what, err)
			}
		}
	}
	// The sender gets the number by mail too.
	if receipt := lastMail("receipt", "#1001"); receipt.Subject != "We received your message: ticket #1001" || !strings.Contains(receipt.Text, "Broken lid") {
		t.Fatalf("receipt %+v", receipt)
	}
	a.must(200, "POST", "/api/v1/t/"+s+"/tickets/"+id+"/status", `{"status":"solved"}`, tokenHdr(tok)...)
	mail := lastMail("survey mail", "/csat/")
	link := mail.Text[strings.Index(mail.Text, "/csat/"+s+"/")+len("/csat/"+s+"/"):]
	token := strings.Fields(link)[0]
	survey := a.must(200, "GET", pub+"/csat/"+token, "")
	if survey["number"] != float64(1001) || survey["rated"] != false {
		t.Fatalf("survey %v", survey)
	}
	a.wantProblem(404, "", "GET", pubB+"/csat/"+token, "")
	a.wantProblem(404, "", "POST", pubB+"/csat/"+token, `{"rating":1}`)
	a.wantProblem(404, "", "POST", pub+"/csat/"+strings.Repeat("x", 43), `{"rating":1}`)
	a.wantProblem(422, "body.rating", "POST", pub+"/csat/"+token, `{"rating":9}`)
	a.must(200, "POST", pub+"/csat/"+token, `{"rating":4,"comment":"Quick, thanks"}`)
	a.wantProblem(409, "", "POST", pub+"/csat/"+token, `{"rating":5}`)
	if rated := a.must(200, "GET", "/api/v1/t/"+s+"/tickets/"+id, "", tokenHdr(tok)...); rated["csat_rating"] != float64(4) || rated["csat_comment"] != "Quick, thanks" {
		t.Fatalf("the rating on the ticket %v", rated)
	}
	// Company B got nothing of it.
	if code, out, _ := a.call("GET", "/api/v1/t/"+sb+"/tickets/"+id, "", tokenHdr(tok)...); code != 404 {
		t.Errorf("A's ticket under B: %d %.200s", code, out)
	}
	// The form takes 10 submissions a minute from one address.
	limited := false
	for i := 0; i < 12 && !limited; i++ {
		code, _, h := a.call("POST", pub+"/ticket-form", `{"email":"flood@example.com","subject":"Again"}`)
		limited = code == 429 && h.Get("Retry-After") != ""
	}
	if !limited {
		t.Error("the form took more than 10 submissions a minute from one address")
	}
}

// multipartBody builds a multipart form of fields and files (name -> bytes,
// in the order given), answering the body and its Content-Type header.
func multipartBody(t *testing.T, fields map[string]string, files ...fileField) (string, []string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		h := make(textproto.MIMEHeader)
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="files"; filename=%q`, f.name))
		h.Set("Content-Type", "application/octet-stream")
		p, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		p.Write(f.body)
	}
	w.Close()
	return buf.String(), []string{"Content-Type", w.FormDataContentType()}
}

type fileField struct {
	name string
	body []byte
}

var (
	testPNG = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 64)...)
	testPDF = []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")
)

// Files on replies and on the public form through the API: stored and
// listed, downloaded as attachments under the ticket's scope (404 to an
// own-scope agent and to another company, even under its own slug), and
// refused whole with a 4xx naming the file when over the limits or of a
// forbidden kind.
func TestTicketAttachmentsThroughTheAPI(t *testing.T) {
	a := newAppWith(t, func(c *config.Config) { c.DataDir = t.TempDir(); c.TrustedProxies = []string{"0.0.0.0/32"} })
	fwd := ownAddress()
	s, sb := slug("files"), slug("filesb")
	tok, _ := a.company(s)
	tokB, _ := a.company(sb)
	agent := a.member(s, tok, "agent")
	base, baseB := "/api/v1/t/"+s, "/api/v1/t/"+sb
	cust := a.must(201, "POST", base+"/customers", `{"name":"Li Na 李娜","emails":["li.na@example.com"]}`, tokenHdr(tok)...)["id"].(string)
	id := a.must(201, "POST", base+"/tickets", fmt.Sprintf(`{"subject":"Invoice","channel":"email","requester_id":%q}`, cust), tokenHdr(tok)...)["id"].(string)
	upload := base + "/tickets/" + id + "/messages/with-files"

	body, ct := multipartBody(t, map[string]string{"kind": "reply", "body": "Attached 附件"}, fileField{"screen.png", testPNG}, fileField{`..\发票.pdf`, testPDF})
	added := a.must(201, "POST", upload, body, append(tokenHdr(tok), ct...)...)
	files := added["message"].(map[string]any)["attachments"].([]any)
	if len(files) != 2 {
		t.Fatalf("added %v", added)
	}
	pdf := files[1].(map[string]any)
	if pdf["filename"] != "发票.pdf" || pdf["content_type"] != "application/pdf" || pdf["download_url"] != base+"/tickets/"+id+"/attachments/"+pdf["id"].(string) {
		t.Fatalf("attachment %v", pdf)
	}
	code, out, h := a.call("GET", pdf["download_url"].(string), "", tokenHdr(tok)...)
	if code != 200 || out != string(testPDF) || h.Get("Content-Type") != "application/pdf" || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") || !strings.Contains(h.Get("Content-Disposition"), "%E5%8F%91%E7%A5%A8.pdf") {
		t.Fatalf("download: %d %v %.100q", code, h, out)
	}
	thread := a.must(200, "GET", base+"/tickets/"+id+"/messages", "", tokenHdr(tok)...)["items"].([]any)
	if got := thread[0].(map[string]any)["attachments"].([]any); len(got) != 2 {
		t.Fatalf("the thread's attachments %v", got)
	}

	// Bad input: a 4xx naming the file, and nothing written.
	big := make([]byte, 10<<20+1)
	copy(big, testPDF)
	six := make([]fileField, 6)
	for i := range six {
		six[i] = fileField{"p.png", testPNG}
	}
	for _, c := range []struct {
		name   string
		fields map[string]string
		files  []fileField
		status int
		loc    string
	}{
		{"oversized", map[string]string{"kind": "note", "body": "x"}, []fileField{{"big.pdf", big}}, 413, "body.files[0]"},
		{"a program", map[string]string{"kind": "note", "body": "x"}, []fileField{{"ok.png", testPNG}, {"setup.exe", []byte("MZ\x90\x00")}}, 415, "body.files[1]"},
		{"HTML as a picture", map[string]string{"kind": "note", "body": "x"}, []fileField{{"cat.png", []byte("<html><script>x</script>")}}, 415, "body.files[0]"},
		{"six files", map[string]string{"kind": "note", "body": "x"}, six, 422, "body.files"},
		{"no body", map[string]string{"kind": "note"}, []fileField{{"ok.png", testPNG}}, 422, "body.body"},
		{"no kind", map[string]string{"body": "x"}, []fileField{{"ok.png", testPNG}}, 422, "body.kind"},
	} {
		body, ct := multipartBody(t, c.fields, c.files...)
		code, out, h := a.call("POST", upload, body, append(tokenHdr(tok), ct...)...)
		if code != c.status || !strings.Contains(out, `"`+c.loc+`"`) || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s: %d %.300s, want %d naming %s", c.name, code, out, c.status, c.loc)
		}
	}
	if list := a.must(200, "GET", base+"/tickets/"+id+"/attachments", "", tokenHdr(tok)...)["items"].([]any); len(list) != 2 {
		t.Errorf("after refusals the ticket has %d files, want 2", len(list))
	}
	if tk := a.must(200, "GET", base+"/tickets/"+id, "", tokenHdr(tok)...); tk["message_count"] != float64(1) {
		t.Errorf("after refusals the ticket has %v messages, want 1", tk["message_count"])
	}

	// Scope and companies: the own-scope agent, and company B under its own
	// slug, get 404 for the file, the list and an upload.
	body, ct = multipartBody(t, map[string]string{"kind": "note", "body": "x"}, fileField{"ok.png", testPNG})
	for who, c := range map[string]struct {
		base string
		hdr  []string
	}{"agent": {base, tokenHdr(agent)}, "company B": {baseB, tokenHdr(tokB)}} {
		for _, p := range []string{"/tickets/" + id + "/attachments/" + pdf["id"].(string), "/tickets/" + id + "/attachments"} {
			if code, out, _ := a.call("GET", c.base+p, "", c.hdr...); code != 404 {
				t.Errorf("%s GET %s: %d %.200s, want 404", who, p, code, out)
			}
		}
		if code, out, _ := a.call("POST", c.base+"/tickets/"+id+"/messages/with-files", body, append(c.hdr, ct...)...); code != 404 {
			t.Errorf("%s uploaded: %d %.200s, want 404", who, code, out)
		}
	}

	// The public form takes files onto its ticket; a forbidden one refuses
	// the submission.
	pub := "/api/v1/public/" + s + "/ticket-form/with-files"
	fields := map[string]string{"email": "li.na@example.com", "subject": "Photo of the damage", "type": "complaint"}
	body, ct = multipartBody(t, fields, fileField{"run.js", []byte("alert(1)")})
	a.wantProblem(415, "body.files[0]", "POST", pub, body, append(ct, fwd...)...)
	body, ct = multipartBody(t, map[string]string{"email": "li.na@example.com"}, fileField{"photo.png", testPNG})
	a.wantProblem(422, "body.subject", "POST", pub, body, append(ct, fwd...)...)
	body, ct = multipartBody(t, fields, fileField{"damage.png", testPNG})
	got := a.must(201, "POST", pub, body, append(ct, fwd...)...)
	if got["number"] != float64(1002) {
		t.Fatalf("receipt %v (the refused submissions must not have taken a number)", got)
	}
	items := a.must(200, "GET", base+"/tickets?number[eq]=1002", "", tokenHdr(tok)...)["items"].([]any)
	formID := items[0].(map[string]any)["id"].(string)
	if list := a.must(200, "GET", base+"/tickets/"+formID+"/attachments", "", tokenHdr(tok)...)["items"].([]any); len(list) != 1 || list[0].(map[string]any)["filename"] != "damage.png" {
		t.Fatalf("the form's files %v", list)
	}
}

// Every public route, as the OpenAPI document lists it, keeps companies
// apart: company A's survey token reads and rates nothing under company B's
// slug (nor under an unknown one), A's open form opens nothing of B's (B's is
// closed), and a submission under B's slug lands in B, numbered by B, never in
// A. A public route missing from the table below fails the test, so a new one
// must say how it stays within its company.
func TestEveryPublicRouteKeepsTenantsApart(t *testing.T) {
	a := newAppWith(t, func(c *config.Config) { c.DataDir = t.TempDir(); c.TrustedProxies = []string{"0.0.0.0/32"} })
	fwd := ownAddress()
	sa, sb := slug("puba"), slug("pubb")
	tokA, _ := a.company(sa)
	tokB, _ := a.company(sb)
	baseA, baseB := "/api/v1/t/"+sa, "/api/v1/t/"+sb
	pubA, pubB, pubX := "/api/v1/public/"+sa, "/api/v1/public/"+sb, "/api/v1/public/no-such-company-x"
	cust := a.must(201, "POST", baseA+"/customers", `{"name":"Zhou Min 周敏","emails":["zhou.min@example.com"]}`, tokenHdr(tokA)...)["id"].(string)
	tk := a.must(201, "POST", baseA+"/tickets", fmt.Sprintf(`{"subject":"Rate me","channel":"email","requester_id":%q}`, cust), tokenHdr(tokA)...)
	a.must(200, "POST", baseA+"/tickets/"+tk["id"].(string)+"/status", `{"status":"solved"}`, tokenHdr(tokA)...)
	// The survey link of A's ticket, as the mail job makes it.
	token := strings.Repeat("Ab3_", 10) + "xyz"
	var tenantA uuid.UUID
	if err := a.d.db.NewRaw("SELECT id FROM tenants WHERE slug = ?", sa).Scan(context.Background(), &tenantA); err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte(token))
	if err := db.InTenant(authz.AsSystem(context.Background()), a.d.db, tenantA, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO ticket_csat (tenant_id, ticket_id, state, token_hash, sent_at, expires_at) VALUES (?, ?, 'sent', ?, now(), now() + interval '7 days')
			ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET state = 'sent', token_hash = EXCLUDED.token_hash, sent_at = EXCLUDED.sent_at, expires_at = EXCLUDED.expires_at`,
			tenantA, tk["id"], hash[:])
		return err
	}); err != nil {
		t.Fatal(err)
	}
	a.must(200, "PUT", baseB+"/ticket-form", `{"enabled":false,"title":"","intro":""}`, tokenHdr(tokB)...)
	count := func(base, tok string) int {
		return len(a.must(200, "GET", base+"/tickets?limit=200", "", tokenHdr(tok)...)["items"].([]any))
	}
	form := `{"email":"zhou.min@example.com","subject":"Meant for A"}`
	files, ct := multipartBody(t, map[string]string{"email": "zhou.min@example.com", "subject": "Meant for A"}, fileField{"a.png", testPNG})
	lead := a.must(201, "POST", baseA+"/lead-forms", `{"name":"A's form","fields":[{"key":"email","required":true}]}`, tokenHdr(tokA)...)["token"].(string)
	customers := func() int {
		return len(a.must(200, "GET", baseA+"/customers?limit=200", "", tokenHdr(tokA)...)["items"].([]any))
	}
	cases := map[string]func(t *testing.T){
		"GET /lead-forms/{token}": func(t *testing.T) {
			a.must(200, "GET", pubA+"/lead-forms/"+lead, "", fwd...)
			a.wantProblem(404, "", "GET", pubB+"/lead-forms/"+lead, "", fwd...)
			a.wantProblem(404, "", "GET", pubX+"/lead-forms/"+lead, "", fwd...)
		},
		"POST /lead-forms/{token}": func(t *testing.T) {
			before := customers()
			a.wantProblem(404, "", "POST", pubB+"/lead-forms/"+lead, `{"fields":{"email":"meant.for.a@example.com"}}`, fwd...)
			a.wantProblem(404, "", "POST", pubX+"/lead-forms/"+lead, `{"fields":{"email":"meant.for.a@example.com"}}`, fwd...)
			if n := customers(); n != before {
				t.Errorf("a lead under B's slug reached A: %d customers, were %d", n, before)
			}
		},
		"GET /csat/{token}": func(t *testing.T) {
			a.wantProblem(404, "", "GET", pubB+"/csat/"+token, "", fwd...)
			a.wantProblem(404, "", "GET", pubX+"/csat/"+token, "", fwd...)
			if s := a.must(200, "GET", pubA+"/csat/"+token, "", fwd...); s["number"] != float64(1001) || s["rated"] != false {
				t.Errorf("A's own survey: %v", s)
			}
		},
		"POST /csat/{token}": func(t *testing.T) {
			a.wantProblem(404, "", "POST", pubB+"/csat/"+token, `{"rating":1}`, fwd...)
			a.wantProblem(404, "", "POST", pubX+"/csat/"+token, `{"rating":1}`, fwd...)
			if got := a.must(200, "GET", baseA+"/tickets/"+tk["id"].(string), "", tokenHdr(tokA)...); got["csat_rating"] != nil {
				t.Errorf("rated through another company's slug: %v", got["csat_rating"])
			}
		},
		"GET /ticket-form": func(t *testing.T) {
			a.must(200, "GET", pubA+"/ticket-form", "", fwd...)
			a.wantProblem(404, "", "GET", pubB+"/ticket-form", "", fwd...)
			a.wantProblem(404, "", "GET", pubX+"/ticket-form", "", fwd...)
		},
		"POST /ticket-form": func(t *testing.T) {
			before := count(baseA, tokA)
			a.wantProblem(404, "", "POST", pubB+"/ticket-form", form, fwd...)
			a.wantProblem(404, "", "POST", pubX+"/ticket-form", form, fwd...)
			if n := count(baseA, tokA); n != before {
				t.Errorf("a submission under B's slug reached A: %d tickets, were %d", n, before)
			}
		},
		"POST /ticket-form/with-files": func(t *testing.T) {
			before := count(baseA, tokA)
			a.wantProblem(404, "", "POST", pubB+"/ticket-form/with-files", files, append(ct, fwd...)...)
			a.wantProblem(404, "", "POST", pubX+"/ticket-form/with-files", files, append(ct, fwd...)...)
			if n := count(baseA, tokA); n != before {
				t.Errorf("a submission with files under B's slug reached A: %d tickets, were %d", n, before)
			}
		},
	}
	_, doc, _ := a.call("GET", "/api/v1/openapi.json", "")
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(doc), &spec); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for path, ops := range spec.Paths {
		rest, ok := strings.CutPrefix(path, httpx.PublicPrefix)
		if !ok {
			continue
		}
		for method := range ops {
			name := strings.ToUpper(method) + " " + rest
			run, ok := cases[name]
			if !ok {
				t.Errorf("public route %s is not in this test: add how it keeps companies apart", name)
				continue
			}
			seen++
			t.Run(name, run)
		}
	}
	if seen != len(cases) {
		t.Errorf("the document lists %d of the %d public routes this test knows", seen, len(cases))
	}
	// With B's form open, a submission under B's slug is B's ticket, numbered
	// by B, and A still has only its own.
	a.must(200, "PUT", baseB+"/ticket-form", `{"enabled":true,"title":"","intro":""}`, tokenHdr(tokB)...)
	before := count(baseA, tokA)
	if got := a.must(201, "POST", pubB+"/ticket-form", form, fwd...); got["number"] != float64(1001) {
		t.Errorf("B's first form ticket: %v", got)
	}
	if got := a.must(201, "POST", pubB+"/ticket-form/with-files", files, append(ct, fwd...)...); got["number"] != float64(1002) {
		t.Errorf("B's second form ticket: %v", got)
	}
	if n := count(baseB, tokB); n != 2 {
		t.Errorf("B has %d tickets, want its 2 form tickets", n)
	}
	if n := count(baseA, tokA); n != before {
		t.Errorf("A has %d tickets after B's submissions, had %d", n, before)
	}
}

// ownAddress is a client address of the test's own behind the trusted
// proxy (X-Forwarded-For), so the public routes' per-address limits of other
// tests in the same minute do not count against it.
func ownAddress() []string {
	u := uuid.New()
	return []string{"X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", u[0], u[1], u[2])}
}
