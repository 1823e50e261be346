package identity

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/template"
)

//go:embed kratosconf/kratos.yml.tmpl kratosconf/identity.schema.json
var kratosConf embed.FS

// SessionCookieName is the cookie Kratos keeps the browser session in.
const SessionCookieName = "ory_kratos_session"

// KratosConfig are the parameters of the rendered kratos.yml.
type KratosConfig struct {
	DSN               string   // optional: Start passes it in the environment instead
	PublicBaseURL     string   // how browsers reach the public API, e.g. http://localhost:8080/kratos/
	AdminBaseURL      string   // e.g. http://127.0.0.1:4434/
	Host              string   // interface both APIs listen on; default 127.0.0.1
	PublicPort        int      // default 4433
	AdminPort         int      // default 4434
	UIURL             string   // the app, whose SPA routes render the flows: /login, /registration, ...
	AllowedReturnURLs []string // default: UIURL
	CookieDomain      string   // empty: host-only cookies (right for one origin)
	SessionCookieName string   // default SessionCookieName
	CookieSecrets     []string // at least 16 characters each; the first signs
	CipherSecrets     []string // exactly 32 characters each; the first encrypts
	BcryptCost        int      // 4 in dev and tests (needs --dev), 12 in production
	MinPasswordLength int      // default 8
	IdentitySchemaURL string   // file:// or base64:// URL of the identity schema
	SMTPURI           string   // courier address; default smtp://127.0.0.1:1025/?disable_starttls=true
	MailFrom          string   // default no-reply@localhost
	LogLevel          string   // Kratos level names: trace, debug, info, warning, error; default warning
}

func (c *KratosConfig) defaults() error {
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.PublicPort == 0 {
		c.PublicPort = 4433
	}
	if c.AdminPort == 0 {
		c.AdminPort = 4434
	}
	if c.PublicBaseURL == "" {
		c.PublicBaseURL = fmt.Sprintf("http://%s/", hostPort(c.Host, c.PublicPort))
	}
	if c.AdminBaseURL == "" {
		c.AdminBaseURL = fmt.Sprintf("http://%s/", hostPort(c.Host, c.AdminPort))
	}
	if c.UIURL == "" {
		c.UIURL = "http://localhost:8080"
	}
	c.UIURL = strings.TrimRight(c.UIURL, "/")
	if len(c.AllowedReturnURLs) == 0 {
		c.AllowedReturnURLs = []string{c.UIURL}
	}
	if c.SessionCookieName == "" {
		c.SessionCookieName = SessionCookieName
	}
	if c.BcryptCost == 0 {
		c.BcryptCost = 12
	}
	if c.MinPasswordLength == 0 {
		c.MinPasswordLength = 8
	}
	if c.SMTPURI == "" {
		c.SMTPURI = "smtp://127.0.0.1:1025/?disable_starttls=true"
	}
	if c.MailFrom == "" {
		c.MailFrom = "no-reply@localhost"
	}
	if c.LogLevel == "" {
		c.LogLevel = "warning"
	}
	var problems []error
	for _, u := range append([]string{c.PublicBaseURL, c.AdminBaseURL, c.UIURL}, c.AllowedReturnURLs...) {
		if p, err := url.Parse(u); err != nil || p.Host == "" || (p.Scheme != "http" && p.Scheme != "https") {
			problems = append(problems, fmt.Errorf("identity: kratos config: %q is not an http(s) URL", u))
		}
	}
	if len(c.CookieSecrets) == 0 || len(c.CipherSecrets) == 0 {
		problems = append(problems, errors.New("identity: kratos config: cookie and cipher secrets are required"))
	}
	for _, s := range c.CookieSecrets {
		if len(s) < 16 {
			problems = append(problems, errors.New("identity: kratos config: a cookie secret is shorter than 16 characters"))
		}
	}
	for _, s := range c.CipherSecrets {
		if len(s) != 32 {
			problems = append(problems, errors.New("identity: kratos config: a cipher secret is not exactly 32 characters"))
		}
	}
	if c.BcryptCost < 4 || c.BcryptCost > 31 {
		problems = append(problems, fmt.Errorf("identity: kratos config: bcrypt cost %d is outside 4..31", c.BcryptCost))
	}
	if c.IdentitySchemaURL == "" {
		problems = append(problems, errors.New("identity: kratos config: IdentitySchemaURL is required"))
	}
	return errors.Join(problems...)
}

func hostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return fmt.Sprintf("[%s]:%d", host, port)
	}
	return fmt.Sprintf("%s:%d", host, port)
}

// RenderKratosConfig renders kratos.yml from the embedded template.
func RenderKratosConfig(c KratosConfig) ([]byte, error) {
	if err := c.defaults(); err != nil {
		return nil, err
	}
	tmpl, err := template.New("kratos.yml.tmpl").Funcs(template.FuncMap{
		// A JSON string is a valid YAML double-quoted scalar, whatever it holds.
		"yaml": func(s string) (string, error) {
			b, err := json.Marshal(s)
			return string(b), err
		},
		"ui": func(path string) string { return c.UIURL + path },
	}).Option("missingkey=error").ParseFS(kratosConf, "kratosconf/kratos.yml.tmpl")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, c); err != nil {
		return nil, fmt.Errorf("identity: render kratos.yml: %w", err)
	}
	return buf.Bytes(), nil
}

// IdentitySchema is the JSON Schema of a person's traits: email and name.
func IdentitySchema() []byte {
	b, err := kratosConf.ReadFile("kratosconf/identity.schema.json")
	if err != nil {
		panic(err) // embedded at build time
	}
	return b
}

// Secrets are Kratos's signing and encryption keys.
type Secrets struct {
	Cookie []string `json:"cookie"`
	Cipher []string `json:"cipher"`
}

// LoadOrCreateSecrets reads path, or writes fresh random secrets there (mode 0600),
// so that sessions survive a restart of a dev stack.
func LoadOrCreateSecrets(path string) (Secrets, error) {
	var s Secrets
	b, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(b, &s); err != nil {
			return s, fmt.Errorf("identity: %s: %w", filepath.Base(path), err)
		}
		if len(s.Cookie) > 0 && len(s.Cipher) > 0 {
			return s, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return s, fmt.Errorf("identity: read kratos secrets: %w", err)
	}
	s = Secrets{Cookie: []string{randomHex(16)}, Cipher: []string{randomHex(16)}}
	b, _ = json.MarshalIndent(s, "", "  ")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return s, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return s, fmt.Errorf("identity: write kratos secrets: %w", err)
	}
	return s, os.Rename(tmp, path)
}

// randomHex returns 2n hex characters of n random bytes.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
