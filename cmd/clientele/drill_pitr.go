package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clientele-crm/clientele/platform/devstack"
)

// runPITRDrill is `clientele drill pitr`: point-in-time recovery with
// PostgreSQL's own tools, on private clusters on loopback. A primary archives
// its WAL; a base backup is taken while a ledger of acknowledged writes grows;
// a restore point is named; more writes follow. A second cluster restores the
// base backup, replays the archive to the restore point and is promoted. It
// must hold exactly the writes acknowledged before the restore point: none
// lost, none from after it.
func runPITRDrill(ctx context.Context, out io.Writer, keep bool) (err error) {
	dir, err := os.MkdirTemp("", "clientele-drill-pitr-")
	if err != nil {
		return err
	}
	var primary, restored *devstack.PrivatePostgres
	defer func() {
		stop, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, p := range []*devstack.PrivatePostgres{restored, primary} {
			if p != nil {
				_ = p.Stop(stop)
			}
		}
		if keep || err != nil {
			fmt.Fprintf(out, "drill pitr: files kept in %s\n", dir)
		} else {
			_ = os.RemoveAll(dir)
		}
	}()
	t0 := time.Now()
	if primary, err = devstack.StartPrivatePostgres(ctx, filepath.Join(dir, "primary")); err != nil {
		return err
	}
	archive := filepath.Join(dir, "archive")
	if err = primary.EnableArchiving(ctx, archive); err != nil {
		return err
	}
	fmt.Fprintf(out, "drill pitr: primary on :%d archiving WAL, up in %.1f s\n", primary.Port, time.Since(t0).Seconds())

	c, err := pgx.Connect(ctx, primary.URL)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	if _, err = c.Exec(ctx, "CREATE TABLE ledger (n bigint PRIMARY KEY, payload text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())"); err != nil {
		return err
	}
	n := 0
	write := func(count int) error {
		for i := 0; i < count; i++ {
			n++
			// One transaction per write: each row is acknowledged on its own.
			if _, err := c.Exec(ctx, "INSERT INTO ledger (n, payload) VALUES ($1::bigint, repeat(md5($1::bigint::text), 20))", n); err != nil {
				return fmt.Errorf("ledger write %d: %w", n, err)
			}
		}
		return nil
	}
	const before, between, after = 2000, 3000, 2000
	if err = write(before); err != nil {
		return err
	}
	// The base backup runs while writers go on: the restore must replay what
	// came during and after it from the archive.
	t1 := time.Now()
	backupDone := make(chan error, 1)
	go func() { backupDone <- primary.BaseBackup(ctx, filepath.Join(dir, "backup", "base")) }()
	if err = write(between); err != nil {
		return err
	}
	if err = <-backupDone; err != nil {
		return err
	}
	backupTook := time.Since(t1)
	var acked int
	if err = c.QueryRow(ctx, "SELECT count(*) FROM ledger").Scan(&acked); err != nil {
		return err
	}
	if _, err = c.Exec(ctx, "SELECT pg_create_restore_point('clientele_drill')"); err != nil {
		return err
	}
	if err = write(after); err != nil {
		return err
	}
	var segment string
	if err = c.QueryRow(ctx, "SELECT pg_walfile_name(pg_switch_wal())").Scan(&segment); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var last string
		if err = c.QueryRow(ctx, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver").Scan(&last); err != nil {
			return err
		}
		if last >= segment {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("drill pitr: WAL segment %s not archived within 60 s (last %q)", segment, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
	files, _ := os.ReadDir(archive)
	fmt.Fprintf(out, "drill pitr: %d writes acknowledged before the restore point, a base backup (%.1f s) taken while writes %d..%d went on, %d writes after it; %d WAL files archived\n",
		acked, backupTook.Seconds(), before+1, before+between, after, len(files))

	t2 := time.Now()
	if restored, err = devstack.RestorePrivatePostgres(ctx, filepath.Join(dir, "backup", "base"), archive, "clientele_drill", filepath.Join(dir, "restored")); err != nil {
		return err
	}
	r, err := pgx.Connect(ctx, restored.URL)
	if err != nil {
		return err
	}
	defer r.Close(ctx)
	deadline = time.Now().Add(120 * time.Second)
	for {
		var recovering bool
		if err = r.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&recovering); err != nil {
			return err
		}
		if !recovering {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("drill pitr: the restored cluster is still recovering after 120 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	restoreTook := time.Since(t2)
	var count, lo, hi int
	var good bool
	if err = r.QueryRow(ctx, "SELECT count(*), coalesce(min(n), 0), coalesce(max(n), 0), bool_and(payload = repeat(md5(n::text), 20)) FROM ledger").Scan(&count, &lo, &hi, &good); err != nil {
		return err
	}
	fmt.Fprintf(out, "drill pitr: restored on :%d and promoted at the restore point in %.1f s: ledger rows %d (%d..%d), want %d (1..%d)\n",
		restored.Port, restoreTook.Seconds(), count, lo, hi, acked, acked)
	if count != acked || lo != 1 || hi != acked || !good {
		return fmt.Errorf("drill pitr: FAILED: the restored ledger has %d rows (%d..%d, intact %v); the primary acknowledged %d before the restore point", count, lo, hi, good, acked)
	}
	// The restored cluster is a primary of its own now: it takes writes.
	if _, err = r.Exec(ctx, "INSERT INTO ledger (n, payload) VALUES (0, 'after the restore')"); err != nil {
		return fmt.Errorf("drill pitr: the promoted cluster refuses writes: %w", err)
	}
	fmt.Fprintf(out, "drill pitr: passed: every write acknowledged before the restore point is back, none after it; total %.1f s\n", time.Since(t0).Seconds())
	return nil
}
