package identity

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/clientele-crm/clientele/platform/errs"
)

// An invitation end to end: create the person, mail them the recovery link and
// code, and let them set a password and sign in with it.
func TestRecoveryLinkLetsAPersonSetAPasswordAndSignIn(t *testing.T) {
	p := startKratos(t)
	k, _ := newClient(t, p, Options{})
	ctx := context.Background()
	email := uniqueEmail("newhire")
	person, created, err := k.CreateIdentity(ctx, email, "New Hire")
	if err != nil || !created {
		t.Fatalf("create: %v", err)
	}
	// Without a password, nobody signs in as them yet.
	if _, err := p.LoginAPI(ctx, email, goodPassword); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("login before recovery: %v", err)
	}
	link, code, err := k.RecoveryLink(ctx, person.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, "http://localhost:8080/recovery?flow=") || !regexp.MustCompile(`^[0-9]{6}$`).MatchString(code) {
		t.Fatalf("link %q code %q", link, code)
	}

	mailer := NewFileMailer(filepath.Join(t.TempDir(), "mail"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := mailer.Send(ctx, Mail{To: email, Subject: "You are invited",
		Text: "Open " + link + " and enter the code " + code + "."}); err != nil {
		t.Fatal(err)
	}
	got, err := mailer.Last(email)
	if err != nil {
		t.Fatal(err)
	}
	mailedLink := regexp.MustCompile(`https?://\S+/recovery\?flow=[0-9a-f-]+`).FindString(got.Text)
	mailedCode := regexp.MustCompile(`code ([0-9]+)`).FindStringSubmatch(got.Text)
	if mailedLink != link || mailedCode == nil || mailedCode[1] != code {
		t.Fatalf("mail text %q lost the link or code", got.Text)
	}

	// A wrong code is refused and changes nothing.
	if err := p.CompleteRecovery(ctx, mailedLink, "000000", "whatever password 1"); err == nil {
		t.Fatal("a wrong code was accepted")
	}
	const chosen = "my own new password 9"
	if err := p.CompleteRecovery(ctx, mailedLink, mailedCode[1], chosen); err != nil {
		t.Fatal(err)
	}
	token, err := p.LoginAPI(ctx, email, chosen)
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := k.Whoami(ctx, token, "")
	if err != nil || s.Identity.ID != person.ID {
		t.Fatalf("whoami after recovery: %+v %v", s, err)
	}
	// The code is spent.
	if err := p.CompleteRecovery(ctx, mailedLink, mailedCode[1], "yet another password 3"); err == nil {
		t.Fatal("a recovery code worked twice")
	}
	_, _, err = k.RecoveryLink(ctx, uuid.New(), time.Hour)
	wantCode(t, err, errs.NotFound, "")
}

func TestReady(t *testing.T) {
	p := startKratos(t)
	k, _ := newClient(t, p, Options{})
	if err := k.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	down := New(Options{PublicURL: "http://127.0.0.1:1", AdminURL: "http://127.0.0.1:1"})
	wantCode(t, down.Ready(context.Background()), errs.Unavailable, msgUnavailable)
}

// Kratos down: sessions still in the cache keep working, others get Unavailable
// (not Unauthenticated: the person did nothing wrong). Kratos is started again
// afterwards for the tests that follow.
func TestCachedSessionsSurviveKratosOutage(t *testing.T) {
	p := startKratos(t)
	_, cached, _ := signUp(t, p, "Cached Carol")
	_, uncached, _ := signUp(t, p, "Uncached Uma")
	reg := prometheus.NewRegistry()
	k, _ := newClient(t, p, Options{Metrics: reg})
	ctx := context.Background()
	want, _, err := k.Whoami(ctx, cached, "")
	if err != nil {
		t.Fatal(err)
	}

	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Restart(context.Background()); err != nil {
			t.Errorf("restart kratos: %v", err)
		}
	})

	got, _, err := k.Whoami(ctx, cached, "")
	if err != nil || got.Identity != want.Identity {
		t.Fatalf("cached session during the outage: %+v %v", got, err)
	}
	_, _, err = k.Whoami(ctx, uncached, "")
	wantCode(t, err, errs.Unavailable, msgUnavailable)
	wantCode(t, k.Ready(ctx), errs.Unavailable, "")
	if n := testutil.ToFloat64(k.m.cacheTotal.WithLabelValues("error")); n != 1 {
		t.Fatalf("cache error count %v, want 1", n)
	}
	// Logout while Kratos is down still forgets the session here.
	if err := k.Logout(ctx, cached, ""); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("logout during the outage: %v", err)
	}
	_, _, err = k.Whoami(ctx, cached, "")
	wantCode(t, err, errs.Unavailable, msgUnavailable)
}

func TestRestartedKratosKeepsSessions(t *testing.T) {
	p := startKratos(t)
	_, token, _ := signUp(t, p, "Restart Rita")
	ctx := context.Background()
	if err := p.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	k, _ := newClient(t, p, Options{})
	if _, _, err := k.Whoami(ctx, token, ""); err != nil {
		t.Fatalf("session after restart: %v", err)
	}
}
