package main

import (
	"context"
	"fmt"
	"os"

	"github.com/portcullis-dev/portcullis/pkg/config"
)

// runValidate loads and compiles the configuration without starting any backend and prints
// every error, one per line as file:line: kind/name: field: reason.
func runValidate(ctx context.Context, args []string, io stdio) int {
	var configs listFlag
	fs := newFlagSet("validate", io)
	fs.Var(&configs, "config", "config file or directory (repeatable)")
	if err := parseFlags(fs, args, os.Getenv); err != nil {
		return flagsExit(err)
	}
	configs = append(configs, fs.Args()...)
	if len(configs) == 0 {
		fmt.Fprintln(io.err, "portcullis validate: give at least one --config file or directory")
		return 2
	}
	snap, err := config.Build(ctx, config.BuildOptions{Paths: configs, ValidateOnly: true, Getenv: os.Getenv})
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	fmt.Fprintf(io.out, "ok: %d Api(s), %d Authorizer(s) in %v\n", len(snap.Apis()), len(snap.Authorizers()), snap.Sources)
	return 0
}
