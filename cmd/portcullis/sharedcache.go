package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-dev/portcullis/pkg/cache/shared"
)

// sharedFlags configure the shared cache tier and the admin token (SPEC section 18).
type sharedFlags struct {
	url        string
	secretFile string
	timeout    time.Duration
	adminToken string
}

func (f *sharedFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "shared-cache-url", "", "redis:// or rediss:// URL of a cache tier shared by all replicas (Redis, Valkey); password from the URL or PORTCULLIS_SHARED_CACHE_PASSWORD; empty: none")
	fs.StringVar(&f.secretFile, "shared-cache-secret-file", "", "file holding the secret (at least 32 bytes) that seals the shared cache's values; default: PORTCULLIS_SHARED_CACHE_SECRET")
	fs.DurationVar(&f.timeout, "shared-cache-timeout", shared.DefaultTimeout, "bound on each shared cache call; a slower store is a miss")
	fs.StringVar(&f.adminToken, "admin-token", "", "bearer token for POST /cache/invalidate on the admin port; empty: the endpoint does not exist")
}

// tier connects the shared tier, or returns nil when none is configured.
func (f *sharedFlags) tier(getenv func(string) string, log *slog.Logger, reg prometheus.Registerer) (*shared.Tier, error) {
	if f.url == "" {
		if f.secretFile != "" {
			return nil, errors.New("--shared-cache-secret-file without --shared-cache-url")
		}
		return nil, nil
	}
	secret := []byte(getenv("PORTCULLIS_SHARED_CACHE_SECRET"))
	if f.secretFile != "" {
		b, err := os.ReadFile(f.secretFile)
		if err != nil {
			return nil, fmt.Errorf("--shared-cache-secret-file: %w", err)
		}
		// A file written by echo or an editor ends in a newline that is not part of the secret.
		secret = bytes.TrimRight(b, "\r\n")
	}
	if len(secret) == 0 {
		return nil, errors.New("--shared-cache-url needs a secret: PORTCULLIS_SHARED_CACHE_SECRET or --shared-cache-secret-file")
	}
	if f.timeout <= 0 {
		return nil, errors.New("--shared-cache-timeout must be positive")
	}
	shared.ClientLogs(log)
	t, err := shared.New(shared.Options{
		URL: f.url, Password: getenv("PORTCULLIS_SHARED_CACHE_PASSWORD"), Secret: secret,
		Timeout: f.timeout, Logger: log, Registerer: reg,
	})
	if err != nil {
		return nil, fmt.Errorf("--shared-cache-url: %w", err)
	}
	return t, nil
}
