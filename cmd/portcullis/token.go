package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/pkg/config/demo"
)

// runToken mints a token for the embedded demo config and prints it alone on stdout, so that
// TOKEN=$(portcullis token --sub alice) works.
func runToken(_ context.Context, args []string, io stdio) int {
	var scopes, claims listHeaderFlag
	fs := newFlagSet("token", io)
	sub := fs.String("sub", "", "subject (the principalId)")
	fs.Var(&scopes, "scope", "scope to grant, repeatable or space-separated (the demo's admin scope is admins)")
	ttl := fs.Duration("ttl", time.Hour, "lifetime")
	fs.Var(&claims, "claim", "extra claim k=v, repeatable")
	if err := parseFlags(fs, args, os.Getenv); err != nil {
		return flagsExit(err)
	}
	extra := map[string]any{}
	for _, c := range claims {
		k, v, ok := strings.Cut(c, "=")
		if !ok || k == "" {
			fmt.Fprintf(io.err, "portcullis token: --claim wants k=v, got %q\n", c)
			return 2
		}
		extra[k] = v
	}
	var all []string
	for _, s := range scopes {
		all = append(all, strings.Fields(s)...)
	}
	tok, err := demo.Mint(*sub, all, *ttl, extra, time.Now())
	if err != nil {
		fmt.Fprintln(io.err, "portcullis token:", err)
		return 2
	}
	fmt.Fprintln(io.out, tok)
	return 0
}
