package main

import (
	"archive/zip"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/clientele-crm/clientele/platform/backup"
	"github.com/clientele-crm/clientele/platform/blob"
	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// runTenantExport is `clientele tenant export SLUG [-o FILE]`: the company's
// archive (platform/backup), written to a temporary file beside FILE and
// renamed into place once complete, so a failed export leaves no file that
// looks whole. -o - writes to standard output.
func runTenantExport(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("tenant export", flag.ContinueOnError)
	out := fs.String("o", "", "archive to write (default SLUG-backup-YYYYMMDD-HHMMSS.zip; - for standard output)")
	slugArg, rest := splitSlug(args)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if slugArg == "" && fs.NArg() == 1 {
		slugArg = fs.Arg(0)
	}
	if slugArg == "" {
		return errors.New("usage: clientele tenant export SLUG [-o FILE]")
	}
	conn, err := pgx.Connect(ctx, cfg.AppDatabaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var tenant uuid.UUID
	if err := conn.QueryRow(ctx, "SELECT id FROM tenants WHERE slug = $1", slugArg).Scan(&tenant); err != nil {
		return fmt.Errorf("no company with the address %q", slugArg)
	}
	files, err := blob.Open(ctx, cfg.BlobURL)
	if err != nil {
		return err
	}
	defer files.Close()
	start := time.Now()
	if *out == "-" {
		m, err := backup.Export(ctx, conn, files, tenant, os.Stdout)
		if err == nil {
			reportExport(m, -1, time.Since(start))
		}
		return err
	}
	path := *out
	if path == "" {
		path = fmt.Sprintf("%s-backup-%s.zip", slugArg, time.Now().UTC().Format("20060102-150405"))
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".clientele-backup-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	m, err := backup.Export(ctx, conn, files, tenant, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	st, _ := os.Stat(path)
	reportExport(m, st.Size(), time.Since(start))
	fmt.Println(path)
	return nil
}

func reportExport(m *backup.Manifest, size int64, took time.Duration) {
	var rows int64
	for _, t := range m.Tables {
		rows += t.Rows
	}
	fmt.Fprintf(os.Stderr, "tenant export: %s: %d tables, %d rows, %d files, %d bytes, %s (format %d, schema %s)\n",
		m.Tenant.Slug, len(m.Tables), rows, len(m.Files), size, took.Round(time.Millisecond), m.Version, m.SchemaVersion)
}

// runTenantImport is `clientele tenant import ARCHIVE --as NEWSLUG [--name NAME]`:
// it checks the archive first (refusing a tampered, truncated or newer one
// before writing anything), restores it into a new company in one
// transaction, then refreshes the planner statistics as the owner role.
func runTenantImport(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("tenant import", flag.ContinueOnError)
	as := fs.String("as", "", "address (slug) of the new company; it must be free")
	name := fs.String("name", "", "name of the new company (default: the archive's)")
	file, rest := splitSlug(args)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	}
	if file == "" || *as == "" {
		return errors.New("usage: clientele tenant import ARCHIVE --as NEWSLUG [--name NAME]")
	}
	res, err := importArchive(ctx, cfg, log, file, *as, *name)
	if err != nil {
		return err
	}
	fmt.Println(res.TenantID)
	return nil
}

// importArchive checks and restores an archive file, then analyses the
// tables it filled.
func importArchive(ctx context.Context, cfg config.Config, log *slog.Logger, file, slug, name string) (*backup.Result, error) {
	if !tenancy.SlugPattern.MatchString(slug) {
		return nil, fmt.Errorf("--as %q: use 1-40 lowercase letters, digits and inner hyphens", slug)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	zr, m, err := backup.Open(f, st.Size())
	if err != nil {
		return nil, err
	}
	key, err := masterKey(cfg, log)
	if err != nil {
		return nil, err
	}
	files, err := blob.Open(ctx, cfg.BlobURL)
	if err != nil {
		return nil, err
	}
	defer files.Close()
	conn, err := pgx.Connect(ctx, cfg.AppDatabaseURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	res, err := backup.Import(ctx, conn, files, zr, m, backup.Options{Slug: slug, Name: name,
		Rekey: func(wrapped []byte, from, to uuid.UUID) ([]byte, func(string) (string, error), error) {
			return fields.RekeyTenant(key, wrapped, from, to)
		}})
	if err != nil {
		return nil, err
	}
	loaded := time.Since(start)
	owner, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("restored, but planner statistics were not refreshed: %w", err)
	}
	defer owner.Close(context.WithoutCancel(ctx))
	if err := backup.Analyze(ctx, owner, res.Tables); err != nil {
		return nil, fmt.Errorf("restored, but %w", err)
	}
	fmt.Fprintf(os.Stderr, "tenant import: %s restored as %s (%s): %d rows in %d tables, %d files; checked and loaded in %s, analysed in %s\n",
		m.Tenant.Slug, slug, res.TenantID, res.Rows, len(res.Tables), res.Files, loaded.Round(time.Millisecond), (time.Since(start) - loaded).Round(time.Millisecond))
	return res, nil
}

// splitSlug takes a leading positional argument off args, so that flags may
// follow it (`tenant export acme -o x.zip`).
func splitSlug(args []string) (string, []string) {
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		return args[0], args[1:]
	}
	return "", args
}

// runTenantCompare is `clientele tenant compare A B`: it checks both archives
// and prints how they differ beyond what a restore changes by design
// (backup.Compare); it fails when they differ.
func runTenantCompare(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: clientele tenant compare ARCHIVE_A ARCHIVE_B")
	}
	var zs [2]*zip.Reader
	var ms [2]*backup.Manifest
	for i, p := range args {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if zs[i], ms[i], err = backup.Open(f, st.Size()); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	diffs, err := backup.Compare(zs[0], ms[0], zs[1], ms[1])
	if err != nil {
		return err
	}
	for _, d := range diffs {
		fmt.Println(d)
	}
	if len(diffs) > 0 {
		return fmt.Errorf("the archives differ (%d differences shown)", len(diffs))
	}
	var rows int64
	for _, t := range ms[0].Tables {
		rows += t.Rows
	}
	fmt.Printf("equal: %s and %s hold the same company (%d tables, %d rows, %d files)\n", ms[0].Tenant.Slug, ms[1].Tenant.Slug, len(ms[0].Tables), rows, len(ms[0].Files))
	return nil
}
