package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/engine"
)

type invalidation struct {
	authorizer string
	identity   []string
}

func TestInvalidate(t *testing.T) {
	var got []invalidation
	invalidate := func(_ context.Context, authorizer string, identity []string) (bool, error) {
		switch authorizer {
		case "nope":
			return false, fmt.Errorf("%w: %q", engine.ErrNoSuchAuthorizer, authorizer)
		case "two-sources":
			if len(identity) != 2 {
				return false, fmt.Errorf("%w: %d values for 2 sources", engine.ErrIdentityShape, len(identity))
			}
		case "store-down":
			return false, errors.New("shared cache: connection refused")
		}
		got = append(got, invalidation{authorizer, identity})
		return authorizer == "shared", nil
	}
	srv := httptest.NewServer(Handler(Options{AdminToken: "s3cret-admin", Invalidate: invalidate}))
	defer srv.Close()
	bare := httptest.NewServer(Handler(Options{Invalidate: invalidate}))
	defer bare.Close()

	tests := []struct {
		name     string
		url      string
		method   string
		auth     string
		body     string
		status   int
		contains string
		applied  bool
	}{
		{"one identity", srv.URL, "POST", "Bearer s3cret-admin", `{"authorizer":"tokens","identity":["Bearer abc"]}`, 200, `"dropped":"identity","replicas":"this"`, true},
		{"all of an authorizer, through the shared tier", srv.URL, "POST", "bearer s3cret-admin", `{"authorizer":"shared"}`, 200, `"dropped":"all","replicas":"all"`, true},
		{"no token", srv.URL, "POST", "", `{"authorizer":"tokens"}`, 401, `"Unauthorized"`, false},
		{"wrong token", srv.URL, "POST", "Bearer s3cret-admiN", `{"authorizer":"tokens"}`, 401, `"Unauthorized"`, false},
		{"token as a prefix", srv.URL, "POST", "Bearer s3cret", `{"authorizer":"tokens"}`, 401, `"Unauthorized"`, false},
		{"other scheme", srv.URL, "POST", "Basic s3cret-admin", `{"authorizer":"tokens"}`, 401, `"Unauthorized"`, false},
		{"GET is not allowed", srv.URL, "GET", "Bearer s3cret-admin", ``, 405, ``, false},
		{"unknown authorizer", srv.URL, "POST", "Bearer s3cret-admin", `{"authorizer":"nope"}`, 404, `no authorizer named \"nope\"`, false},
		{"no authorizer", srv.URL, "POST", "Bearer s3cret-admin", `{"identity":["x"]}`, 400, `authorizer is required`, false},
		{"empty identity list", srv.URL, "POST", "Bearer s3cret-admin", `{"authorizer":"tokens","identity":[]}`, 400, `identity is empty`, false},
		{"not JSON", srv.URL, "POST", "Bearer s3cret-admin", `authorizer=tokens`, 400, `body:`, false},
		{"unknown field", srv.URL, "POST", "Bearer s3cret-admin", `{"authorizer":"tokens","identities":["x"]}`, 400, `unknown field`, false},
		{"identity of the wrong shape", srv.URL, "POST", "Bearer s3cret-admin", `{"authorizer":"two-sources","identity":["x"]}`, 400, `1 values for 2 sources`, false},
		{"store down", srv.URL, "POST", "Bearer s3cret-admin", `{"authorizer":"store-down"}`, 503, `dropped on this replica only`, false},
		{"no admin token configured: no endpoint", bare.URL, "POST", "Bearer ", `{"authorizer":"tokens"}`, 404, ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			req, _ := http.NewRequest(tt.method, tt.url+"/cache/invalidate", strings.NewReader(tt.body))
			if tt.auth != "" {
				req.Header.Set("authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.contains) {
				t.Fatalf("%d %s, want %d containing %s", resp.StatusCode, body, tt.status, tt.contains)
			}
			if applied := len(got) == 1; applied != tt.applied {
				t.Fatalf("invalidations %v, want applied=%v", got, tt.applied)
			}
			if tt.status == 401 && resp.Header.Get("www-authenticate") == "" {
				t.Error("401 without www-authenticate")
			}
		})
	}
}
