package main

import (
	"context"
	"net/netip"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/modules/funnel"
	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/modules/tasks"
	"github.com/clientele-crm/clientele/modules/tickets"
	"github.com/clientele-crm/clientele/modules/webhooks"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/changes"
	"github.com/clientele-crm/clientele/platform/egress"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/notify"
)

// buildWebhooks wires the webhooks module: the events bus it records from,
// the egress policy from CLIENTELE_WEBHOOK_ALLOW, and how an event's body
// gets its record, as the API returns it, from the module that owns it.
func buildWebhooks(d *deps, notices notify.Notifier, set module.Set) *webhooks.Module {
	var allow []netip.Prefix
	for _, a := range d.cfg.WebhookAllow {
		p, err := egress.ParseAllow(a)
		if err == nil {
			allow = append(allow, p...)
		}
	}
	wd := webhooks.Deps{DB: d.db, Events: d.events, Egress: &egress.Policy{Allow: allow}, Notify: notices, Log: d.log,
		Objects: webhookObjects(set)}
	if d.jobs != nil {
		wd.Jobs = d.jobs
	}
	if dir, ok := d.directory.(*lateDirectory); ok {
		wd.Admins = dir
	}
	return webhooks.New(wd)
}

// webhookReader is who reads a record for a webhook's body: every record of
// the company, but without pii.read, so sensitive custom values go out
// masked. A subscription is made by someone holding webhooks.manage, which
// does not imply pii.read; the body must not give them more than that.
var webhookReader = authz.Actor{Kind: authz.ActorAPIKey, Scope: authz.ScopeAll,
	Permissions: map[string]bool{profiles.PermRead: true, funnel.PermRead: true, tickets.PermRead: true, tasks.PermRead: true}}

// webhookObjects reads an event's record for its body, as webhookReader.
func webhookObjects(set module.Set) webhooks.ObjectFunc {
	getters := recordGetters(set)
	return func(ctx context.Context, tenant uuid.UUID, entity string, id uuid.UUID) (any, error) {
		if get, ok := getters[entity]; ok {
			return get(authz.WithActor(ctx, webhookReader), tenant, id)
		}
		return nil, nil
	}
}

// recordGetters returns, by entity, how to read one record as the API does,
// with the caller's rights, from the module that owns it.
func recordGetters(set module.Set) map[string]func(ctx context.Context, tenant, id uuid.UUID) (any, error) {
	getters := map[string]func(ctx context.Context, tenant, id uuid.UUID) (any, error){}
	for _, m := range set {
		switch m := m.(type) {
		case *profiles.Module:
			getters["customers"] = func(ctx context.Context, tenant, id uuid.UUID) (any, error) { return m.GetCustomer(ctx, tenant, id) }
		case *funnel.Module:
			getters["deals"] = func(ctx context.Context, tenant, id uuid.UUID) (any, error) { return m.GetDeal(ctx, tenant, id) }
		case *tickets.Module:
			getters["tickets"] = func(ctx context.Context, tenant, id uuid.UUID) (any, error) { return m.GetTicket(ctx, tenant, id) }
		case *tasks.Module:
			getters["tasks"] = func(ctx context.Context, tenant, id uuid.UUID) (any, error) { return m.GetTask(ctx, tenant, id) }
		}
	}
	return getters
}

// buildChanges wires the changes feed over the entities integrations mirror.
func buildChanges(d *deps, set module.Set) *changes.Module {
	get := recordGetters(set)
	return changes.NewModule(changes.New(d.db, d.events,
		changes.Entity{Name: "customers", Topic: "customer", ReadPerm: profiles.PermRead, Get: get["customers"]},
		changes.Entity{Name: "deals", Topic: "deal", ReadPerm: funnel.PermRead, Get: get["deals"]},
		changes.Entity{Name: "tickets", Topic: "ticket", ReadPerm: tickets.PermRead, Get: get["tickets"]},
	))
}
