package introspection

import (
	"errors"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/authorizer/authorizertest"
)

// FuzzAnswer feeds any body through what Authorize does with a 200 answer: no input panics, a
// refused answer is a configuration error or a 401, and an accepted one said active: true and
// yields a principal and a policy.
func FuzzAnswer(f *testing.F) {
	f.Add([]byte(`{"active":true,"sub":"alice","scope":"a b","exp":1900000000,"nbf":1.5}`))
	f.Add([]byte(`{"active":false}`))
	f.Add([]byte(`{"active":true,"client_id":"c","token_type":"refresh_token"}`))
	f.Add([]byte(`{"active":true,"username":7,"exp":"soon"}`))
	f.Add([]byte(`[1,2]`))
	b, err := New("fuzz", Config{URL: "http://127.0.0.1/", ClientID: "c",
		ContextClaims: []string{"tenant"},
		Policy:        []v1alpha1.PolicyRule{{Effect: "Allow", Routes: []string{"GET /users/{sub}"}}},
		Now:           func() time.Time { return time.Unix(1800000000, 0) }}, nil)
	if err != nil {
		f.Fatal(err)
	}
	req := authorizertest.Request(authorizer.TypeToken, "")
	f.Fuzz(func(t *testing.T, body []byte) {
		answer, err := decodeAnswer(body)
		if err != nil {
			if !errors.Is(err, authorizer.ErrConfiguration) {
				t.Fatalf("refusal is not a configuration error: %v", err)
			}
			return
		}
		if err := b.checkActive(answer); err != nil {
			if !errors.Is(err, authorizer.ErrUnauthorized) {
				t.Fatalf("inactive answer is not ErrUnauthorized: %v", err)
			}
			return
		}
		if answer["active"] != true {
			t.Fatalf("accepted an answer that is not active: %s", body)
		}
		resp, err := b.claims.Response(req, answer)
		if err != nil {
			if !errors.Is(err, authorizer.ErrUnauthorized) {
				t.Fatalf("mapping failed with %v", err)
			}
			return
		}
		if resp.PrincipalID == "" || len(resp.PolicyDocument) == 0 {
			t.Fatalf("accepted answer without principal or policy: %+v", resp)
		}
	})
}
