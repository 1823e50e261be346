package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/jobs"
)

// Tests of authorisation inside one tenant (issue 12): what a member may see and
// do of their colleagues' records, jobs and grants. The isolation between
// tenants is in access_test.go.

// tenant signs a company up for a test: its slug, its API base, and its owner's
// token and headers.
func (a *app) tenant(prefix string) (slugOut, base, ownerTok string, owner []string) {
	slugOut = slug(prefix)
	ownerTok, _ = a.company(slugOut)
	return slugOut, "/api/v1/t/" + slugOut, ownerTok, tokenHdr(ownerTok)
}

// worker runs the background jobs of this app's deps until the test ends.
func (a *app) worker() {
	a.t.Helper()
	d := a.d
	srv := jobs.NewServer(jobs.ServerOptions{
		Redis: d.redisOpt, DB: d.db, Concurrency: 4, Logger: d.log, Metrics: d.jobMetrics,
		Handlers:      append(jobs.MaintenanceHandlers(d.db), d.modules.JobHandlers()...),
		SweepInterval: -1, NoScheduler: true, PollInterval: 100 * time.Millisecond,
	})
	if err := srv.Start(); err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(srv.Shutdown)
}

// idOf is the identity id behind a session token.
func (a *app) idOf(tok string) string {
	a.t.Helper()
	return a.must(200, "GET", "/api/v1/me", "", tokenHdr(tok)...)["identity"].(map[string]any)["id"].(string)
}

// waitStatus polls path, as hdr, until its status is want; a job or import that
// ended otherwise fails the test at once.
func (a *app) waitStatus(path, want string, hdr []string) map[string]any {
	a.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := a.must(200, "GET", path, "", hdr...)
		switch v["status"] {
		case want:
			return v
		case "failed", "canceled":
			a.t.Fatalf("%s: %v, want %s", path, v, want)
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("%s is still %v, want %s", path, v["status"], want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (a *app) waitExport(base, id string, hdr []string) {
	a.waitStatus(base+"/exports/"+id, "succeeded", hdr)
}

func (a *app) waitImport(base, id, status string, hdr []string) map[string]any {
	return a.waitStatus(base+"/imports/"+id, status, hdr)
}

// Finding 1: a reader of customers could list the jobs, take the owner's export
// id and download the file, sensitive values in clear. Only the requester, or
// a holder of jobs.manage, may see or download an export, and the downloader's
// rights are checked again against what the file holds.
func TestExportsAreTheirRequestersOnly(t *testing.T) {
	a := newApp(t)
	a.worker()
	s, base, ownerTok, owner := a.tenant("expown")
	a.must(201, "POST", base+"/fields/customers", `{"key":"ssn","label_en":"SSN","type":"text","sensitive":true}`, owner...)
	a.must(201, "POST", base+"/customers", `{"name":"Secret Holder","custom":{"ssn":"AAA-SSN-0-123-45-6789"}}`, owner...)
	viewer := tokenHdr(a.member(s, ownerTok, "viewer"))
	agent := tokenHdr(a.member(s, ownerTok, "agent"))
	admin := tokenHdr(a.member(s, ownerTok, "admin"))
	key := []string{"Authorization", "Bearer " + a.must(201, "POST", base+"/api-keys", `{"name":"bi","role":"viewer"}`, owner...)["key"].(string)}

	exp := a.must(202, "POST", base+"/exports", `{}`, owner...)["id"].(string)
	a.waitExport(base, exp, owner)
	if _, body, _ := a.call("GET", base+"/exports/"+exp+"/download", "", owner...); !strings.Contains(body, "AAA-SSN-0-123-45-6789") {
		t.Fatalf("the owner's own export lacks the value in clear:\n%s", body)
	}
	for name, who := range map[string][]string{"viewer": viewer, "agent": agent, "viewer key": key} {
		if _, body, _ := a.call("GET", base+"/jobs", "", who...); strings.Contains(body, exp) {
			t.Errorf("%s lists the owner's export among the jobs: %s", name, body)
		}
		for _, path := range []string{"/exports/" + exp, "/exports/" + exp + "/download", "/jobs/" + exp} {
			if code, body, _ := a.call("GET", base+path, "", who...); code != 404 {
				t.Errorf("%s GET %s: %d %.200s, want 404", name, path, code, body)
			}
		}
		if code, body, _ := a.call("POST", base+"/jobs/"+exp+"/cancel", "", who...); code != 404 && code != 403 {
			t.Errorf("%s cancels the owner's export: %d %.200s, want 404 (or 403 without jobs.cancel)", name, code, body)
		}
	}
	// An admin manages everyone's jobs; the viewer's own export is theirs, masked.
	if _, body, _ := a.call("GET", base+"/jobs", "", admin...); !strings.Contains(body, exp) {
		t.Errorf("admin does not list the owner's export: %s", body)
	}
	if code, body, _ := a.call("GET", base+"/exports/"+exp+"/download", "", admin...); code != 200 || !strings.Contains(body, "AAA-SSN-0-123-45-6789") {
		t.Errorf("admin download: %d %.200s", code, body)
	}
	mine := a.must(202, "POST", base+"/exports", `{}`, viewer...)["id"].(string)
	a.waitExport(base, mine, viewer)
	code, body, _ := a.call("GET", base+"/exports/"+mine+"/download", "", viewer...)
	if code != 200 || strings.Contains(body, "AAA-SSN") || !strings.Contains(body, "••••••") {
		t.Errorf("viewer's own export: %d\n%s", code, body)
	}

	// Rights are checked again at download: a requester who lost pii.read, or
	// whose scope narrowed, no longer gets the file made with the wider rights.
	a.must(201, "POST", base+"/roles", `{"key":"analyst","name":"Analyst","permissions":["profiles.read","pii.read","jobs.read"],"scope":"all"}`, owner...)
	analystTok := a.member(s, ownerTok, "analyst")
	analyst := tokenHdr(analystTok)
	clear := a.must(202, "POST", base+"/exports", `{}`, analyst...)["id"].(string)
	a.waitExport(base, clear, analyst)
	a.must(200, "GET", base+"/exports/"+clear+"/download", "", analyst...)
	a.must(200, "PUT", base+"/roles/analyst", `{"name":"Analyst","permissions":["profiles.read","jobs.read"],"scope":"all"}`, owner...)
	if code, body, _ := a.call("GET", base+"/exports/"+clear+"/download", "", analyst...); code != 403 || strings.Contains(body, "AAA-SSN") {
		t.Errorf("download after losing pii.read: %d %.200s, want 403", code, body)
	}
	a.must(200, "PUT", base+"/roles/analyst", `{"name":"Analyst","permissions":["profiles.read","pii.read","jobs.read"],"scope":"own"}`, owner...)
	if code, body, _ := a.call("GET", base+"/exports/"+clear+"/download", "", analyst...); code != 403 {
		t.Errorf("download after the scope narrowed to own: %d %.200s, want 403", code, body)
	}
}

// Finding 2: an agent erased, for good, a customer it got 404 on everywhere
// else. Erase now applies the actor's scope first, and agents no longer hold
// profiles.erase.
func TestEraseOnlyWhatYouCanSee(t *testing.T) {
	a := newApp(t)
	s, base, ownerTok, owner := a.tenant("erase")
	agent := tokenHdr(a.member(s, ownerTok, "agent"))
	theirs := a.must(201, "POST", base+"/customers", `{"name":"Owner's person"}`, owner...)["id"].(string)
	a.must(404, "GET", base+"/customers/"+theirs, "", agent...)
	if code, body, _ := a.call("POST", base+"/customers/"+theirs+"/erase", "", agent...); code != 403 && code != 404 {
		t.Errorf("agent erases the owner's customer: %d %.200s, want 403 or 404", code, body)
	}
	if perms := fmt.Sprint(a.must(200, "GET", base+"/me", "", agent...)["permissions"]); strings.Contains(perms, "profiles.erase") {
		t.Errorf("the agent role holds profiles.erase: %s", perms)
	}
	// A role that may erase, on its own records only, erases those and no other.
	a.must(201, "POST", base+"/roles", `{"key":"eraser","name":"Eraser","permissions":["profiles.read","profiles.write","profiles.erase"],"scope":"own"}`, owner...)
	eraser := tokenHdr(a.member(s, ownerTok, "eraser"))
	if code, body, _ := a.call("POST", base+"/customers/"+theirs+"/erase", "", eraser...); code != 404 {
		t.Errorf("own-scope eraser erases the owner's customer: %d %.200s, want 404", code, body)
	}
	a.must(200, "GET", base+"/customers/"+theirs, "", owner...)
	own := a.must(201, "POST", base+"/customers", `{"name":"Eraser's person"}`, eraser...)["id"].(string)
	a.must(204, "POST", base+"/customers/"+own+"/erase", "", eraser...)
	a.must(404, "GET", base+"/customers/"+own, "", owner...)
}

// Finding 3: each delegated admin permission led to full admin. For every
// permission that manages members, roles or keys, a holder who is not an owner
// tries to end up with more than they hold, and is refused; what they hold
// themselves they can still hand on.
func TestNoGrantWiderThanYourOwn(t *testing.T) {
	a := newApp(t)
	s, base, ownerTok, owner := a.tenant("grant")
	for _, r := range []string{
		`{"key":"hr","name":"HR","permissions":["members.manage","profiles.read"],"scope":"own"}`,
		`{"key":"rolesmith","name":"Role smith","permissions":["roles.manage","members.manage","profiles.read"],"scope":"team"}`,
		`{"key":"keysmith","name":"Key smith","permissions":["api_keys.manage","profiles.read"],"scope":"all"}`,
		`{"key":"keysmith_own","name":"Key smith (own)","permissions":["api_keys.manage","profiles.read"],"scope":"own"}`,
		`{"key":"reader","name":"Reader","permissions":["profiles.read"],"scope":"own"}`,
		`{"key":"reader_all","name":"Reader (all)","permissions":["profiles.read"],"scope":"all"}`,
		`{"key":"fieldsmith","name":"Field smith","permissions":["fields.manage","profiles.read"],"scope":"all"}`,
	} {
		a.must(201, "POST", base+"/roles", r, owner...)
	}
	a.must(201, "POST", base+"/fields/customers", `{"key":"ssn","label_en":"SSN","type":"text","sensitive":true}`, owner...)
	fields := tokenHdr(a.member(s, ownerTok, "fieldsmith"))
	hrTok, smithTok, keysTok, keysOwnTok := a.member(s, ownerTok, "hr"), a.member(s, ownerTok, "rolesmith"), a.member(s, ownerTok, "keysmith"), a.member(s, ownerTok, "keysmith_own")
	adminTok, agentTok := a.member(s, ownerTok, "admin"), a.member(s, ownerTok, "agent")
	secondOwnerTok := a.member(s, ownerTok, "owner")
	readerID := a.idOf(a.member(s, ownerTok, "reader"))
	hr, smith, keys, keysOwn, admin := tokenHdr(hrTok), tokenHdr(smithTok), tokenHdr(keysTok), tokenHdr(keysOwnTok), tokenHdr(adminTok)
	hrID, smithID, adminID, agentID, owner2ID := a.idOf(hrTok), a.idOf(smithTok), a.idOf(adminTok), a.idOf(agentTok), a.idOf(secondOwnerTok)
	a.must(201, "POST", base+"/teams", fmt.Sprintf(`{"name":"East","members":[%q]}`, agentID), owner...)
	teamID := ""
	for _, tm := range a.must(200, "GET", base+"/teams", "", owner...)["items"].([]any) {
		teamID = tm.(map[string]any)["id"].(string)
	}

	refused := []struct {
		name, method, path, body string
		as                       []string
	}{
		// members.manage
		{"self-promotion to admin", "PATCH", "/members/" + hrID, `{"role":"admin"}`, hr},
		{"promote another above yourself", "PATCH", "/members/" + readerID, `{"role":"admin"}`, hr},
		{"give a role with a wider scope", "PATCH", "/members/" + readerID, `{"role":"reader_all"}`, hr},
		{"demote someone above yourself", "PATCH", "/members/" + adminID, `{"role":"viewer"}`, hr},
		{"remove someone above yourself", "DELETE", "/members/" + adminID, ``, hr},
		{"invite above yourself", "POST", "/invitations", `{"email":"boss@example.com","role":"admin"}`, hr},
		{"invite an owner", "POST", "/invitations", `{"email":"king@example.com","role":"owner"}`, hr},
		{"invite with a wider scope", "POST", "/invitations", `{"email":"wide@example.com","role":"reader_all"}`, hr},
		{"admin changes their own role", "PATCH", "/members/" + adminID, `{"role":"manager"}`, admin},
		{"admin demotes an owner", "PATCH", "/members/" + owner2ID, `{"role":"viewer"}`, admin},
		{"admin removes an owner", "DELETE", "/members/" + owner2ID, ``, admin},
		// roles.manage
		{"widen the role you hold", "PUT", "/roles/rolesmith", `{"name":"Role smith","permissions":["roles.manage","members.manage","profiles.read","profiles.write","audit.read","pii.read"],"scope":"all"}`, smith},
		{"create a role wider than yours", "POST", "/roles", `{"key":"big","name":"Big","permissions":["roles.manage","members.manage","profiles.read","audit.read"],"scope":"team"}`, smith},
		{"create a role with a wider scope", "POST", "/roles", `{"key":"wide","name":"Wide","permissions":["profiles.read"],"scope":"all"}`, smith},
		{"widen another role past yours", "PUT", "/roles/reader", `{"name":"Reader","permissions":["profiles.read","pii.read"],"scope":"own"}`, smith},
		{"take a role wider than yours", "PATCH", "/members/" + smithID, `{"role":"reader_all"}`, smith},
		{"join a team", "PUT", "/teams/" + teamID, fmt.Sprintf(`{"name":"East","members":[%q,%q]}`, agentID, smithID), smith},
		{"create a team with yourself", "POST", "/teams", fmt.Sprintf(`{"name":"Mine","members":[%q,%q]}`, smithID, agentID), smith},
		// api_keys.manage
		{"admin key", "POST", "/api-keys", `{"name":"root","role":"admin"}`, keys},
		{"key with permissions you lack", "POST", "/api-keys", `{"name":"w","role":"agent"}`, keys},
		{"key wider than your own scope", "POST", "/api-keys", `{"name":"r","role":"reader"}`, keysOwn},
		{"owner key", "POST", "/api-keys", `{"name":"o","role":"owner"}`, admin},
		// fields.manage: turning a field's sensitivity off unmasks its values
		// for every reader, so it needs pii.read as well.
		{"unmask a sensitive field", "PATCH", "/fields/customers/ssn", `{"sensitive":false}`, fields},
	}
	for _, tc := range refused {
		code, body, _ := a.call(tc.method, base+tc.path, tc.body, tc.as...)
		if code != 403 && !(code == 422 && tc.name == "owner key") {
			t.Errorf("%s: %s %s answered %d %.200s, want 403", tc.name, tc.method, tc.path, code, body)
		}
		// Refused for what it would grant, not because the holder lacks the
		// managing permission itself (which would prove nothing).
		if strings.Contains(body, "Your role does not include") {
			t.Errorf("%s: refused for lacking the permission, not for the grant: %.200s", tc.name, body)
		}
		t.Logf("%s: %d %.160s", tc.name, code, body)
	}
	// Nothing moved: roles, members and teams are as the owner left them.
	roles := map[string]string{}
	for _, m := range a.must(200, "GET", base+"/members", "", owner...)["items"].([]any) {
		mm := m.(map[string]any)
		roles[mm["identity_id"].(string)] = mm["role"].(string)
	}
	for id, want := range map[string]string{hrID: "hr", smithID: "rolesmith", readerID: "reader", adminID: "admin", agentID: "agent", owner2ID: "owner", a.idOf(ownerTok): "owner"} {
		if roles[id] != want {
			t.Errorf("member %s is %q, want %q", id, roles[id], want)
		}
	}
	if perms := fmt.Sprint(a.must(200, "GET", base+"/me", "", smith...)["permissions"]); perms != "[members.manage profiles.read roles.manage]" {
		t.Errorf("role smith now holds %s", perms)
	}
	if teams := fmt.Sprint(a.must(200, "GET", base+"/teams", "", owner...)["items"]); strings.Contains(teams, smithID) || strings.Contains(teams, "Mine") {
		t.Errorf("teams changed: %s", teams)
	}

	// What the holder holds, they can hand on.
	a.must(200, "PATCH", base+"/members/"+readerID, `{"role":"hr"}`, hr...)
	a.must(201, "POST", base+"/invitations", `{"email":"peer@example.com","role":"hr"}`, hr...)
	a.must(201, "POST", base+"/roles", `{"key":"narrow","name":"Narrow","permissions":["profiles.read"],"scope":"own"}`, smith...)
	a.must(201, "POST", base+"/api-keys", `{"name":"bi","role":"reader_all"}`, keys...)
	a.must(200, "PATCH", base+"/members/"+owner2ID, `{"role":"admin"}`, owner...)
	a.must(204, "DELETE", base+"/members/"+owner2ID, "", owner...)
}

// upload posts a file to .../imports as a multipart form.
func (a *app) upload(slug string, hdr []string, name, content string) map[string]any {
	a.t.Helper()
	return a.uploadAs(201, slug, hdr, "", name, content)
}

// uploadAs uploads a file of an entity ("" leaves the field out: customers)
// and expects the status want.
func (a *app) uploadAs(want int, slug string, hdr []string, entity, name, content string) map[string]any {
	a.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if entity != "" {
		_ = mw.WriteField("entity", entity)
	}
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = io.WriteString(fw, content)
	_ = mw.Close()
	code, out, _ := a.call("POST", "/api/v1/t/"+slug+"/imports", buf.String(), append(hdr, "Content-Type", mw.FormDataContentType())...)
	if code != want {
		a.t.Fatalf("upload %s: %d %s, want %d", name, code, out, want)
	}
	var v map[string]any
	_ = json.Unmarshal([]byte(out), &v)
	return v
}

// Finding 8: an agent reverted the owner's import and canceled the owner's
// jobs. An import, like its job, is its requester's, and anyone else but a
// holder of jobs.manage gets 404 on it.
func TestImportsAreTheirRequestersOnly(t *testing.T) {
	a := newApp(t)
	a.worker()
	s, base, ownerTok, owner := a.tenant("impown")
	agent := tokenHdr(a.member(s, ownerTok, "agent"))
	admin := tokenHdr(a.member(s, ownerTok, "admin"))
	done := a.upload(s, owner, "people.csv", "name,email\nAda,ada@example.com\nBo,bo@example.com\n")["id"].(string)
	a.must(202, "POST", base+"/imports/"+done+"/start", `{"mapping":{"name":"name","email":"emails"},"mode":"create"}`, owner...)
	job := a.waitImport(base, done, "completed", owner)["job_id"].(string)
	waiting := a.upload(s, owner, "later.csv", "name\nCy\n")["id"].(string)

	if _, body, _ := a.call("GET", base+"/imports", "", agent...); strings.Contains(body, done) || strings.Contains(body, waiting) {
		t.Errorf("the agent lists the owner's imports: %.300s", body)
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/imports/" + done, ""},
		{"GET", "/imports/" + done + "/errors", ""},
		{"POST", "/imports/" + done + "/revert", ""},
		{"POST", "/imports/" + waiting + "/cancel", ""},
		{"POST", "/imports/" + waiting + "/start", `{"mapping":{"name":"name"},"mode":"create"}`},
		{"GET", "/jobs/" + job, ""},
		{"POST", "/jobs/" + job + "/cancel", ""},
	} {
		if code, body, _ := a.call(c.method, base+c.path, c.body, agent...); code != 404 {
			t.Errorf("agent %s %s: %d %.200s, want 404", c.method, c.path, code, body)
		}
	}
	if v := a.must(200, "GET", base+"/imports/"+done, "", owner...); v["status"] != "completed" {
		t.Errorf("the owner's import is %v after the agent's attempts", v["status"])
	}
	a.must(200, "GET", base+"/imports/"+waiting, "", admin...)
	if _, body, _ := a.call("GET", base+"/imports", "", admin...); !strings.Contains(body, done) {
		t.Errorf("an admin does not list the owner's import: %.300s", body)
	}
	a.must(202, "POST", base+"/imports/"+done+"/revert", "", owner...)
	a.waitImport(base, done, "reverted", owner)
}

// Purchase imports (issue 14) are their requesters' like customer imports, and
// run with the requester's scope: a row for a customer the agent cannot see
// fails as one nobody has, and names no one; a viewer cannot import purchases.
func TestPurchaseImportsAreTheirRequestersOnly(t *testing.T) {
	a := newApp(t)
	a.worker()
	s, base, ownerTok, owner := a.tenant("purown")
	agent := tokenHdr(a.member(s, ownerTok, "agent"))
	other := tokenHdr(a.member(s, ownerTok, "agent"))
	admin := tokenHdr(a.member(s, ownerTok, "admin"))
	viewer := tokenHdr(a.member(s, ownerTok, "viewer"))
	a.must(201, "POST", base+"/customers", `{"name":"Agent's","emails":["mine@example.com"]}`, agent...)
	hidden := a.must(201, "POST", base+"/customers", `{"name":"Owner's","emails":["theirs@example.com"]}`, owner...)["id"].(string)
	file := "订单号,邮箱,日期,金额,币种,商品\nP-1,mine@example.com,2024-03-01,120.00,CNY,茶叶\nP-2,theirs@example.com,2024-03-02,99.00,CNY,茶具\n"
	a.uploadAs(403, s, viewer, "purchases", "orders.csv", file)
	up := a.uploadAs(201, s, agent, "purchases", "orders.csv", file)
	id := up["id"].(string)
	if up["entity"] != "purchases" {
		t.Fatalf("upload: %v", up)
	}
	a.must(202, "POST", base+"/imports/"+id+"/start", `{"mapping":{"订单号":"order_no","邮箱":"email","日期":"date","金额":"amount","币种":"currency","商品":"product"},"mode":"create"}`, agent...)
	if v := a.waitImport(base, id, "completed", agent); v["created"] != float64(1) || v["failed"] != float64(1) {
		t.Fatalf("purchase import as the agent: %v", v)
	}
	if _, report, _ := a.call("GET", base+"/imports/"+id+"/errors", "", agent...); !strings.Contains(report, "no customer has this email") || strings.Contains(report, hidden) {
		t.Errorf("the agent's report: %s", report)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/imports/" + id}, {"GET", "/imports/" + id + "/errors"}, {"POST", "/imports/" + id + "/revert"},
	} {
		if code, body, _ := a.call(c.method, base+c.path, "", other...); code != 404 {
			t.Errorf("another agent %s %s: %d %.200s, want 404", c.method, c.path, code, body)
		}
	}
	if _, body, _ := a.call("GET", base+"/imports?entity=purchases", "", admin...); !strings.Contains(body, id) {
		t.Errorf("an admin does not list the agent's purchase import: %.300s", body)
	}
	if _, body, _ := a.call("GET", base+"/imports?entity=customers", "", admin...); strings.Contains(body, id) {
		t.Errorf("the customer imports list a purchase import: %.300s", body)
	}
	a.must(202, "POST", base+"/imports/"+id+"/revert", "", agent...)
	a.waitImport(base, id, "reverted", agent)
	exp := a.must(202, "POST", base+"/exports", `{"entity":"purchases"}`, admin...)
	if exp["entity"] != "purchases" {
		t.Errorf("purchase export: %v", exp)
	}
	a.must(422, "POST", base+"/exports", `{"entity":"widgets"}`, admin...)
	a.must(422, "POST", base+"/exports", `{"entity":"purchases","filter":"colour=red"}`, admin...)
}

// Finding 6: the import error report showed sensitive values to members
// without pii.read. They are masked as everywhere else; holders of pii.read
// still see what was wrong.
func TestImportErrorReportMasksSensitiveValues(t *testing.T) {
	a := newApp(t)
	a.worker()
	s, base, ownerTok, owner := a.tenant("imperr")
	agent := tokenHdr(a.member(s, ownerTok, "agent"))
	a.must(201, "POST", base+"/fields/customers", `{"key":"salary","label_en":"Salary","type":"number","sensitive":true}`, owner...)
	id := a.upload(s, agent, "pay.csv", "name,pay,note\nAda,SECRET-4242,fine\nBo,1200,ok\n")["id"].(string)
	a.must(202, "POST", base+"/imports/"+id+"/start", `{"mapping":{"name":"name","pay":"custom.salary"},"mode":"create"}`, agent...)
	if v := a.waitImport(base, id, "completed", agent); v["failed"] != float64(1) {
		t.Fatalf("import: %v, want one failed row", v)
	}
	code, report, _ := a.call("GET", base+"/imports/"+id+"/errors", "", agent...)
	if code != 200 || strings.Contains(report, "SECRET-4242") || !strings.Contains(report, "••••••") || !strings.Contains(report, "pay") {
		t.Errorf("the agent's error report: %d\n%s", code, report)
	}
	if _, report, _ := a.call("GET", base+"/imports/"+id+"/errors", "", owner...); !strings.Contains(report, "SECRET-4242") {
		t.Errorf("the owner's (pii.read) error report lacks the value:\n%s", report)
	}
}

// Finding 9: the duplicates list showed an agent other members' customers'
// emails, and the duplicate 409 named customers it could not open. Both apply
// the actor's scope; a duplicate of a customer the agent cannot see is still
// refused, with a message that names no id.
func TestDuplicatesStayWithinScope(t *testing.T) {
	a := newApp(t)
	s, base, ownerTok, owner := a.tenant("dups")
	agent := tokenHdr(a.member(s, ownerTok, "agent"))
	o1 := a.must(201, "POST", base+"/customers", `{"name":"Owner One","emails":["hidden.dup@example.com"]}`, owner...)["id"].(string)
	o2 := a.must(201, "POST", base+"/customers?allow_duplicate=true", `{"name":"Owner Two","emails":["hidden.dup@example.com"]}`, owner...)["id"].(string)
	o3 := a.must(201, "POST", base+"/customers", `{"name":"Owner Three","emails":["shared@example.com"]}`, owner...)["id"].(string)
	mine := a.must(201, "POST", base+"/customers?allow_duplicate=true", `{"name":"Agent's","emails":["shared@example.com"],"phones":["+86 138 0013 8001"]}`, agent...)["id"].(string)

	_, body, _ := a.call("GET", base+"/customers/duplicates", "", agent...)
	for _, leak := range []string{"hidden.dup", "shared@example.com", o1, o2, o3} {
		if strings.Contains(body, leak) {
			t.Errorf("the agent's duplicates list shows %s: %s", leak, body)
		}
	}
	if _, body, _ := a.call("GET", base+"/customers/duplicates", "", owner...); !strings.Contains(body, "hidden.dup") || !strings.Contains(body, mine) {
		t.Errorf("the owner's duplicates list misses a group: %s", body)
	}
	code, body, _ := a.call("POST", base+"/customers", `{"name":"Copy","emails":["hidden.dup@example.com"]}`, agent...)
	if code != 409 {
		t.Errorf("a duplicate of an unseen customer: %d %s, want 409", code, body)
	}
	for _, leak := range []string{o1, o2} {
		if strings.Contains(body, leak) {
			t.Errorf("the 409 names %s, which the agent cannot open: %s", leak, body)
		}
	}
	// A duplicate of the agent's own customer is named, so they can open it.
	if code, body, _ := a.call("POST", base+"/customers", `{"name":"Again","phones":["+86 138 0013 8001"]}`, agent...); code != 409 || !strings.Contains(body, mine) {
		t.Errorf("a duplicate of the agent's own customer: %d %s, want 409 naming %s", code, body, mine)
	}
}

// Jobs run with their requester's rights: an export holds what its requester
// may see (their teammates' customers for team scope, no more), and an import
// neither updates nor names a customer outside its requester's scope.
func TestJobsRunWithTheirRequestersRights(t *testing.T) {
	a := newApp(t)
	a.worker()
	s, base, ownerTok, owner := a.tenant("jobrights")
	managerTok, agentTok := a.member(s, ownerTok, "manager"), a.member(s, ownerTok, "agent")
	manager, agent := tokenHdr(managerTok), tokenHdr(agentTok)
	a.must(201, "POST", base+"/teams", fmt.Sprintf(`{"name":"East","members":[%q,%q]}`, a.idOf(managerTok), a.idOf(agentTok)), owner...)
	a.must(201, "POST", base+"/customers", `{"name":"Teammate's Customer"}`, agent...)
	a.must(201, "POST", base+"/customers", `{"name":"Manager's Customer"}`, manager...)
	theirs := a.must(201, "POST", base+"/customers", `{"name":"Owner's Customer","emails":["owned@example.com"],"tags":["vip"]}`, owner...)["id"].(string)

	exp := a.must(202, "POST", base+"/exports", `{}`, manager...)["id"].(string)
	a.waitExport(base, exp, manager)
	_, file, _ := a.call("GET", base+"/exports/"+exp+"/download", "", manager...)
	if !strings.Contains(file, "Teammate's Customer") || !strings.Contains(file, "Manager's Customer") || strings.Contains(file, "Owner's Customer") {
		t.Errorf("the manager's (team scope) export:\n%s", file)
	}

	for _, mode := range []string{"upsert", "create"} {
		id := a.upload(s, agent, mode+".csv", "name,email,tags\nTaken Over,owned@example.com,hijacked\n")["id"].(string)
		a.must(202, "POST", base+"/imports/"+id+"/start", `{"mapping":{"name":"name","email":"emails","tags":"tags"},"mode":"`+mode+`","match_on":"email"}`, agent...)
		v := a.waitImport(base, id, "completed", agent)
		if v["skipped"] != float64(1) || v["updated"] != float64(0) || v["created"] != float64(0) {
			t.Errorf("%s import of the owner's customer's email: %v, want the row skipped", mode, v)
		}
		_, report, _ := a.call("GET", base+"/imports/"+id+"/errors", "", agent...)
		if strings.Contains(report, theirs) || !strings.Contains(report, "cannot see") {
			t.Errorf("%s import's report:\n%s", mode, report)
		}
	}
	if c := a.must(200, "GET", base+"/customers/"+theirs, "", owner...); c["name"] != "Owner's Customer" || strings.Contains(fmt.Sprint(c["tags"]), "hijacked") {
		t.Errorf("the owner's customer after the agent's imports: %v", c)
	}
}

// The permission matrix (issue 12): for each built-in role and a custom one,
// every action on a record answers as the role's permissions say on a record the
// actor can see, and exactly as for an id that does not exist (404, or 422 where
// the id is a body field) on a record they cannot see and on one of another
// tenant. Jobs, imports and exports are their requester's; customers and tasks
// follow the actor's scope (all, team or own).
func TestRecordActionsApplyTheActorsScope(t *testing.T) {
	a := newApp(t)
	s, sb := slug("matrix"), slug("matrixb")
	ownerTok, ownerS := a.company(s)
	a.must(201, "POST", "/api/v1/t/"+s+"/roles", `{"key":"caseworker","name":"Caseworker","permissions":["profiles.read","profiles.write","profiles.erase","jobs.read","tasks.read","tasks.write"],"scope":"own"}`, tokenHdr(ownerTok)...)
	type person struct{ tok, id, base string }
	people := map[string]person{"owner": {ownerTok, ownerS.IdentityID.String(), "/api/v1/t/" + s}}
	for _, r := range []string{"admin", "manager", "agent", "viewer", "caseworker", "outsider"} {
		role := r
		if r == "outsider" {
			role = "agent" // an agent outside the manager's team
		}
		tok := a.member(s, ownerTok, role)
		people[r] = person{tok, a.idOf(tok), "/api/v1/t/" + s}
	}
	bTok, bS := a.company(sb)
	people["B"] = person{bTok, bS.IdentityID.String(), "/api/v1/t/" + sb}
	a.must(201, "POST", people["owner"].base+"/teams", fmt.Sprintf(`{"name":"East","members":[%q,%q,%q]}`, people["manager"].id, people["agent"].id, people["caseworker"].id), tokenHdr(ownerTok)...)

	// Makers of fresh records, each made by (or for) a person.
	n := 0
	customer := func(p person) string {
		n++
		owner := people["owner"].tok
		if p.base != people["owner"].base {
			owner = p.tok
		}
		return a.must(201, "POST", p.base+"/customers", fmt.Sprintf(`{"name":"Person %d","owner_id":%q}`, n, p.id), tokenHdr(owner)...)["id"].(string)
	}
	makers := map[string]func(p person) string{
		"customer": customer,
		"deleted": func(p person) string {
			id := customer(p)
			a.must(204, "DELETE", p.base+"/customers/"+id, "", tokenHdr(p.tok)...)
			return id
		},
		"task": func(p person) string {
			return a.must(201, "POST", p.base+"/tasks", fmt.Sprintf(`{"title":"Call back","assignee_id":%q}`, p.id), tokenHdr(p.tok)...)["id"].(string)
		},
		"export": func(p person) string {
			return a.must(202, "POST", p.base+"/exports", `{}`, tokenHdr(p.tok)...)["id"].(string)
		},
		"import": func(p person) string {
			return a.upload(strings.TrimPrefix(p.base, "/api/v1/t/"), tokenHdr(p.tok), "m.csv", "name\nZed\n")["id"].(string)
		},
		"canceled import": func(p person) string {
			id := a.upload(strings.TrimPrefix(p.base, "/api/v1/t/"), tokenHdr(p.tok), "m.csv", "name\nZed\n")["id"].(string)
			a.must(200, "POST", p.base+"/imports/"+id+"/cancel", "", tokenHdr(p.tok)...)
			return id
		},
	}
	// Whose record a role sees, and whose it does not ("" when its scope
	// reaches every such record). Customers and tasks go by their owner or
	// assignee and the actor's scope; jobs, exports and imports by requester.
	byScope := map[string][2]string{
		"owner": {"owner", ""}, "admin": {"owner", ""}, "viewer": {"owner", ""},
		"manager": {"agent", "outsider"}, "agent": {"agent", "owner"}, "caseworker": {"caseworker", "owner"},
	}
	byRequester := map[string][2]string{
		"owner": {"owner", ""}, "admin": {"admin", ""}, "viewer": {"viewer", "owner"},
		"manager": {"manager", "owner"}, "agent": {"agent", "owner"}, "caseworker": {"caseworker", "owner"},
	}
	type action struct {
		name, perm, rec, method, path, body string
		ok                                  int
	}
	soon := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	actions := []action{
		{"read", "profiles.read", "customer", "GET", "/customers/{id}", "", 200},
		{"timeline", "profiles.read", "customer", "GET", "/customers/{id}/interactions", "", 200},
		{"update", "profiles.write", "customer", "PATCH", "/customers/{id}", `{"lifecycle":"prospect"}`, 200},
		{"delete", "profiles.write", "customer", "DELETE", "/customers/{id}", "", 204},
		{"restore", "profiles.write", "deleted", "POST", "/customers/{id}/restore", "", 200},
		{"erase", "profiles.erase", "customer", "POST", "/customers/{id}/erase", "", 204},
		{"merge into a seen one", "profiles.write", "customer", "POST", "/customers/merge", `{"winner_id":"{seen}","loser_ids":["{id}"]}`, 200},
		{"merge a seen one into it", "profiles.write", "customer", "POST", "/customers/merge", `{"winner_id":"{id}","loser_ids":["{seen}"]}`, 200},
		{"add to the timeline", "profiles.write", "customer", "POST", "/customers/{id}/interactions", `{"kind":"note","summary":"Called"}`, 201},
		{"task on it", "tasks.write", "customer", "POST", "/tasks", `{"title":"Follow up","customer_id":"{id}"}`, 201},
		{"complete a task", "tasks.write", "task", "POST", "/tasks/{id}/complete", "", 200},
		{"snooze a task", "tasks.write", "task", "POST", "/tasks/{id}/snooze", `{"until":"` + soon + `"}`, 200},
		{"export get", "profiles.read", "export", "GET", "/exports/{id}", "", 200},
		{"export download (still queued)", "profiles.read", "export", "GET", "/exports/{id}/download", "", 409},
		{"job get", "jobs.read", "export", "GET", "/jobs/{id}", "", 200},
		{"job cancel", "jobs.cancel", "export", "POST", "/jobs/{id}/cancel", "", 200},
		{"import get", "profiles.read", "import", "GET", "/imports/{id}", "", 200},
		{"import error report", "profiles.read", "import", "GET", "/imports/{id}/errors", "", 200},
		{"import cancel", "profiles.write", "import", "POST", "/imports/{id}/cancel", "", 200},
		{"import revert", "profiles.write", "canceled import", "POST", "/imports/{id}/revert", "", 202},
	}
	roles := []string{"owner", "admin", "manager", "agent", "viewer", "caseworker"}
	for _, role := range roles {
		me := people[role]
		hdr := tokenHdr(me.tok)
		perms := fmt.Sprint(a.must(200, "GET", me.base+"/me", "", hdr...)["permissions"])
		holds := func(p string) bool { return strings.Contains(perms, p) }
		for _, act := range actions {
			byWhom := byScope
			if act.rec == "export" || act.rec == "import" || act.rec == "canceled import" {
				byWhom = byRequester
			}
			seenBy, unseenBy := byWhom[role][0], byWhom[role][1]
			if (act.rec == "import" || act.rec == "canceled import") && !holds("profiles.write") {
				seenBy = "" // cannot upload: has no import of its own
			}
			call := func(id string) (int, string) {
				body := strings.ReplaceAll(act.body, "{id}", id)
				if strings.Contains(body, "{seen}") {
					body = strings.ReplaceAll(body, "{seen}", customer(people[byScope[role][0]]))
				}
				code, out, _ := a.call(act.method, me.base+strings.ReplaceAll(act.path, "{id}", id), body, hdr...)
				return code, out
			}
			nx, _ := call(uuid.NewString())
			if want := []int{404, 422}; !holds(act.perm) {
				if nx != 403 {
					t.Errorf("%s %s without %s: %d, want 403", role, act.name, act.perm, nx)
				}
			} else if nx != want[0] && nx != want[1] {
				t.Errorf("%s %s on an id that does not exist: %d", role, act.name, nx)
			}
			if seenBy != "" {
				want := act.ok
				if !holds(act.perm) {
					want = 403
				}
				if code, out := call(makers[act.rec](people[seenBy])); code != want {
					t.Errorf("%s %s on a record it sees (%s's): %d %.200s, want %d", role, act.name, seenBy, code, out, want)
				}
			}
			for _, whose := range []string{unseenBy, "B"} {
				if whose == "" {
					continue
				}
				id := makers[act.rec](people[whose])
				if code, out := call(id); code != nx {
					t.Errorf("%s %s on %s's record: %d %.200s, want %d as for no record", role, act.name, whose, code, out, nx)
				}
				if act.rec == "customer" && whose != "B" {
					a.must(200, "GET", me.base+"/customers/"+id, "", tokenHdr(ownerTok)...) // untouched
				}
			}
		}
	}

	// Task lists follow the same scope as task actions.
	hidden := makers["task"](people["outsider"])
	if _, body, _ := a.call("GET", people["manager"].base+"/tasks?status=&assignee="+people["outsider"].id, "", tokenHdr(people["manager"].tok)...); strings.Contains(body, hidden) {
		t.Errorf("the manager lists a task of a member outside the team: %s", body)
	}

	// Duplicates: each role sees the groups among customers it sees, and no
	// other (their keys are the customers' emails).
	for _, role := range roles {
		me := people[role]
		seenBy, unseenBy := byScope[role][0], byScope[role][1]
		pair := func(p person, email string) {
			for i := 0; i < 2; i++ {
				n++
				owner := people["owner"].tok
				if p.base != me.base {
					owner = p.tok
				}
				a.must(201, "POST", p.base+"/customers?allow_duplicate=true", fmt.Sprintf(`{"name":"Dup %d","owner_id":%q,"emails":[%q]}`, n, p.id, email), tokenHdr(owner)...)
			}
		}
		seenMail, unseenMail, bMail := role+".seen@example.com", role+".unseen@example.com", role+".b@example.com"
		pair(people[seenBy], seenMail)
		if unseenBy != "" {
			pair(people[unseenBy], unseenMail)
		}
		pair(people["B"], bMail)
		_, body, _ := a.call("GET", me.base+"/customers/duplicates?limit=200", "", tokenHdr(me.tok)...)
		if !strings.Contains(body, seenMail) || strings.Contains(body, unseenMail) || strings.Contains(body, bMail) {
			t.Errorf("%s's duplicates: %s", role, body)
		}
	}
}
