package authorizer

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// TransportError names the cause of a failed POST to a backend's URL. The URL comes from the
// configuration and is written without its query, which may hold a key the operator put there;
// the token travels in the body and never appears. url.Error repeats the method and the full
// URL, so its cause alone is kept: that is what tells an operator what broke.
func TransportError(ctx context.Context, rawURL string, timeout time.Duration, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("POST %s: no answer before the deadline (timeout %s): %w", RedactURL(rawURL), timeout, err)
	}
	return fmt.Errorf("POST %s: %w", RedactURL(rawURL), err)
}

// RedactURL drops the query from a URL for messages.
func RedactURL(raw string) string {
	base, _, _ := strings.Cut(raw, "?")
	return base
}
