package tickets_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	gblob "gocloud.dev/blob"

	"github.com/clientele-crm/clientele/modules/tickets"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
)

// Small files of each kind the tests send.
var (
	pngBytes  = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 64)...)
	pdfBytes  = []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")
	htmlBytes = []byte("<html><script>alert(1)</script></html>")
)

func upload(name string, body []byte, i int) tickets.Upload {
	return tickets.Upload{Name: name, Size: int64(len(body)), Body: bytes.NewReader(body), Location: "body.files[" + string(rune('0'+i)) + "]"}
}

// blobCount is how many files the store holds under a company.
func (r *rigT) blobCount(t *testing.T, tenant uuid.UUID) int {
	t.Helper()
	it := r.blobs.List(&gblob.ListOptions{Prefix: "tenants/" + tenant.String() + "/"})
	n := 0
	for {
		_, err := it.Next(context.Background())
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
}

func (r *rigT) messageCount(t *testing.T, id uuid.UUID) int {
	t.Helper()
	tk, err := r.m.GetTicket(lead, r.a.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return tk.MessageCount
}

func TestCleanFilename(t *testing.T) {
	for in, want := range map[string]string{
		"report.pdf":                      "report.pdf",
		"../../etc/passwd":                "passwd",
		`C:\Users\wang\发票 2026.PDF`:       "发票 2026.pdf",
		"evil\u202Egnp.exe":               "evilgnp.exe",
		"a<b>c:d\"e|f?g*h;.txt":           "a_b_c_d_e_f_g_h_.txt",
		"...":                             "attachment",
		".pdf":                            "pdf",
		"line\nbreak\x00.png":             "linebreak.png",
		strings.Repeat("长", 200) + ".txt": strings.Repeat("长", 116) + ".txt",
	} {
		if got := tickets.CleanFilename(in); got != want {
			t.Errorf("CleanFilename(%q) = %q, want %q", in, got, want)
		}
	}
}

// Files on a reply are stored and listed with it, downloaded through the
// ticket's scope, and every bad batch is refused whole: nothing written,
// neither the message nor any file.
func TestAttachmentsAreCheckedStoredAndScoped(t *testing.T) {
	r := rig(t, false)
	me, colleague := uuid.New(), uuid.New()
	r.dir.members[me], r.dir.members[colleague] = true, true
	tk := r.ticket(t, lead, tickets.TicketInput{AssigneeID: &colleague})

	msg, _, err := r.m.AddMessageWithFiles(lead, r.a.ID, tk.ID, tickets.MessageInput{Kind: "reply", Body: "See the invoice."},
		[]tickets.Upload{upload("screen.png", pngBytes, 0), upload(`..\..\发票.pdf`, pdfBytes, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Attachments) != 2 || msg.Attachments[1].Filename != "发票.pdf" || msg.Attachments[1].ContentType != "application/pdf" ||
		msg.Attachments[0].SizeBytes != int64(len(pngBytes)) || *msg.Attachments[0].MessageID != msg.ID {
		t.Fatalf("attachments %+v", msg.Attachments)
	}
	page, _, err := r.m.ListMessages(lead, r.a.ID, tk.ID, tickets.MessageFilter{})
	if err != nil || len(page) != 1 || len(page[0].Attachments) != 2 {
		t.Fatalf("the thread %+v, %v", page, err)
	}
	f, err := r.m.OpenAttachment(lead, r.a.ID, tk.ID, msg.Attachments[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f.Body)
	f.Body.Close()
	if !bytes.Equal(got, pdfBytes) {
		t.Fatalf("downloaded %q", got)
	}
	if r.blobCount(t, r.a.ID) != 2 {
		t.Fatalf("%d files stored, want 2", r.blobCount(t, r.a.ID))
	}

	note := tickets.MessageInput{Kind: "note", Body: "x"}
	big := make([]byte, tickets.MaxAttachmentBytes+1)
	copy(big, pdfBytes)
	six := make([]tickets.Upload, 6)
	for i := range six {
		six[i] = upload("p.png", pngBytes, i)
	}
	for _, c := range []struct {
		name  string
		files []tickets.Upload
		in    tickets.MessageInput
		code  errs.Code
		loc   string
	}{
		{"an oversized file", []tickets.Upload{upload("ok.png", pngBytes, 0), upload("big.pdf", big, 1)}, note, errs.TooLarge, "body.files[1]"},
		{"a program", []tickets.Upload{upload("setup.exe", []byte("MZ\x90\x00"), 0)}, note, errs.Unsupported, "body.files[0]"},
		{"an SVG", []tickets.Upload{upload("logo.svg", []byte("<svg onload=alert(1)>"), 0)}, note, errs.Unsupported, "body.files[0]"},
		{"HTML named .txt", []tickets.Upload{upload("readme.txt", htmlBytes, 0)}, note, errs.Unsupported, "body.files[0]"},
		{"HTML named .png", []tickets.Upload{upload("cat.png", htmlBytes, 0)}, note, errs.Unsupported, "body.files[0]"},
		{"an empty file", []tickets.Upload{upload("empty.txt", nil, 0)}, note, errs.Invalid, "body.files[0]"},
		{"six files", six, note, errs.Invalid, "body.files"},
		{"no body", []tickets.Upload{upload("ok.png", pngBytes, 0)}, tickets.MessageInput{Kind: "note"}, errs.Invalid, "body.body"},
	} {
		_, _, err := r.m.AddMessageWithFiles(lead, r.a.ID, tk.ID, c.in, c.files)
		wantField(t, c.name, err, c.code, c.loc)
	}
	// Out of scope, of another company, and on a closed ticket: the files
	// were stored before the transaction said no, and are gone again.
	own := actorCtx(me, authz.ScopeOwn, nil, nil, allPerms...)
	if _, _, err := r.m.AddMessageWithFiles(own, r.a.ID, tk.ID, note, []tickets.Upload{upload("ok.png", pngBytes, 0)}); !errs.Is(err, errs.NotFound) {
		t.Errorf("own scope attached to a colleague's ticket: %v", err)
	}
	b := r.env.NewTenant(t)
	if _, _, err := r.m.AddMessageWithFiles(lead, b.ID, tk.ID, note, []tickets.Upload{upload("ok.png", pngBytes, 0)}); !errs.Is(err, errs.NotFound) {
		t.Errorf("company B attached to A's ticket: %v", err)
	}
	closed := r.ticket(t, lead, tickets.TicketInput{})
	for _, s := range []string{"solved", "closed"} {
		if _, err := r.m.ChangeStatus(lead, r.a.ID, closed.ID, s, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := r.m.AddMessageWithFiles(lead, r.a.ID, closed.ID, note, []tickets.Upload{upload("ok.png", pngBytes, 0)}); !errs.Is(err, errs.Conflict) {
		t.Errorf("attached to a closed ticket: %v", err)
	}
	if n := r.messageCount(t, tk.ID); n != 1 {
		t.Errorf("the ticket has %d messages after refusals, want 1", n)
	}
	if n := r.blobCount(t, r.a.ID); n != 2 {
		t.Errorf("%d files stored after refusals, want the 2 of the reply", n)
	}
	if n := r.blobCount(t, b.ID); n != 0 {
		t.Errorf("%d files stored under company B", n)
	}
	r.env.InTenant(t, r.a.ID, func(ctx context.Context, tx bun.Tx) error {
		var n int
		if err := tx.NewRaw("SELECT count(*) FROM ticket_attachments").Scan(ctx, &n); err != nil || n != 2 {
			t.Errorf("%d attachment rows, want 2 (%v)", n, err)
		}
		return nil
	})

	// Reading: an own-scope agent and another company get 404 for the file
	// and the list; a team mate of the assignee gets it.
	att := msg.Attachments[0].ID
	if _, err := r.m.OpenAttachment(own, r.a.ID, tk.ID, att); !errs.Is(err, errs.NotFound) {
		t.Errorf("own scope downloaded a colleague's ticket's file: %v", err)
	}
	if _, err := r.m.ListAttachments(own, r.a.ID, tk.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("own scope listed a colleague's ticket's files: %v", err)
	}
	if _, err := r.m.OpenAttachment(lead, b.ID, tk.ID, att); !errs.Is(err, errs.NotFound) {
		t.Errorf("company B downloaded A's file: %v", err)
	}
	if _, err := r.m.OpenAttachment(lead, r.a.ID, closed.ID, att); !errs.Is(err, errs.NotFound) {
		t.Errorf("a file under another ticket's id: %v", err)
	}
	mate := actorCtx(me, authz.ScopeTeam, nil, []uuid.UUID{me, colleague}, allPerms...)
	if f, err := r.m.OpenAttachment(mate, r.a.ID, tk.ID, att); err != nil {
		t.Errorf("the assignee's team mate: %v", err)
	} else {
		f.Body.Close()
	}
	reader := actorCtx(uuid.New(), authz.ScopeAll, nil, nil)
	if _, err := r.m.OpenAttachment(reader, r.a.ID, tk.ID, att); !errs.Is(err, errs.Forbidden) {
		t.Errorf("downloaded without tickets.read: %v", err)
	}

	// A merge takes the files along; erasing the requester deletes them.
	into := r.ticket(t, lead, tickets.TicketInput{})
	if _, err := r.m.MergeTicket(lead, r.a.ID, tk.ID, into.ID); err != nil {
		t.Fatal(err)
	}
	if list, err := r.m.ListAttachments(lead, r.a.ID, into.ID); err != nil || len(list) != 2 {
		t.Fatalf("after the merge the ticket merged into has %d files: %v", len(list), err)
	}
	r.env.InTenant(t, r.a.ID, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM customers WHERE tenant_id = ? AND id = ?", r.a.ID, r.first.ID); err != nil {
			return err
		}
		return r.reg.Removed(ctx, tx, r.a.ID, "customers", []uuid.UUID{r.first.ID})
	})
	if n := r.blobCount(t, r.a.ID); n != 0 {
		t.Errorf("%d files stay after the requester was erased", n)
	}
}

// The hosted form takes a few files onto its new ticket; a refused file
// refuses the submission whole: no ticket, no lead's ticket number taken, no
// file.
func TestFormAttachmentsOrNothing(t *testing.T) {
	r := rig(t, false)
	a := public(r.a, "en")
	f, err := r.m.ShowForm(a)
	if err != nil || f.MaxFiles != tickets.MaxFormFiles || len(f.FileTypes) == 0 {
		t.Fatalf("form %+v, %v", f, err)
	}
	in := tickets.FormInput{Email: "wang.fang@example.com", Subject: "Broken screen 屏幕坏了"}
	big := make([]byte, tickets.MaxFormAttachmentBytes+1)
	copy(big, pngBytes)
	four := []tickets.Upload{upload("a.png", pngBytes, 0), upload("b.png", pngBytes, 1), upload("c.png", pngBytes, 2), upload("d.png", pngBytes, 3)}
	for _, c := range []struct {
		name  string
		files []tickets.Upload
		code  errs.Code
		loc   string
	}{
		{"an oversized photo", []tickets.Upload{upload("photo.png", big, 0)}, errs.TooLarge, "body.files[0]"},
		{"a script", []tickets.Upload{upload("x.png", pngBytes, 0), upload("run.js", []byte("alert(1)"), 1)}, errs.Unsupported, "body.files[1]"},
		{"four files", four, errs.Invalid, "body.files"},
	} {
		_, err := r.m.SubmitFormWithFiles(a, in, c.files)
		wantField(t, c.name, err, c.code, c.loc)
	}
	if list, _, _ := r.m.ListTickets(lead, r.a.ID, tickets.Filter{}); len(list) != 0 {
		t.Fatalf("refused submissions made %d tickets", len(list))
	}
	if n := r.blobCount(t, r.a.ID); n != 0 {
		t.Fatalf("refused submissions left %d files", n)
	}
	rc, err := r.m.SubmitFormWithFiles(a, in, []tickets.Upload{upload("屏幕.png", pngBytes, 0)})
	if err != nil || rc.Number != 1001 {
		t.Fatalf("receipt %+v, %v", rc, err)
	}
	list, _, _ := r.m.ListTickets(lead, r.a.ID, tickets.Filter{})
	files, err := r.m.ListAttachments(lead, r.a.ID, list[0].ID)
	if err != nil || len(files) != 1 || files[0].MessageID != nil || files[0].Filename != "屏幕.png" || files[0].CreatedBy != nil {
		t.Fatalf("the form's files %+v, %v", files, err)
	}
	// The files of company A's form are nothing under company B.
	b := r.env.NewTenant(t)
	if _, err := r.m.OpenAttachment(lead, b.ID, list[0].ID, files[0].ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("company B opened A's form file: %v", err)
	}
}
