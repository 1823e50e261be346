package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/identity"
	"github.com/clientele-crm/clientele/platform/identity/kratostest"
)

// httpJSON sends a JSON request to a live server and decodes the answer.
func httpJSON(t *testing.T, method, url, body string, hdr ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	_ = json.Unmarshal(b, &v)
	if v == nil {
		v = map[string]any{"_raw": string(b)}
	}
	return resp.StatusCode, v
}

// A new user, against the real Kratos and the real server: register through the
// API flow via /kratos, create a company, invite a second person who completes
// recovery, sets a password and accepts; both then see the company in /me.
func TestNewUserJourneyAgainstRealKratos(t *testing.T) {
	cfg := testConfig(t)
	cfg.DataDir = t.TempDir()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
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
	p := kratostest.Shared(t, cfg.DatabaseURL)

	// 1. Register through the same-origin proxy, as a script would (API flow).
	code, flow := httpJSON(t, "GET", base+"/kratos/self-service/registration/api", "")
	if code != 200 || flow["id"] == nil {
		t.Fatalf("registration flow through /kratos: %d %v", code, flow)
	}
	email := "owner-" + uuid.NewString()[:8] + "@example.com"
	code, reg := httpJSON(t, "POST", base+"/kratos/self-service/registration?flow="+flow["id"].(string),
		fmt.Sprintf(`{"method":"password","password":"Correct-Horse-42!","traits":{"email":%q,"name":"Li Lei 李雷"}}`, email))
	if code != 200 || reg["session_token"] == nil {
		t.Fatalf("registration: %d %v", code, reg)
	}
	ownerTok := []string{"X-Session-Token", reg["session_token"].(string)}

	// 2. Create a company.
	slug := "journey-" + uuid.NewString()[:6]
	if code, v := httpJSON(t, "POST", base+"/api/v1/tenants", fmt.Sprintf(`{"name":"Journey Co. 旅程","slug":%q}`, slug), ownerTok...); code != 201 {
		t.Fatalf("create tenant: %d %v", code, v)
	}

	// 3. Invite a second person, who receives mail with a recovery link and code.
	invitee := "agent-" + uuid.NewString()[:8] + "@example.com"
	code, inv := httpJSON(t, "POST", base+"/api/v1/t/"+slug+"/invitations", fmt.Sprintf(`{"email":%q,"role":"agent"}`, invitee), ownerTok...)
	if code != 201 {
		t.Fatalf("invite: %d %v", code, inv)
	}
	mailer := identity.NewFileMailer(filepath.Join(cfg.DataDir, "mail"), log)
	mail, err := mailer.Last(invitee)
	if err != nil {
		entries, _ := os.ReadDir(filepath.Join(cfg.DataDir, "mail"))
		t.Fatalf("no invitation mail for the invitee: %v (mail dir has %d files)", err, len(entries))
	}
	link := regexp.MustCompile(`https?://\S+/recovery\?\S+`).FindString(mail.Text)
	codeDigits := regexp.MustCompile(`code (\d{6})`).FindStringSubmatch(mail.Text)
	if link == "" || len(codeDigits) != 2 {
		t.Fatalf("mail lacks link or code:\n%s", mail.Text)
	}
	if err := p.CompleteRecovery(ctx, link, codeDigits[1], "Invitee-Passw0rd-9"); err != nil {
		t.Fatalf("recovery: %v", err)
	}
	inviteeTok, err := p.LoginAPI(ctx, invitee, "Invitee-Passw0rd-9")
	if err != nil {
		t.Fatalf("invitee login: %v", err)
	}
	it := []string{"X-Session-Token", inviteeTok}
	_, me := httpJSON(t, "GET", base+"/api/v1/me", "", it...)
	if !strings.Contains(fmt.Sprint(me["invitations"]), slug) {
		t.Fatalf("invitee does not see the invitation: %v", me)
	}
	if code, v := httpJSON(t, "POST", base+"/api/v1/invitations/"+inv["id"].(string)+"/accept", fmt.Sprintf(`{"tenant":%q}`, slug), it...); code != 200 {
		t.Fatalf("accept: %d %v", code, v)
	}

	// 4. Both see the company.
	for who, tok := range map[string][]string{"owner": ownerTok, "invitee": it} {
		code, me := httpJSON(t, "GET", base+"/api/v1/me", "", tok...)
		if code != 200 || !strings.Contains(fmt.Sprint(me["memberships"]), slug) {
			t.Fatalf("%s's /me: %d %v", who, code, me)
		}
	}
	// And the invitee acts as an agent in it: reads yes, member management no.
	if code, _ := httpJSON(t, "GET", base+"/api/v1/t/"+slug+"/members", "", it...); code != 200 {
		t.Fatalf("agent read: %d", code)
	}
	if code, _ := httpJSON(t, "POST", base+"/api/v1/t/"+slug+"/invitations", `{"email":"x@example.com","role":"viewer"}`, it...); code != 403 {
		t.Fatalf("agent invite: %d, want 403", code)
	}
	// Logout ends the session at once.
	if code, v := httpJSON(t, "POST", base+"/api/v1/logout", "", it...); code != 204 {
		t.Fatalf("logout: %d %v", code, v)
	}
	if code, _ := httpJSON(t, "GET", base+"/api/v1/me", "", it...); code != 401 {
		t.Fatalf("after logout: %d, want 401", code)
	}
}
