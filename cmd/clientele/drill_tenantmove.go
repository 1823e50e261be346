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
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/db"
)

// runTenantMoveDrill runs the tenant-move drill on Citus: a busy
// tenant is isolated to its own shard and moved to another Citus worker while it
// takes writes through the API and an import runs, and a client-side ledger proves
// that no acknowledged write was lost and no failed one half-applied.
func runTenantMoveDrill(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	if len(args) == 0 || args[0] != "tenant-move" {
		return errors.New("usage: clientele drill tenant-move [-customers N] [-writers N] [-import-rows N]")
	}
	fs := flag.NewFlagSet("drill tenant-move", flag.ContinueOnError)
	nCustomers := fs.Int("customers", 100_000, "customers of the tenant that is moved")
	writers := fs.Int("writers", 4, "concurrent API clients creating and updating customers")
	importRows := fs.Int("import-rows", 20_000, "rows of the import that runs during the move")
	before := fs.Duration("before", 3*time.Second, "writes before the move starts")
	after := fs.Duration("after", 3*time.Second, "writes after the move ended")
	slug := fs.String("tenant", "drill-move", "slug of the tenant that is moved (a tenant can be isolated once)")
	mode := fs.String("transfer-mode", "force_logical", "shard_transfer_mode of the isolation and the move: force_logical (online) or block_writes")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := runMigrate(ctx, cfg, quiet); err != nil {
		return err
	}
	owner, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer owner.Close(ctx)
	var workers int
	if err := owner.QueryRow(ctx, "SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' AND groupid <> 0").Scan(&workers); err != nil {
		return fmt.Errorf("drill: the database is not a Citus coordinator (run `make citus` and point CLIENTELE_DATABASE_URL at it): %w", err)
	}
	if workers < 2 {
		return fmt.Errorf("drill: a tenant move needs two workers, the cluster has %d", workers)
	}

	// The moved tenant, with its customers, and a neighbour that must stay apart.
	tenant, _, err := ensureTenant(ctx, cfg, *slug, "Drill Move Co.")
	if err != nil {
		return err
	}
	neighbour, _, err := ensureTenant(ctx, cfg, "drill-stay", "Drill Neighbour Co.")
	if err != nil {
		return err
	}
	app, err := db.Open(ctx, cfg.AppDatabaseURL, 4)
	if err != nil {
		return err
	}
	defer app.Close()
	for _, t := range []struct {
		id   uuid.UUID
		want int
	}{{tenant, *nCustomers}, {neighbour, 1000}} {
		var have int
		if err := db.InTenant(ctx, app, t.id, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewRaw("SELECT count(*) FROM customers WHERE tenant_id = ?", t.id).Scan(ctx, &have)
		}); err != nil {
			return err
		}
		if have < t.want {
			fmt.Fprintf(os.Stderr, "drill: generating %d customers…\n", t.want-have)
			if err := seedCustomers(ctx, cfg, t.id, t.want-have, uint64(have+1)); err != nil {
				return err
			}
		}
	}

	stopKratos, err := ensureKratos(ctx, cfg, quiet)
	if err != nil {
		return err
	}
	defer stopKratos()
	email, password := "drill@clientele.example", "Drill-Passw0rd-2026!"
	if err := registerAPI(ctx, cfg.KratosPublicURL, email, password, "Drill"); err != nil && !errors.Is(err, errExists) {
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
	base := "http://" + ln.Addr().String() + "/api/v1/t/" + *slug
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 60 * time.Second}

	// The import runs in a worker process of its own, as in production.
	worker, err := startBenchWorker(ctx)
	if err != nil {
		return err
	}
	defer worker.stop()
	path, _, err := writeImportBenchCSV(*importRows)
	if err != nil {
		return err
	}
	defer os.Remove(path)

	led := &ledger{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < *writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			led.write(client, base, token, w, stop)
		}(w)
	}
	up, err := uploadImport(client, base, token, path)
	if err != nil {
		close(stop)
		wg.Wait()
		return err
	}
	body, _ := json.Marshal(map[string]any{"mapping": up.SuggestedMapping, "mode": "create"})
	if err := postStatus(client, base+"/imports/"+up.ID+"/start", string(body), token, 202); err != nil {
		close(stop)
		wg.Wait()
		return fmt.Errorf("drill: start import: %w", err)
	}
	time.Sleep(*before)

	// Online (logical) transfers replicate into the new shards as a role Citus
	// makes for the operation, a member of the caller's role but no
	// superuser; PostgreSQL refuses to apply rows as such a role into a table
	// whose row-level security is forced on its owner ("cannot replicate
	// into relation with row-level security enabled"). For the move the
	// co-located tables are forced no longer, then forced again: the app's
	// role is not their owner, so its reads and writes stay filtered all
	// along.
	restoreRLS := func() {}
	if *mode != "block_writes" {
		restore, err := relaxForcedRLS(ctx, owner)
		if err != nil {
			close(stop)
			wg.Wait()
			return err
		}
		var once sync.Once
		restoreRLS = func() {
			once.Do(func() {
				if err := restore(); err != nil {
					fmt.Fprintf(os.Stderr, "drill: FORCE ROW LEVEL SECURITY could not be set again: %v\n", err)
				}
			})
		}
		defer restoreRLS()
	}
	// The move: the tenant's own shard group, then that group to the other worker.
	moveStart := time.Now()
	iso, err := isolateTenant(ctx, owner, tenant, *mode)
	if err != nil {
		close(stop)
		wg.Wait()
		return err
	}
	shard := iso.shard
	isolated := time.Since(moveStart)
	// Shards made by a split or a move lack the helper roles' column grants
	// (Citus copies table grants only), so the background sweeps that use those
	// roles are refused on them until migrate grants them again, as the runbook
	// says: right after each step.
	grantAt := time.Now()
	if err := runMigrate(ctx, cfg, quiet); err != nil {
		close(stop)
		wg.Wait()
		return fmt.Errorf("drill: migrate after the isolation: %w", err)
	}
	granted := time.Since(grantAt)
	fromHost, fromPort, toHost, toPort := iso.at.host, iso.at.port, iso.other.host, iso.other.port
	moveAt := time.Now()
	if _, err := owner.Exec(ctx, "SELECT citus_move_shard_placement($1, $2, $3, $4, $5, shard_transfer_mode => $6::citus.shard_transfer_mode)",
		shard, fromHost, fromPort, toHost, toPort, *mode); err != nil {
		close(stop)
		wg.Wait()
		return fmt.Errorf("drill: citus_move_shard_placement: %w", err)
	}
	moved := time.Since(moveAt)
	moveEnd := time.Now()
	restoreRLS()
	grantAt = time.Now()
	if err := runMigrate(ctx, cfg, quiet); err != nil {
		close(stop)
		wg.Wait()
		return fmt.Errorf("drill: migrate after the move: %w", err)
	}
	granted += time.Since(grantAt)
	time.Sleep(*after)
	close(stop)
	wg.Wait()

	// The import finishes whatever the move did to it.
	var imp *importBenchView
	for deadline := time.Now().Add(10 * time.Minute); ; {
		if imp, err = getImport(client, base, token, up.ID); err != nil {
			return err
		}
		if imp.Status == "completed" || imp.Status == "failed" || imp.Status == "canceled" || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}

	// The ledger against the database, read back through the tenant transaction.
	lost, half, err := led.verify(ctx, app, tenant)
	if err != nil {
		return err
	}
	// Isolation after the move: the neighbour's transaction sees none of the moved
	// tenant's rows, and the moved tenant's member cannot reach the neighbour.
	var leaked int
	if err := db.InTenant(ctx, app, neighbour, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT count(*) FROM customers WHERE tenant_id = ?", tenant).Scan(ctx, &leaked)
	}); err != nil {
		return err
	}
	var unfiltered int
	if err := db.InTenant(ctx, app, neighbour, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT count(*) FROM customers").Scan(ctx, &unfiltered)
	}); err != nil {
		return err
	}
	var neighbourRows int
	if err := owner.QueryRow(ctx, "SELECT count(*) FROM customers WHERE tenant_id = $1", neighbour).Scan(&neighbourRows); err != nil {
		return err
	}
	crossStatus := statusOf(client, "http://"+ln.Addr().String()+"/api/v1/t/drill-stay/customers?limit=1", token)
	var placement string
	_ = owner.QueryRow(ctx, "SELECT nodename || ':' || nodeport FROM pg_dist_shard_placement WHERE shardid = $1", shard).Scan(&placement)

	s := led.summary(start, moveStart, moveEnd)
	fmt.Printf("drill tenant-move: tenant %s with %d customers, %d writers, an import of %d rows, shard_transfer_mode %s\n", tenant, *nCustomers, *writers, *importRows, *mode)
	fmt.Printf("  %s: shard %d in %s\n", iso.how, shard, isolated.Round(time.Millisecond))
	fmt.Printf("  citus_move_shard_placement:  %s:%d -> %s:%d in %s (now on %s)\n", fromHost, fromPort, toHost, toPort, moved.Round(time.Millisecond), placement)
	fmt.Printf("  migrate after each step (the helper roles' column grants on the new shards): %s in all\n", granted.Round(time.Millisecond))
	fmt.Printf("  API writes: %d acknowledged, %d failed (error rate %.2f%%; during the move %d of %d, %.2f%%)\n",
		s.acked, s.failed, s.rate, s.moveFailed, s.moveTotal, s.moveRate)
	fmt.Printf("  latency p50 %s, p99 %s; longest stall (no write acknowledged) %s, longest request %s\n",
		s.p50, s.p99, s.stall.Round(time.Millisecond), s.longest.Round(time.Millisecond))
	fmt.Printf("  import: %s, %d rows processed (%d created, %d updated, %d skipped, %d failed)\n", imp.Status, imp.Processed, imp.Created, imp.Updated, imp.Skipped, imp.Failed)
	fmt.Printf("  ledger: %d acknowledged writes lost, %d failed writes half-applied\n", lost, half)
	fmt.Printf("  isolation: neighbour sees %d of the moved tenant's rows (filtered) and %d rows unfiltered of its own %d; the moved tenant's member gets %d from the neighbour's customers\n",
		leaked, unfiltered, neighbourRows, crossStatus)
	if lost > 0 || half > 0 || leaked > 0 || unfiltered != neighbourRows || crossStatus != http.StatusNotFound || imp.Status != "completed" {
		return errors.New("drill: FAILED (see above)")
	}
	fmt.Println("drill tenant-move: passed")
	return nil
}

// ledger is the client's record of every write it sent and what came back.
type ledger struct {
	mu     sync.Mutex
	recs   map[uuid.UUID]*ledgerRec // by customer id
	failed []failedCreate
	events []ledgerEvent
}

// ledgerRec is one customer the drill made: its last acknowledged version, and
// the versions of writes whose outcome the client does not know (they failed).
type ledgerRec struct {
	acked   int
	unknown []int
}

type failedCreate struct{ name string }

type ledgerEvent struct {
	at, took time.Duration
	ok       bool
}

func (l *ledger) note(start, began time.Time, ok bool) {
	l.mu.Lock()
	l.events = append(l.events, ledgerEvent{at: time.Since(start), took: time.Since(began), ok: ok})
	l.mu.Unlock()
}

// write creates customers and updates the ones it made, until stop. Every write
// sets the name and the source to the same version, so a half-applied write
// would show as a mismatch.
func (l *ledger) write(c *http.Client, base, token string, w int, stop <-chan struct{}) {
	start := time.Now()
	var mine []uuid.UUID
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		began := time.Now()
		if i%3 == 0 || len(mine) == 0 {
			name := fmt.Sprintf("drill w%d n%d v1", w, i)
			var out struct {
				ID uuid.UUID `json:"id"`
			}
			st, err := send(c, "POST", base+"/customers?allow_duplicate=true", token, map[string]any{"name": name, "source": "v1"}, &out)
			ok := err == nil && st == http.StatusCreated && out.ID != uuid.Nil
			l.mu.Lock()
			if l.recs == nil {
				l.recs = map[uuid.UUID]*ledgerRec{}
			}
			if ok {
				l.recs[out.ID] = &ledgerRec{acked: 1}
				mine = append(mine, out.ID)
			} else {
				l.failed = append(l.failed, failedCreate{name: name})
			}
			l.mu.Unlock()
			l.note(start, began, ok)
			continue
		}
		id := mine[i%len(mine)]
		l.mu.Lock()
		r := l.recs[id]
		v := r.acked + len(r.unknown) + 1
		l.mu.Unlock()
		st, err := send(c, "PATCH", base+"/customers/"+id.String(), token,
			map[string]any{"name": fmt.Sprintf("drill %s v%d", id.String()[:8], v), "source": fmt.Sprintf("v%d", v)}, nil)
		ok := err == nil && st == http.StatusOK
		l.mu.Lock()
		if ok {
			r.acked, r.unknown = v, nil
		} else {
			r.unknown = append(r.unknown, v)
		}
		l.mu.Unlock()
		l.note(start, began, ok)
	}
}

// verify reads every customer of the ledger back: an acknowledged version must be
// there (or a later one the client sent and did not hear back about), and name and
// source must agree. A failed create must be absent or whole.
func (l *ledger) verify(ctx context.Context, app *bun.DB, tenant uuid.UUID) (lost, half int, err error) {
	type row struct {
		ID     uuid.UUID `bun:"id"`
		Name   string    `bun:"name"`
		Source string    `bun:"source"`
	}
	var rows []row
	err = db.InTenant(ctx, app, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT id, name, source FROM customers WHERE tenant_id = ? AND name LIKE 'drill %'", tenant).Scan(ctx, &rows)
	})
	if err != nil {
		return 0, 0, err
	}
	got := map[uuid.UUID]row{}
	byName := map[string]row{}
	for _, r := range rows {
		got[r.ID] = r
		byName[r.Name] = r
	}
	for id, rec := range l.recs {
		r, ok := got[id]
		if !ok {
			lost++
			continue
		}
		var v int
		if _, err := fmt.Sscanf(r.Source, "v%d", &v); err != nil {
			half++
			continue
		}
		if (v == 1 && !bytes.HasSuffix([]byte(r.Name), []byte(" v1"))) || (v > 1 && !bytes.HasSuffix([]byte(r.Name), []byte(fmt.Sprintf(" v%d", v)))) {
			half++ // name and source from different writes
			continue
		}
		if v < rec.acked {
			lost++ // an acknowledged update is missing
			continue
		}
		if v > rec.acked {
			known := false
			for _, u := range rec.unknown {
				known = known || u == v
			}
			if !known {
				half++
			}
		}
	}
	for _, f := range l.failed {
		if r, ok := byName[f.name]; ok && r.Source != "v1" {
			half++
		}
	}
	return lost, half, nil
}

type drillSummary struct {
	acked, failed, moveTotal, moveFailed int
	rate, moveRate                       float64
	p50, p99                             time.Duration
	stall, longest                       time.Duration
}

func (l *ledger) summary(start, moveStart, moveEnd time.Time) drillSummary {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s drillSummary
	var took []time.Duration
	var oks []time.Duration
	ms, me := moveStart.Sub(start), moveEnd.Sub(start)
	for _, e := range l.events {
		took = append(took, e.took)
		if e.took > s.longest {
			s.longest = e.took
		}
		during := e.at-e.took <= me && e.at >= ms
		if during {
			s.moveTotal++
		}
		if e.ok {
			s.acked++
			oks = append(oks, e.at)
		} else {
			s.failed++
			if during {
				s.moveFailed++
			}
		}
	}
	if n := s.acked + s.failed; n > 0 {
		s.rate = 100 * float64(s.failed) / float64(n)
	}
	if s.moveTotal > 0 {
		s.moveRate = 100 * float64(s.moveFailed) / float64(s.moveTotal)
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	if len(took) > 0 {
		s.p50, s.p99 = took[len(took)/2], took[len(took)*99/100]
	}
	sort.Slice(oks, func(i, j int) bool { return oks[i] < oks[j] })
	for i := 1; i < len(oks); i++ {
		if g := oks[i] - oks[i-1]; g > s.stall {
			s.stall = g
		}
	}
	return s
}

func send(c *http.Client, method, url, token string, body any, out any) (int, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	req.Header.Set("X-Session-Token", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(rb, out); err != nil {
			return resp.StatusCode, err
		}
	}
	return resp.StatusCode, nil
}

func statusOf(c *http.Client, url, token string) int {
	st, err := send(c, "GET", url, token, nil, nil)
	if err != nil {
		return 0
	}
	return st
}

// relaxForcedRLS turns FORCE ROW LEVEL SECURITY off on the tables co-located
// with customers that have it, and returns what sets it again.
func relaxForcedRLS(ctx context.Context, owner *pgx.Conn) (func() error, error) {
	rows, err := owner.Query(ctx, `SELECT p.logicalrelid::regclass::text FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
		WHERE c.relforcerowsecurity AND p.colocationid = (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'customers'::regclass)
		ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	restore := func() error {
		var first error
		for _, t := range tables {
			if _, err := owner.Exec(context.WithoutCancel(ctx), "ALTER TABLE "+t+" FORCE ROW LEVEL SECURITY"); err != nil && first == nil {
				first = fmt.Errorf("%s: %w", t, err)
			}
		}
		return first
	}
	for _, t := range tables {
		if _, err := owner.Exec(ctx, "ALTER TABLE "+t+" NO FORCE ROW LEVEL SECURITY"); err != nil {
			_ = restore()
			return nil, fmt.Errorf("drill: NO FORCE ROW LEVEL SECURITY on %s: %w", t, err)
		}
	}
	fmt.Fprintf(os.Stderr, "drill: row-level security no longer forced on %d co-located tables for the move\n", len(tables))
	return restore, nil
}

// citusNode is a worker as Citus's metadata names it.
type citusNode struct {
	id   int32
	host string
	port int
}

// isolation is where the tenant's own shard group ended up: the shard of
// customers, the worker it is on, the worker the move takes it to, and how it
// was made.
type isolation struct {
	shard     int64
	at, other citusNode
	how       string
}

// isolateTenant gives the tenant a shard group of its own. With block_writes it
// is isolate_tenant_to_new_shard. Online, that function is not safe under
// updates in Citus 12.1: it splits onto the shard's own worker, where the new
// shards get their primary keys only after the replication slot exists, so an
// UPDATE committed in between is decoded against a table with no replica
// identity and the split's subscription stops at "publisher did not send
// replica identity column" until the split is cancelled. A split onto the
// other worker does not have that gap (Citus gives the stand-in tables it
// decodes into their primary keys before the slot), so the online drill splits
// at the same points isolate_tenant_to_new_shard would, puts every piece on
// the other worker, and the move then brings the tenant's group back.
func isolateTenant(ctx context.Context, owner *pgx.Conn, tenant uuid.UUID, mode string) (isolation, error) {
	var iso isolation
	var src int64
	if err := owner.QueryRow(ctx, "SELECT get_shard_id_for_distribution_column('customers', $1::uuid)", tenant).Scan(&src); err != nil {
		return iso, fmt.Errorf("drill: the tenant's shard: %w", err)
	}
	if err := owner.QueryRow(ctx, `SELECT n.nodeid, n.nodename, n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n ON n.groupid = p.groupid
		WHERE p.shardid = $1 AND n.noderole = 'primary'`, src).Scan(&iso.at.id, &iso.at.host, &iso.at.port); err != nil {
		return iso, fmt.Errorf("drill: the tenant's worker: %w", err)
	}
	if err := owner.QueryRow(ctx, `SELECT nodeid, nodename, nodeport FROM pg_dist_node WHERE noderole = 'primary' AND groupid <> 0
		AND nodeid <> $1 ORDER BY nodeid LIMIT 1`, iso.at.id).Scan(&iso.other.id, &iso.other.host, &iso.other.port); err != nil {
		return iso, fmt.Errorf("drill: another worker: %w", err)
	}
	if mode == "block_writes" {
		iso.how = "isolate_tenant_to_new_shard"
		err := owner.QueryRow(ctx, "SELECT isolate_tenant_to_new_shard('customers', $1::uuid, cascade_option => 'CASCADE', shard_transfer_mode => $2::citus.shard_transfer_mode)",
			tenant, mode).Scan(&iso.shard)
		if err != nil {
			return iso, fmt.Errorf("drill: isolate_tenant_to_new_shard: %w", err)
		}
		return iso, nil
	}
	var hash, lo, hi int32
	if err := owner.QueryRow(ctx, `SELECT worker_hash($1::uuid), shardminvalue::int, shardmaxvalue::int FROM pg_dist_shard WHERE shardid = $2`,
		tenant, src).Scan(&hash, &lo, &hi); err != nil {
		return iso, fmt.Errorf("drill: the tenant's hash: %w", err)
	}
	points, nodes := splitAround(hash, lo, hi, iso.other.id)
	if len(points) == 0 {
		return iso, fmt.Errorf("drill: shard %d holds only the tenant's hash value already", src)
	}
	iso.how = "citus_split_shard_by_split_points onto the other worker"
	if _, err := owner.Exec(ctx, "SELECT citus_split_shard_by_split_points($1, $2::text[], $3::int[], $4::citus.shard_transfer_mode)",
		src, points, nodes, mode); err != nil {
		return iso, fmt.Errorf("drill: citus_split_shard_by_split_points: %w", err)
	}
	if err := owner.QueryRow(ctx, "SELECT get_shard_id_for_distribution_column('customers', $1::uuid)", tenant).Scan(&iso.shard); err != nil {
		return iso, fmt.Errorf("drill: the tenant's new shard: %w", err)
	}
	iso.at, iso.other = iso.other, iso.at
	return iso, nil
}

// splitAround returns the split points that leave the hash value h alone in
// its own piece of the range [lo, hi], as isolate_tenant_to_new_shard chooses
// them, and the node of each piece.
func splitAround(h, lo, hi, node int32) ([]string, []int32) {
	var points []string
	if h > lo {
		points = append(points, strconv.FormatInt(int64(h)-1, 10))
	}
	if h < hi {
		points = append(points, strconv.FormatInt(int64(h), 10))
	}
	nodes := make([]int32, len(points)+1)
	for i := range nodes {
		nodes[i] = node
	}
	return points, nodes
}
