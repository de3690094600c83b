package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/pkg/admin"
)

// runCache is `portcullis cache invalidate`: a client of the admin port's POST /cache/invalidate.
func runCache(ctx context.Context, args []string, io stdio) int {
	if len(args) == 0 || args[0] != "invalidate" {
		fmt.Fprintln(io.err, "Usage: portcullis cache invalidate --authorizer NAME [--identity VALUE ...] [--http-addr HOST:PORT] [--admin-token TOKEN]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return 0
		}
		return 2
	}
	var (
		addr, token, authorizer string
		identity                repeatedFlag
		timeout                 time.Duration
	)
	fs := newFlagSet("cache invalidate", io)
	fs.StringVar(&addr, "http-addr", "127.0.0.1:8181", "admin address of a replica (host:port or http(s)://host:port)")
	fs.StringVar(&token, "admin-token", "", "the replicas' --admin-token")
	fs.StringVar(&authorizer, "authorizer", "", "authorizer whose cached answers to drop")
	fs.Var(&identity, "identity", "one identity source value, in the authorizer's order (repeatable); none: drop all of the authorizer's answers")
	fs.DurationVar(&timeout, "timeout", 10*time.Second, "how long to wait for the replica")
	if err := parseFlags(fs, args[1:], getenvExcept("PORTCULLIS_IDENTITY", "PORTCULLIS_AUTHORIZER")); err != nil {
		return flagsExit(err)
	}
	if authorizer == "" || token == "" {
		fmt.Fprintln(io.err, "portcullis cache invalidate: --authorizer and --admin-token (or PORTCULLIS_ADMIN_TOKEN) are required")
		return 2
	}
	body, _ := json.Marshal(admin.InvalidateRequest{Authorizer: authorizer, Identity: identity})
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, adminURL(addr)+"/cache/invalidate", bytes.NewReader(body))
	if err != nil {
		fmt.Fprintln(io.err, "portcullis cache invalidate:", err)
		return 2
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(io.err, "portcullis cache invalidate:", err)
		return 1
	}
	defer resp.Body.Close()
	out, _ := readLimited(resp.Body)
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(io.err, "portcullis cache invalidate: %s: %s\n", resp.Status, strings.TrimSpace(string(out)))
		return 1
	}
	_, _ = io.out.Write(out)
	return 0
}

func readLimited(r io.Reader) ([]byte, error) { return io.ReadAll(io.LimitReader(r, 1<<20)) }

// adminURL turns --http-addr (":8181", "host:8181" or a URL) into a base URL.
func adminURL(addr string) string {
	if strings.Contains(addr, "://") {
		return strings.TrimRight(addr, "/")
	}
	host, port, err := net.SplitHostPort(addr)
	if err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return "http://" + addr
}

// getenvExcept reads the environment but for the names given: a flag whose value must come
// from the command line alone.
func getenvExcept(names ...string) func(string) string {
	return func(k string) string {
		for _, n := range names {
			if k == n {
				return ""
			}
		}
		return os.Getenv(k)
	}
}

// repeatedFlag is a repeatable flag whose values are taken whole (a token may hold commas).
type repeatedFlag []string

func (r *repeatedFlag) String() string { return strings.Join(*r, ",") }

func (r *repeatedFlag) Set(v string) error { *r = append(*r, v); return nil }
