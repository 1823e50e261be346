package identity

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/platform/errs"
)

func TestFileMailerKeepsMailOutOfLogs(t *testing.T) {
	var logs bytes.Buffer
	dir := t.TempDir()
	m := NewFileMailer(dir, slog.New(slog.NewJSONHandler(&logs, nil)))
	ctx := context.Background()
	link := "http://localhost:8080/recovery?flow=f00"
	for _, ml := range []Mail{
		{To: "ann.lee@example.com", Subject: "First", Text: "old " + link},
		{To: "bob@example.org", Subject: "Other", Text: "not for Ann"},
		{To: "Ann.Lee@example.com", Subject: "Einladung für Ann", Text: "Open " + link + "\n" + strings.Repeat("long line ", 30),
			HTML: `<p>Open <a href="` + link + `">your invitation</a> ✓</p>`},
	} {
		if err := m.Send(ctx, ml); err != nil {
			t.Fatal(err)
		}
	}
	got, err := m.Last("ann.lee@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "Einladung für Ann" || !strings.HasPrefix(got.Text, "Open "+link+"\n") ||
		!strings.Contains(got.HTML, `href="`+link+`"`) || !strings.Contains(got.HTML, "✓") || got.To != "Ann.Lee@example.com" {
		t.Fatalf("last mail %+v", got)
	}
	if other, err := m.Last("bob@example.org"); err != nil || other.Text != "not for Ann" || other.HTML != "" {
		t.Fatalf("bob's mail %+v %v", other, err)
	}
	if _, err := m.Last("nobody@example.com"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("no mail: %v", err)
	}
	out := logs.String()
	if strings.Count(out, "mail written") != 3 || !strings.Contains(out, `"recipient_domain":"example.com"`) {
		t.Fatalf("logs: %s", out)
	}
	for _, secret := range []string{"ann.lee", "Ann.Lee", "bob@", "flow=f00", "Einladung"} {
		if strings.Contains(out, secret) {
			t.Fatalf("logs carry %q: %s", secret, out)
		}
	}
	if err := m.Send(ctx, Mail{To: "not an address", Text: "x"}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("bad address: %v", err)
	}
	// A line break in a subject is folded to a space: the mail goes, and no
	// header of its own starts.
	if err := m.Send(ctx, Mail{To: "a@example.com", Subject: "x\r\nBcc: evil@example.com\r\n\r\nbody"}); err != nil {
		t.Fatalf("header injection: %v", err)
	}
	if got, err := m.Last("a@example.com"); err != nil || got.Subject != "x Bcc: evil@example.com body" {
		t.Fatalf("folded subject: %+v, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		raw, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err != nil || msg.Header.Get("Bcc") != "" {
			t.Fatalf("%s: headers %v, %v", e.Name(), msg, err)
		}
	}
}

// fakeSMTP accepts one message and hands over what it received.
func fakeSMTP(t *testing.T) (addr string, got <-chan string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ch := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		say := func(s string) { c.Write([]byte(s + "\r\n")) }
		say("220 fake ESMTP")
		var transcript strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			cmd := strings.ToUpper(strings.TrimSpace(line))
			transcript.WriteString(strings.TrimSpace(line) + "\n")
			switch {
			case strings.HasPrefix(cmd, "EHLO"):
				say("250-fake")
				say("250 8BITMIME")
			case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"):
				say("250 ok")
			case cmd == "DATA":
				say("354 go on")
				var data strings.Builder
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if l == ".\r\n" {
						break
					}
					data.WriteString(l)
				}
				transcript.WriteString("DATA\n" + data.String())
				say("250 queued")
			case cmd == "QUIT":
				say("221 bye")
				ch <- transcript.String()
				return
			default:
				say("502 no")
			}
		}
	}()
	return l.Addr().String(), ch
}

func TestSMTPMailerSends(t *testing.T) {
	addr, got := fakeSMTP(t)
	from := url.QueryEscape("Clientele <invites@example.com>")
	m, err := NewSMTPMailer("smtp://" + addr + "/?disable_starttls=true&from=" + from)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Send(ctx, Mail{To: "ann@example.com", Subject: "Welcome", Text: "Open http://localhost:8080/recovery?flow=1", HTML: "<b>Open</b>"}); err != nil {
		t.Fatal(err)
	}
	transcript := <-got
	for _, want := range []string{"MAIL FROM:<invites@example.com>", "RCPT TO:<ann@example.com>", "Subject: Welcome", "To: <ann@example.com>"} {
		if !strings.Contains(transcript, want) {
			t.Fatalf("transcript lacks %q:\n%s", want, transcript)
		}
	}
	data := transcript[strings.LastIndex(transcript, "DATA\n")+5:]
	parsed, err := parseMessage([]byte(data))
	if err != nil || parsed.Text != "Open http://localhost:8080/recovery?flow=1" || parsed.HTML != "<b>Open</b>" {
		t.Fatalf("parsed %+v %v", parsed, err)
	}

	for _, bad := range []string{"http://x", "smtp://", "smtp://host:port/", "smtp://h/?from=nonsense"} {
		if _, err := NewSMTPMailer(bad); err == nil {
			t.Errorf("NewSMTPMailer(%q) accepted", bad)
		}
	}
	down, _ := NewSMTPMailer("smtp://127.0.0.1:1/")
	if err := down.Send(ctx, Mail{To: "a@example.com", Text: "x"}); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("unreachable server: %v", err)
	}
	if mm, err := NewMailer("", t.TempDir(), nil); err != nil {
		t.Fatal(err)
	} else if _, ok := mm.(*FileMailer); !ok {
		t.Fatalf("NewMailer(\"\") = %T", mm)
	}
}

// A mail with attachments is multipart/mixed: the text (and HTML) first, the
// files after it in base64 under their names, Chinese ones included, and the
// mail sink reads them back byte for byte.
func TestMailCarriesAttachments(t *testing.T) {
	m := NewFileMailer(t.TempDir(), slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	bin := make([]byte, 300)
	for i := range bin {
		bin[i] = byte(i)
	}
	for _, html := range []string{"", "<p>see the files</p>"} {
		err := m.Send(context.Background(), Mail{To: "ann@example.com", Subject: "周报 weekly", Text: "see the files 见附件", HTML: html,
			MessageID: "report.d1", Attachments: []Attachment{{Name: "新客户.png", ContentType: "image/png", Data: bin}, {Name: "numbers.xlsx", ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Data: []byte("PK")}}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Last("ann@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if got.Text != "see the files 见附件" || got.HTML != html || len(got.Attachments) != 2 || got.MessageID != "report.d1" {
			t.Fatalf("mail %+v", got)
		}
		if a := got.Attachments[0]; a.Name != "新客户.png" || a.ContentType != "image/png" || !bytes.Equal(a.Data, bin) {
			t.Fatalf("first file %q %q %d bytes", a.Name, a.ContentType, len(a.Data))
		}
		if a := got.Attachments[1]; a.Name != "numbers.xlsx" || string(a.Data) != "PK" {
			t.Fatalf("second file %+v", a)
		}
	}
}
