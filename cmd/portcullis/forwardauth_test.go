package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// A mistake in the forward-auth flags is a usage error (exit 2) that names the flag, found
// before anything listens.
func TestForwardAuthFlagsRefused(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--forward-auth-mode", "nginx"}, "--forward-auth-mode"},
		{[]string{"--forward-auth-trusted-proxies", "10.0.0.0/33"}, "--forward-auth-trusted-proxies"},
		{[]string{"--forward-auth-mode", "x-original", "--forward-auth-path-prefix", "/authz"}, "--forward-auth-path-prefix"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
				"--forward-auth-addr", "127.0.0.1:0"}, tc.args...)
			code := run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
			if code != 2 || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and a message naming %s", code, errOut.String(), tc.want)
			}
		})
	}
}
