package fields

import (
	"net/http"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/humatest"
	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

func TestHTTPRoutes(t *testing.T) {
	env, s := newSvc(t)
	tn := env.NewTenant(t)
	perms := map[string]bool{PermManage: true}
	_, api := humatest.New(t)
	api.UseMiddleware(func(ctx huma.Context, next func(huma.Context)) {
		c := authz.WithActor(ctx.Context(), authz.Actor{Kind: authz.ActorUser, ID: uuid.New(), Permissions: perms})
		next(huma.WithContext(ctx, tenancy.With(c, tenancy.Tenant{ID: tn.ID, Slug: tn.Slug})))
	})
	NewModule(s).Routes(api, nil)
	call := func(method, path, body string) (int, string) {
		t.Helper()
		var args []any
		if body != "" {
			args = append(args, strings.NewReader(body))
		}
		resp := api.Do(method, path, args...)
		return resp.Code, resp.Body.String()
	}
	if c, b := call(http.MethodPost, "/fields/customers", `{"key":"tier","label_en":"Tier","type":"select","options":[{"value":"gold"}],"filterable":true}`); c != 201 {
		t.Fatalf("create: %d %s", c, b)
	}
	if c, b := call(http.MethodPost, "/fields/customers", `{"key":"Bad","label_en":"","type":"select"}`); c != 422 || !strings.Contains(b, "body.key") || !strings.Contains(b, "body.options") {
		t.Fatalf("invalid create: %d %s", c, b)
	}
	if c, b := call(http.MethodGet, "/fields/customers", ""); c != 200 || !strings.Contains(b, `"tier"`) {
		t.Fatalf("list: %d %s", c, b)
	}
	if c, b := call(http.MethodPatch, "/fields/customers/tier", `{"label_zh":"等级"}`); c != 200 || !strings.Contains(b, "等级") {
		t.Fatalf("patch: %d %s", c, b)
	}
	if c, b := call(http.MethodPatch, "/fields/customers/tier", `{"type":"number"}`); c != 409 {
		t.Fatalf("type change: %d %s", c, b)
	}
	if c, b := call(http.MethodDelete, "/fields/customers/tier", ""); c != 200 || !strings.Contains(b, "archived_at") {
		t.Fatalf("archive: %d %s", c, b)
	}
	if c, b := call(http.MethodGet, "/fields/customers", ""); c != 200 || strings.Contains(b, `"tier"`) {
		t.Fatalf("list after archive: %d %s", c, b)
	}
	if c, b := call(http.MethodPost, "/fields/customers/tier/restore", ""); c != 200 || strings.Contains(b, "archived_at") {
		t.Fatalf("restore: %d %s", c, b)
	}
	if c, _ := call(http.MethodGet, "/fields/invoices", ""); c != 404 {
		t.Fatalf("unknown entity: %d", c)
	}
	delete(perms, PermManage)
	if c, b := call(http.MethodPost, "/fields/customers", `{"key":"x","label_en":"X","type":"text"}`); c != 403 {
		t.Fatalf("without fields.manage: %d %s", c, b)
	}
	if c, _ := call(http.MethodGet, "/fields/customers", ""); c != 200 {
		t.Fatalf("read without fields.manage: %d", c)
	}
}
