package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/tasks"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/notify"
)

// reminderBench is `clientele bench -reminders` (issue 14): n reminders due in
// the same minute must each reach the in-app notification centre exactly once
// and within 60 s of its due time, although Redis is flushed once half of them
// are delivered. It runs against a database of its own (created afresh, then
// migrated) and a Redis database number of its own, with the production
// worker settings (concurrency, sweep interval, poll intervals) from the
// environment. Members want email (the default), so every reminder also
// queues a mail, counted by an in-process mailer.
type reminderBench struct {
	on      *bool
	n       *int
	spread  *time.Duration
	redisDB *int
	dbName  *string
	flush   *bool
	keep    *bool
	// reuse keeps an existing database instead of creating it afresh (the
	// funnel benchmark's generated deals).
	reuse bool
}

func reminderBenchFlags(fs *flag.FlagSet) *reminderBench {
	return &reminderBench{
		on:      fs.Bool("reminders", false, "run only the reminder benchmark: reminders due in one minute, delivered exactly once within 60 s, with a Redis flush midway (its own database and Redis db)"),
		n:       fs.Int("reminder-count", 10_000, "reminders due in the minute"),
		spread:  fs.Duration("reminder-spread", time.Minute, "the due times spread over this long from the start of the minute (0: all at the same instant)"),
		redisDB: fs.Int("reminder-redis-db", 14, "the Redis database number the reminder benchmark uses and flushes"),
		dbName:  fs.String("reminder-db", "clientele_bench_reminders", "the database the reminder benchmark creates afresh (dropped first if it exists)"),
		flush:   fs.Bool("reminder-flush", true, "flush Redis once half the reminders are delivered"),
		keep:    fs.Bool("reminder-keep-db", false, "keep the benchmark's database afterwards"),
	}
}

// reminderBar is the bar: every reminder within this of its due time.
const reminderBar = 60 * time.Second

// benchMailer counts the mails the notification centre sends, by member and
// reminder line (each bench task has its own title), and when each went out.
type benchMailer struct {
	mu    sync.Mutex
	mails int
	sent  map[string]int
	at    map[string]time.Time
}

func (m *benchMailer) MailMember(_ context.Context, _, member uuid.UUID, _, text string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mails++
	// A mail lists each reminder it carries on a line of its own.
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "Reminder: ") {
			continue
		}
		k := member.String() + " " + line
		m.sent[k]++
		if _, ok := m.at[k]; !ok {
			m.at[k] = time.Now()
		}
	}
	return nil
}

func (b *reminderBench) run(ctx context.Context, cfg config.Config) error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	release, err := b.leaseRedisDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer release()
	bcfg, drop, err := b.ownStores(ctx, cfg, quiet)
	if err != nil {
		return err
	}
	defer drop()
	if err := noOtherWorkers(ctx, bcfg); err != nil {
		return err
	}
	ro, err := redis.ParseURL(bcfg.RedisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(ro)
	defer rdb.Close()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return err
	}
	tenant, _, err := ensureTenant(ctx, bcfg, "bench-reminders", "Bench Reminders Co.")
	if err != nil {
		return err
	}
	app, err := db.Open(ctx, bcfg.AppDatabaseURL, bcfg.WorkerConcurrency+4)
	if err != nil {
		return err
	}
	defer app.Close()
	client := jobs.NewClient(benchRedisOpt(bcfg), app, quiet)
	defer client.Close()
	box := &benchMailer{sent: map[string]int{}, at: map[string]time.Time{}}
	notices := notify.New(notify.Deps{DB: app, Jobs: client, Mail: box, Log: quiet})
	tk := tasks.New(tasks.Deps{DB: app, Jobs: client, Notify: notices, Log: quiet})
	handlers := append(tk.Jobs(), notices.Jobs()...)
	client.Register(handlers...)

	n := *b.n
	fmt.Fprintf(os.Stderr, "bench: creating %d tasks with reminders…\n", n)
	due, err := b.createTasks(ctx, app, tk, tenant, n)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: reminders due from %s over %s; worker concurrency %d, sweep every %s\n",
		due.Format("15:04:05"), *b.spread, bcfg.WorkerConcurrency, bcfg.SweepInterval)

	srv := jobs.NewServer(jobs.ServerOptions{Redis: benchRedisOpt(bcfg), DB: app, Concurrency: bcfg.WorkerConcurrency, Logger: quiet,
		Handlers: handlers, SweepInterval: bcfg.SweepInterval, NoScheduler: true, ShutdownTimeout: bcfg.ShutdownTimeout})
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Shutdown()

	count := func() (int, error) {
		var c int
		err := db.InTenant(ctx, app, tenant, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewRaw("SELECT count(*) FROM notifications WHERE tenant_id = ?", tenant).Scan(ctx, &c)
		})
		return c, err
	}
	var flushedAt time.Time
	flushedWith := 0
	deadline := due.Add(*b.spread + reminderBar + 30*time.Second)
	for {
		c, err := count()
		if err != nil {
			return err
		}
		if *b.flush && flushedAt.IsZero() && c >= n/2 {
			if err := rdb.FlushDB(ctx).Err(); err != nil {
				return err
			}
			flushedAt, flushedWith = time.Now(), c
			fmt.Fprintf(os.Stderr, "bench: Redis flushed at %s with %d of %d delivered\n", flushedAt.Format("15:04:05"), c, n)
		}
		if c >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	// Give mails and any duplicate delivery time to show.
	mailDeadline := time.Now().Add(reminderBar)
	for time.Now().Before(mailDeadline) {
		box.mu.Lock()
		m := len(box.sent)
		box.mu.Unlock()
		if m >= n {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	return b.report(ctx, app, tenant, n, box, flushedAt, flushedWith, bcfg)
}

// ownStores creates the benchmark's own database, migrates it, and points a
// copy of the configuration at it and at the benchmark's Redis database.
func (b *reminderBench) ownStores(ctx context.Context, cfg config.Config, log *slog.Logger) (config.Config, func(), error) {
	name := *b.dbName
	if !strings.HasPrefix(name, "clientele_bench") || strings.ContainsAny(name, " ;\"'") {
		return config.Config{}, nil, fmt.Errorf("bench: -reminder-db %q: use a name starting with clientele_bench", name)
	}
	admin, err := db.Open(ctx, withDBName(cfg.DatabaseURL, "postgres"), 1)
	if err != nil {
		return config.Config{}, nil, err
	}
	defer admin.Close()
	exists := false
	if b.reuse {
		if err := admin.NewRaw("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = ?)", name).Scan(ctx, &exists); err != nil {
			return config.Config{}, nil, err
		}
	}
	for _, q := range []string{"DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", "CREATE DATABASE " + name + " TEMPLATE template0 ENCODING 'UTF8'"} {
		if exists {
			break
		}
		if _, err := admin.ExecContext(ctx, q); err != nil {
			return config.Config{}, nil, fmt.Errorf("bench: %s: %w", q, err)
		}
	}
	drop := func() {
		if *b.keep {
			return
		}
		if a, err := db.Open(context.Background(), withDBName(cfg.DatabaseURL, "postgres"), 1); err == nil {
			_, _ = a.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			a.Close()
		}
	}
	over := map[string]string{
		"CLIENTELE_DATABASE_URL":     withDBName(cfg.DatabaseURL, name),
		"CLIENTELE_APP_DATABASE_URL": withDBName(cfg.AppDatabaseURL, name),
		"CLIENTELE_REDIS_URL":        withRedisDB(cfg.RedisURL, *b.redisDB),
	}
	bcfg, err := config.Parse(func(k string) (string, bool) {
		if v, ok := over[k]; ok {
			return v, true
		}
		return os.LookupEnv(k)
	})
	if err != nil {
		drop()
		return config.Config{}, nil, err
	}
	if err := runMigrate(ctx, bcfg, log); err != nil {
		drop()
		return config.Config{}, nil, err
	}
	return bcfg, drop, nil
}

// leaseRedisDB takes the benchmark's Redis database number with the lease the
// test kit uses (a key in database 0), so that no test run is handed the
// database this benchmark flushes, and this benchmark never flushes a test's.
func (b *reminderBench) leaseRedisDB(ctx context.Context, cfg config.Config) (func(), error) {
	n := *b.redisDB
	if n < 1 || n > 15 {
		return nil, fmt.Errorf("bench: -reminder-redis-db %d: use 1 to 15", n)
	}
	o, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, err
	}
	o.DB = 0
	lease := redis.NewClient(o)
	key, token := fmt.Sprintf("clientele:testkit:db:%d", n), uuid.NewString()
	ok, err := lease.SetNX(ctx, key, token, 30*time.Minute).Result()
	if err != nil {
		lease.Close()
		return nil, fmt.Errorf("bench: redis: %w", err)
	}
	if !ok {
		lease.Close()
		return nil, fmt.Errorf("bench: Redis database %d is leased by a test run; pick another with -reminder-redis-db", n)
	}
	return func() {
		if v, _ := lease.Get(context.Background(), key).Result(); v == token {
			lease.Del(context.Background(), key)
		}
		lease.Close()
	}, nil
}

func withDBName(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + name
	return u.String()
}

func withRedisDB(raw string, n int) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + strconv.Itoa(n)
	return u.String()
}

// createTasks makes n open tasks for 50 members, reminding in the first whole
// minute that starts at least 20 s after they are all written, spread over
// -reminder-spread. It returns the start of that minute.
func (b *reminderBench) createTasks(ctx context.Context, app *bun.DB, tk *tasks.Module, tenant uuid.UUID, n int) (time.Time, error) {
	members := make([]uuid.UUID, 50)
	for i := range members {
		members[i] = uuid.New()
	}
	// Creating runs at roughly 500 tasks a second here; leave room for it.
	due := time.Now().Add(20*time.Second + time.Duration(n)*3*time.Millisecond).Truncate(time.Minute).Add(time.Minute)
	rng := rand.New(rand.NewPCG(14, uint64(n)))
	sys := authz.WithActor(ctx, authz.Actor{Kind: authz.ActorSystem})
	start := time.Now()
	for done := 0; done < n; {
		batch := min(500, n-done)
		err := db.InTenant(sys, app, tenant, func(ctx context.Context, _ bun.Tx) error {
			for i := 0; i < batch; i++ {
				at := due
				if *b.spread > 0 {
					at = due.Add(time.Duration(rng.Int64N(int64(*b.spread))))
				}
				who := members[(done+i)%len(members)]
				if _, err := tk.CreateTask(ctx, tenant, tasks.TaskInput{Title: fmt.Sprintf("Call back 回电 #%d", done+i), AssigneeID: &who, RemindAt: &at}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return time.Time{}, err
		}
		done += batch
	}
	fmt.Fprintf(os.Stderr, "bench: %d tasks written in %.1f s\n", n, time.Since(start).Seconds())
	if time.Now().After(due) {
		return time.Time{}, fmt.Errorf("bench: writing the tasks ran past their due minute; lower -reminder-count")
	}
	return due, nil
}

func (b *reminderBench) report(ctx context.Context, app *bun.DB, tenant uuid.UUID, n int, box *benchMailer, flushedAt time.Time, flushedWith int, bcfg config.Config) error {
	type row struct {
		Title    string    `bun:"title"`
		Assignee uuid.UUID `bun:"assignee_id"`
		RemindAt time.Time `bun:"remind_at"`
		Notes    int       `bun:"notes"`
		Late     *float64  `bun:"late"`
	}
	var rows []row
	err := db.InTenant(ctx, app, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT t.title, t.assignee_id, t.remind_at, count(n.id) AS notes,
				extract(epoch FROM min(n.created_at) - t.remind_at)::float8 AS late
			FROM tasks t LEFT JOIN notifications n ON n.tenant_id = t.tenant_id AND n.link = '/tasks/' || t.id::text
			WHERE t.tenant_id = ? GROUP BY t.tenant_id, t.id`, tenant).Scan(ctx, &rows)
	})
	if err != nil {
		return err
	}
	var late, mailLate []float64
	missing, dupes, mailMissing, mailDupes := 0, 0, 0, 0
	box.mu.Lock()
	for _, r := range rows {
		switch {
		case r.Notes == 0:
			missing++
		case r.Notes > 1:
			dupes += r.Notes - 1
		}
		if r.Late != nil {
			late = append(late, *r.Late)
		}
		k := r.Assignee.String() + " Reminder: " + r.Title
		switch c := box.sent[k]; {
		case c == 0:
			mailMissing++
		case c > 1:
			mailDupes += c - 1
		}
		if at, ok := box.at[k]; ok {
			mailLate = append(mailLate, at.Sub(r.RemindAt).Seconds())
		}
	}
	box.mu.Unlock()
	pct := func(xs []float64, p float64) float64 {
		if len(xs) == 0 {
			return 0
		}
		sort.Float64s(xs)
		return xs[min(len(xs)-1, int(p*float64(len(xs))))]
	}
	fmt.Printf("\nReminders: %d due in one minute (spread %s), worker concurrency %d, sweep every %s\n", n, *b.spread, bcfg.WorkerConcurrency, bcfg.SweepInterval)
	if !flushedAt.IsZero() {
		fmt.Printf("Redis flushed once, with %d of %d delivered\n", flushedWith, n)
	}
	fmt.Printf("in-app lateness  p50 %.1f s  p99 %.1f s  max %.1f s  (bar: every one within %.0f s)\n", pct(late, .5), pct(late, .99), pct(late, 1), reminderBar.Seconds())
	fmt.Printf("in-app           delivered %d  missing %d  duplicates %d\n", len(rows)-missing, missing, dupes)
	fmt.Printf("email lateness   p50 %.1f s  p99 %.1f s  max %.1f s\n", pct(mailLate, .5), pct(mailLate, .99), pct(mailLate, 1))
	fmt.Printf("email            reminders mailed %d in %d mails  missing %d  duplicates %d\n", len(mailLate), box.mails, mailMissing, mailDupes)
	var fails []string
	if len(rows) != n {
		fails = append(fails, fmt.Sprintf("%d tasks, want %d", len(rows), n))
	}
	if missing > 0 || dupes > 0 {
		fails = append(fails, fmt.Sprintf("%d missing and %d duplicate notifications", missing, dupes))
	}
	if mx := pct(late, 1); mx > reminderBar.Seconds() {
		fails = append(fails, fmt.Sprintf("the latest reminder came %.1f s after its due time", mx))
	}
	if mailDupes > 0 {
		fails = append(fails, fmt.Sprintf("%d duplicate mails", mailDupes))
	}
	if *b.flush && flushedAt.IsZero() {
		fails = append(fails, "Redis was never flushed")
	}
	if len(fails) > 0 {
		return fmt.Errorf("bench: reminders missed the bar: %s", strings.Join(fails, "; "))
	}
	fmt.Println("PASS: every reminder delivered once, within 60 s of its due time")
	return nil
}
