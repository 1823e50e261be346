package main

import (
	"context"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/modules/bi"
	"github.com/clientele-crm/clientele/modules/funnel"
	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/modules/tasks"
	"github.com/clientele-crm/clientele/modules/tickets"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/idem"
	"github.com/clientele-crm/clientele/platform/jobsapi"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/notify"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/transfer"
	"github.com/clientele-crm/clientele/platform/views"
)

// buildModules is the one place modules are listed. Order is the order their
// routes and jobs are registered. The transfer engine comes last: it imports
// and exports the entities the others hand it.
func buildModules(d *deps) (module.Set, error) {
	saved := views.New(views.Deps{DB: d.db, Log: d.log})
	// Records links modules' rows to other modules' records (tasks about a
	// customer); it is filled below, once every module exists.
	reg := records.NewRegistry()
	notices := notify.New(notify.Deps{DB: d.db, Jobs: d.jobs, Mail: d.directory.(*lateDirectory), Log: d.log})
	followUps := tasks.New(tasks.Deps{DB: d.db, Jobs: d.jobs, Members: d.directory, Notify: notices, Records: reg, Events: d.events, Log: d.log})
	customers := profiles.New(profiles.Deps{DB: d.db, Events: d.events, Members: d.directory, Fields: d.fields, Views: saved, Records: reg, Tasks: followUps, Jobs: d.jobs, Log: d.log})
	deals := funnel.New(funnel.Deps{DB: d.db, Events: d.events, Members: d.directory, Fields: d.fields, Views: saved, Records: reg, Lifecycle: customers, Notify: notices, Log: d.log})
	set := module.Set{
		jobsapi.New(d.jobs),
		fields.NewModule(d.fields),
		views.NewModule(saved),
		notify.NewModule(notices),
		idem.NewModule(&idem.Store{DB: d.db}),
		customers,
		followUps,
		deals,
		tickets.New(tickets.Deps{DB: d.db, Events: d.events, Members: d.directory, Teams: d.directory.(*lateDirectory), Fields: d.fields, Views: saved,
			Records: reg, People: customers, Jobs: d.jobs, Mail: moduleMail{d.mailer}, Notify: notices,
			PublicURL: d.cfg.PublicURL, Limiter: d.directory.(*lateDirectory), Blobs: d.blobs, Log: d.log, Bus: d.bus}),
		buildForms(d, customers, followUps, deals),
	}
	set = append(set, buildWebhooks(d, notices, set), buildChanges(d, set))
	set = append(set, bi.New(bi.Deps{DB: d.db, Modules: set, Enabled: func() *module.Enablement { return d.enablement }, Log: d.log,
		Jobs: d.jobs, Members: reportMembers{dir: d.directory.(*lateDirectory), mail: d.mailer}, FontPath: d.cfg.ReportFont, FileDays: d.cfg.ReportFileDays, Events: d.events, Registry: d.metrics.Reg}))
	if err := records.Collect(reg, set); err != nil {
		return nil, err
	}
	// The entities the modules declare get custom fields and saved views.
	entities, err := set.Entities()
	if err != nil {
		return nil, err
	}
	d.fields.SetEntities(entities)
	saved.SetEntities(entities)
	adapters, err := transfer.Collect(set)
	if err != nil {
		return nil, err
	}
	return append(set, transfer.New(transfer.Deps{DB: d.db, Jobs: d.jobs, Blobs: d.blobs, Events: d.events, Adapters: adapters,
		Enabled: func(ctx context.Context, tenant uuid.UUID, name string) (bool, error) {
			if d.enablement == nil {
				return true, nil
			}
			return d.enablement.Enabled(ctx, tenant, name)
		},
		ExportTTL: d.cfg.ExportTTL, BulkDutyPercent: d.cfg.BulkDutyPercent, Counts: d.fields, Log: d.log})), nil
}
