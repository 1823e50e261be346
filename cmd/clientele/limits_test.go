package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/sheet/sheettest"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// uploadRaw posts a file to the tenant's imports as the web app does and returns
// the raw answer, whatever its status.
func (a *app) uploadRaw(slug, tok, name string, content []byte) (int, string, time.Duration) {
	a.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = fw.Write(content)
	_ = mw.Close()
	req := httptest.NewRequest("POST", "/api/v1/t/"+slug+"/imports", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Session-Token", tok)
	start := time.Now()
	resp, err := a.srv.App.Test(req, 120_000)
	if err != nil {
		a.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), time.Since(start)
}

// Hostile uploads are refused with 413 naming the file, and lists asked for
// hundreds of repeated filters with 422 naming the parameter, each within a few
// seconds; the whole series stays under 300 MB of resident memory, measured as
// the peak RSS of a process that does nothing else.
func TestHostileInputsAreRefusedWithinMemory(t *testing.T) {
	if !testkit.InChild(t, 300<<20) {
		return
	}
	a := newApp(t)
	s := slug("bomb")
	tok, _ := a.company(s)
	var cols strings.Builder
	for i := 0; i < 10_000; i++ {
		if i > 0 {
			cols.WriteByte(',')
		}
		cols.WriteString("c")
	}
	cols.WriteString("\n")
	longCell := "name,note\nann,\"" + strings.Repeat("x", 4<<20) + "\"\n"
	cases := []struct {
		name, file string
		content    func() []byte
	}{
		{"a sheet of 500 MB of spaces", "spaces.xlsx", func() []byte { return sheettest.WhitespaceSheet(500) }},
		{"the same with 6 MB of padding", "spaces-padded.xlsx", func() []byte {
			return sheettest.Bytes(append(append(sheettest.Workbook(false), sheettest.Padding(6)...),
				sheettest.Part{Name: "xl/worksheets/sheet1.xml", Head: sheettest.SheetHead, Chunk: sheettest.Fill(' ', 1<<20), Repeat: 500, Tail: sheettest.SheetTail})...)
		}},
		{"one shared string of 500 MB", "string.xlsx", func() []byte { return sheettest.HugeSharedString(500) }},
		{"one shared string of 200 MB with padding", "string-padded.xlsx", func() []byte {
			parts := sheettest.Workbook(true)
			parts = append(parts, sheettest.Padding(3)...)
			parts = append(parts,
				sheettest.Part{Name: "xl/sharedStrings.xml", Head: `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>`, Chunk: sheettest.Fill('a', 1<<20), Repeat: 200, Tail: `</t></si></sst>`},
				sheettest.Part{Name: "xl/worksheets/sheet1.xml", Head: sheettest.SheetHead + `<row r="2"><c t="s"><v>0</v></c></row>`, Tail: sheettest.SheetTail})
			return sheettest.Bytes(parts...)
		}},
		{"5,000 small entries", "entries.xlsx", func() []byte { return sheettest.ManyEntries(5000, 1024) }},
		{"300 entries of 3 MB", "big-entries.xlsx", func() []byte { return sheettest.ManyEntries(300, 3<<20) }},
		{"a CSV of 10,000 columns", "wide.csv", func() []byte { return []byte(cols.String() + cols.String()) }},
		{"a CSV cell of 4 MB", "long.csv", func() []byte { return []byte(longCell) }},
	}
	for _, c := range cases {
		content := c.content()
		code, body, took := a.uploadRaw(s, tok, c.file, content)
		t.Logf("%s (%d KB): %d in %v: %.200s", c.name, len(content)>>10, code, took.Round(time.Millisecond), body)
		if code != 413 || !strings.Contains(body, `"code":"too_large"`) || !strings.Contains(body, `"title":"Request Entity Too Large"`) || !strings.Contains(body, "body.file") {
			t.Errorf("%s: %d %s, want 413 too_large naming body.file", c.name, code, body)
		}
		if took > 10*time.Second {
			t.Errorf("%s: answered after %v, want a few seconds", c.name, took)
		}
	}
	for _, param := range []string{"tag", "tags%5Bcontains%5D", "custom.tier", "name%5Bin%5D"} {
		var q strings.Builder
		for i := 0; i < 300; i++ {
			fmt.Fprintf(&q, "&%s=v%d", param, i)
		}
		start := time.Now()
		code, body, _ := a.call("GET", "/api/v1/t/"+s+"/customers?"+q.String()[1:], "", tokenHdr(tok)...)
		took := time.Since(start)
		t.Logf("%s repeated 300 times: %d in %v", param, code, took.Round(time.Millisecond))
		if code != 422 || !strings.Contains(body, `"location":"query.`) {
			t.Errorf("%s repeated 300 times: %d %.300s, want 422 naming the parameter", param, code, body)
		}
		if took > 10*time.Second {
			t.Errorf("%s repeated 300 times: answered after %v", param, took)
		}
	}
}

// A well-formed API key that names no tenant, an unknown tenant or a suspended
// one is a bad key like any other: 401, counted against the address, then 429.
func TestKeysNamingNoTenantAreCountedBadKeys(t *testing.T) {
	a := newAppWith(t, func(c *config.Config) { c.RateBadKeyPerIP = 6 })
	testkit.Get(t).Redis.FlushDB(context.Background())
	s := slug("zero")
	a.company(s)
	susp := slug("susp")
	tokS, _ := a.company(susp)
	keyS := a.must(201, "POST", "/api/v1/t/"+susp+"/api-keys", `{"name":"sync","role":"viewer"}`, tokenHdr(tokS)...)["key"].(string)
	if _, err := testkit.Get(t).Owner.ExecContext(context.Background(), "UPDATE tenants SET status = 'suspended' WHERE slug = ?", susp); err != nil {
		t.Fatal(err)
	}
	keys := []string{
		"ck_" + strings.Repeat("A", 43) + "_" + strings.Repeat("B", 43), // tenant and key id zero
		wellFormedKey(uuid.New()), // no such tenant
		keyS,                      // the tenant is suspended
	}
	for i := 0; i < 6; i++ {
		k := keys[i%len(keys)]
		code, body, _ := a.call("GET", "/api/v1/t/"+s+"/members", "", "Authorization", "Bearer "+k)
		if code != 401 || !strings.Contains(body, "API key is not valid") {
			t.Fatalf("attempt %d with %.20s…: %d %s, want 401", i+1, k, code, body)
		}
	}
	code, _, hdr := a.call("GET", "/api/v1/t/"+s+"/members", "", "Authorization", "Bearer "+keys[0])
	if code != 429 || hdr.Get("Retry-After") == "" {
		t.Fatalf("the seventh bad key got %d, want 429 with Retry-After: the zero key was not counted", code)
	}
}

// wellFormedKey is an API key in the right shape for tenant, with a random key id
// and secret.
func wellFormedKey(tenant uuid.UUID) string {
	id := uuid.New()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	return "ck_" + base64.RawURLEncoding.EncodeToString(append(tenant[:], id[:]...)) + "_" + base64.RawURLEncoding.EncodeToString(secret)
}

// Bad keys from one address cut off that address's bad keys, never a valid key of
// any tenant; bad keys aimed at one tenant from many addresses are cut off too.
// Behind a trusted proxy the address is the client's, read from the right of
// X-Forwarded-For, so a client cannot pick its own.
func TestBadKeysNeverLockOutValidKeys(t *testing.T) {
	a := newAppWith(t, func(c *config.Config) {
		c.RateBadKeyPerIP = 5
		c.RateBadKeyPerTenant = 12
		c.TrustedProxies = []string{"0.0.0.0/32"} // app.Test's connections come from 0.0.0.0
	})
	testkit.Get(t).Redis.FlushDB(context.Background())
	sa, sb := slug("keya"), slug("keyb")
	tokA, _ := a.company(sa)
	tokB, _ := a.company(sb)
	keyA := a.must(201, "POST", "/api/v1/t/"+sa+"/api-keys", `{"name":"a","role":"viewer"}`, tokenHdr(tokA)...)["key"].(string)
	keyB := a.must(201, "POST", "/api/v1/t/"+sb+"/api-keys", `{"name":"b","role":"viewer"}`, tokenHdr(tokB)...)["key"].(string)
	from := func(addr, key, tenant string) int {
		code, _, _ := a.call("GET", "/api/v1/t/"+tenant+"/members", "", "Authorization", "Bearer "+key, "X-Forwarded-For", addr)
		return code
	}
	// One address floods tenant A with bad keys: its sixth bad key is refused.
	for i := 1; i <= 5; i++ {
		if code := from("203.0.113.7", wellFormedKey(uuid.New()), sa); code != 401 {
			t.Fatalf("bad key %d: %d, want 401", i, code)
		}
	}
	if code := from("203.0.113.7", "ck_nope", sa); code != 429 {
		t.Fatalf("the sixth bad key from one address: %d, want 429", code)
	}
	// Valid keys of both tenants still work from that address.
	if code := from("203.0.113.7", keyA, sa); code != 200 {
		t.Fatalf("tenant A's valid key from the flooding address: %d, want 200", code)
	}
	if code := from("203.0.113.7", keyB, sb); code != 200 {
		t.Fatalf("tenant B's valid key from the flooding address: %d, want 200", code)
	}
	// A client cannot choose its address: the proxy appends the real one, and
	// that one is counted.
	if code := from("198.51.100.1, 203.0.113.7", "ck_nope", sa); code != 429 {
		t.Fatalf("a spoofed leftmost address escaped the count: %d, want 429", code)
	}
	// Another address has its own budget...
	if code := from("203.0.113.8", "ck_nope", sa); code != 401 {
		t.Fatalf("a bad key from another address: %d, want 401", code)
	}
	// ...until tenant A has seen 12 bad keys from everywhere.
	for i := 0; i < 6; i++ {
		from(fmt.Sprintf("192.0.2.%d", i), "ck_nope", sa)
	}
	if code := from("192.0.2.200", "ck_nope", sa); code != 429 {
		t.Fatalf("bad keys aimed at one tenant from many addresses: %d, want 429", code)
	}
	if code := from("192.0.2.200", keyA, sa); code != 200 {
		t.Fatalf("tenant A's valid key while A is under a bad-key flood: %d, want 200", code)
	}
	if code := from("192.0.2.201", "ck_nope", sb); code != 401 {
		t.Fatalf("a bad key for tenant B: %d, want 401 (B is not under attack)", code)
	}
}

// Without trusted proxies, X-Forwarded-For is the client's own claim and is
// ignored: the address is the connection's.
func TestForwardedForIsIgnoredWithoutTrustedProxies(t *testing.T) {
	a := newAppWith(t, func(c *config.Config) { c.RateBadKeyPerIP = 3 })
	testkit.Get(t).Redis.FlushDB(context.Background())
	s := slug("xff")
	a.company(s)
	var code int
	for i := 0; i < 4; i++ {
		code, _, _ = a.call("GET", "/api/v1/t/"+s+"/members", "", "Authorization", "Bearer ck_nope", "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
	}
	if code != 429 {
		t.Fatalf("four bad keys claiming four addresses: %d, want 429", code)
	}
}

// An unknown company, a suspended one and one the caller does not belong to are
// answered alike: the same status, body and headers, whether the caller is signed
// in, holds another company's key, or sends nothing at all.
func TestCompanySlugsCannotBeEnumerated(t *testing.T) {
	a := newApp(t)
	mine, other, suspended := slug("mine"), slug("other"), slug("gone")
	tok, _ := a.company(mine)
	a.company(other)
	a.company(suspended)
	if _, err := testkit.Get(t).Owner.ExecContext(context.Background(), "UPDATE tenants SET status = 'suspended' WHERE slug = ?", suspended); err != nil {
		t.Fatal(err)
	}
	key := a.must(201, "POST", "/api/v1/t/"+mine+"/api-keys", `{"name":"k","role":"viewer"}`, tokenHdr(tok)...)["key"].(string)
	rid := regexp.MustCompile(`"request_id":"[^"]*"`)
	answer := func(path string, hdr ...string) string {
		code, body, h := a.call("GET", path, "", hdr...)
		keys := make([]string, 0, len(h))
		for k := range h {
			if k != "X-Request-Id" && k != "Date" {
				keys = append(keys, k+"="+strings.Join(h[k], ","))
			}
		}
		sort.Strings(keys)
		return fmt.Sprintf("%d %s %s", code, rid.ReplaceAllString(body, ""), strings.Join(keys, ";"))
	}
	for _, who := range []struct {
		name string
		hdr  []string
	}{
		{"a signed-in person", tokenHdr(tok)},
		{"another company's API key", []string{"Authorization", "Bearer " + key}},
		{"no one", nil},
	} {
		for _, route := range []string{"/members", "/customers", "/jobs"} {
			want := answer("/api/v1/t/"+other+route, who.hdr...)
			for _, s := range []string{"no-such-company-" + uuid.NewString()[:8], suspended, "Not_A_Slug"} {
				if got := answer("/api/v1/t/"+s+route, who.hdr...); got != want {
					t.Errorf("%s, %s: %s answers\n%s\nbut a company they are not in answers\n%s", who.name, route, s, got, want)
				}
			}
		}
	}
}

// Filters repeated in the query string are capped with a 422 naming the
// parameter, and repeated or equal terms plan as one condition, on the customer
// list and wherever its query string is accepted (exports, segments).
func TestRepeatedFiltersAreCappedAndFolded(t *testing.T) {
	a := newApp(t)
	s := slug("rep")
	tok, _ := a.company(s)
	base := "/api/v1/t/" + s
	for i := 0; i < 20; i++ {
		tags := `["vip"]`
		if i%2 == 0 {
			tags = `["vip","t1","t2","t3"]`
		}
		a.must(201, "POST", base+"/customers", fmt.Sprintf(`{"name":"C %d","tags":%s}`, i, tags), tokenHdr(tok)...)
	}
	repeat := func(param string, n int, value func(i int) string) string {
		var q []string
		for i := 0; i < n; i++ {
			q = append(q, param+"="+value(i))
		}
		return strings.Join(q, "&")
	}
	same := func(v string) func(int) string { return func(int) string { return v } }
	distinct := func(prefix string) func(int) string {
		return func(i int) string { return fmt.Sprintf("%s%d", prefix, i) }
	}
	cases := []struct {
		name, query string
		status      int
		want        string
	}{
		{"tag repeated 300 times, all different", repeat("tag", 300, distinct("t")), 422, `"location":"query.tag"`},
		{"tags[contains] repeated 200 times, all different", repeat("tags%5Bcontains%5D", 200, distinct("t")), 422, `"location":"query.tags[contains]"`},
		{"tags[contains] repeated 200 times, the same", repeat("tags%5Bcontains%5D", 200, same("vip")), 200, `"C 19"`},
		{"tag repeated 300 times, the same", repeat("tag", 300, same("t1")), 200, `"C 18"`},
		{"tags from both parameters, folded", "tag=t1&tag=t2&tags%5Bcontains%5D=t3&tags%5Bcontains%5D=T1", 200, `"C 0"`},
		{"lifecycle repeated 500 times", repeat("lifecycle", 500, same("lead")), 200, `"items"`},
		{"a comma list of 500 in one value", "lifecycle=" + strings.Repeat("lead,", 500), 422, `"location":"query.lifecycle"`},
		{"30 different name filters", repeat("name", 30, distinct("n")), 422, `"location":"query.name"`},
		{"15 tags and 15 name filters", repeat("tag", 15, distinct("t")) + "&" + repeat("name", 15, distinct("n")), 422, `"location":"query"`},
		{"an in list of 500 values", "name%5Bin%5D=" + strings.Repeat("x,", 500), 422, `"location":"query.name[in]"`},
	}
	for _, c := range cases {
		start := time.Now()
		code, body, _ := a.call("GET", base+"/customers?"+c.query, "", tokenHdr(tok)...)
		took := time.Since(start)
		t.Logf("%s: %d in %v", c.name, code, took.Round(time.Millisecond))
		if code != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %.300s, want %d with %s", c.name, code, body, c.status, c.want)
		}
		if took > 3*time.Second {
			t.Errorf("%s: took %v", c.name, took)
		}
	}
	// The tag filters mean "all of these": only the even customers have t1..t3.
	code, body, _ := a.call("GET", base+"/customers?tag=t1&tag=t2&tags%5Bcontains%5D=t3&limit=200", "", tokenHdr(tok)...)
	if code != 200 || strings.Count(body, `"name":"C `) != 10 {
		t.Fatalf("folded tags: %d, %d customers, want 10", code, strings.Count(body, `"name":"C `))
	}
	filter := repeat("tag", 100, distinct("x"))
	code, body, _ = a.call("POST", base+"/exports", fmt.Sprintf(`{"format":"csv","filter":%q}`, filter), tokenHdr(tok)...)
	if code != 422 || !strings.Contains(body, `"location":"body.filter.tag"`) {
		t.Errorf("export with 100 tags: %d %.300s", code, body)
	}
	code, body, _ = a.call("POST", base+"/segments", fmt.Sprintf(`{"name":"many","query":%q}`, filter), tokenHdr(tok)...)
	if code != 422 || !strings.Contains(body, `"location":"body.query.tag"`) {
		t.Errorf("segment with 100 tags: %d %.300s", code, body)
	}
}

// Every API answer that can carry a company's or a person's data tells caches
// not to keep it: lists, records, CSV, downloads and error reports, and errors.
func TestAPIAnswersAreNotStored(t *testing.T) {
	a := newApp(t)
	s := slug("nostore")
	tok, _ := a.company(s)
	base := "/api/v1/t/" + s
	c := a.must(201, "POST", base+"/customers", `{"name":"Ann","emails":["ann@example.com"]}`, tokenHdr(tok)...)
	code, body, _ := a.uploadRaw(s, tok, "c.csv", []byte("name,email\nann,ann@example.com\n"))
	if code != 201 {
		t.Fatalf("upload: %d %s", code, body)
	}
	imp := body[strings.Index(body, `"id":"`)+6:][:36]
	exp := a.must(202, "POST", base+"/exports", `{"format":"csv"}`, tokenHdr(tok)...)["id"].(string)
	for _, r := range []struct {
		path string
		hdr  []string
	}{
		{"/api/v1/me", nil},
		{base + "/customers", nil},
		{base + "/customers", []string{"Accept", "text/csv"}},
		{base + "/customers/" + c["id"].(string), nil},
		{base + "/imports/" + imp + "/errors", nil},
		{base + "/exports/" + exp + "/download", nil},
		{base + "/customers/" + uuid.NewString(), nil},
		{base + "/members", nil},
	} {
		code, _, h := a.call("GET", r.path, "", append(tokenHdr(tok), r.hdr...)...)
		if h.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s (%d): Cache-Control %q, want no-store", r.path, code, h.Get("Cache-Control"))
		}
	}
}

// A NUL character in text is refused with a 422 naming the field, instead of
// being stripped on the way to the database: what is stored is what was sent.
func TestNULInTextIsRefused(t *testing.T) {
	a := newApp(t)
	s := slug("nul")
	tok, _ := a.company(s)
	base := "/api/v1/t/" + s
	cases := []struct {
		method, path, body, loc string
	}{
		{"POST", base + "/customers", `{"name":"Ann\u0000Lee"}`, "body.name"},
		{"POST", base + "/customers", `{"name":"Ann","emails":["ann@example.com","b\u0000b@example.com"]}`, "body.emails[1]"},
		{"POST", base + "/customers", `{"name":"Ann","address":{"line":"x\u0000"}}`, "body.address.line"},
		{"POST", base + "/customers", `{"name":"Ann","tags":["a"],"x\u0000y":1}`, "body"},
		{"POST", "/api/v1/tenants", `{"name":"Nul\u0000 Co.","slug":"nul-co-x"}`, "body.name"},
		{"GET", base + "/customers?q=an%00n", "", "query.q"},
		{"GET", base + "/customers?name%5Bprefix%5D=a%00", "", "query.name[prefix]"},
	}
	for _, c := range cases {
		code, body, _ := a.call(c.method, c.path, c.body, tokenHdr(tok)...)
		if code != 422 || !strings.Contains(body, `"location":"`+c.loc+`"`) || !strings.Contains(body, "NUL") {
			t.Errorf("%s %s %s: %d %.300s, want 422 naming %s", c.method, c.path, c.body, code, body, c.loc)
		}
	}
	// An escaped backslash followed by u0000 is text, not a NUL.
	a.must(201, "POST", base+"/customers", `{"name":"C:\\u0000 drive"}`, tokenHdr(tok)...)
	// An imported cell with a NUL fails its row, named in the dry run.
	code, body, _ := a.uploadRaw(s, tok, "nul.csv", []byte("name,email\nA\x00nn,ann@example.com\nBob,bob@example.com\n"))
	if code != 201 || !strings.Contains(body, `"dry_run":[{"row":2,"column":"name"`) || !strings.Contains(body, "NUL") {
		t.Fatalf("a CSV cell with a NUL: %d %.600s", code, body)
	}
}

// A file named .csv that is not text is refused with 415 and says what it seems
// to be, instead of being read as garbled rows.
func TestBinaryFileNamedCSVIsRefused(t *testing.T) {
	a := newApp(t)
	s := slug("bin")
	tok, _ := a.company(s)
	noise := make([]byte, 4096)
	_, _ = rand.Read(noise)
	utf16 := []byte{0xFF, 0xFE}
	for _, r := range "name,email\r\nann,ann@example.com\r\n" {
		utf16 = append(utf16, byte(r), 0)
	}
	cases := []struct {
		name    string
		content []byte
		want    string
	}{
		{"a PNG", append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), noise...), "picture"},
		{"an old Excel workbook", append([]byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"), noise...), ".xls"},
		{"UTF-16 text", utf16, "UTF-16"},
		{"a PDF", append([]byte("%PDF-1.7\n"), noise...), "PDF"},
		{"random bytes", noise, "not text"},
	}
	for _, c := range cases {
		code, body, _ := a.uploadRaw(s, tok, "customers.csv", c.content)
		if code != 415 || !strings.Contains(body, `"location":"body.file"`) || !strings.Contains(body, c.want) {
			t.Errorf("%s named .csv: %d %.300s, want 415 naming body.file and saying %q", c.name, code, body, c.want)
		}
	}
}

// CLIENTELE_BODY_LIMIT is the largest JSON body every operation takes, inside a
// company or not; file uploads keep their own, larger limit.
func TestBodyLimitIsTheConfiguredOne(t *testing.T) {
	if def, err := config.Parse(func(string) (string, bool) { return "", false }); err != nil || def.BodyLimit != 1<<20 {
		t.Fatalf("default body limit %d (%v), want 1 MiB, what JSON bodies were limited to all along", def.BodyLimit, err)
	}
	a := newAppWith(t, func(c *config.Config) { c.BodyLimit = 2 << 20 })
	s := slug("body")
	tok, _ := a.company(s)
	post := func(path string, size int) (int, string) {
		body := fmt.Sprintf(`{"name":"x","address":{"line":%q}}`, strings.Repeat("a", size))
		if path == "/api/v1/tenants" {
			body = fmt.Sprintf(`{"name":%q,"slug":"b-%d"}`, strings.Repeat("a", size), size)
		}
		code, out, _ := a.call("POST", path, body, tokenHdr(tok)...)
		return code, out
	}
	// Under the limit, the body is read and judged on its fields: here the
	// address part's own cap (500 characters), not the body's size.
	if code, out := post("/api/v1/t/"+s+"/customers", 1500<<10); code != 422 || !strings.Contains(out, "body.address.line") {
		t.Errorf("1.5 MB under a 2 MB limit, company route: %d %.200s, want the address part's own 422", code, out)
	}
	if code, out := post("/api/v1/tenants", 1500<<10); code != 422 || !strings.Contains(out, "body.name") {
		t.Errorf("1.5 MB under a 2 MB limit, account route: %d %.200s, want the name's own 422", code, out)
	}
	for _, path := range []string{"/api/v1/t/" + s + "/customers", "/api/v1/tenants"} {
		if code, out := post(path, 2500<<10); code != 413 || !strings.Contains(out, "2097152") {
			t.Errorf("2.5 MB over a 2 MB limit, %s: %d %.200s", path, code, out)
		}
	}
}

// A request over a rate limit is answered after CLIENTELE_RATE_REFUSAL_DELAY,
// so a client that retries at once waits instead of keeping the server busy
// with refusals (`clientele drill noisy` measures what that saves the other
// companies); requests within the limit are not held.
func TestRefusalsArePaused(t *testing.T) {
	const perTenant, delay = 5, 300 * time.Millisecond
	a := newAppWith(t, func(c *config.Config) { c.RatePerTenant, c.RateRefusalDelay = perTenant, delay })
	s := slug("pause")
	tok, _ := a.company(s)
	path := "/api/v1/t/" + s + "/customers?limit=1"
	var fast, held []time.Duration
	for i := 0; i < perTenant+10; i++ {
		start := time.Now()
		code, body, hdr := a.call("GET", path, "", tokenHdr(tok)...)
		took := time.Since(start)
		switch code {
		case 200:
			fast = append(fast, took)
		case 429:
			if hdr.Get("Retry-After") == "" {
				t.Fatalf("429 without Retry-After: %s", body)
			}
			held = append(held, took)
		default:
			t.Fatalf("request %d: %d %s", i, code, body)
		}
	}
	if len(held) < 5 || len(fast) == 0 {
		t.Fatalf("%d answered, %d refused: the limit of %d a minute did not hold", len(fast), len(held), perTenant)
	}
	for _, d := range held {
		if d < delay-20*time.Millisecond || d > delay+2*time.Second {
			t.Errorf("a refusal took %s, want about %s", d, delay)
		}
	}
	for _, d := range fast {
		if d >= delay {
			t.Errorf("a request within the limit took %s: it was held", d)
		}
	}
}
