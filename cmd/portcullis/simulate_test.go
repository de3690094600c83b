package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const simPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ReadPets", "Effect": "Allow", "Action": "execute-api:Invoke",
     "Resource": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/*"},
    {"Sid": "NoAdmin", "Effect": "Deny", "Action": "execute-api:Invoke",
     "Resource": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*/admin/*"},
    {"Effect": "Allow", "Action": "execute-api:Invoke",
     "Resource": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/POST/*",
     "Condition": {
       "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
       "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
       "Bool": {"aws:SecureTransport": "true"},
       "StringEquals": {"request:header/x-team": "a, b"},
       "StringLike": {"aws:UserAgent": "curl/*"},
       "ForAllValues:StringEquals": {"context:groups": ["dev", "ops"]}
     }}
  ]
}`

const simArn = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/"

// postFlags satisfy every condition of the third statement of simPolicy.
var postFlags = []string{
	"--arn", simArn + "POST/pets", "--source-ip", "10.1.2.3", "--time", "2026-01-01T00:00:00Z",
	"--secure-transport", "--header", "X-Team=a, b", "--user-agent", "curl/8", "--context", `groups=["dev"]`,
}

func TestRunSimulate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(file, []byte(simPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	badDoc := `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"aws:UserAgent":"x"}}}]}`
	if err := os.WriteFile(bad, []byte(badDoc), 0o600); err != nil {
		t.Fatal(err)
	}
	without := func(flag string) []string {
		var out []string
		for i := 0; i < len(postFlags); i++ {
			if postFlags[i] == flag {
				if flag != "--secure-transport" {
					i++
				}
				continue
			}
			out = append(out, postFlags[i])
		}
		return out
	}
	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout string
		stderr string // a substring of stderr
	}{
		{"allow names the statement", []string{"--policy", file, "--arn", simArn + "GET/pets/1"}, "", 0, "Allow\nStatement[0] (Sid \"ReadPets\")\n", ""},
		{"explicit deny from stdin", []string{"--policy", "-", "--arn", simArn + "GET/admin/users"}, simPolicy, 3, "Deny (explicit)\nStatement[1] (Sid \"NoAdmin\")\n", ""},
		{"implicit deny", []string{"--policy", file, "--arn", simArn + "DELETE/pets/1"}, "", 4, "Deny (implicit)\nno statement matched\n", ""},
		{"every request fact met", append([]string{"--policy", file}, postFlags...), "", 0, "Allow\nStatement[2]\n", ""},
		{"source IP outside the CIDR", append([]string{"--policy", file}, append(without("--source-ip"), "--source-ip", "192.0.2.1")...), "", 4, "Deny (implicit)\nno statement matched\n", ""},
		{"time after the date", append([]string{"--policy", file}, append(without("--time"), "--time", "2031-01-01T00:00:00Z")...), "", 4, "Deny (implicit)\nno statement matched\n", ""},
		{"insecure transport", append([]string{"--policy", file}, append(without("--secure-transport"), "--secure-transport=false")...), "", 4, "Deny (implicit)\nno statement matched\n", ""},
		{"header value differs", append([]string{"--policy", file}, append(without("--header"), "--header", "x-team=a")...), "", 4, "Deny (implicit)\nno statement matched\n", ""},
		{"user agent differs", append([]string{"--policy", file}, append(without("--user-agent"), "--user-agent", "wget")...), "", 4, "Deny (implicit)\nno statement matched\n", ""},
		{"context list outside the set", append([]string{"--policy", file}, append(without("--context"), "--context", `groups=["dev","qa"]`)...), "", 4, "Deny (implicit)\nno statement matched\n", ""},
		{"bad policy", []string{"--policy", bad, "--arn", simArn + "GET/"}, "", 2, "", `bad.json: Statement[0].Condition: unknown operator "StringEqualz"`},
		{"bad policy from stdin", []string{"--policy", "-", "--arn", simArn + "GET/"}, "{", 2, "", "stdin: invalid JSON"},
		{"missing policy file", []string{"--policy", filepath.Join(dir, "none.json"), "--arn", simArn + "GET/"}, "", 2, "", "--policy: open"},
		{"bad methodArn", []string{"--policy", file, "--arn", "arn:aws:execute-api:us-east-1:123456789012:a/prod/GET"}, "", 2, "", "--arn: invalid methodArn"},
		{"missing methodArn", []string{"--policy", file}, "", 2, "", "--policy and --arn are required"},
		{"bad source IP", []string{"--policy", file, "--arn", simArn + "GET/", "--source-ip", "10.0.0"}, "", 2, "", "--source-ip"},
		{"bad time", []string{"--policy", file, "--arn", simArn + "GET/", "--time", "yesterday"}, "", 2, "", "--time"},
		{"bad header", []string{"--policy", file, "--arn", simArn + "GET/", "--header", "x-team"}, "", 2, "", "want NAME=VALUE"},
		{"bad context list", []string{"--policy", file, "--arn", simArn + "GET/", "--context", "groups=[dev"}, "", 2, "", "--context groups: not a JSON list"},
		{"unexpected argument", []string{"--policy", file, "--arn", simArn + "GET/", "extra"}, "", 2, "", `unexpected argument "extra"`},
		{"unknown flag", []string{"--policy", file, "--nope"}, "", 2, "", "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runSimulate(context.Background(), tt.args, stdio{in: strings.NewReader(tt.stdin), out: &out, err: &errOut})
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr: %s", code, tt.code, errOut.String())
			}
			if out.String() != tt.stdout {
				t.Errorf("stdout = %q, want %q", out.String(), tt.stdout)
			}
			if !strings.Contains(errOut.String(), tt.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", errOut.String(), tt.stderr)
			}
		})
	}
}

func TestSimulateArgsDefaults(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	env := map[string]string{"PORTCULLIS_SOURCE_IP": "10.9.8.7", "PORTCULLIS_POLICY": "-"}
	var errOut bytes.Buffer
	in, err := parseSimulateArgs([]string{"--arn", simArn + "GET/"}, stdio{err: &errOut},
		func(k string) string { return env[k] }, func() time.Time { return now })
	if err != nil {
		t.Fatalf("parseSimulateArgs: %v", err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"policy from the environment", in.policyPath, "-"},
		{"source IP from the environment", in.facts.SourceIP.String(), "10.9.8.7"},
		{"time defaults to now", in.facts.Time, now},
		{"transport defaults to insecure", in.facts.SecureTransport, false},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// TestSimulateHeadersSetTheirKeys: --header user-agent=... sets aws:UserAgent and --header
// referer=... sets aws:Referer, as on the Check path, where both read the request's headers.
func TestSimulateHeadersSetTheirKeys(t *testing.T) {
	parse := func(args ...string) (simulateInput, error) {
		var errOut bytes.Buffer
		return parseSimulateArgs(append([]string{"--policy", "-", "--arn", simArn + "GET/"}, args...), stdio{err: &errOut},
			func(string) string { return "" }, time.Now)
	}
	tests := []struct {
		name               string
		args               []string
		userAgent, referer string
		headerUA           string
	}{
		{"header user-agent", []string{"--header", "User-Agent=curl/8"}, "curl/8", "", "curl/8"},
		{"header referer", []string{"--header", "referer=https://a.example/"}, "", "https://a.example/", ""},
		{"flag sets the header too", []string{"--user-agent", "wget"}, "wget", "", "wget"},
		{"flag and header agreeing", []string{"--user-agent", "wget", "--header", "user-agent=wget"}, "wget", "", "wget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := parse(tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if in.facts.UserAgent != tt.userAgent || in.facts.Referer != tt.referer || in.facts.Headers["user-agent"] != tt.headerUA {
				t.Fatalf("aws:UserAgent %q, aws:Referer %q, header %q", in.facts.UserAgent, in.facts.Referer, in.facts.Headers["user-agent"])
			}
		})
	}
	if _, err := parse("--user-agent", "wget", "--header", "user-agent=curl"); err == nil {
		t.Fatal("--user-agent and --header user-agent disagreeing: no error")
	}
}
