package main

import (
	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/jobsapi"
	"github.com/clientele-crm/clientele/platform/module"
)

// buildModules is the one place modules are listed. Order is the order their
// routes and jobs are registered.
func buildModules(d *deps) module.Set {
	return module.Set{
		jobsapi.New(d.jobs),
		fields.NewModule(d.fields),
		profiles.New(profiles.Deps{DB: d.db, Events: d.events, Jobs: d.jobs, Members: d.directory, Mail: d.directory.(*lateDirectory), Blobs: d.blobs, Fields: d.fields, ExportTTL: d.cfg.ExportTTL, BulkDutyPercent: d.cfg.BulkDutyPercent, Log: d.log}),
	}
}
