package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/tickets"
	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/db"
)

// ticketBench is `clientele bench -tickets` (issue 17): a company holding
// rows tickets beside a neighbour holding a fifth as many. Two figures, each
// against its floor measured in the same run:
//   - the inbox (a team's tickets whose SLA clock runs, most urgent first, 50
//     a page) through the API, against the very SQL the API sends, through pgx;
//   - creating a ticket through the API (number, SLA due times from a policy,
//     round-robin assignment, audit), against a raw INSERT of a ticket row.
//
// The tickets are generated once with INSERT ... SELECT generate_series (a
// few seconds per 100,000 rows) and kept for later runs.
type ticketBench struct {
	on       *bool
	rows     *int
	requests *int
	conc     *int
	only     *string
	profile  *string
}

func ticketBenchFlags(fs *flag.FlagSet) *ticketBench {
	return &ticketBench{
		on:       fs.Bool("tickets", false, "run only the tickets benchmark: the inbox query and ticket creation against their pgx floors"),
		rows:     fs.Int("ticket-rows", 500_000, "tickets in the bench company (the neighbour gets a fifth as many)"),
		requests: fs.Int("ticket-requests", 1000, "measured requests per path"),
		conc:     fs.Int("ticket-concurrency", 4, "parallel clients in the throughput phase"),
		profile:  fs.String("ticket-cpuprofile", "", "write a CPU profile of the API phases (latency and throughput) to this file"),
		only:     fs.String("ticket-only", "", "run only this path: inbox or create (with -cpuprofile, to profile one path)"),
	}
}

// Targets of the issue: the share of the floor's throughput the API reaches.
const (
	inboxTarget  = 0.50
	createTarget = 0.20
)

func (b *ticketBench) run(ctx context.Context, cfg config.Config) error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := runMigrate(ctx, cfg, quiet); err != nil {
		return err
	}
	tenant, _, err := ensureTenant(ctx, cfg, "bench-tickets", "Bench Tickets Co.")
	if err != nil {
		return err
	}
	noise, _, err := ensureTenant(ctx, cfg, "bench-tickets-noise", "Bench Tickets Neighbour Co.")
	if err != nil {
		return err
	}
	stopKratos, err := ensureKratos(ctx, cfg, quiet)
	if err != nil {
		return err
	}
	defer stopKratos()
	email, password := "bench@clientele.example", "Bench-Passw0rd-2026!"
	if err := registerAPI(ctx, cfg.KratosPublicURL, email, password, "Bench"); err != nil && !errors.Is(err, errExists) {
		return err
	}
	token, err := loginAPI(ctx, cfg.KratosPublicURL, email, password)
	if err != nil {
		return err
	}
	if err := addMember(ctx, cfg, quiet, tenant, email); err != nil {
		return err
	}
	cfg.RatePerTenant, cfg.RatePerKey = 10_000_000, 10_000_000
	tuneServeGC(cfg) // the API in this process runs as serve runs it
	d, err := openDeps(ctx, cfg, quiet)
	if err != nil {
		return err
	}
	defer d.Close()
	srv := buildHTTP(d)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = srv.App.Listener(ln) }()
	defer srv.App.Shutdown()
	base := "http://" + ln.Addr().String() + "/api/v1/t/bench-tickets"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}

	team, err := b.desk(client, base, token, email)
	if err != nil {
		return err
	}
	for _, t := range []struct {
		id   uuid.UUID
		rows int
	}{{tenant, *b.rows}, {noise, *b.rows / 5}} {
		if err := b.generate(ctx, cfg, t.id, t.rows, team); err != nil {
			return err
		}
	}
	pool, err := pgxpool.New(ctx, cfg.AppDatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	var customer uuid.UUID
	var floorNumber atomic.Int64
	if err := pgxTenant(ctx, pool, tenant, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT id FROM customers WHERE tenant_id = $1 LIMIT 1", tenant).Scan(&customer); err != nil {
			return err
		}
		var top int64
		err := tx.QueryRow(ctx, "SELECT coalesce(max(number), 0) FROM tickets WHERE tenant_id = $1 AND number >= 900000000", tenant).Scan(&top)
		floorNumber.Store(max(top, 900_000_000))
		return err
	}); err != nil {
		return err
	}

	// The gap-free floor: the least SQL that keeps numbers gap-free, a
	// counter row taken and a ticket inserted in one transaction, in the
	// neighbour company (its own counter, so the API's numbers are
	// untouched). Concurrent creations of one company queue on that row
	// until each COMMIT is flushed, as the API's do.
	var noiseCustomer uuid.UUID
	if err := pgxTenant(ctx, pool, noise, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT id FROM customers WHERE tenant_id = $1 LIMIT 1", noise).Scan(&noiseCustomer)
	}); err != nil {
		return err
	}
	// The floor sends the SQL the API sends: bun writes it (arguments
	// inlined, as bun sends them) from the same model and conditions.
	inboxSQL := d.db.NewSelect().Model(&[]tickets.Ticket{}).Where("t.tenant_id = ?", tenant).Where("t.status IN (?)", bun.In([]string{"new", "open"})).
		Where("t.team_id = ?", team).Where("t.sla_due_at IS NOT NULL").OrderExpr("t.sla_due_at ASC, t.id ASC").Limit(51).String()
	// The same list of one ticket: what every request of the path costs
	// whatever its rows (HTTP, session, access, the tenant transaction).
	oneSQL := strings.Replace(inboxSQL, "LIMIT 51", "LIMIT 2", 1)
	if oneSQL == inboxSQL {
		return fmt.Errorf("bench: the inbox's SQL has no LIMIT 51: %s", inboxSQL)
	}
	type scenario struct {
		name   string
		target float64
		floor  func() error
		api    func() error
	}
	scenarios := []scenario{
		{
			name:   "inbox: team's open tickets by SLA, 50",
			target: inboxTarget,
			floor: func() error {
				return pgxTenant(ctx, pool, tenant, func(tx pgx.Tx) error { return drain(ctx, tx, inboxSQL) })
			},
			api: func() error {
				return getJSONAuth(client, base+"/tickets?team="+team.String()+"&status=new,open&sort=sla_due_at&limit=50", token)
			},
		},
		{
			name:   "inbox1: the same, 1 ticket (no target)",
			target: 0,
			floor: func() error {
				return pgxTenant(ctx, pool, tenant, func(tx pgx.Tx) error { return drain(ctx, tx, oneSQL) })
			},
			api: func() error {
				return getJSONAuth(client, base+"/tickets?team="+team.String()+"&status=new,open&sort=sla_due_at&limit=1", token)
			},
		},
		{
			name:   "create: SLA, round-robin, audit",
			target: createTarget,
			floor: func() error {
				return pgxTenant(ctx, pool, tenant, func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO tickets (tenant_id, id, number, subject, requester_id, channel, type, priority, status, team_id)
						VALUES ($1, $2, $3, 'Bench floor', $4, 'email', 'incident', 'high', 'new', NULL)`, tenant, uuid.New(), floorNumber.Add(1), customer)
					return err
				})
			},
			api: func() error {
				body := fmt.Sprintf(`{"subject":"Bench 工单 %s","channel":"email","type":"incident","priority":"high","requester_id":%q,"team_id":%q}`,
					uuid.NewString()[:8], customer, team)
				return postStatus(client, base+"/tickets", body, token, 201)
			},
		},
		{
			// No target: it shows what gap-free numbering alone allows. Its
			// "floor" is the raw INSERT above; its "api" is the same INSERT
			// with a gap-free number, which is the least any create that
			// keeps numbers gap-free can do.
			name:   "gapfree: raw INSERT + gap-free number",
			target: 0,
			floor: func() error {
				return pgxTenant(ctx, pool, tenant, func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO tickets (tenant_id, id, number, subject, requester_id, channel, type, priority, status, team_id)
						VALUES ($1, $2, $3, 'Bench floor', $4, 'email', 'incident', 'high', 'new', NULL)`, tenant, uuid.New(), floorNumber.Add(1), customer)
					return err
				})
			},
			api: func() error {
				return pgxTenant(ctx, pool, noise, func(tx pgx.Tx) error {
					// The number as the API takes it (ticket_next_number: the
					// company's counter row, locked until COMMIT).
					_, err := tx.Exec(ctx, `INSERT INTO tickets (tenant_id, id, number, subject, requester_id, channel, type, priority, status, team_id)
						VALUES ($1, $2, ticket_next_number($1), 'Bench gap-free floor', $3, 'email', 'incident', 'high', 'new', NULL)`, noise, uuid.New(), noiseCustomer)
					return err
				})
			},
		},
	}
	fmt.Printf("clientele bench -tickets: %d tickets in bench-tickets, %d in its neighbour; %d requests per path, concurrency %d\n\n",
		*b.rows, *b.rows/5, *b.requests, *b.conc)
	fmt.Printf("%-40s %10s %10s %10s %10s %9s %8s\n", "scenario", "floor p50", "api p50", "floor rps", "api rps", "api/floor", "target")
	for _, s := range scenarios {
		if *b.only != "" && !strings.HasPrefix(s.name, *b.only+":") {
			continue
		}
		fl, err := latencies(s.floor, *b.requests)
		if err != nil {
			return fmt.Errorf("%s floor: %w", s.name, err)
		}
		frps, err := throughput(s.floor, *b.requests, *b.conc)
		if err != nil {
			return err
		}
		stop, err := startProfile(*b.profile)
		if err != nil {
			return err
		}
		ap, err := latencies(s.api, *b.requests)
		if err != nil {
			stop()
			return fmt.Errorf("%s api: %w", s.name, err)
		}
		arps, err := throughput(s.api, *b.requests, *b.conc)
		stop()
		if err != nil {
			return err
		}
		verdict := "met"
		switch {
		case s.target == 0:
			verdict = "-"
		case arps/frps < s.target:
			verdict = "NOT MET"
		}
		fmt.Printf("%-40s %10s %10s %10.0f %10.0f %8.0f%% %5.0f%% %s\n", s.name, fl[len(fl)/2].Round(time.Microsecond), ap[len(ap)/2].Round(time.Microsecond),
			frps, arps, 100*arps/frps, 100*s.target, verdict)
	}
	return nil
}

// startProfile starts a CPU profile into path (nothing when path is empty)
// and answers what stops it.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// desk makes (once) the bench company's team with the bench member available
// in it and an SLA policy every ticket matches, and answers the team's id.
func (b *ticketBench) desk(c *http.Client, base, token, email string) (uuid.UUID, error) {
	var members struct {
		Items []struct {
			IdentityID uuid.UUID `json:"identity_id"`
			Email      string    `json:"email"`
		} `json:"items"`
	}
	if err := getInto(c, base+"/members", token, &members); err != nil {
		return uuid.Nil, err
	}
	var me uuid.UUID
	for _, m := range members.Items {
		if strings.EqualFold(m.Email, email) {
			me = m.IdentityID
		}
	}
	var teams struct {
		Items []struct {
			ID   uuid.UUID `json:"id"`
			Name string    `json:"name"`
		} `json:"items"`
	}
	if err := getInto(c, base+"/teams", token, &teams); err != nil {
		return uuid.Nil, err
	}
	var team uuid.UUID
	for _, t := range teams.Items {
		if t.Name == "Bench desk" {
			team = t.ID
		}
	}
	if team == uuid.Nil {
		var out struct {
			ID uuid.UUID `json:"id"`
		}
		if err := sendInto(c, "POST", base+"/teams", token, fmt.Sprintf(`{"name":"Bench desk","members":[%q]}`, me), &out); err != nil {
			return uuid.Nil, err
		}
		team = out.ID
	}
	if err := sendInto(c, "PUT", base+"/ticket-teams/"+team.String()+"/agents/"+me.String(), token, `{"available":true}`, nil); err != nil {
		return uuid.Nil, err
	}
	err := sendInto(c, "POST", base+"/sla-policies", token, `{"name":"Bench SLA","first_response_minutes":60,"next_response_minutes":120,"resolution_minutes":480}`, nil)
	if err != nil && !strings.Contains(err.Error(), "status 409") {
		return uuid.Nil, err
	}
	return team, nil
}

// generate tops a company up to rows tickets (and 20,000 customers to ask
// them): a tenth new, two tenths open (their SLA clock runs: sla_due_at),
// the rest pending, on hold, solved or closed, across five teams, team the
// first of them, and forty assignees. In batches of 100,000, each one
// INSERT ... SELECT in the company's transaction.
func (b *ticketBench) generate(ctx context.Context, cfg config.Config, tenant uuid.UUID, rows int, team uuid.UUID) error {
	app, err := db.Open(ctx, cfg.AppDatabaseURL, 2)
	if err != nil {
		return err
	}
	defer app.Close()
	var have, customers int
	if err := db.InTenant(ctx, app, tenant, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewRaw("SELECT count(*) FROM tickets WHERE tenant_id = ?", tenant).Scan(ctx, &have); err != nil {
			return err
		}
		return tx.NewRaw("SELECT count(*) FROM customers WHERE tenant_id = ?", tenant).Scan(ctx, &customers)
	}); err != nil {
		return err
	}
	if have >= rows {
		return nil
	}
	if customers < 20_000 {
		fmt.Fprintf(os.Stderr, "bench: generating %d customers for tenant %s…\n", 20_000-customers, tenant)
		if err := seedCustomers(ctx, cfg, tenant, 20_000-customers, uint64(customers+7)); err != nil {
			return err
		}
	}
	teams := []string{team.String(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "bench: generating %d tickets for tenant %s…\n", rows-have, tenant)
	for done := have; done < rows; {
		batch := min(100_000, rows-done)
		err := db.InTenant(ctx, app, tenant, func(ctx context.Context, tx bun.Tx) error {
			_, err := db.ExecStaged(ctx, tx, `WITH c AS (SELECT array_agg(id) AS ids, count(*)::int AS n FROM (SELECT id FROM customers WHERE tenant_id = ? ORDER BY id LIMIT 20000) x)
				INSERT INTO tickets (tenant_id, id, number, subject, requester_id, channel, type, priority, status, assignee_id, team_id,
					first_response_due_at, resolution_due_at, sla_due_at, first_responded_at, solved_at, closed_at, created_at, updated_at)
				SELECT ?, gen_random_uuid(), 1000 + g, 'Bench ticket ' || g, c.ids[1 + g % c.n],
					(ARRAY['email','phone','web_form','chat','social'])[1 + g % 5],
					(ARRAY['question','incident','complaint','feedback','request'])[1 + (g / 5) % 5],
					(ARRAY['low','normal','normal','high','urgent'])[1 + (g / 25) % 5],
					s.st, ('00000000-0000-4000-8000-' || lpad((g % 40)::text, 12, '0'))::uuid,
					(?::uuid[])[1 + (g / 3) % 5],
					s.created + interval '1 hour', s.created + interval '8 hours',
					CASE WHEN s.st IN ('new', 'open') THEN now() + make_interval(mins => (((g * 7919) % 20000) - 5000)::int) END,
					CASE WHEN s.st NOT IN ('new') THEN s.created + interval '30 minutes' END,
					CASE WHEN s.st IN ('solved', 'closed') THEN s.created + interval '6 hours' END,
					CASE WHEN s.st = 'closed' THEN s.created + interval '3 days' END,
					s.created, s.created
				FROM generate_series(?::bigint, ?::bigint) g CROSS JOIN c
				CROSS JOIN LATERAL (SELECT (ARRAY['new','open','open','pending','on_hold','solved','solved','closed','closed','closed'])[1 + (g / 7) % 10] AS st,
					now() - make_interval(mins => (g % 500000)::int) AS created) s`,
				tenant, tenant, pgArray(teams), done+1, done+batch)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO ticket_counters (tenant_id, last_number) VALUES (?, ?)
				ON CONFLICT (tenant_id) DO UPDATE SET last_number = greatest(ticket_counters.last_number, EXCLUDED.last_number)`, tenant, 1000+done+batch)
			return err
		})
		if err != nil {
			return err
		}
		done += batch
		fmt.Fprintf(os.Stderr, "bench: %d/%d tickets, %s\n", done, rows, time.Since(start).Round(time.Second))
	}
	owner, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer owner.Close(ctx)
	_, err = owner.Exec(ctx, "VACUUM (ANALYZE) tickets")
	return err
}

// pgArray is a text[] literal of ss, for a uuid[] cast.
func pgArray(ss []string) string {
	return "{" + strings.Join(ss, ",") + "}"
}

func getInto(c *http.Client, url, token string, v any) error {
	return sendInto(c, "GET", url, token, "", v)
}

func sendInto(c *http.Client, method, url, token, body string, v any) error {
	req, err := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	if err != nil {
		return err
	}
	req.Header.Set("X-Session-Token", token)
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: status %d: %.300s", method, url, resp.StatusCode, b)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(b, v)
}
