package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/errs"
)

// These helpers drive Kratos's self-service flows the way a script or a person
// would, against this process's public API directly. Tests use them, and so can
// seeding.

// flowAnswer is the part of a Kratos flow or flow result the helpers read.
type flowAnswer struct {
	ID           string `json:"id"`
	SessionToken string `json:"session_token"`
	Session      *struct {
		Identity struct {
			ID string `json:"id"`
		} `json:"identity"`
	} `json:"session"`
	State        string `json:"state"`
	ContinueWith []struct {
		Action          string `json:"action"`
		OrySessionToken string `json:"ory_session_token"`
		Flow            struct {
			ID string `json:"id"`
		} `json:"flow"`
	} `json:"continue_with"`
	RedirectBrowserTo string `json:"redirect_browser_to"`
	UI                struct {
		Messages []flowMessage `json:"messages"`
		Nodes    []struct {
			Attributes struct {
				Name  string `json:"name"`
				Value any    `json:"value"`
			} `json:"attributes"`
			Messages []flowMessage `json:"messages"`
		} `json:"nodes"`
	} `json:"ui"`
	Error *struct {
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"error"`
}

type flowMessage struct {
	Text string `json:"text"`
	Type string `json:"type"`
}

// problems gathers what Kratos said was wrong, for an error message.
func (f *flowAnswer) problems() string {
	var out []string
	for _, m := range f.UI.Messages {
		out = append(out, m.Text)
	}
	for _, n := range f.UI.Nodes {
		for _, m := range n.Messages {
			if m.Type == "error" {
				out = append(out, n.Attributes.Name+": "+m.Text)
			}
		}
	}
	if f.Error != nil {
		out = append(out, strings.TrimSpace(f.Error.Message+" "+f.Error.Reason))
	}
	return strings.Join(out, "; ")
}

func (f *flowAnswer) csrfToken() string {
	for _, n := range f.UI.Nodes {
		if n.Attributes.Name == "csrf_token" {
			s, _ := n.Attributes.Value.(string)
			return s
		}
	}
	return ""
}

// call sends one JSON request and decodes the answer. API flows must carry
// neither Origin nor Cookie, or Kratos treats them as browser flows: hc has no
// cookie jar unless the caller plays a browser on purpose.
func (p *Process) call(ctx context.Context, hc *http.Client, method, path string, body any) (int, *flowAnswer, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.publicURL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, errs.Wrap(errs.Unavailable, err, msgUnavailable)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	var f flowAnswer
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &f); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("identity: %s %s: status %d, undecodable answer", method, path, resp.StatusCode)
		}
	}
	return resp.StatusCode, &f, nil
}

// RegisterAPI signs a person up through the API registration flow (method
// password) and returns the session token Kratos issues with it.
func (p *Process) RegisterAPI(ctx context.Context, email, password, name string) (string, uuid.UUID, error) {
	st, f, err := p.call(ctx, p.hc, http.MethodGet, "/self-service/registration/api", nil)
	if err != nil {
		return "", uuid.Nil, err
	}
	if st != http.StatusOK || f.ID == "" {
		return "", uuid.Nil, fmt.Errorf("identity: start registration: status %d: %s", st, f.problems())
	}
	traits := map[string]any{"email": email}
	if name != "" {
		traits["name"] = name
	}
	st, f, err = p.call(ctx, p.hc, http.MethodPost, "/self-service/registration?flow="+url.QueryEscape(f.ID),
		map[string]any{"method": "password", "password": password, "traits": traits})
	if err != nil {
		return "", uuid.Nil, err
	}
	if st != http.StatusOK {
		return "", uuid.Nil, errs.E(errs.Invalid, "Registration refused (status %d): %s", st, f.problems())
	}
	if f.SessionToken == "" || f.Session == nil {
		return "", uuid.Nil, fmt.Errorf("identity: registration returned no session token; is the session hook configured after password registration?")
	}
	id, err := uuid.Parse(f.Session.Identity.ID)
	if err != nil {
		return "", uuid.Nil, fmt.Errorf("identity: registration: identity id: %w", err)
	}
	return f.SessionToken, id, nil
}

// LoginAPI signs in through the API login flow and returns a session token.
func (p *Process) LoginAPI(ctx context.Context, email, password string) (string, error) {
	st, f, err := p.call(ctx, p.hc, http.MethodGet, "/self-service/login/api", nil)
	if err != nil {
		return "", err
	}
	if st != http.StatusOK || f.ID == "" {
		return "", fmt.Errorf("identity: start login: status %d: %s", st, f.problems())
	}
	st, f, err = p.call(ctx, p.hc, http.MethodPost, "/self-service/login?flow="+url.QueryEscape(f.ID),
		map[string]any{"method": "password", "identifier": email, "password": password})
	if err != nil {
		return "", err
	}
	if st != http.StatusOK || f.SessionToken == "" {
		return "", errs.E(errs.Unauthenticated, "Sign-in refused (status %d): %s", st, f.problems())
	}
	return f.SessionToken, nil
}

// CompleteRecovery does what a person does with an invitation from RecoveryLink:
// open the link, enter the code, and choose a password on the settings page that
// follows. The admin-created flow is a browser flow, so this plays a browser (a
// cookie jar, JSON answers instead of redirects): it submits the code to the
// recovery flow named in the link (method code), which signs the person in and
// hands over a settings flow, then submits the password there with the anti-CSRF
// token (method password). A link of Kratos's link method (…?flow=…&token=…) works
// too, with code empty: the link is opened and its redirect followed instead.
// Requests go to this process's public API whatever host the link names.
func (p *Process) CompleteRecovery(ctx context.Context, link, code, newPassword string) error {
	u, err := url.Parse(link)
	if err != nil {
		return fmt.Errorf("identity: recovery link: %w", err)
	}
	flowID := u.Query().Get("flow")
	if flowID == "" {
		return fmt.Errorf("identity: recovery link names no flow")
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{
		Jar:           jar,
		Timeout:       p.hc.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var settingsFlow string
	if token := u.Query().Get("token"); token != "" && code == "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.publicURL+"/self-service/recovery?"+u.Query().Encode(), nil)
		if err != nil {
			return err
		}
		resp, err := browser.Do(req)
		if err != nil {
			return errs.Wrap(errs.Unavailable, err, msgUnavailable)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusSeeOther || loc == nil || !strings.HasSuffix(loc.Path, "/settings") {
			return fmt.Errorf("identity: recovery link: status %d, redirected to %q instead of the settings page", resp.StatusCode, resp.Header.Get("Location"))
		}
		settingsFlow = loc.Query().Get("flow")
	} else {
		st, f, err := p.call(ctx, browser, http.MethodPost, "/self-service/recovery?flow="+url.QueryEscape(flowID),
			map[string]any{"method": "code", "code": code})
		if err != nil {
			return err
		}
		for _, c := range f.ContinueWith {
			if c.Action == "show_settings_ui" {
				settingsFlow = c.Flow.ID
			}
		}
		if settingsFlow == "" && f.RedirectBrowserTo != "" { // without continue_with transitions
			if r, err := url.Parse(f.RedirectBrowserTo); err == nil {
				settingsFlow = r.Query().Get("flow")
			}
		}
		if settingsFlow == "" {
			return errs.E(errs.Invalid, "Recovery code refused (status %d): %s", st, f.problems())
		}
	}
	st, f, err := p.call(ctx, browser, http.MethodGet, "/self-service/settings/flows?id="+url.QueryEscape(settingsFlow), nil)
	if err != nil {
		return err
	}
	if st != http.StatusOK || f.csrfToken() == "" {
		return fmt.Errorf("identity: settings flow after recovery: status %d: %s", st, f.problems())
	}
	st, f, err = p.call(ctx, browser, http.MethodPost, "/self-service/settings?flow="+url.QueryEscape(settingsFlow),
		map[string]any{"method": "password", "password": newPassword, "csrf_token": f.csrfToken()})
	if err != nil {
		return err
	}
	if st != http.StatusOK || f.State != "success" {
		return errs.E(errs.Invalid, "New password refused (status %d): %s", st, f.problems())
	}
	return nil
}
