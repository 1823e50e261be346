// Package jobstest gives tests a jobs client and a worker on the test package's
// own Redis database (see testkit), each stopped when the test ends.
//
//	client := jobstest.Client(t, env.App)
//	client.Register(m.Jobs()...)
//	srv := jobstest.Worker(t, jobs.ServerOptions{Handlers: m.Jobs(), SweepInterval: -1, NoScheduler: true})
package jobstest

import (
	"testing"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// Client is a jobs client that records its jobs through db and enqueues them on
// the package's Redis database; it is closed when the test ends.
func Client(t testing.TB, db *bun.DB) *jobs.Client {
	t.Helper()
	c := jobs.NewClient(testkit.Get(t).AsynqOpt(t), db, testkit.Quiet)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Worker starts a jobs server with o and shuts it down when the test ends. What
// o leaves unset is filled in: the package's Redis database, the app-role pool
// and a quiet logger.
func Worker(t testing.TB, o jobs.ServerOptions) *jobs.Server {
	t.Helper()
	env := testkit.Get(t)
	if o.Redis == nil {
		o.Redis = env.AsynqOpt(t)
	}
	if o.DB == nil {
		o.DB = env.App
	}
	if o.Logger == nil {
		o.Logger = testkit.Quiet
	}
	srv := jobs.NewServer(o)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}
