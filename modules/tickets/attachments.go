package tickets

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"gocloud.dev/gcerrors"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/blob"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// Limits of attachments. A member's reply or note takes up to
// MaxMessageFiles files of at most MaxAttachmentBytes each; the public form,
// which anyone may send, takes fewer and smaller ones.
const (
	MaxAttachmentBytes     = 10 << 20
	MaxMessageFiles        = 5
	MaxFormAttachmentBytes = 5 << 20
	MaxFormFiles           = 3
)

// blobArea is where attachments sit in the blob store, under their company.
const blobArea = "ticket-attachments"

// Attachment is a file of a ticket: of a reply or note (message_id), or of
// the ticket itself when the hosted form sent it.
type Attachment struct {
	bun.BaseModel `bun:"table:ticket_attachments,alias:a"`
	TenantID      uuid.UUID  `bun:"tenant_id,pk,type:uuid" json:"-"`
	ID            uuid.UUID  `bun:"id,pk,type:uuid" json:"id"`
	TicketID      uuid.UUID  `bun:"ticket_id,type:uuid" json:"ticket_id"`
	MessageID     *uuid.UUID `bun:"message_id,type:uuid" json:"message_id,omitempty" doc:"the reply or note it came with; none for a file the hosted form sent"`
	Filename      string     `bun:"filename" json:"filename" doc:"the sender's file name, cleaned of paths and characters that are unsafe in a file name"`
	ContentType   string     `bun:"content_type" json:"content_type"`
	SizeBytes     int64      `bun:"size_bytes" json:"size_bytes"`
	BlobKey       string     `bun:"blob_key" json:"-"`
	CreatedBy     *uuid.UUID `bun:"created_by,type:uuid" json:"created_by,omitempty"`
	CreatedAt     time.Time  `bun:"created_at" json:"created_at"`
	// DownloadURL is where a member with the ticket in scope downloads it.
	DownloadURL string `bun:"-" json:"download_url,omitempty"`
}

// Upload is one file as it arrived: the sender's name, its size and its
// bytes. Location names the field in refusals ("body.files[0]").
type Upload struct {
	Name     string
	Size     int64
	Body     io.ReadSeeker
	Location string
}

// fileKind is an allowed kind of file: its content type and a check of its
// first bytes, so a name cannot pass off one kind of content as another.
type fileKind struct {
	contentType string
	what        string
	looks       func(head []byte, sniffed string) bool
}

func sniffedAs(prefix string) func([]byte, string) bool {
	return func(_ []byte, sniffed string) bool { return strings.HasPrefix(sniffed, prefix) }
}

// oleMagic starts the legacy Office formats (.doc, .xls, .ppt).
var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

func isOLE(head []byte, _ string) bool { return bytes.HasPrefix(head, oleMagic) }

// plainText is text a person wrote: valid UTF-8 (or what the sniffer calls
// text) with no markup a browser would run.
func plainText(head []byte, sniffed string) bool {
	return strings.HasPrefix(sniffed, "text/plain")
}

// allowedKinds are the files tickets take, by extension: images, PDF, plain
// text and office documents. Anything else (programs, scripts, HTML, SVG,
// archives) is refused.
var allowedKinds = map[string]fileKind{
	".png":  {"image/png", "a PNG image", sniffedAs("image/png")},
	".jpg":  {"image/jpeg", "a JPEG image", sniffedAs("image/jpeg")},
	".jpeg": {"image/jpeg", "a JPEG image", sniffedAs("image/jpeg")},
	".gif":  {"image/gif", "a GIF image", sniffedAs("image/gif")},
	".webp": {"image/webp", "a WebP image", sniffedAs("image/webp")},
	".pdf":  {"application/pdf", "a PDF document", sniffedAs("application/pdf")},
	".txt":  {"text/plain; charset=utf-8", "plain text", plainText},
	".log":  {"text/plain; charset=utf-8", "plain text", plainText},
	".csv":  {"text/csv; charset=utf-8", "plain text", plainText},
	".docx": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "a Word document", sniffedAs("application/zip")},
	".xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "an Excel workbook", sniffedAs("application/zip")},
	".pptx": {"application/vnd.openxmlformats-officedocument.presentationml.presentation", "a PowerPoint deck", sniffedAs("application/zip")},
	".doc":  {"application/msword", "a Word document", isOLE},
	".xls":  {"application/vnd.ms-excel", "an Excel workbook", isOLE},
	".ppt":  {"application/vnd.ms-powerpoint", "a PowerPoint deck", isOLE},
}

// fileTypes lists the allowed extensions, in order.
func fileTypes() []string {
	out := make([]string, 0, len(allowedKinds))
	for ext := range allowedKinds {
		out = append(out, ext)
	}
	sort.Strings(out)
	return out
}

// allowedList is the allowed extensions for messages.
const allowedList = "PNG, JPEG, GIF, WebP, PDF, TXT, LOG, CSV, DOC(X), XLS(X) or PPT(X)"

// CleanFilename is the name a file is kept and offered under: the last
// element of whatever path the sender gave, without control or formatting
// characters (bidirectional overrides that disguise an extension) and with
// the characters file systems and headers trip on replaced, at most 120
// characters with its extension kept. A name with nothing left is
// "attachment" with the extension.
func CleanFilename(raw string) string {
	if i := strings.LastIndexAny(raw, `/\`); i >= 0 {
		raw = raw[i+1:]
	}
	var b strings.Builder
	for _, r := range raw {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r):
		case strings.ContainsRune(`<>:"|?*;`, r):
			b.WriteRune('_')
		case unicode.IsSpace(r):
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	s := strings.Trim(b.String(), ". ")
	ext := strings.ToLower(path.Ext(s))
	if len([]rune(ext)) > 10 {
		ext = ""
	}
	stem := strings.TrimRight(strings.TrimSuffix(s, path.Ext(s)), ". ")
	if ext == "" {
		stem = s
	}
	if r := []rune(stem); len(r) > 120-len([]rune(ext)) {
		stem = strings.TrimRight(string(r[:120-len([]rune(ext))]), ". ")
	}
	if stem == "" {
		stem = "attachment"
	}
	return stem + ext
}

// stagedFile is an upload that passed the checks, ready to store.
type stagedFile struct {
	Upload
	att Attachment
}

// checkUploads refuses the whole batch at the first file that is over the
// limits or not an allowed kind, before anything is stored: count at loc,
// size and kind at the file's own location.
func checkUploads(tenant uuid.UUID, files []Upload, maxFiles int, maxBytes int64, loc string) ([]stagedFile, error) {
	if len(files) > maxFiles {
		return nil, errs.Field(loc, fmt.Sprintf("at most %d files at once", maxFiles))
	}
	out := make([]stagedFile, 0, len(files))
	for _, f := range files {
		if f.Size > maxBytes {
			msg := fmt.Sprintf("%s is %.1f MB; a file may be at most %d MB", CleanFilename(f.Name), float64(f.Size)/(1<<20), maxBytes>>20)
			return nil, errs.E(errs.TooLarge, "%s", msg).WithFields(errs.FieldError{Location: f.Location, Message: msg})
		}
		if f.Size <= 0 || f.Body == nil {
			return nil, errs.Field(f.Location, "the file is empty")
		}
		name := CleanFilename(f.Name)
		ext := strings.ToLower(path.Ext(name))
		kind, ok := allowedKinds[ext]
		if !ok {
			msg := fmt.Sprintf("%s: files of type %q are not accepted; attach %s", name, cmpOr(ext, "without extension"), allowedList)
			return nil, errs.E(errs.Unsupported, "%s", msg).WithFields(errs.FieldError{Location: f.Location, Message: msg, Value: ext})
		}
		head := make([]byte, 512)
		n, err := io.ReadFull(f.Body, head)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return nil, errs.Field(f.Location, "the file could not be read; send it again")
		}
		head = head[:n]
		if _, err := f.Body.Seek(0, io.SeekStart); err != nil {
			return nil, errs.InternalErr(err)
		}
		if !kind.looks(head, http.DetectContentType(head)) {
			msg := fmt.Sprintf("%s is named %s but its content is not %s", name, ext, kind.what)
			return nil, errs.E(errs.Unsupported, "%s", msg).WithFields(errs.FieldError{Location: f.Location, Message: msg, Value: ext})
		}
		id := uuid.New()
		out = append(out, stagedFile{Upload: f, att: Attachment{TenantID: tenant, ID: id, Filename: name, ContentType: kind.contentType, SizeBytes: f.Size,
			BlobKey: blob.TenantKey(tenant.String(), blobArea, id.String())}})
	}
	return out, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// storeFiles writes the checked files to the blob store, runs fn (the
// transaction that adds their rows), and removes the stored files again when
// storing or fn fails, so a refused or failed request leaves no file and no
// row behind.
func (m *Module) storeFiles(ctx context.Context, files []stagedFile, fn func() error) error {
	if len(files) > 0 && m.d.Blobs == nil {
		return errs.E(errs.Conflict, "Attachments need the file store, which is not configured here.")
	}
	var stored []string
	undo := func() {
		// The request may be gone; the clean-up must still run.
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for _, k := range stored {
			if err := m.d.Blobs.Delete(c, k); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				m.d.Log.Warn("tickets: an attachment's file stays after a failed request", "err", err)
			}
		}
	}
	for _, f := range files {
		if err := m.writeBlob(ctx, f); err != nil {
			undo()
			return err
		}
		stored = append(stored, f.att.BlobKey)
	}
	if err := fn(); err != nil {
		undo()
		return err
	}
	return nil
}

func (m *Module) writeBlob(ctx context.Context, f stagedFile) error {
	w, err := m.d.Blobs.NewWriter(ctx, f.att.BlobKey, nil)
	if err != nil {
		return errs.InternalErr(err)
	}
	n, err := io.Copy(w, io.LimitReader(f.Body, f.Size+1))
	if err == nil && n != f.Size {
		err = fmt.Errorf("tickets: attachment size %d, read %d", f.Size, n)
	}
	if err != nil {
		_ = w.Close()
		_ = m.d.Blobs.Delete(context.WithoutCancel(ctx), f.att.BlobKey)
		return errs.InternalErr(err)
	}
	if err := w.Close(); err != nil {
		return errs.InternalErr(err)
	}
	return nil
}

// insertAttachments writes the rows of stored files for ticket (and
// message), returning them as the API shows them.
func insertAttachments(ctx context.Context, tx bun.Tx, ticket uuid.UUID, message *uuid.UUID, files []stagedFile) ([]Attachment, error) {
	out := make([]Attachment, 0, len(files))
	if len(files) == 0 {
		return out, nil
	}
	for _, f := range files {
		a := f.att
		a.TicketID, a.MessageID, a.CreatedBy = ticket, message, authz.RequesterID(ctx)
		out = append(out, a)
	}
	if _, err := tx.NewInsert().Model(&out).ExcludeColumn("created_at").Returning("created_at").Exec(ctx); err != nil {
		return nil, err
	}
	withURLs(ctx, out)
	return out, nil
}

// withURLs fills in where each attachment is downloaded.
func withURLs(ctx context.Context, as []Attachment) {
	tn, _ := tenancy.From(ctx)
	if tn.Slug == "" {
		return
	}
	for i := range as {
		as[i].DownloadURL = "/api/v1/t/" + tn.Slug + "/tickets/" + as[i].TicketID.String() + "/attachments/" + as[i].ID.String()
	}
}

// attachmentNames is what the audit keeps of attachments: names and sizes.
func attachmentNames(as []Attachment) []map[string]any {
	out := make([]map[string]any, 0, len(as))
	for _, a := range as {
		out = append(out, map[string]any{"id": a.ID.String(), "filename": a.Filename, "size": a.SizeBytes})
	}
	return out
}

// AddMessageWithFiles adds a reply or note with attached files: the files
// are checked (count, size, kind) before anything is written, stored, and
// their rows written in the message's transaction; when anything fails the
// stored files are removed again.
func (m *Module) AddMessageWithFiles(ctx context.Context, tenant, id uuid.UUID, in MessageInput, files []Upload) (*Message, *Ticket, error) {
	if err := authz.Require(ctx, PermWrite); err != nil {
		return nil, nil, err
	}
	if err := in.check(); err != nil {
		return nil, nil, err
	}
	staged, err := checkUploads(tenant, files, MaxMessageFiles, MaxAttachmentBytes, "body.files")
	if err != nil {
		return nil, nil, err
	}
	var msg *Message
	var t *Ticket
	err = m.storeFiles(ctx, staged, func() error {
		var err error
		msg, t, err = m.addMessage(ctx, tenant, id, in, staged)
		return err
	})
	return msg, t, err
}

// ListAttachments returns every file of a ticket the actor may read, oldest first.
func (m *Module) ListAttachments(ctx context.Context, tenant, id uuid.UUID) ([]Attachment, error) {
	if err := authz.Require(ctx, PermRead); err != nil {
		return nil, err
	}
	out := []Attachment{}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		if _, err := scopedTicket(ctx, tx, tenant, id, false); err != nil {
			return err
		}
		return tx.NewSelect().Model(&out).Where("a.tenant_id = ? AND a.ticket_id = ?", tenant, id).OrderExpr("a.created_at, a.id").Limit(1000).Scan(ctx)
	})
	if err != nil {
		return nil, db.Classify(err, "ticket")
	}
	withURLs(ctx, out)
	return out, nil
}

// messageAttachments fills in the attachments of a page of messages.
func messageAttachments(ctx context.Context, tx bun.Tx, tenant uuid.UUID, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(msgs))
	at := map[uuid.UUID]int{}
	for i := range msgs {
		ids[i], at[msgs[i].ID] = msgs[i].ID, i
		msgs[i].Attachments = []Attachment{}
	}
	var as []Attachment
	if err := tx.NewSelect().Model(&as).Where("a.tenant_id = ? AND a.message_id IN (?)", tenant, bun.In(ids)).OrderExpr("a.created_at, a.id").Scan(ctx); err != nil {
		return err
	}
	withURLs(ctx, as)
	for _, a := range as {
		i := at[*a.MessageID]
		msgs[i].Attachments = append(msgs[i].Attachments, a)
	}
	return nil
}

// AttachmentFile is a file to download: its row and its bytes.
type AttachmentFile struct {
	Attachment
	Body io.ReadCloser
}

// OpenAttachment opens one file of a ticket for download. The ticket must be
// within the actor's scope: a file of a ticket the actor may not see, or of
// another company, is NotFound like one that does not exist.
func (m *Module) OpenAttachment(ctx context.Context, tenant, ticket, id uuid.UUID) (*AttachmentFile, error) {
	if err := authz.Require(ctx, PermRead); err != nil {
		return nil, err
	}
	a := &Attachment{}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		if _, err := scopedTicket(ctx, tx, tenant, ticket, false); err != nil {
			return err
		}
		err := tx.NewSelect().Model(a).Where("a.tenant_id = ? AND a.ticket_id = ? AND a.id = ?", tenant, ticket, id).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "attachment not found")
		}
		return err
	})
	if err != nil {
		return nil, db.Classify(err, "attachment")
	}
	if m.d.Blobs == nil {
		return nil, errs.E(errs.Gone, "This file is not kept here.")
	}
	rd, err := m.d.Blobs.NewReader(ctx, a.BlobKey, nil)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, errs.E(errs.Gone, "This file is no longer kept.")
		}
		return nil, errs.InternalErr(err)
	}
	return &AttachmentFile{Attachment: *a, Body: rd}, nil
}

// forgetFiles deletes, once tx commits, the files of the attachments of
// tickets about to be removed in it.
func (m *Module) forgetFiles(ctx context.Context, tx bun.Tx, tenant uuid.UUID, tickets []uuid.UUID) error {
	if m.d.Blobs == nil || len(tickets) == 0 {
		return nil
	}
	var keys []string
	if err := tx.NewRaw("SELECT blob_key FROM ticket_attachments WHERE tenant_id = ? AND ticket_id IN (?)", tenant, bun.In(tickets)).Scan(ctx, &keys); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	db.AfterCommit(ctx, func(ctx context.Context) {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		for _, k := range keys {
			if err := m.d.Blobs.Delete(c, k); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				m.d.Log.Warn("tickets: a removed ticket's attachment file stays", "err", err)
			}
		}
	})
	return nil
}

// formAttachments writes the rows of a form's files for its new ticket, with
// an audit row naming them.
func formAttachments(ctx context.Context, tx bun.Tx, t *Ticket, files []stagedFile) error {
	if len(files) == 0 {
		return nil
	}
	as, err := insertAttachments(ctx, tx, t.ID, nil, files)
	if err != nil {
		return err
	}
	return audit.Record(ctx, tx, audit.Entry{Action: "ticket.attach", Entity: "ticket", EntityID: t.ID.String(),
		After: map[string]any{"attachments": attachmentNames(as)}})
}
