package main

import (
	"slices"
	"testing"
)

// The web app hides what a member cannot do from GET /t/{tenant}/me; it must say
// exactly what the server enforces, and follow a role change at once.
func TestMyAccessFollowsTheRole(t *testing.T) {
	a := newApp(t)
	s := slug("access")
	ownerTok, _ := a.company(s)
	viewer := a.member(s, ownerTok, "viewer")
	base := "/api/v1/t/" + s
	perms := func(tok string) []string {
		var out []string
		for _, p := range a.must(200, "GET", base+"/me", "", tokenHdr(tok)...)["permissions"].([]any) {
			out = append(out, p.(string))
		}
		return out
	}
	owner := a.must(200, "GET", base+"/me", "", tokenHdr(ownerTok)...)
	if owner["role"] != "owner" || owner["kind"] != "user" || owner["scope"] != "all" {
		t.Fatalf("owner access = %v", owner)
	}
	if p := perms(ownerTok); !slices.Contains(p, "members.manage") || !slices.Contains(p, "audit.read") || !slices.IsSorted(p) {
		t.Fatalf("owner permissions = %v", p)
	}
	if p := perms(viewer); slices.Contains(p, "members.manage") || slices.Contains(p, "settings.manage") {
		t.Fatalf("viewer holds admin permissions: %v", p)
	}
	a.must(201, "POST", base+"/roles", `{"key":"auditor","name":"Auditor","permissions":["audit.read"],"scope":"all"}`, tokenHdr(ownerTok)...)
	var viewerID string
	for _, m := range a.must(200, "GET", base+"/members", "", tokenHdr(ownerTok)...)["items"].([]any) {
		if mm := m.(map[string]any); mm["role"] == "viewer" {
			viewerID = mm["identity_id"].(string)
		}
	}
	a.must(200, "PATCH", base+"/members/"+viewerID, `{"role":"auditor"}`, tokenHdr(ownerTok)...)
	if p := perms(viewer); !slices.Equal(p, []string{"audit.read"}) {
		t.Fatalf("auditor permissions = %v, want [audit.read]", p)
	}
	key := a.must(201, "POST", base+"/api-keys", `{"name":"k","role":"viewer"}`, tokenHdr(ownerTok)...)["key"].(string)
	if got := a.must(200, "GET", base+"/me", "", "Authorization", "Bearer "+key); got["kind"] != "api_key" || got["role"] != "viewer" {
		t.Fatalf("API key access = %v", got)
	}
}
