//go:build apiclient

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/cmd/clientele/internal/apiclient"
)

// withSession and withAPIKey are how an integration authenticates a generated
// client: one editor per scheme the document declares.
func withSession(token string) apiclient.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("X-Session-Token", token)
		return nil
	}
}

func withAPIKey(key string) apiclient.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+key)
		return nil
	}
}

// The client oapi-codegen generates from the 3.0 document works against the
// real server and the real Kratos, once per scheme: a person's session token
// signs a company up and makes an API key; the key lists the members; the
// session reads /me, where the key is refused with a 401 that says why.
// scripts/openapi.sh generates the client and runs this (make test).
func TestGeneratedClient(t *testing.T) {
	cfg := testConfig(t)
	cfg.DataDir = t.TempDir()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ctx := context.Background()
	d, err := openDeps(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := buildHTTP(d)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.App.Listener(ln) }()
	defer s.App.Shutdown()
	base := "http://" + ln.Addr().String()

	// A session token from Kratos's API registration flow, through /kratos.
	code, flow := httpJSON(t, "GET", base+"/kratos/self-service/registration/api", "")
	if code != 200 || flow["id"] == nil {
		t.Fatalf("registration flow: %d %v", code, flow)
	}
	email := "client-" + uuid.NewString()[:8] + "@example.com"
	code, reg := httpJSON(t, "POST", base+"/kratos/self-service/registration?flow="+flow["id"].(string),
		fmt.Sprintf(`{"method":"password","password":"Generated-Client-7!","traits":{"email":%q,"name":"Gen Client"}}`, email))
	if code != 200 || reg["session_token"] == nil {
		t.Fatalf("registration: %d %v", code, reg)
	}
	session := withSession(reg["session_token"].(string))

	c, err := apiclient.NewClientWithResponses(base)
	if err != nil {
		t.Fatal(err)
	}
	slug := "gen-" + uuid.NewString()[:8]
	signup, err := c.CreateTenantWithResponse(ctx, apiclient.TenantSignup{Name: "Generated Client Co.", Slug: slug}, session)
	if err != nil || signup.JSON201 == nil || signup.JSON201.Slug != slug {
		t.Fatalf("create-tenant with a session: %v %d %s", err, signup.StatusCode(), signup.Body)
	}
	// Every POST documents Idempotency-Key; the generated client sends it, and
	// a retry with it gets the first answer back.
	idem := "gen-" + uuid.NewString()
	params := &apiclient.CreateApiKeyParams{IdempotencyKey: &idem}
	created, err := c.CreateApiKeyWithResponse(ctx, slug, params, apiclient.NewAPIKey{Name: "generated", Role: "viewer"}, session)
	if err != nil || created.JSON201 == nil || !strings.HasPrefix(created.JSON201.Key, created.JSON201.Prefix) {
		t.Fatalf("create-api-key: %v %d %s", err, created.StatusCode(), created.Body)
	}
	again, err := c.CreateApiKeyWithResponse(ctx, slug, params, apiclient.NewAPIKey{Name: "generated", Role: "viewer"}, session)
	if err != nil || again.JSON201 == nil || again.JSON201.Id != created.JSON201.Id || again.HTTPResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("create-api-key retried with its Idempotency-Key: %v %d %s", err, again.StatusCode(), again.Body)
	}
	key := withAPIKey(created.JSON201.Key)

	// The API key scheme.
	members, err := c.ListMembersWithResponse(ctx, slug, key)
	if err != nil || members.JSON200 == nil || members.JSON200.Items == nil || len(*members.JSON200.Items) != 1 || (*members.JSON200.Items)[0].Email != email {
		t.Fatalf("list-members with an API key: %v %d %s", err, members.StatusCode(), members.Body)
	}
	// The session token scheme.
	me, err := c.GetMeWithResponse(ctx, session)
	if err != nil || me.JSON200 == nil || me.JSON200.Identity.Email != email || me.JSON200.Memberships == nil || len(*me.JSON200.Memberships) != 1 {
		t.Fatalf("get-me with a session: %v %d %s", err, me.StatusCode(), me.Body)
	}
	// An account route refuses the key, as documented.
	refused, err := c.GetMeWithResponse(ctx, key)
	if err != nil || refused.ApplicationproblemJSON401 == nil || refused.Headers401 == nil || refused.Headers401.WWWAuthenticate == nil ||
		refused.ApplicationproblemJSON401.Detail == nil || !strings.Contains(*refused.ApplicationproblemJSON401.Detail, "not an API key") {
		t.Fatalf("get-me with an API key: %v %d %s", err, refused.StatusCode(), refused.Body)
	}
}
