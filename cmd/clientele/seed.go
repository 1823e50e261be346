package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"text/tabwriter"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// DemoSlug is the demo tenant `make run` seeds.
const DemoSlug = "demo"

func runSeed(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	id, created, err := ensureTenant(ctx, cfg, DemoSlug, "Demo Trading Co. 演示贸易公司")
	if err != nil {
		return err
	}
	log.Info("seed: demo tenant ready", "tenant_id", id.String(), "created", created)
	return nil
}

func ensureTenant(ctx context.Context, cfg config.Config, slug, name string) (uuid.UUID, bool, error) {
	if !tenancy.SlugPattern.MatchString(slug) {
		return uuid.Nil, false, fmt.Errorf("slug %q: use 1-40 lowercase letters, digits and inner hyphens", slug)
	}
	d, err := db.Open(ctx, cfg.AppDatabaseURL, 2)
	if err != nil {
		return uuid.Nil, false, err
	}
	defer d.Close()
	var id uuid.UUID
	err = d.NewRaw(`INSERT INTO tenants (slug, name) VALUES (?, ?) ON CONFLICT (slug) DO NOTHING RETURNING id`, slug, name).Scan(ctx, &id)
	if err == nil {
		return id, true, nil
	}
	if err2 := d.NewRaw(`SELECT id FROM tenants WHERE slug = ?`, slug).Scan(ctx, &id); err2 != nil {
		return uuid.Nil, false, err2
	}
	return id, false, nil
}

func runTenant(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	switch {
	case len(args) == 3 && args[0] == "create":
		id, created, err := ensureTenant(ctx, cfg, args[1], args[2])
		if err != nil {
			return err
		}
		if !created {
			return fmt.Errorf("a tenant with slug %q already exists (%s)", args[1], id)
		}
		fmt.Println(id)
		return nil
	case len(args) == 1 && args[0] == "list":
		d, err := db.Open(ctx, cfg.AppDatabaseURL, 2)
		if err != nil {
			return err
		}
		defer d.Close()
		var ts []tenancy.Tenant
		if err := d.NewSelect().Model(&ts).Order("slug").Scan(ctx); err != nil {
			return err
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "SLUG\tID\tSTATUS\tNAME")
		for _, t := range ts {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.Slug, t.ID, t.Status, t.Name)
		}
		return w.Flush()
	}
	return fmt.Errorf("usage: clientele tenant create SLUG NAME | clientele tenant list")
}
