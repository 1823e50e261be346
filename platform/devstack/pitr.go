package devstack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"
)

// Point-in-time recovery with PostgreSQL's own tools, on private clusters: the
// primary archives its WAL to a directory, pg_basebackup takes a base backup,
// and a second cluster restores that backup and replays the archive up to a
// named restore point (docs/operations.md, "Backups and point-in-time
// recovery").

// EnableArchiving turns WAL archiving on, into dir, and restarts the cluster
// so that archive_mode takes effect.
func (p *PrivatePostgres) EnableArchiving(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	letPostgresReach(dir)
	if err := chownPostgres(dir); err != nil {
		return err
	}
	c, err := pgx.Connect(ctx, p.URL)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	for _, s := range []string{
		"ALTER SYSTEM SET wal_level = 'replica'",
		"ALTER SYSTEM SET archive_mode = 'on'",
		fmt.Sprintf("ALTER SYSTEM SET archive_command = %s", quoteLit(fmt.Sprintf("test ! -f '%s/%%f' && cp '%%p' '%s/%%f'", dir, dir))),
		"ALTER SYSTEM SET archive_timeout = '60s'",
	} {
		if _, err := c.Exec(ctx, s); err != nil {
			return fmt.Errorf("devstack: %s: %w", s, err)
		}
	}
	return p.Restart(ctx)
}

// BaseBackup writes a plain-format base backup of the cluster, with the WAL it
// needs to be consistent, into dir (absent or empty).
func (p *PrivatePostgres) BaseBackup(ctx context.Context, dir string) error {
	bin, err := pgBin("pg_basebackup")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	letPostgresReach(filepath.Dir(dir))
	if err := chownPostgres(filepath.Dir(dir)); err != nil {
		return err
	}
	out, err := asPostgresUser(ctx, bin, "-d", p.URL, "-D", dir, "-Fp", "-X", "stream", "-c", "fast").CombinedOutput()
	if err != nil {
		return fmt.Errorf("devstack: pg_basebackup: %v: %s", err, tail(out))
	}
	return nil
}

// RestorePrivatePostgres starts a new cluster on a free port from the base
// backup in backup (moved into place under dir), replaying WAL from archive up
// to the restore point named target, and promotes it there.
func RestorePrivatePostgres(ctx context.Context, backup, archive, target, dir string) (*PrivatePostgres, error) {
	abs, port, err := privatePlace(dir)
	if err != nil {
		return nil, err
	}
	p := &PrivatePostgres{Dir: filepath.Join(abs, "pg"), Port: port, sock: filepath.Join(abs, "run")}
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, err
	}
	if err := os.Rename(backup, p.Dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(p.sock, 0o700); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("\nrestore_command = %s\nrecovery_target_name = %s\nrecovery_target_action = 'promote'\narchive_mode = 'off'\n",
		quoteLit(fmt.Sprintf("cp '%s/%%f' '%%p'", archive)), quoteLit(target))
	f, err := os.OpenFile(filepath.Join(p.Dir, "postgresql.auto.conf"), os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(p.Dir, "recovery.signal"), nil, 0o600); err != nil {
		return nil, err
	}
	letPostgresReach(abs)
	if err := chownPostgres(abs); err != nil {
		return nil, err
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

func quoteLit(s string) string {
	out := "'"
	for _, r := range s {
		if r == '\'' {
			out += "''"
		} else {
			out += string(r)
		}
	}
	return out + "'"
}
