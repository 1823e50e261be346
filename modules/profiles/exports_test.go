package profiles_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/xuri/excelize/v2"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/blob"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/testkit"
	"github.com/clientele-crm/clientele/platform/transfer"
)

// XLSX and CSV exports carry custom columns; a sensitive one comes out masked
// for a requester without pii.read and in clear for one with it; a formula cell
// is stored as text that no spreadsheet runs.
func TestExportFormatsCustomColumnsAndMasking(t *testing.T) {
	env := testkit.Get(t)
	ctx := authz.AsSystem(context.Background()) // the fields this test needs are its own setup
	fs, err := fields.New(fields.Deps{DB: env.App, MasterKey: make([]byte, 32), Entities: []string{profiles.EntityCustomers}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r := newTransferRig(t, env, env.App, slog.New(slog.NewTextHandler(io.Discard, nil)), profiles.Deps{Fields: fs})
	m, client, bucket := r.m, r.client, r.bucket
	a := env.NewTenant(t)
	if err := db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		for _, d := range []fields.Definition{
			{Key: "tier", LabelEN: "Tier", Type: fields.Select, Options: []fields.Option{{Value: "gold"}, {Value: "silver"}}, Filterable: true},
			{Key: "id_no", LabelEN: "ID number", Type: fields.Text, Sensitive: true},
			{Key: "channels", LabelEN: "Channels", Type: fields.MultiSelect, Options: []fields.Option{{Value: "wechat"}, {Value: "email"}}},
		} {
			d.Entity = profiles.EntityCustomers
			if _, err := fs.Create(ctx, tx, a.ID, d); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	const n = 1200
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("客户 %d", i)
		if i == 8 {
			name = "=HYPERLINK(\"http://x.example\",\"click\")"
		}
		custom := map[string]any{"tier": []string{"gold", "silver"}[i%2], "id_no": fmt.Sprintf("ID-%04d", i), "channels": []string{"wechat", "email"}}
		if _, err := m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: name, Custom: custom}, true); err != nil {
			t.Fatal(err)
		}
	}
	r.serve(t, env.App, -1)
	run := func(format string, pii bool) [][]string {
		t.Helper()
		j, err := client.Enqueue(writer, a.ID, jobs.Spec{Type: transfer.TypeExport, Queue: jobs.QueueBulk,
			Payload: map[string]any{"query": "custom.tier=gold", "format": format, "requester": uuid.New(), "scope": "all", "pii": pii,
				"fields": []string{"name", "custom.tier", "custom.id_no", "custom.channels"}}})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		var done *jobs.Job
		for time.Now().Before(deadline) {
			if done, _ = client.Get(ctx, a.ID, j.ID); done.Terminal() {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if done.Status != jobs.StatusSucceeded {
			t.Fatalf("%s export: %s %q", format, done.Status, done.Error)
		}
		data, err := bucket.ReadAll(ctx, blob.TenantKey(a.ID.String(), "exports", j.ID.String()+"."+format))
		if err != nil {
			t.Fatal(err)
		}
		if format == "csv" {
			rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			return rows
		}
		f, err := excelize.OpenReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := f.GetRows("Customers")
		if err != nil {
			t.Fatal(err)
		}
		// No cell of the sheet is a formula.
		if fm, _ := f.GetCellFormula("Customers", "A5"); fm != "" {
			t.Fatalf("formula %q in the sheet", fm)
		}
		return rows
	}
	for _, format := range []string{"xlsx", "csv"} {
		for _, pii := range []bool{false, true} {
			rows := run(format, pii)
			if len(rows) != n/2+1 {
				t.Fatalf("%s: %d rows, want %d", format, len(rows), n/2+1)
			}
			if got := fmt.Sprint(rows[0]); got != "[name custom.tier custom.id_no custom.channels]" {
				t.Fatalf("%s header %s", format, got)
			}
			sawFormula := false
			for _, r := range rows[1:] {
				if r[1] != "gold" || r[3] != "wechat; email" {
					t.Fatalf("%s row %v", format, r)
				}
				if masked := r[2] == fields.MaskText; masked == pii || (!pii && r[2] != fields.MaskText) || (pii && len(r[2]) != 7) {
					t.Fatalf("%s pii=%v: id_no cell %q", format, pii, r[2])
				}
				if r[0] == "'=HYPERLINK(\"http://x.example\",\"click\")" {
					sawFormula = true
				} else if r[0][0] == '=' {
					t.Fatalf("%s: formula cell not neutralised: %q", format, r[0])
				}
			}
			if !sawFormula {
				t.Fatalf("%s: the formula row is missing or changed beyond the leading quote", format)
			}
		}
	}
}

// An export streams every matching customer to a CSV file with formulas
// neutralised; another tenant cannot fetch it.
func TestExportWritesEveryMatchingRow(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	r := newTransferRig(t, env, env.App, slog.New(slog.NewTextHandler(io.Discard, nil)), profiles.Deps{})
	m, client, bucket := r.m, r.client, r.bucket
	a := env.NewTenant(t)
	for i := 0; i < 4500; i++ {
		name := fmt.Sprintf("客户 %d", i)
		if i == 8 {
			name = "=cmd|' /C calc'!A0"
		}
		tags := []string{}
		if i%2 == 0 {
			tags = []string{"vip"}
		}
		if _, err := m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: name, Tags: tags}, true); err != nil {
			t.Fatal(err)
		}
	}
	j, err := client.Enqueue(writer, a.ID, jobs.Spec{Type: "profiles:export", // as queued before the transfer engine: still handled
		Queue:   jobs.QueueBulk,
		Payload: map[string]any{"query": "tag=vip", "requester": uuid.New(), "scope": "all"}})
	if err != nil {
		t.Fatal(err)
	}
	r.serve(t, env.App, -1)
	deadline := time.Now().Add(60 * time.Second)
	var done *jobs.Job
	for time.Now().Before(deadline) {
		done, _ = client.Get(ctx, a.ID, j.ID)
		if done.Terminal() {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if done.Status != jobs.StatusSucceeded || done.ProgressDone != 2250 || done.ProgressTotal == nil || *done.ProgressTotal != 2250 {
		t.Fatalf("export job %+v (error %q)", done.Status, done.Error)
	}
	data, err := bucket.ReadAll(ctx, blob.TenantKey(a.ID.String(), "exports", j.ID.String()+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2251 || !strings.HasPrefix(lines[0], "id,kind,name") {
		t.Fatalf("%d lines; header %q", len(lines), lines[0])
	}
	if strings.Contains(string(data), ",=cmd") || strings.Contains(string(data), "\"=cmd") || !strings.Contains(string(data), "'=cmd") {
		t.Fatal("the formula cell was not neutralised")
	}
}
