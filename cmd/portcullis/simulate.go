package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/pkg/arn"
	"github.com/portcullis-dev/portcullis/pkg/policy"
)

// Exit codes of simulate: the decision, or a bad policy or bad arguments.
const (
	exitAllow        = 0
	exitUsage        = 2
	exitExplicitDeny = 3
	exitImplicitDeny = 4
)

// simulateInput is what one simulate run evaluates.
type simulateInput struct {
	policyPath string
	methodArn  string
	facts      policy.Facts
}

// runSimulate evaluates an IAM policy document against a methodArn and request facts, printing
// the decision on the first line and the deciding statement on the second.
func runSimulate(_ context.Context, args []string, io stdio) int {
	in, err := parseSimulateArgs(args, io, os.Getenv, time.Now)
	if errors.Is(err, flag.ErrHelp) {
		return exitAllow
	}
	if err != nil {
		fmt.Fprintf(io.err, "portcullis simulate: %v\n", err)
		return exitUsage
	}
	doc, err := readPolicy(in.policyPath, io.in)
	if err != nil {
		fmt.Fprintf(io.err, "portcullis simulate: %v\n", err)
		return exitUsage
	}
	p, err := policy.Compile(doc)
	if err != nil {
		name := in.policyPath
		if name == "-" {
			name = "stdin"
		}
		fmt.Fprintf(io.err, "portcullis simulate: %s: %v\n", name, err)
		return exitUsage
	}
	res := p.Evaluate(in.methodArn, &in.facts)
	fmt.Fprintln(io.out, res.Decision)
	fmt.Fprintln(io.out, describeStatement(res))
	switch res.Decision {
	case policy.Allow:
		return exitAllow
	case policy.ExplicitDeny:
		return exitExplicitDeny
	}
	return exitImplicitDeny
}

func parseSimulateArgs(args []string, io stdio, getenv func(string) string, now func() time.Time) (simulateInput, error) {
	fs := newFlagSet("simulate", io)
	policyPath := fs.String("policy", "", "policy document `file`, or - for stdin (required)")
	methodArn := fs.String("arn", "", "methodArn to evaluate (required)")
	sourceIP := fs.String("source-ip", "", "client `address` (aws:SourceIp)")
	at := fs.String("time", "", "request time, RFC 3339 (aws:CurrentTime; default now)")
	secure := fs.Bool("secure-transport", false, "request came over TLS (aws:SecureTransport)")
	userAgent := fs.String("user-agent", "", "User-Agent (aws:UserAgent)")
	referer := fs.String("referer", "", "Referer (aws:Referer)")
	var headers, contextValues pairFlag
	fs.Var(&headers, "header", "request header `NAME=VALUE` (request:header/NAME); repeatable")
	fs.Var(&contextValues, "context", "authorizer context `KEY=VALUE` (context:KEY); a JSON list value is multi-valued; repeatable")
	if err := parseFlags(fs, args, getenv); err != nil {
		return simulateInput{}, err
	}
	if fs.NArg() > 0 {
		return simulateInput{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *policyPath == "" || *methodArn == "" {
		return simulateInput{}, errors.New("--policy and --arn are required")
	}
	if _, err := arn.Parse(*methodArn); err != nil {
		return simulateInput{}, fmt.Errorf("--arn: %w", err)
	}
	in := simulateInput{policyPath: *policyPath, methodArn: *methodArn}
	in.facts = policy.Facts{SecureTransport: *secure, UserAgent: *userAgent, Referer: *referer, Time: now()}
	var err error
	if *sourceIP != "" {
		if in.facts.SourceIP, err = netip.ParseAddr(*sourceIP); err != nil {
			return simulateInput{}, fmt.Errorf("--source-ip: %w", err)
		}
	}
	if *at != "" {
		if in.facts.Time, err = time.Parse(time.RFC3339, *at); err != nil {
			return simulateInput{}, fmt.Errorf("--time: %w", err)
		}
	}
	in.facts.Headers = make(map[string]string, len(headers))
	for _, kv := range headers {
		in.facts.Headers[strings.ToLower(kv[0])] = kv[1]
	}
	if err := sameAsHeader(&in.facts.UserAgent, in.facts.Headers, "user-agent"); err != nil {
		return simulateInput{}, err
	}
	if err := sameAsHeader(&in.facts.Referer, in.facts.Headers, "referer"); err != nil {
		return simulateInput{}, err
	}
	ctx, err := contextFacts(contextValues)
	if err != nil {
		return simulateInput{}, err
	}
	in.facts.Context = policy.NewContext(ctx)
	return in, nil
}

// contextFacts reads --context values as strings, except a value that is a JSON list, which
// becomes a multi-valued key for ForAnyValue and ForAllValues.
func contextFacts(pairs pairFlag) (map[string]any, error) {
	ctx := make(map[string]any, len(pairs))
	for _, kv := range pairs {
		if !strings.HasPrefix(kv[1], "[") {
			ctx[kv[0]] = kv[1]
			continue
		}
		dec := json.NewDecoder(strings.NewReader(kv[1]))
		dec.UseNumber()
		var list []any
		if err := dec.Decode(&list); err != nil {
			return nil, fmt.Errorf("--context %s: not a JSON list: %w", kv[0], err)
		}
		ctx[kv[0]] = list
	}
	return ctx, nil
}

// readPolicy reads the document from a file or, for "-", from stdin. It reads one byte past the
// size limit so that policy.Compile reports an oversized document instead of reading forever.
func readPolicy(path string, stdin io.Reader) ([]byte, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("--policy: %w", err)
		}
		defer f.Close()
		r = f
	}
	doc, err := io.ReadAll(io.LimitReader(r, policy.MaxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("--policy %s: %w", path, err)
	}
	return doc, nil
}

func describeStatement(res policy.Result) string {
	switch {
	case res.Statement < 0:
		return "no statement matched"
	case res.Sid == "":
		return fmt.Sprintf("Statement[%d]", res.Statement)
	}
	return fmt.Sprintf("Statement[%d] (Sid %q)", res.Statement, res.Sid)
}

// pairFlag is a repeatable NAME=VALUE flag. Unlike listFlag it does not split on commas, which
// header values may hold.
type pairFlag [][2]string

func (p *pairFlag) String() string {
	parts := make([]string, len(*p))
	for i, kv := range *p {
		parts[i] = kv[0] + "=" + kv[1]
	}
	return strings.Join(parts, " ")
}

func (p *pairFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", v)
	}
	*p = append(*p, [2]string{name, value})
	return nil
}

// sameAsHeader makes a key read from a header (aws:UserAgent, aws:Referer) and the header itself
// (request:header/NAME) one value, as they are on the Check path: --header user-agent=... sets
// both, and so does --user-agent. The two flags saying different things is an error.
func sameAsHeader(key *string, headers map[string]string, name string) error {
	h, ok := headers[name]
	switch {
	case ok && *key != "" && h != *key:
		return fmt.Errorf("--%s %q and --header %s=%q disagree", name, *key, name, h)
	case ok:
		*key = h
	case *key != "":
		headers[name] = *key
	}
	return nil
}
