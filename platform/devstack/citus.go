package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// CitusBasePort is where the private Citus cluster listens by default: the
// coordinator on it, the workers on the next ports.
const CitusBasePort = 55440

// CitusWorkers is how many workers the private cluster has.
const CitusWorkers = 2

// CitusOptions say where the private Citus cluster lives and listens.
type CitusOptions struct {
	DataDir  string // nodes live under DataDir/citus/<node>
	BasePort int    // coordinator port; worker i listens on BasePort+i
	User     string // superuser name made by initdb (default postgres)
}

func (o CitusOptions) withDefaults() (CitusOptions, error) {
	abs, err := filepath.Abs(o.DataDir)
	if err != nil {
		return o, err
	}
	o.DataDir = abs
	if o.BasePort == 0 {
		o.BasePort = CitusBasePort
	}
	if o.User == "" {
		o.User = "postgres"
	}
	return o, nil
}

func (o CitusOptions) nodes() []string {
	n := []string{"coordinator"}
	for i := 1; i <= CitusWorkers; i++ {
		n = append(n, fmt.Sprintf("worker%d", i))
	}
	return n
}

// CitusURL is the coordinator's maintenance database URL, which names the cluster
// for the test kit (CLIENTELE_TEST_CITUS_URL) and for `clientele migrate`.
func (o CitusOptions) CitusURL() string {
	o, _ = o.withDefaults()
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable", o.User, o.BasePort)
}

// StartCitus starts a coordinator and CitusWorkers workers as private PostgreSQL
// clusters on loopback, each with Citus preloaded and logical WAL (which online
// shard moves need), and registers the workers in the coordinator's maintenance
// database. Nodes that already run are left alone. It reports whether it started
// any node.
func StartCitus(ctx context.Context, o CitusOptions) (bool, error) {
	o, err := o.withDefaults()
	if err != nil {
		return false, err
	}
	initdb, err := pgBin("initdb")
	if err != nil {
		return false, err
	}
	pgctl, err := pgBin("pg_ctl")
	if err != nil {
		return false, err
	}
	if lib, err := pgBin("pg_config"); err == nil {
		out, _ := asPostgresUser(ctx, lib, "--pkglibdir").Output()
		if _, err := os.Stat(filepath.Join(strings.TrimSpace(string(out)), "citus.so")); err != nil {
			return false, errors.New("devstack: the Citus extension is not installed; `make citus` builds and installs it (scripts/citus.sh)")
		}
	}
	base := filepath.Join(o.DataDir, "citus")
	sock := filepath.Join(base, "run")
	if err := os.MkdirAll(sock, 0o755); err != nil {
		return false, err
	}
	letPostgresReach(base)
	if err := chownPostgres(sock); err != nil {
		return false, err
	}
	started := false
	for i, node := range o.nodes() {
		port := strconv.Itoa(o.BasePort + i)
		addr := net.JoinHostPort("127.0.0.1", port)
		if listening(addr, "") {
			continue
		}
		dir := filepath.Join(base, node)
		if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err != nil {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return started, err
			}
			if err := chownPostgres(dir); err != nil {
				return started, err
			}
			out, err := asPostgresUser(ctx, initdb, "-D", dir, "-U", o.User, "--auth=trust", "-E", "UTF8", "--locale="+utf8Locale()).CombinedOutput()
			if err != nil {
				return started, fmt.Errorf("devstack: initdb %s: %v: %s", node, err, tail(out))
			}
		}
		opts := strings.Join([]string{
			"-c listen_addresses=127.0.0.1", "-p " + port, "-k " + sock,
			"-c shared_preload_libraries=citus", "-c wal_level=logical",
			"-c max_connections=300", "-c max_replication_slots=20", "-c max_wal_senders=20",
			"-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
			"-c citus.propagate_set_commands=local", "-c citus.enable_statistics_collection=off",
		}, " ")
		// Online shard moves and splits decode WAL with Citus's own output plugin;
		// Debian's PostgreSQL 15 lets only listed libraries be one.
		if hasSetting(ctx, dir, "output_plugin_libraries") {
			opts += " -c output_plugin_libraries=pgoutput,test_decoding,citus"
		}
		out, err := asPostgresUser(ctx, pgctl, "-D", dir, "-l", filepath.Join(dir, "server.log"), "-o", opts, "-w", "-t", "60", "start").CombinedOutput()
		if err != nil {
			return started, fmt.Errorf("devstack: pg_ctl start %s: %v: %s (log: %s)", node, err, tail(out), filepath.Join(dir, "server.log"))
		}
		started = true
	}
	maint, _ := url.Parse(o.CitusURL())
	for i := range o.nodes() {
		u := *maint
		u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(o.BasePort+i))
		if err := waitPostgres(ctx, &u, 60*time.Second); err != nil {
			return started, err
		}
	}
	if err := RegisterCitusNodes(ctx, o, "postgres"); err != nil {
		return started, err
	}
	return started, nil
}

// StopCitus stops the private cluster's nodes that run.
func StopCitus(ctx context.Context, o CitusOptions) error {
	o, err := o.withDefaults()
	if err != nil {
		return err
	}
	pgctl, err := pgBin("pg_ctl")
	if err != nil {
		return err
	}
	var errs []error
	nodes := o.nodes()
	for i := len(nodes) - 1; i >= 0; i-- {
		dir := filepath.Join(o.DataDir, "citus", nodes[i])
		if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); err != nil {
			continue
		}
		out, err := asPostgresUser(ctx, pgctl, "-D", dir, "-m", "fast", "-w", "stop").CombinedOutput()
		if err != nil && !strings.Contains(string(out), "not running") {
			errs = append(errs, fmt.Errorf("devstack: pg_ctl stop %s: %v: %s", nodes[i], err, tail(out)))
		}
	}
	return errors.Join(errs...)
}

// RegisterCitusNodes creates the citus extension in database name on every node of
// the private cluster and registers the workers with the coordinator there. Citus
// keeps its node list per database.
func RegisterCitusNodes(ctx context.Context, o CitusOptions, name string) error {
	o, err := o.withDefaults()
	if err != nil {
		return err
	}
	var workers []string
	for i := 1; i <= CitusWorkers; i++ {
		workers = append(workers, net.JoinHostPort("127.0.0.1", strconv.Itoa(o.BasePort+i)))
	}
	coord := net.JoinHostPort("127.0.0.1", strconv.Itoa(o.BasePort))
	return PrepareCitusDatabase(ctx, nodeURL(o.CitusURL(), coord, name), workers, false)
}

// PrepareCitusDatabase makes the database of dbURL (on a Citus coordinator) a
// distributed one: it creates the database on each worker (host:port) when create
// is set, and on the coordinator too, creates the citus extension on every node,
// tells the workers where the coordinator is and registers them. It is idempotent.
func PrepareCitusDatabase(ctx context.Context, dbURL string, workers []string, create bool) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(u.Path, "/")
	all := append([]string{u.Host}, workers...)
	for _, hp := range all {
		if create {
			if err := ensureDatabase(ctx, parsedURL(nodeURL(dbURL, hp, name))); err != nil {
				return err
			}
		}
		c, err := pgx.Connect(ctx, nodeURL(dbURL, hp, name))
		if err != nil {
			return fmt.Errorf("devstack: citus node %s: %w", hp, err)
		}
		_, err = c.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS citus")
		c.Close(ctx)
		if err != nil {
			return fmt.Errorf("devstack: create extension citus on %s: %w", hp, err)
		}
	}
	c, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	h, p := hostPort(u.Host, "5432")
	port, _ := strconv.Atoi(p)
	if _, err := c.Exec(ctx, "SELECT citus_set_coordinator_host($1, $2)", h, port); err != nil {
		return fmt.Errorf("devstack: citus_set_coordinator_host: %w", err)
	}
	for _, w := range workers {
		wh, wp := hostPort(w, "5432")
		n, _ := strconv.Atoi(wp)
		// The worker's new database can refuse the coordinator's first
		// connection while other databases of the cluster are being set up
		// at the same time (test packages run in parallel): "failure on
		// connection marked as essential". That is tried again, a few times.
		for try := 1; ; try++ {
			_, err := c.Exec(ctx, "SELECT citus_add_node($1, $2) WHERE NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE nodename = $1 AND nodeport = $2)", wh, n)
			if err == nil {
				break
			}
			if try == 5 || !strings.Contains(err.Error(), "failure on connection") {
				return fmt.Errorf("devstack: citus_add_node %s: %w", w, err)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("devstack: citus_add_node %s: %w", w, err)
			case <-time.After(time.Duration(try) * 200 * time.Millisecond):
			}
		}
	}
	return nil
}

// CitusWorkerAddrs lists the primary workers registered in the database of dbURL.
func CitusWorkerAddrs(ctx context.Context, dbURL string) ([]string, error) {
	c, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, "SELECT nodename, nodeport FROM pg_dist_node WHERE noderole = 'primary' AND groupid <> 0 ORDER BY nodeid")
	if err != nil {
		return nil, fmt.Errorf("devstack: read the Citus workers: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		var p int
		if err := rows.Scan(&h, &p); err != nil {
			return nil, err
		}
		out = append(out, net.JoinHostPort(h, strconv.Itoa(p)))
	}
	return out, rows.Err()
}

// DropCitusDatabase drops database name on the coordinator of dbURL and on workers.
func DropCitusDatabase(ctx context.Context, maintURL string, workers []string, name string) error {
	u, err := url.Parse(maintURL)
	if err != nil {
		return err
	}
	var errs []error
	for _, hp := range append([]string{u.Host}, workers...) {
		c, err := pgx.Connect(ctx, nodeURL(maintURL, hp, "postgres"))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			errs = append(errs, fmt.Errorf("drop %s on %s: %w", name, hp, err))
		}
		c.Close(ctx)
	}
	return errors.Join(errs...)
}

// nodeURL is base with its host and database replaced.
func nodeURL(base, hostport, db string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Host = hostport
	u.Path = "/" + db
	return u.String()
}

func parsedURL(s string) *url.URL {
	u, _ := url.Parse(s)
	return u
}

// hasSetting reports whether the server binary knows a setting (Debian's
// PostgreSQL 15 adds output_plugin_libraries, upstream has no such setting).
func hasSetting(ctx context.Context, dataDir, name string) bool {
	postgres, err := pgBin("postgres")
	if err != nil {
		return false
	}
	out, err := asPostgresUser(ctx, postgres, "-D", dataDir, "-C", name).CombinedOutput()
	return err == nil && len(strings.TrimSpace(string(out))) > 0
}
