package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/notify"
)

// Tasks and notifications of tenant A are out of tenant B's reach, by A's slug
// and by B's own; B's lists about A's customer are empty.
func TestTasksAndNotificationsKeepTenantsApart(t *testing.T) {
	a := newApp(t)
	sa, sb := slug("taska"), slug("taskb")
	tokA, ownerA := a.company(sa)
	tokB, _ := a.company(sb)
	cust := a.must(201, "POST", "/api/v1/t/"+sa+"/customers", `{"name":"Wang Fang 王芳"}`, tokenHdr(tokA)...)["id"].(string)
	task := a.must(201, "POST", "/api/v1/t/"+sa+"/tasks", fmt.Sprintf(`{"title":"call","entity":"customers","record_id":%q}`, cust), tokenHdr(tokA)...)
	if task["customer_id"] != cust || task["entity"] != "customers" {
		t.Fatalf("task %v", task)
	}
	id := task["id"].(string)
	notice := uuid.New()
	var tenantA uuid.UUID
	if err := a.d.db.NewRaw("SELECT id FROM tenants WHERE slug = ?", sa).Scan(context.Background(), &tenantA); err != nil {
		t.Fatal(err)
	}
	if err := db.InTenant(context.Background(), a.d.db, tenantA, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO notifications (tenant_id, id, recipient_id, kind, title, source_key) VALUES (?, ?, ?, 'test', 'hello', 'test:1')", tenantA, notice, ownerA.IdentityID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, base := range []string{"/api/v1/t/" + sa, "/api/v1/t/" + sb} {
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/tasks/" + id + "/complete", ""},
			{"POST", "/tasks/" + id + "/snooze", `{"until":"` + soon + `"}`},
			{"POST", "/notifications/" + notice.String() + "/read", ""},
		} {
			if code, body, _ := a.call(c.method, base+c.path, c.body, tokenHdr(tokB)...); code != 404 {
				t.Errorf("B %s %s%s: %d %.200s, want 404", c.method, base, c.path, code, body)
			}
		}
	}
	if code, body, _ := a.call("POST", "/api/v1/t/"+sb+"/tasks", fmt.Sprintf(`{"title":"x","customer_id":%q}`, cust), tokenHdr(tokB)...); code != 422 || !strings.Contains(body, "body.customer_id") {
		t.Errorf("B linked a task to A's customer: %d %.200s", code, body)
	}
	for _, q := range []string{"/tasks?customer_id=" + cust, "/tasks?entity=customers&record_id=" + cust, "/notifications"} {
		if _, body, _ := a.call("GET", "/api/v1/t/"+sb+q, "", tokenHdr(tokB)...); strings.Contains(body, id) || strings.Contains(body, notice.String()) {
			t.Errorf("B sees A's %s: %.200s", q, body)
		}
	}
	if v := a.must(200, "GET", "/api/v1/t/"+sa+"/tasks?customer_id="+cust, "", tokenHdr(tokA)...); !strings.Contains(fmt.Sprint(v["items"]), id) {
		t.Errorf("A's own task list about the customer: %v", v)
	}
	if v := a.must(200, "GET", "/api/v1/t/"+sa+"/notifications", "", tokenHdr(tokA)...); v["unread"] != float64(1) {
		t.Errorf("A's notifications: %v", v)
	}
	// Preferences are each member's own, per company.
	if v := a.must(200, "GET", "/api/v1/t/"+sa+"/notifications/preferences", "", tokenHdr(tokA)...); v["email"] != notify.DefaultPreference.Email {
		t.Errorf("default preference %v", v)
	}
	a.must(200, "PUT", "/api/v1/t/"+sa+"/notifications/preferences", `{"email":false}`, tokenHdr(tokA)...)
	if v := a.must(200, "GET", "/api/v1/t/"+sa+"/notifications/preferences", "", tokenHdr(tokA)...); v["email"] != false {
		t.Errorf("preference after setting it off: %v", v)
	}
	if v := a.must(200, "GET", "/api/v1/t/"+sb+"/notifications/preferences", "", tokenHdr(tokB)...); v["email"] != notify.DefaultPreference.Email {
		t.Errorf("B's preference changed with A's: %v", v)
	}
	a.must(422, "PUT", "/api/v1/t/"+sa+"/notifications/preferences", `{"email":"sometimes"}`, tokenHdr(tokA)...)
}

// A task follows its customer through the real wiring: merged into the
// winner, erased with the person.
func TestTasksFollowTheirCustomer(t *testing.T) {
	a := newApp(t)
	s := slug("follow")
	tok, _ := a.company(s)
	base := "/api/v1/t/" + s
	w := a.must(201, "POST", base+"/customers", `{"name":"Zhao Min 赵敏"}`, tokenHdr(tok)...)["id"].(string)
	l := a.must(201, "POST", base+"/customers", `{"name":"Min Zhao"}`, tokenHdr(tok)...)["id"].(string)
	task := a.must(201, "POST", base+"/tasks", fmt.Sprintf(`{"title":"call Min","customer_id":%q}`, l), tokenHdr(tok)...)["id"].(string)
	a.must(200, "POST", base+"/customers/merge", fmt.Sprintf(`{"winner_id":%q,"loser_ids":[%q]}`, w, l), tokenHdr(tok)...)
	if v := a.must(200, "GET", base+"/tasks?customer_id="+w, "", tokenHdr(tok)...); !strings.Contains(fmt.Sprint(v["items"]), task) {
		t.Fatalf("the winner's tasks after the merge: %v", v)
	}
	a.must(204, "POST", base+"/customers/"+w+"/erase", "", tokenHdr(tok)...)
	if v := a.must(200, "GET", base+"/tasks?status=", "", tokenHdr(tok)...); strings.Contains(fmt.Sprint(v["items"]), task) {
		t.Fatalf("the erased customer's task stays: %v", v)
	}
}
