package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/devstack"
)

// The worker-kill drill (issue 23, drill 2): a worker process is killed with
// SIGKILL while it runs an import, an export and a batch of reminders, as the
// kernel's OOM killer or a lost node would. A new worker starts at once, as an
// orchestrator would start it. Every job must then complete exactly once: each
// imported row one customer, the export every row once, each reminder one
// notification and one line of mail. The time from the kill to the moment
// each job runs again is printed, and must stay under 90 s.

// killWorkerTakeoverBar is the bar from the kill to the takeover.
const killWorkerTakeoverBar = 90 * time.Second

func runKillWorkerDrill(ctx context.Context, cfg config.Config, out io.Writer, keep bool, fault string) (err error) {
	dir, err := os.MkdirTemp("", "clientele-drill-")
	if err != nil {
		return err
	}
	dr := &drill{fault: fault, out: out, dir: dir, acked: map[string]bool{}, readyz: map[string]int{},
		hc: &http.Client{Timeout: 60 * time.Second}}
	defer func() {
		dr.stop()
		if keep || err != nil {
			fmt.Fprintf(out, "drill %s: logs kept in %s\n", fault, dir)
		} else {
			_ = os.RemoveAll(dir)
		}
	}()
	t0 := time.Now()
	cfg.WebhookAllow = []string{"127.0.0.1/32"} // the drill's receiver
	if err := dr.start(ctx, cfg); err != nil {
		return fmt.Errorf("drill %s: setting up the private stack: %w", fault, err)
	}
	fmt.Fprintf(out, "drill %s: private stack up in %.1f s; the worker runs as a process of its own\n", fault, time.Since(t0).Seconds())
	return dr.jobsUnderFault(ctx)
}

// workerProcess starts `clientele worker` against the drill's stack.
func (dr *drill) workerProcess(ctx context.Context, n int) (*exec.Cmd, error) {
	adminPort, err := devstack.FreePort()
	if err != nil {
		return nil, err
	}
	return dr.appProcess(fmt.Sprintf("worker-%d", n), "worker", fmt.Sprintf("CLIENTELE_WORKER_ADMIN_ADDR=127.0.0.1:%d", adminPort))
}

// appProcess starts `clientele <command>` against the drill's stack, with
// extra environment, logging to <name>.log in the drill's directory.
func (dr *drill) appProcess(name, command string, extra ...string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dr.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	c := dr.cfg
	cmd := exec.Command(self, command)
	cmd.Env = append(os.Environ(),
		"CLIENTELE_ENV="+c.Env,
		"CLIENTELE_DATABASE_URL="+c.DatabaseURL,
		"CLIENTELE_APP_DATABASE_URL="+c.AppDatabaseURL,
		"CLIENTELE_REDIS_URL="+c.RedisURL,
		"CLIENTELE_KRATOS_PUBLIC_URL="+c.KratosPublicURL,
		"CLIENTELE_KRATOS_ADMIN_URL="+c.KratosAdminURL,
		"CLIENTELE_DATA_DIR="+c.DataDir,
		"CLIENTELE_BLOB_URL="+c.BlobURL,
		"CLIENTELE_PUBLIC_URL="+c.PublicURL,
		"CLIENTELE_MASTER_KEY=",
		"CLIENTELE_MAIL_URL=",
		"CLIENTELE_PPROF_ADDR=",
		"CLIENTELE_WORKER_PPROF_ADDR=",
		"CLIENTELE_WEBHOOK_ALLOW=127.0.0.1/32",
		"CLIENTELE_RATE_PER_TENANT=10000000",
		"CLIENTELE_RATE_PER_KEY=1000000",
	)
	cmd.Env = append(cmd.Env, extra...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() { _ = cmd.Wait(); logf.Close() }()
	return cmd, nil
}

// jobsUnderFault runs the import, export, reminders and webhook deliveries and
// breaks them with dr.fault: kill-worker (SIGKILL, then a new worker) or
// redis-flush (FLUSHALL, the server and the worker left up).
func (dr *drill) jobsUnderFault(ctx context.Context) error {
	name := "drill " + dr.fault + ":"
	t := "/api/v1/t/" + dr.slug
	var failures []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	owner, err := pgx.Connect(ctx, dr.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer owner.Close(context.WithoutCancel(ctx))

	// Customers to export, and a file to import.
	const seeded, imported, reminders, slaTickets = 20_000, 60_000, 300, 100
	for i := 0; i < seeded/500; i++ {
		var b strings.Builder
		b.WriteString(`{"records":[`)
		for j := 0; j < 500; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"name":"Seeded %d-%d","emails":["s%d.%d@seed.example"],"tags":["seed"]}`, i, j, i, j)
		}
		b.WriteString(`]}`)
		if st, body := dr.call(ctx, "POST", t+"/customers/batch", dr.token, b.String()); st != 200 && st != 201 {
			return fmt.Errorf("seed customers: %d %.300s", st, body)
		}
	}
	var csv bytes.Buffer
	csv.WriteString("name,emails,phone\n")
	for i := 0; i < imported; i++ {
		fmt.Fprintf(&csv, "Imported %d 导入,imp%d@import.example,+86 138 %04d %04d\n", i, i, i/10000, i%10000)
	}
	st, body := dr.upload(ctx, t+"/imports", map[string]string{"entity": "customers"}, "file", "customers.csv", csv.Bytes())
	var up struct {
		ID string `json:"id"`
	}
	if st != 201 || json.Unmarshal(body, &up) != nil {
		return fmt.Errorf("upload the import: %d %.300s", st, body)
	}

	// Reminders due in a few seconds, each with a title of its own.
	var me struct {
		Identity struct {
			ID string `json:"id"`
		} `json:"identity"`
	}
	if st, body := dr.call(ctx, "GET", "/api/v1/me", dr.token, ""); st != 200 || json.Unmarshal(body, &me) != nil {
		return fmt.Errorf("me: %d %.300s", st, body)
	}
	// A receiver on loopback counts deliveries by event id; every task made
	// below is an event it must get once.
	hooks := &hookCounter{seen: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hookSrv := &http.Server{Handler: hooks, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hookSrv.Serve(ln) }()
	defer hookSrv.Close()
	if st, body := dr.call(ctx, "POST", t+"/webhooks", dr.token, fmt.Sprintf(`{"url":"http://%s/hook","events":["task.created"]}`, ln.Addr())); st != 201 {
		return fmt.Errorf("subscribe the receiver: %d %.300s", st, body)
	}
	remindAt := time.Now().Add(15 * time.Second).UTC().Format(time.RFC3339)
	for i := 0; i < reminders; i++ {
		if st, body := dr.call(ctx, "POST", t+"/tasks", dr.token, fmt.Sprintf(`{"title":"Drill reminder %03d","remind_at":%q}`, i, remindAt)); st != 201 {
			return fmt.Errorf("create a task: %d %.300s", st, body)
		}
	}

	// Tickets whose SLA warnings fall due with the reminders: a first
	// response in 1 minute, warned at 25%, each assigned to the drill's
	// member, who is told once per ticket.
	if st, body := dr.call(ctx, "POST", t+"/sla-policies", dr.token, `{"name":"Drill SLA","first_response_minutes":1,"warn_percent":25}`); st != 201 {
		return fmt.Errorf("create an SLA policy: %d %.300s", st, body)
	}
	for i := 0; i < slaTickets; i++ {
		if st, body := dr.call(ctx, "POST", t+"/tickets", dr.token, fmt.Sprintf(`{"subject":"Drill SLA %03d","channel":"email","requester_email":"sla%03d@drill.example","assignee_id":%q}`, i, i, me.Identity.ID)); st != 201 {
			return fmt.Errorf("create a ticket: %d %.300s", st, body)
		}
	}
	countWarned := func() (n, distinct int) {
		_ = owner.QueryRow(ctx, "SELECT count(*), count(DISTINCT link) FROM notifications WHERE kind = 'ticket.sla_warning'").Scan(&n, &distinct)
		return n, distinct
	}

	// Scheduled reports: the drill's member subscribes to reports of their
	// own, daily at the first whole minute at least a minute ahead in the
	// company's time zone, so their deliveries are made by the minutely
	// sweep around the fault. Each period must be rendered, kept and mailed
	// once.
	var zone string
	if err := owner.QueryRow(ctx, "SELECT time_zone FROM tenants WHERE slug = $1", dr.slug).Scan(&zone); err != nil {
		return fmt.Errorf("the company's time zone: %w", err)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return err
	}
	reportAt := time.Now().In(loc).Add(time.Minute).Truncate(time.Minute).Add(time.Minute)
	for i := 0; i < drillReports; i++ {
		st, body := dr.call(ctx, "POST", t+"/bi/reports", dr.token, fmt.Sprintf(`{"name":"Drill report %02d","chart":"kpi","query":{"metric":"profiles.customers","range":{"preset":"last_30_days"}}}`, i))
		var rep struct {
			ID string `json:"id"`
		}
		if st != 201 || json.Unmarshal(body, &rep) != nil {
			return fmt.Errorf("create a report: %d %.300s", st, body)
		}
		if st, body := dr.call(ctx, "POST", t+"/bi/subscriptions", dr.token, fmt.Sprintf(`{"report_id":%q,"frequency":"daily","time":%q}`, rep.ID, reportAt.Format("15:04"))); st != 201 {
			return fmt.Errorf("subscribe to a report: %d %.300s", st, body)
		}
	}
	countReports := func() (made, sent int) {
		_ = owner.QueryRow(ctx, "SELECT count(*), count(*) FILTER (WHERE d.status = 'sent') FROM bi_deliveries d JOIN bi_subscriptions s ON s.tenant_id = d.tenant_id AND s.id = d.subscription_id JOIN bi_reports r ON r.tenant_id = s.tenant_id AND r.id = s.report_id WHERE r.name LIKE 'Drill report %'").Scan(&made, &sent)
		return made, sent
	}

	// inDelivery counts the deliveries a worker holds now: it renders and
	// mails each under a row lock, so the rows this cannot lock are those.
	inDelivery := func() int {
		var n int
		_ = owner.QueryRow(ctx, "SELECT count(*) FROM bi_deliveries d JOIN bi_subscriptions s ON s.tenant_id = d.tenant_id AND s.id = d.subscription_id JOIN bi_reports r ON r.tenant_id = s.tenant_id AND r.id = s.report_id WHERE r.name LIKE 'Drill report %' AND d.status = 'pending'").Scan(&n)
		var free int
		_ = owner.QueryRow(ctx, "SELECT count(*) FROM (SELECT 1 FROM bi_deliveries d JOIN bi_subscriptions s ON s.tenant_id = d.tenant_id AND s.id = d.subscription_id JOIN bi_reports r ON r.tenant_id = s.tenant_id AND r.id = s.report_id WHERE r.name LIKE 'Drill report %' AND d.status = 'pending' FOR UPDATE OF d SKIP LOCKED) x").Scan(&free)
		return n - free
	}

	// heldHooks adds the events of the webhook deliveries a dispatcher holds
	// (claimed, not yet recorded) to held. A worker killed between the
	// receiver's 2xx and its record sends those again after their lease, as
	// docs/webhooks.md says (deduplicate by event id); no other may come twice.
	heldHooks := map[string]bool{}
	noteHeldHooks := func() error {
		rows, err := owner.Query(ctx, "SELECT event_id::text FROM webhook_deliveries WHERE status = 'sending'")
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, id := range ids {
			heldHooks[id] = true
		}
		return err
	}

	// Worker 1 takes the work; it is killed in the middle of it.
	w1, err := dr.workerProcess(ctx, 1)
	if err != nil {
		return err
	}
	defer func() { _ = w1.Process.Kill() }()
	if st, body := dr.call(ctx, "POST", t+"/imports/"+up.ID+"/start", dr.token, `{"mapping":{"name":"name","emails":"emails","phone":"phones"},"mode":"create"}`); st != 202 {
		return fmt.Errorf("start the import: %d %.300s", st, body)
	}
	// Kill when the import is under way, the reminders have come due and
	// the export has started writing.
	var imp struct {
		Status    string `json:"status"`
		Processed int64  `json:"processed"`
		Created   int64  `json:"created"`
		Failed    int64  `json:"failed"`
		Total     int64  `json:"total"`
	}
	var ev struct {
		Status string `json:"status"`
		Done   int64  `json:"done"`
		Rows   int64  `json:"rows"`
	}
	readImport := func() {
		_, b := dr.call(ctx, "GET", t+"/imports/"+up.ID, dr.token, "")
		_ = json.Unmarshal(b, &imp)
	}
	exp := ""
	readExport := func() {
		_, b := dr.call(ctx, "GET", t+"/exports/"+exp, dr.token, "")
		_ = json.Unmarshal(b, &ev)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		readImport()
		// Kill once the reminders are due, or before the import is half
		// done on a machine fast enough to finish it first.
		if imp.Processed > 0 && (time.Now().UTC().Format(time.RFC3339) >= remindAt || imp.Processed >= imp.Total/2) {
			break
		}
		if imp.Status == "completed" || time.Now().After(deadline) {
			return fmt.Errorf("the import finished or stalled before the kill: %+v", imp)
		}
		time.Sleep(50 * time.Millisecond)
	}
	st, body = dr.call(ctx, "POST", t+"/exports", dr.token, `{"entity":"customers","filter":"tag=seed","format":"xlsx"}`)
	var started struct {
		ID string `json:"id"`
	}
	if st != 202 || json.Unmarshal(body, &started) != nil {
		return fmt.Errorf("start the export: %d %.300s", st, body)
	}
	exp = started.ID
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		readExport()
		if ev.Done > 0 || ev.Status == "succeeded" || time.Now().After(deadline) {
			break
		}
	}
	readImport()
	var remindedBefore int
	_ = owner.QueryRow(ctx, "SELECT count(*) FROM notifications WHERE kind = 'task.reminder'").Scan(&remindedBefore)
	warnedBefore, _ := countWarned()
	// More events right at the fault: their deliveries are in flight or
	// queued when it strikes; and more after it.
	const lateEvents = 200
	mkEvents := func(from, n int) error {
		for i := from; i < from+n; i++ {
			if st, body := dr.call(ctx, "POST", t+"/tasks", dr.token, fmt.Sprintf(`{"title":"Drill event %03d"}`, i)); st != 201 {
				return fmt.Errorf("create a task: %d %.300s", st, body)
			}
		}
		return nil
	}
	if err := mkEvents(0, lateEvents/2); err != nil {
		return err
	}
	killedAt := time.Now()
	hooksAtFault := hooks.distinct()
	switch dr.fault {
	case "kill-worker":
		if err := w1.Process.Signal(syscall.SIGKILL); err != nil {
			return err
		}
		if err := noteHeldHooks(); err != nil {
			return err
		}
	case "redis-flush":
		opt, err := redis.ParseURL(dr.redis.URL)
		if err != nil {
			return err
		}
		rc := redis.NewClient(opt)
		err = rc.FlushAll(ctx).Err()
		rc.Close()
		if err != nil {
			return fmt.Errorf("flush Redis: %w", err)
		}
	}
	if err := mkEvents(lateEvents/2, lateEvents/2); err != nil {
		return err
	}
	events := reminders + lateEvents
	what := map[string]string{"kill-worker": "SIGKILL", "redis-flush": "FLUSHALL"}[dr.fault]
	fmt.Fprintf(dr.out, name+" %s with the import at %d of %d rows, the export %s at %d of %d rows, %d of %d reminders notified, %d of %d SLA warnings, %d of %d webhooks delivered\n",
		what, imp.Processed, imp.Total, ev.Status, ev.Done, seeded, remindedBefore, reminders, warnedBefore, slaTickets, hooksAtFault, events)
	if ev.Status == "succeeded" {
		fmt.Fprintln(dr.out, name+" note: the export finished before the fault, so it was not exercised in this run")
	}
	var w2 *exec.Cmd
	if dr.fault == "kill-worker" {
		// The replacement starts at once.
		if w2, err = dr.workerProcess(ctx, 2); err != nil {
			return err
		}
		defer func() { _ = w2.Process.Kill() }()
	}
	processedAtKill, exportAtKill := imp.Processed, ev.Done
	var importBack, exportBack, remindBack, reportBack time.Duration
	// The reports fall due after the first kill: the worker that took over
	// is killed in its turn while it renders and mails them (it holds a
	// delivery), and a third takes over.
	var reportKilledAt time.Time
	reportsAtKill, heldAtKill, polls := 0, 0, 0
	deadline = time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		if w2 != nil && reportKilledAt.IsZero() {
			made, sent := countReports()
			held := 0
			if made > sent {
				held = inDelivery()
			}
			if held > 0 {
				if err := w2.Process.Signal(syscall.SIGKILL); err != nil {
					return err
				}
				reportKilledAt, reportsAtKill, heldAtKill = time.Now(), sent, held
				if err := noteHeldHooks(); err != nil {
					return err
				}
				fmt.Fprintf(dr.out, name+" SIGKILL again, with %d of %d scheduled reports sent and %d being rendered or mailed\n", sent, made, held)
				w3, err := dr.workerProcess(ctx, 3)
				if err != nil {
					return err
				}
				defer func() { _ = w3.Process.Kill() }()
			} else if sent < drillReports {
				// Watch the reports closely; the rest every 200 ms.
				if polls++; polls%40 != 0 {
					time.Sleep(5 * time.Millisecond)
					continue
				}
			}
		}
		readImport()
		readExport()
		if importBack == 0 && (imp.Processed != processedAtKill || imp.Status == "completed") {
			importBack = time.Since(killedAt)
		}
		if exportBack == 0 && (ev.Done != exportAtKill || ev.Status == "succeeded") {
			exportBack = time.Since(killedAt)
		}
		var reminded int
		_ = owner.QueryRow(ctx, "SELECT count(*) FROM notifications WHERE kind = 'task.reminder'").Scan(&reminded)
		if remindBack == 0 && (reminded > remindedBefore || reminded == reminders) {
			remindBack = time.Since(killedAt)
		}
		warned, _ := countWarned()
		_, reportsSent := countReports()
		if !reportKilledAt.IsZero() && reportBack == 0 && reportsSent > reportsAtKill {
			reportBack = time.Since(reportKilledAt)
		}
		if imp.Status == "completed" && ev.Status == "succeeded" && reminded == reminders && warned >= slaTickets && hooks.distinct() == events && reportsSent >= drillReports {
			// Reminder mails wait a few seconds to share one mail.
			if mailed, _ := reminderLinesInMail(filepath.Join(dr.cfg.DataDir, "mail")); mailed >= reminders {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	done := time.Since(killedAt)
	show := func(d time.Duration) string {
		if d == 0 {
			return "never"
		}
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	fmt.Fprintf(dr.out, name+" from the fault to running again: import %s, export %s, reminders %s; all done %.1f s after the fault\n",
		show(importBack), show(exportBack), show(remindBack), done.Seconds())
	for name, d := range map[string]time.Duration{"import": importBack, "export": exportBack} {
		check(d > 0 && d <= killWorkerTakeoverBar, "the %s ran again %s after the kill, bar %s", name, show(d), killWorkerTakeoverBar)
	}
	check(remindedBefore == reminders || (remindBack > 0 && remindBack <= killWorkerTakeoverBar), "the reminders went on %s after the kill, bar %s", show(remindBack), killWorkerTakeoverBar)
	if dr.fault == "kill-worker" {
		fmt.Fprintf(dr.out, name+" from the second kill to reports sent again: %s\n", show(reportBack))
		check(!reportKilledAt.IsZero(), "the second kill never came: no worker was seen holding a report delivery")
		check(reportKilledAt.IsZero() || (reportBack > 0 && reportBack <= killWorkerTakeoverBar), "the reports went on %s after the second kill, bar %s", show(reportBack), killWorkerTakeoverBar)
	}

	// Exactly once.
	readImport()
	check(imp.Status == "completed" && imp.Created == imported && imp.Failed == 0, "the import: %+v, want completed with %d created", imp, imported)
	var customers, distinctEmails int
	_ = owner.QueryRow(ctx, "SELECT count(*) FROM customers WHERE name LIKE 'Imported %'").Scan(&customers)
	_ = owner.QueryRow(ctx, "SELECT count(DISTINCT value) FROM customer_contacts WHERE value LIKE '%@import.example'").Scan(&distinctEmails)
	check(customers == imported, "customers from the import: %d, want %d (each row once)", customers, imported)
	readExport()
	check(ev.Status == "succeeded" && ev.Rows == seeded, "the export: %+v, want succeeded with %d rows", ev, seeded)
	if st, file := dr.download(ctx, t+"/exports/"+exp+"/download"); st == 200 {
		rows, err := xlsxDataRows(file)
		check(err == nil && rows == seeded, "the export's file has %d data rows (%v), want %d", rows, err, seeded)
	} else {
		check(false, "download the export: %d", st)
	}
	warned, warnedTickets := countWarned()
	fmt.Fprintf(dr.out, name+" SLA warnings: %d for %d tickets\n", warned, warnedTickets)
	check(warned == slaTickets && warnedTickets == slaTickets, "SLA warnings: %d for %d tickets, want %d, one each", warned, warnedTickets, slaTickets)
	made, sent := countReports()
	reportMails, reportMailsTwice := reportMailsIn(filepath.Join(dr.cfg.DataDir, "mail"))
	fmt.Fprintf(dr.out, name+" scheduled reports: %d deliveries made for %d subscriptions due at %s, %d sent, %d mailed (%d mailed twice)\n",
		made, drillReports, reportAt.Format("15:04 MST"), sent, reportMails, reportMailsTwice)
	check(made == drillReports && sent == drillReports, "scheduled reports: %d deliveries made, %d sent; want %d, each once", made, sent, drillReports)
	// A mail is sent inside its delivery's transaction, last: a worker
	// killed after the mail server took a mail and before the commit makes
	// the retry mail it again, under the same Message-ID (mail clients show
	// it once). Only a delivery a worker held at the second kill may do that.
	mayDouble := heldAtKill
	if reportMailsTwice > 0 {
		fmt.Fprintf(dr.out, name+" note: %d report mails sent twice under one Message-ID: the kill fell between the mail server's acceptance and the commit\n", reportMailsTwice)
	}
	check(reportMails == drillReports && reportMailsTwice <= mayDouble, "scheduled reports mailed: %d distinct, %d twice; want %d, each once but for the %d held at the second kill", reportMails, reportMailsTwice, drillReports, mayDouble)
	var reminded, distinctTasks int
	_ = owner.QueryRow(ctx, "SELECT count(*), count(DISTINCT title) FROM notifications WHERE kind = 'task.reminder'").Scan(&reminded, &distinctTasks)
	check(reminded == reminders && distinctTasks == reminders, "reminder notifications: %d for %d tasks, want %d", reminded, distinctTasks, reminders)
	mailed, doubled := reminderLinesInMail(filepath.Join(dr.cfg.DataDir, "mail"))
	fmt.Fprintf(dr.out, name+" exactly once: %d customers for %d rows, export %d rows, %d reminder notifications, %d reminders mailed (%d twice)\n",
		customers, imported, ev.Rows, reminded, mailed, doubled)
	check(mailed == reminders && doubled == 0, "reminders mailed: %d distinct, %d twice; want %d once each", mailed, doubled, reminders)
	_ = distinctEmails
	time.Sleep(2 * time.Second) // a late double would come in now
	got := hooks.distinct()
	twice, heldTwice := hooks.doubled(heldHooks)
	fmt.Fprintf(dr.out, name+" webhooks: %d events delivered for %d tasks, %d delivered more than once; %d held by a dispatcher at a kill, of which %d came twice (sent, then the kill before the 2xx was recorded)\n",
		got, events, twice, len(heldHooks), heldTwice)
	check(got == events && twice == 0, "webhooks: %d distinct events, %d doubled that no killed dispatcher held; want %d once each", got, twice, events)

	if len(failures) > 0 {
		for _, f := range failures {
			fmt.Fprintf(dr.out, name+" FAIL %s\n", f)
		}
		return fmt.Errorf("%s %d checks failed", name, len(failures))
	}
	fmt.Fprintln(dr.out, name+" passed: every job ran again within the bar and completed exactly once")
	return nil
}

// drillReports is how many report subscriptions the fault drills make due.
const drillReports = 5

// reportMailsIn counts the scheduled-report mails in the mail sink by their
// Message-ID (one per delivery): how many distinct ones, and how many came
// more than once.
func reportMailsIn(dir string) (distinct, doubled int) {
	return countInMail(dir, func(head, _ string, seen map[string]int) {
		for _, line := range strings.Split(head, "\r\n") {
			if id, ok := strings.CutPrefix(line, "Message-ID: <report."); ok {
				seen[id]++
			}
		}
	})
}

// reminderLinesInMail counts the drill's reminder titles in the mail sink:
// how many distinct ones were mailed, and how many were mailed more than once.
func reminderLinesInMail(dir string) (distinct, doubled int) {
	return countInMail(dir, func(_, body string, seen map[string]int) {
		// The body (after the headers, whose subject names a reminder too) is
		// quoted-printable; the titles are plain ASCII.
		for _, line := range strings.Split(strings.ReplaceAll(body, "=\r\n", ""), "\n") {
			line = strings.TrimSpace(line)
			if i := strings.Index(line, "Reminder: Drill reminder "); i >= 0 {
				seen[line[i:]]++
			}
		}
	})
}

// countInMail hands each mail of the sink, split into headers and body, to
// count, which tallies what it finds in seen; it reports how many distinct
// things were seen and how many more than once.
func countInMail(dir string, count func(head, body string, seen map[string]int)) (distinct, doubled int) {
	entries, _ := os.ReadDir(dir)
	seen := map[string]int{}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		head, body := string(raw), ""
		if i := strings.Index(head, "\r\n\r\n"); i >= 0 {
			head, body = head[:i], head[i+4:]
		}
		count(head, body, seen)
	}
	for _, n := range seen {
		distinct++
		if n > 1 {
			doubled++
		}
	}
	return distinct, doubled
}

// xlsxDataRows counts the rows of an export's first sheet, the header aside.
func xlsxDataRows(file []byte) (int, error) {
	zr, err := zip.NewReader(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		return 0, err
	}
	for _, f := range zr.File {
		if !strings.HasPrefix(f.Name, "xl/worksheets/") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return 0, err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return 0, err
		}
		return bytes.Count(b, []byte("<row ")) - 1, nil
	}
	return 0, fmt.Errorf("no worksheet in the file")
}

// download reads a file the API streams, up to 256 MB.
func (dr *drill) download(ctx context.Context, path string) (int, []byte) {
	req, err := http.NewRequestWithContext(ctx, "GET", dr.base+path, nil)
	if err != nil {
		return 0, nil
	}
	req.Header.Set("X-Session-Token", dr.token)
	resp, err := dr.hc.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	return resp.StatusCode, b
}

// hookCounter is the drill's webhook receiver: it answers 200 and counts each
// event id it gets.
type hookCounter struct {
	mu   sync.Mutex
	seen map[string]int
}

func (h *hookCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	h.mu.Lock()
	h.seen[r.Header.Get("Clientele-Event-Id")]++
	h.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (h *hookCounter) distinct() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.seen)
}

// doubled counts the events that arrived more than once: those not in held,
// and those in it (held by a dispatcher when it was killed).
func (h *hookCounter) doubled(held map[string]bool) (others, ofHeld int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, c := range h.seen {
		switch {
		case c > 1 && held[id]:
			ofHeld++
		case c > 1:
			others++
		}
	}
	return others, ofHeld
}
