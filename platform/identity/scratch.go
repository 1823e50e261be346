package identity

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Scratch is a Kratos of its own for tests: development settings, a database
// <name>_kratos beside the one a URL names, and its files in a temporary
// directory. Close removes all three.
type Scratch struct {
	P     *Process // nil when it did not start
	dbURL string
	dir   string
}

// StartScratch starts a scratch Kratos sending browsers to uiURL. With mail,
// its courier writes the mail it sends under <its directory>/mail. The Scratch
// is returned even when the start fails, so that Close removes what was made.
func StartScratch(ctx context.Context, databaseURL, uiURL string, mail bool) (*Scratch, error) {
	s := &Scratch{}
	u, err := url.Parse(databaseURL)
	if err != nil || strings.TrimPrefix(u.Path, "/") == "" {
		return s, errors.New("database URL names no database")
	}
	u.Path += "_kratos"
	s.dbURL = u.String()
	if s.dir, err = os.MkdirTemp("", "clientele-kratos-"); err != nil {
		return s, err
	}
	bin, err := FindBinary(ctx)
	if err != nil {
		return s, fmt.Errorf("the Kratos binary could not be found or built: %w", err)
	}
	o := StartOptions{Binary: bin, DatabaseURL: s.dbURL, DataDir: s.dir, UIURL: uiURL, Dev: true}
	if mail {
		o.MailDir = filepath.Join(s.dir, "mail")
	}
	s.P, err = StartKratos(ctx, o)
	return s, err
}

// Close stops Kratos, drops its database and removes its files, and says what
// of that failed.
func (s *Scratch) Close(ctx context.Context) error {
	var errs []error
	if s.P != nil {
		if err := s.P.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop kratos: %w", err))
		}
	}
	if s.dbURL != "" {
		if err := dropDatabase(ctx, s.dbURL); err != nil {
			errs = append(errs, fmt.Errorf("drop kratos database: %w", err))
		}
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
	return errors.Join(errs...)
}

func dropDatabase(ctx context.Context, dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}
