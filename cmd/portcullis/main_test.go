package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runCmd runs the CLI in-process with env as its whole environment for PORTCULLIS_* flags.
func runCmd(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errb})
	return code, out.String() + errb.String()
}

func TestHelpExitsZeroOnEveryCommand(t *testing.T) {
	for _, c := range commands() {
		for _, flag := range []string{"-h", "--help"} {
			t.Run(c.name+flag, func(t *testing.T) {
				if code, out := runCmd(t, nil, c.name, flag); code != 0 {
					t.Fatalf("portcullis %s %s: exit %d, want 0\n%s", c.name, flag, code, out)
				}
			})
		}
	}
}

func TestBadFlagsAreReported(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"environment value that does not parse", map[string]string{"PORTCULLIS_CACHE_MAX_BYTES": "abc"},
			[]string{"serve"}, "PORTCULLIS_CACHE_MAX_BYTES"},
		{"decision log rate over 1", nil, []string{"serve", "--decision-log-rate", "1.5"}, "--decision-log-rate"},
		{"decision log rate below 0", nil, []string{"serve", "--decision-log-rate=-0.1"}, "--decision-log-rate"},
		{"trace sample ratio over 1", nil, []string{"serve", "--trace-sample-ratio", "2"}, "--trace-sample-ratio"},
		{"trace sample ratio NaN", nil, []string{"serve", "--trace-sample-ratio", "NaN"}, "--trace-sample-ratio"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runCmd(t, tc.env, tc.args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2\n%s", code, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Fatalf("output does not name %q:\n%s", tc.want, out)
			}
		})
	}
}

func TestVersionNamesTheCodec(t *testing.T) {
	code, out := runCmd(t, nil, "version")
	if code != 0 || !strings.Contains(out, "codec: ") {
		t.Fatalf("exit %d, output %q: want the codec named", code, out)
	}
	want := "reflection"
	if codecName() != want && strings.HasPrefix(codecName(), "vtprotobuf") {
		want = "vtprotobuf"
	}
	if !strings.Contains(out, want) {
		t.Fatalf("version says %q, want %q", out, want)
	}
}
