package main

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"
)

// The upload takes a multipart file over HTTP, answers 201 with the plan, and
// another tenant's member gets 404 on it; bad files get 4xx naming the file.
func TestImportUploadOverHTTP(t *testing.T) {
	a := newApp(t)
	s := slug("imp")
	tok, _ := a.company(s)
	other := slug("imq")
	tokB, _ := a.company(other)
	upload := func(slug, tok, name, content string, extra map[string]string) (int, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", name)
		_, _ = io.WriteString(fw, content)
		for k, v := range extra {
			_ = mw.WriteField(k, v)
		}
		_ = mw.Close()
		req := httptest.NewRequest("POST", "/api/v1/t/"+slug+"/imports", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("X-Session-Token", tok)
		resp, err := a.srv.App.Test(req, 30000)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := upload(s, tok, "customers.csv", "姓名,邮箱\n张三,zs@example.com\n", map[string]string{"entity": "customers"})
	if code != 201 || !strings.Contains(body, `"suggested_mapping":{"姓名":"name","邮箱":"emails"}`) {
		t.Fatalf("upload: %d %s", code, body)
	}
	id := body[strings.Index(body, `"id":"`)+6:]
	id = id[:36]
	a.must(200, "GET", "/api/v1/t/"+s+"/imports/"+id, "", tokenHdr(tok)...)
	a.must(404, "GET", "/api/v1/t/"+other+"/imports/"+id, "", tokenHdr(tokB)...)
	a.must(404, "GET", "/api/v1/t/"+s+"/imports/"+id, "", tokenHdr(tokB)...)
	a.must(404, "GET", "/api/v1/t/"+s+"/imports/"+id+"/errors", "", tokenHdr(tokB)...)
	a.must(404, "POST", "/api/v1/t/"+other+"/imports/"+id+"/start", `{"mapping":{"姓名":"name"},"mode":"create"}`, tokenHdr(tokB)...)
	a.must(200, "GET", "/api/v1/t/"+s+"/imports/"+id+"/errors", "", tokenHdr(tok)...)
	if code, body := upload(s, tok, "empty.csv", "", nil); code != 422 || !strings.Contains(body, "body.file") {
		t.Fatalf("empty file: %d %s", code, body)
	}
	if code, body := upload(s, tok, "x.csv", "a\n1\n", map[string]string{"entity": "widgets"}); code != 422 || !strings.Contains(body, "body.entity") {
		t.Fatalf("other entity: %d %s", code, body)
	}
}
