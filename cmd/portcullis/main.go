// Command portcullis is an Envoy external authorization server with Amazon API Gateway's Lambda
// authorizer model. Subcommands: serve, validate, import, simulate, test-invoke, token, cache, version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// stdio is where a subcommand reads and writes, so tests can run it in-process.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, io stdio) int
}

func commands() []command {
	return []command{
		{"serve", "run the gRPC ext_authz server and the admin HTTP server", runServe},
		{"validate", "check configuration files and print every error", runValidate},
		{"import", "convert API Gateway definitions (OpenAPI, SAM, CloudFormation) into config", runImport},
		{"simulate", "evaluate an IAM policy against a methodArn", runSimulate},
		{"test-invoke", "run the whole pipeline once for one request and print each step", runTestInvoke},
		{"token", "mint a token for the embedded demo config", runToken},
		{"cache", "invalidate cached answers on every replica (cache invalidate)", runCache},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, io stdio) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(io.err)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], io)
		}
	}
	fmt.Fprintf(io.err, "portcullis: unknown command %q\n\n", args[0])
	usage(io.err)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: portcullis <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'portcullis <command> -h' for the flags of a command.")
}

// newFlagSet makes a subcommand's flag set that writes its usage to io.err.
func newFlagSet(name string, io stdio) *flag.FlagSet {
	fs := flag.NewFlagSet("portcullis "+name, flag.ContinueOnError)
	fs.SetOutput(io.err)
	return fs
}

// parseFlags parses args, then fills every flag not given on the command line from its
// PORTCULLIS_* environment variable (--cache-max-bytes reads PORTCULLIS_CACHE_MAX_BYTES). Like
// the flag package does for the command line, it prints what is wrong with the environment to
// the flag set's output, so a caller only has to turn the error into an exit code (flagsExit).
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []string
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		env := "PORTCULLIS_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(env); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", env, err))
			}
		}
	})
	if len(errs) > 0 {
		err := fmt.Errorf("%s", strings.Join(errs, "; "))
		fmt.Fprintf(fs.Output(), "%s: %v\n", fs.Name(), err)
		return err
	}
	return nil
}

// flagsExit is the exit code for an error of parseFlags: 0 when -h or --help asked for the
// usage (which the flag set has printed), 2 for anything wrong.
func flagsExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// listFlag is a repeatable string flag (--config a --config b, or PORTCULLIS_CONFIG=a,b).
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}
