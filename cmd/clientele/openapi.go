package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"

	"github.com/hibiken/asynq"

	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/metrics"
	"github.com/clientele-crm/clientele/tenants"
)

// runOpenAPI prints the API document that `serve` publishes. It needs no database,
// Redis or Kratos: the document depends only on the registered operations, so
// linters and client generators can run from the binary alone.
func runOpenAPI(cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("openapi", flag.ContinueOnError)
	version := fs.String("version", "3.1", "OpenAPI version of the document: 3.1 or 3.0")
	out := fs.String("o", "", "write to this file instead of standard output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := offlineHTTP(cfg)
	if err != nil {
		return err
	}
	doc, err := s.Document(*version)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(append(doc, '\n'))
		return err
	}
	return os.WriteFile(*out, append(doc, '\n'), 0o644)
}

// offlineHTTP builds the HTTP server over handles that are never dialled.
func offlineHTTP(cfg config.Config) (*httpx.Server, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := &deps{cfg: cfg, log: log, metrics: metrics.New(), events: events.New(log),
		redisOpt: asynq.RedisClientOpt{Addr: "offline.invalid:6379"}}
	// Never used to seal anything: the offline server serves no request.
	if err := d.wire(make([]byte, 32), offlineMailer{}); err != nil {
		return nil, err
	}
	defer d.Close()
	return buildHTTP(d), nil
}

// offlineMailer refuses to send: the offline server serves no request.
type offlineMailer struct{}

func (offlineMailer) Send(context.Context, tenants.Mail) error {
	return errors.New("clientele openapi: an offline server sends no mail")
}
