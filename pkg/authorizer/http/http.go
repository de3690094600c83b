// Package http is the authorizer backend that POSTs the Lambda authorizer event to an HTTP
// endpoint and reads the Lambda authorizer answer from its response: a way to run an authorizer
// written for API Gateway as an ordinary web service.
//
// The endpoint answers 200 with the authorizer JSON, or 401 (any body) to say "Unauthorized".
// Every other outcome (another status, a timeout, a refused or reset connection, a body over
// 1 MiB) is a backend failure.
package http

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	nethttp "net/http"
	"net/url"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
)

// Timeout bounds.
const (
	DefaultTimeout = 5 * time.Second
	MaxTimeout     = 30 * time.Second
)

// drainLimit is how much of an unwanted body (401, 5xx) is read so the connection can be reused;
// a longer body costs a new connection instead.
const drainLimit = 64 << 10

// Config is one HTTP authorizer backend, its secrets already resolved.
type Config struct {
	// URL receives the event as a POST; http or https.
	URL string
	// Timeout bounds one call, from sending the event to reading the answer. Zero means
	// DefaultTimeout; at most MaxTimeout.
	Timeout time.Duration
	// Headers are added to every call (e.g. an API key). They may replace User-Agent but not the
	// headers that frame the request (Host, Content-Type, Content-Length, ...).
	Headers map[string]string
	// Simple accepts {"isAuthorized": bool} answers (payload format 2.0).
	Simple bool
	// Logger hears of what an event leaves out (a client certificate that does not parse);
	// nil discards it.
	Logger *slog.Logger
}

// Backend calls one HTTP authorizer. The event and the answer format follow each request's Type
// and PayloadVersion. It is safe for concurrent use.
type Backend struct {
	name    string
	url     string
	timeout time.Duration
	header  nethttp.Header
	simple  bool
	client  *nethttp.Client
	log     *slog.Logger
}

var _ authorizer.Backend = (*Backend)(nil)

// New checks cfg and returns the backend of the authorizer called name. client is shared by all
// HTTP backends (see NewClient); nil means a client of its own from NewClient.
func New(name string, cfg Config, client *nethttp.Client) (*Backend, error) {
	if err := checkURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("authorizer %q: url: %w", name, err)
	}
	timeout := cfg.Timeout
	switch {
	case timeout == 0:
		timeout = DefaultTimeout
	case timeout < 0 || timeout > MaxTimeout:
		return nil, fmt.Errorf("authorizer %q: timeout %s is outside (0, %s]", name, timeout, MaxTimeout)
	}
	header, err := buildHeader(cfg.Headers)
	if err != nil {
		return nil, fmt.Errorf("authorizer %q: %w", name, err)
	}
	if client == nil {
		client = NewClient()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(slog.String("authorizer", name))
	return &Backend{name: name, url: cfg.URL, timeout: timeout, header: header, simple: cfg.Simple, client: client, log: log}, nil
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q, want http or https", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("no host")
	}
	if u.User != nil {
		return errors.New("credentials in the URL would be logged with it; use headers")
	}
	return nil
}

// framingHeaders are set by the transport or by us; a configured value would corrupt the request.
var framingHeaders = map[string]bool{
	"Host": true, "Content-Type": true, "Content-Length": true, "Transfer-Encoding": true,
	"Connection": true, "Upgrade": true, "Te": true, "Trailer": true, "Keep-Alive": true,
}

// buildHeader makes the header set sent with every call, checked once at load.
func buildHeader(configured map[string]string) (nethttp.Header, error) {
	h := nethttp.Header{
		"Content-Type": {"application/json"},
		"User-Agent":   {"portcullis"},
	}
	for name, value := range configured {
		if !httpguts.ValidHeaderFieldName(name) {
			return nil, fmt.Errorf("header %q: not a valid header name", name)
		}
		canonical := nethttp.CanonicalHeaderKey(name)
		if framingHeaders[canonical] {
			return nil, fmt.Errorf("header %q is set by the transport and cannot be configured", name)
		}
		// The value is a secret: the error names the header only.
		if !httpguts.ValidHeaderFieldValue(value) {
			return nil, fmt.Errorf("header %q: value holds characters not allowed in a header", name)
		}
		h[canonical] = []string{value}
	}
	return h, nil
}

// Authorize sends req's event and reads the answer. The error is ErrUnauthorized (wrapped) for a
// 401, wraps ErrConfiguration for an answer that breaks the contract, and is a backend failure
// otherwise. No error holds the token or the answer's body.
func (b *Backend) Authorize(ctx context.Context, req *authorizer.Request) (*authorizer.Response, error) {
	event, err := authorizer.EncodeEvent(req, b.log)
	if err != nil {
		return nil, fmt.Errorf("authorizer %q: %w", b.name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	body, err := b.post(ctx, event)
	if err != nil {
		return nil, fmt.Errorf("authorizer %q: %w", b.name, err)
	}
	version := req.PayloadVersion
	if req.Type == authorizer.TypeToken {
		version = authorizer.PayloadVersion1
	}
	resp, err := authorizer.DecodeResponse(body, version, b.simple)
	if err != nil {
		return nil, fmt.Errorf("authorizer %q: %w", b.name, err)
	}
	return resp, nil
}

// post sends the event and returns the body of a 200 answer.
func (b *Backend) post(ctx context.Context, event []byte) ([]byte, error) {
	hreq, err := nethttp.NewRequestWithContext(ctx, nethttp.MethodPost, b.url, bytes.NewReader(event))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	// A copy per call: the client's transport or a wrapping round tripper may add headers.
	hreq.Header = b.header.Clone()
	resp, err := b.client.Do(hreq)
	if err != nil {
		return nil, authorizer.TransportError(ctx, b.url, b.timeout, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case nethttp.StatusOK:
		return readBody(resp)
	case nethttp.StatusUnauthorized:
		drain(resp.Body)
		return nil, authorizer.ErrUnauthorized
	default:
		drain(resp.Body)
		return nil, fmt.Errorf("unexpected HTTP status %s", resp.Status)
	}
}

// readBody reads at most MaxResponseBytes, refusing a longer answer without buffering it.
func readBody(resp *nethttp.Response) ([]byte, error) {
	if resp.ContentLength > authorizer.MaxResponseBytes {
		return nil, authorizer.ErrResponseTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, authorizer.MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if len(body) > authorizer.MaxResponseBytes {
		return nil, authorizer.ErrResponseTooLarge
	}
	return body, nil
}

func drain(body io.Reader) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, drainLimit))
}
