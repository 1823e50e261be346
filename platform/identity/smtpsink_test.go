package identity

import (
	"context"
	"encoding/json"
	"net/http"
	"net/smtp"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Kratos's courier sends through the sink; the mail lands where FileMailer.Last
// finds it, dot-stuffing undone.
func TestSMTPSinkStoresWhatACourierSends(t *testing.T) {
	dir := t.TempDir()
	s, err := StartSMTPSink(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.URI(), "smtp://127.0.0.1:") {
		t.Fatalf("URI = %s", s.URI())
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(s.URI(), "smtp://"), "/?disable_starttls=true")
	msg := "From: Clientele <no-reply@localhost>\r\nTo: li@acme.example\r\nSubject: Recover access to your account\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nYour code is 123456.\r\n.leading dot\r\n"
	if err := smtp.SendMail(addr, nil, "no-reply@localhost", []string{"li@acme.example"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	// Closed and opened again (Kratos restarted), the sink answers on the same address.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.open(); err != nil {
		t.Fatal(err)
	}
	if err := smtp.SendMail(addr, nil, "no-reply@localhost", []string{"li@acme.example"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	got, err := NewFileMailer(dir, nil).Last("li@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "Recover access to your account" || !strings.Contains(got.Text, "123456") || !strings.Contains(got.Text, "\n.leading dot") {
		t.Fatalf("stored mail = %+v", got)
	}
}

// A person who forgot their password asks for a recovery code through the
// self-service flow the web app uses; Kratos's courier mails it through the sink.
func TestRecoveryFlowMailsItsCode(t *testing.T) {
	p := startKratos(t)
	ctx := context.Background()
	email := uniqueEmail("forgot")
	if _, _, err := p.RegisterAPI(ctx, email, goodPassword, "Forgetful"); err != nil {
		t.Fatal(err)
	}
	var flow struct {
		ID string `json:"id"`
	}
	getJSON(t, p.PublicURL()+"/self-service/recovery/api", &flow)
	body := strings.NewReader(`{"method":"code","email":"` + email + `"}`)
	resp, err := http.Post(p.PublicURL()+"/self-service/recovery?flow="+flow.ID, "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("recovery submit: %d", resp.StatusCode)
	}
	mailer := NewFileMailer(filepath.Join(kratos.dir, "mail"), nil)
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := mailer.Last(email)
		if err == nil {
			if !regexp.MustCompile(`\b[0-9]{6}\b`).MatchString(m.Text + m.HTML) {
				t.Fatalf("the recovery mail has no code: %q", m.Text)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery mail for %s after 30s (%v); end of %s:\n%s", email, err, p.LogPath(), tailFile(p.LogPath(), 20))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}
