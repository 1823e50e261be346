package identity

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clientele-crm/clientele/platform/errs"
)

// Mail is one message to one person. Its body carries links that sign the person
// in, so it is never logged.
type Mail struct {
	To      string
	Subject string
	Text    string
	HTML    string // optional
	// Attachments travel as base64 parts of a multipart/mixed message.
	Attachments []Attachment
	// MessageID, when set (letters, digits, dots and dashes), names the mail
	// so that a resend after a crash carries the same Message-ID, which mail
	// clients show once; empty gets a random one.
	MessageID string
}

// Attachment is a file a mail carries (a scheduled report's PNG, XLSX, PDF).
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// Mailer sends mail: invitations and recovery links, which Kratos's admin API
// creates but does not send.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// NewMailer picks a mailer from a URL: smtp:// or smtps:// send (see
// NewSMTPMailer); empty or file:// write .eml files under dir (see FileMailer).
func NewMailer(rawURL, dir string, log *slog.Logger) (Mailer, error) {
	switch {
	case rawURL == "" || rawURL == "file://":
		return NewFileMailer(dir, log), nil
	case strings.HasPrefix(rawURL, "file://"):
		return NewFileMailer(strings.TrimPrefix(rawURL, "file://"), log), nil
	case strings.HasPrefix(rawURL, "smtp://"), strings.HasPrefix(rawURL, "smtps://"):
		return NewSMTPMailer(rawURL)
	}
	return nil, errors.New("identity: mail URL must be smtp://, smtps:// or file://")
}

// FileMailer is the dev and test mailer: it writes each mail to
// <dir>/<timestamp>-<to>.eml and logs only that a mail was written and the
// recipient's domain.
type FileMailer struct {
	dir  string
	from string
	log  *slog.Logger
	mu   sync.Mutex
	seq  int
}

// NewFileMailer writes mail under dir (for example <data dir>/mail).
func NewFileMailer(dir string, log *slog.Logger) *FileMailer {
	if log == nil {
		log = slog.Default()
	}
	return &FileMailer{dir: dir, from: "Clientele <no-reply@localhost>", log: log}
}

var unsafeFileChars = regexp.MustCompile(`[^a-zA-Z0-9@._+-]+`)

var messageID = regexp.MustCompile(`^[a-zA-Z0-9.-]{1,100}$`)

func mailFileSuffix(to string) string {
	return "-" + unsafeFileChars.ReplaceAllString(strings.ToLower(strings.TrimSpace(to)), "_") + ".eml"
}

// Send writes the mail to a file.
func (m *FileMailer) Send(_ context.Context, ml Mail) error {
	msg, err := buildMessage(m.from, ml, time.Now())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(m.dir, 0o700); err != nil {
		return fmt.Errorf("identity: mail dir: %w", err)
	}
	m.mu.Lock()
	m.seq++
	// The sequence keeps two mails in one nanosecond apart and in order.
	name := fmt.Sprintf("%s.%06d%s", time.Now().UTC().Format("20060102T150405.000000000Z"), m.seq%1000000, mailFileSuffix(ml.To))
	m.mu.Unlock()
	if err := os.WriteFile(filepath.Join(m.dir, name), msg, 0o600); err != nil {
		return fmt.Errorf("identity: write mail: %w", err)
	}
	m.log.Info("mail written", "dir", m.dir, "recipient_domain", domainOf(ml.To))
	return nil
}

// Last returns the newest mail written for an address; NotFound when none.
func (m *FileMailer) Last(to string) (Mail, error) {
	entries, err := os.ReadDir(m.dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return Mail{}, err
	}
	suffix := mailFileSuffix(to)
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), suffix) {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return Mail{}, errs.E(errs.NotFound, "No mail for that address.")
	}
	sort.Strings(names)
	b, err := os.ReadFile(filepath.Join(m.dir, names[len(names)-1]))
	if err != nil {
		return Mail{}, err
	}
	return parseMessage(b)
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return ""
}

// buildMessage renders an RFC 5322 message: text, or text and HTML as
// multipart/alternative, quoted-printable so that any SMTP server takes it.
func buildMessage(from string, m Mail, now time.Time) ([]byte, error) {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, errs.Field("to", "must be an email address")
	}
	// A subject is folded onto one line rather than refused: the routes refuse
	// line breaks in the names that reach a subject, but a record stored
	// before they did must not make its mails fail for ever, and a line break
	// must never start a header of its own.
	m.Subject = foldLine(m.Subject)
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", from)
	h("To", to.String())
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", now.Format(time.RFC1123Z))
	id := randomHex(12)
	if messageID.MatchString(m.MessageID) {
		id = m.MessageID
	}
	h("Message-ID", "<"+id+"@clientele>")
	h("MIME-Version", "1.0")
	if len(m.Attachments) > 0 {
		return appendMixed(&b, m)
	}
	if m.HTML == "" {
		h("Content-Type", "text/plain; charset=utf-8")
		h("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, m.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	mw := multipart.NewWriter(&b)
	h("Content-Type", "multipart/alternative; boundary="+mw.Boundary())
	b.WriteString("\r\n")
	for _, part := range []struct{ ct, body string }{{"text/plain; charset=utf-8", m.Text}, {"text/html; charset=utf-8", m.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {part.ct}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// appendMixed writes a multipart/mixed body: the text (and HTML) first, then
// each attachment in base64 with its file name encoded for any client.
func appendMixed(b *bytes.Buffer, m Mail) ([]byte, error) {
	mw := multipart.NewWriter(b)
	fmt.Fprintf(b, "Content-Type: multipart/mixed; boundary=%s\r\n\r\n", mw.Boundary())
	if m.HTML == "" {
		w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=utf-8"}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, m.Text); err != nil {
			return nil, err
		}
	} else {
		inner := m
		inner.Attachments = nil
		var alt bytes.Buffer
		aw := multipart.NewWriter(&alt)
		for _, part := range []struct{ ct, body string }{{"text/plain; charset=utf-8", inner.Text}, {"text/html; charset=utf-8", inner.HTML}} {
			w, err := aw.CreatePart(textproto.MIMEHeader{"Content-Type": {part.ct}, "Content-Transfer-Encoding": {"quoted-printable"}})
			if err != nil {
				return nil, err
			}
			if err := writeQP(w, part.body); err != nil {
				return nil, err
			}
		}
		if err := aw.Close(); err != nil {
			return nil, err
		}
		w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"multipart/alternative; boundary=" + aw.Boundary()}})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(alt.Bytes()); err != nil {
			return nil, err
		}
	}
	for _, a := range m.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		name := foldLine(a.Name)
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {mime.FormatMediaType(ct, map[string]string{"name": name})},
			"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": name})},
			"Content-Transfer-Encoding": {"base64"},
		})
		if err != nil {
			return nil, err
		}
		enc := base64.StdEncoding.EncodeToString(a.Data)
		for len(enc) > 76 {
			if _, err := io.WriteString(w, enc[:76]+"\r\n"); err != nil {
				return nil, err
			}
			enc = enc[76:]
		}
		if _, err := io.WriteString(w, enc+"\r\n"); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// foldLine replaces each run of control characters and Unicode line or
// paragraph separators with one space.
func foldLine(s string) string {
	if errs.OneLine(s) {
		return s
	}
	var b strings.Builder
	gap := false
	for _, r := range s {
		if errs.OneLine(string(r)) {
			b.WriteRune(r)
			gap = false
		} else if !gap {
			b.WriteByte(' ')
			gap = true
		}
	}
	return strings.TrimSpace(b.String())
}

func writeQP(w io.Writer, s string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qp, s); err != nil {
		return err
	}
	return qp.Close()
}

func parseMessage(raw []byte) (Mail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Mail{}, err
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Mail{}, err
	}
	out := Mail{To: msg.Header.Get("To"), Subject: subject, MessageID: strings.TrimSuffix(strings.TrimPrefix(msg.Header.Get("Message-ID"), "<"), "@clientele>")}
	if a, err := mail.ParseAddress(out.To); err == nil {
		out.To = a.Address
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return Mail{}, err
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		out.Text = fromCRLF(b)
		return out, err
	}
	if err := readParts(&out, msg.Body, params["boundary"]); err != nil {
		return Mail{}, err
	}
	return out, nil
}

// readParts reads a multipart body into out: text, HTML, attachments, and
// the parts of a nested multipart.
func readParts(out *Mail, body io.Reader, boundary string) error {
	mr := multipart.NewReader(body, boundary)
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		ct, params, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if strings.HasPrefix(ct, "multipart/") {
			if err := readParts(out, p, params["boundary"]); err != nil {
				return err
			}
			continue
		}
		// multipart.Reader undoes quoted-printable itself.
		b, err := io.ReadAll(p)
		if err != nil {
			return err
		}
		if disp, dp, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition")); disp == "attachment" {
			data, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(b)))
			if err != nil {
				return err
			}
			out.Attachments = append(out.Attachments, Attachment{Name: dp["filename"], ContentType: ct, Data: data})
			continue
		}
		switch ct {
		case "text/plain":
			out.Text = fromCRLF(b)
		case "text/html":
			out.HTML = fromCRLF(b)
		}
	}
}

// fromCRLF undoes the CRLF line ends that quoted-printable writes.
func fromCRLF(b []byte) string { return strings.ReplaceAll(string(b), "\r\n", "\n") }

// SMTPMailer sends through an SMTP server.
type SMTPMailer struct {
	addr       string // host:port
	host       string
	implicit   bool // smtps: TLS from the first byte
	noTLS      bool // disable_starttls=true: plain text even when offered (local sinks)
	skipVerify bool
	auth       smtp.Auth
	from       string // header From
	envFrom    string // MAIL FROM
	timeout    time.Duration
}

// NewSMTPMailer configures a mailer from a URL:
//
//	smtp://user:pass@host:587/?from=Clientele%20%3Cno-reply%40example.com%3E
//	smtps://user:pass@host:465/?from=no-reply@example.com
//	smtp://127.0.0.1:1025/?disable_starttls=true   (a local sink)
//
// STARTTLS is used whenever the server offers it unless disable_starttls=true;
// credentials are only ever sent over TLS (or to localhost). skip_ssl_verify=true
// accepts any certificate.
func NewSMTPMailer(rawURL string) (*SMTPMailer, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		return nil, errors.New("identity: SMTP URL must look like smtp://user:pass@host:port/?from=...")
	}
	m := &SMTPMailer{host: u.Hostname(), implicit: u.Scheme == "smtps", timeout: 30 * time.Second}
	switch u.Scheme {
	case "smtp", "smtps":
	default:
		return nil, errors.New("identity: SMTP URL must use smtp:// or smtps://")
	}
	port := u.Port()
	if port == "" {
		port = "587"
		if m.implicit {
			port = "465"
		}
	}
	if _, err := strconv.Atoi(port); err != nil {
		return nil, errors.New("identity: SMTP URL has a bad port")
	}
	m.addr = net.JoinHostPort(m.host, port)
	q := u.Query()
	m.noTLS = q.Get("disable_starttls") == "true"
	m.skipVerify = q.Get("skip_ssl_verify") == "true"
	m.from = q.Get("from")
	if m.from == "" {
		m.from = "Clientele <no-reply@" + m.host + ">"
	}
	a, err := mail.ParseAddress(m.from)
	if err != nil {
		return nil, errors.New("identity: SMTP URL: from= is not an address")
	}
	m.envFrom = a.Address
	if u.User != nil {
		pw, _ := u.User.Password()
		m.auth = smtp.PlainAuth("", u.User.Username(), pw, m.host)
	}
	return m, nil
}

// Send delivers one mail, within ctx's deadline (30 s when it has none).
func (m *SMTPMailer) Send(ctx context.Context, ml Mail) error {
	msg, err := buildMessage(m.from, ml, time.Now())
	if err != nil {
		return err
	}
	to, _ := mail.ParseAddress(ml.To)
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(m.timeout)
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	tlsCfg := &tls.Config{ServerName: m.host, InsecureSkipVerify: m.skipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in via skip_ssl_verify
	var conn net.Conn
	if m.implicit {
		conn, err = (&tls.Dialer{Config: tlsCfg}).DialContext(dctx, "tcp", m.addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(dctx, "tcp", m.addr)
	}
	if err != nil {
		return errs.Wrap(errs.Unavailable, fmt.Errorf("identity: smtp dial: %w", err), "Mail could not be sent right now; try again in a minute.")
	}
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		conn.Close()
		return m.fail(err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return m.fail(err)
	}
	if !m.implicit && !m.noTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsCfg); err != nil {
				return m.fail(err)
			}
		}
	}
	if m.auth != nil {
		if err := c.Auth(m.auth); err != nil {
			return m.fail(err)
		}
	}
	if err := c.Mail(m.envFrom); err != nil {
		return m.fail(err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return m.fail(err)
	}
	w, err := c.Data()
	if err != nil {
		return m.fail(err)
	}
	if _, err := w.Write(msg); err != nil {
		return m.fail(err)
	}
	if err := w.Close(); err != nil {
		return m.fail(err)
	}
	return c.Quit()
}

func (m *SMTPMailer) fail(err error) error {
	return errs.Wrap(errs.Unavailable, fmt.Errorf("identity: smtp %s: %w", m.addr, err), "Mail could not be sent right now; try again in a minute.")
}
