package authorizer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/authorizer/authorizertest"
)

var fuzzVersions = []string{"", "1.0", "2.0"}

// FuzzDecodeResponse checks that no answer panics the decoder, that every refusal is a
// configuration error or the size limit, and that every accepted answer, written back in its wire
// form, decodes to the same Response.
func FuzzDecodeResponse(f *testing.F) {
	f.Add([]byte(`{"principalId":"u","policyDocument":`+allowPolicy+`,"context":{"n":1}}`), uint8(1), false)
	f.Add([]byte(`{"isAuthorized":true,"context":{"o":{"k":[1,2]}}}`), uint8(2), true)
	f.Fuzz(func(t *testing.T, body []byte, v uint8, simple bool) {
		version := fuzzVersions[int(v)%len(fuzzVersions)]
		resp, err := authorizer.DecodeResponse(body, version, simple)
		if err != nil {
			if !errors.Is(err, authorizer.ErrConfiguration) && !errors.Is(err, authorizer.ErrResponseTooLarge) {
				t.Fatalf("refusal is neither a configuration error nor the size limit: %v", err)
			}
			return
		}
		if (resp.IsAuthorized == nil) == (resp.PolicyDocument == nil) {
			t.Fatalf("want exactly one of IsAuthorized and PolicyDocument: %#v", resp)
		}
		wire, err := json.Marshal(wireForm(resp))
		if err != nil {
			t.Fatalf("accepted answer does not re-marshal: %v", err)
		}
		again, err := authorizer.DecodeResponse(wire, version, simple)
		if err != nil {
			t.Fatalf("re-marshalled answer %s refused: %v", wire, err)
		}
		if !sameResponse(resp, again) {
			t.Fatalf("round trip changed the answer:\nfirst  %#v\nsecond %#v", resp, again)
		}
	})
}

// wireForm is a Response as a backend would send it.
func wireForm(r *authorizer.Response) map[string]any {
	m := map[string]any{}
	if r.IsAuthorized != nil {
		m["isAuthorized"] = *r.IsAuthorized
	} else {
		m["principalId"] = r.PrincipalID
		m["policyDocument"] = r.PolicyDocument
		m["usageIdentifierKey"] = r.UsageIdentifierKey
	}
	if r.Context != nil {
		m["context"] = r.Context
	}
	return m
}

// sameResponse compares policies by meaning: re-marshalling compacts a raw policy. Numbers are
// compared as their text, since a raw policy may hold one no float64 can (1e700).
func sameResponse(a, b *authorizer.Response) bool {
	var pa, pb any
	if a.PolicyDocument != nil {
		if decodeNumbers(a.PolicyDocument, &pa) != nil || decodeNumbers(b.PolicyDocument, &pb) != nil {
			return false
		}
	}
	x, y := *a, *b
	x.PolicyDocument, y.PolicyDocument = nil, nil
	return reflect.DeepEqual(pa, pb) && reflect.DeepEqual(x, y)
}

func decodeNumbers(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// FuzzMarshalEvent checks that any query, cookie header, token or path the client can send gives
// a valid event, and that the TOKEN event carries the token verbatim. (Envoy's gRPC strings are
// UTF-8, so only valid UTF-8 tokens must survive unchanged.)
func FuzzMarshalEvent(f *testing.F) {
	f.Add("tag=cat&tag=dog%20house&q=a+b&flag", "session=abc; theme=dark", authorizertest.Token, "/v1/pets/42", uint8(1))
	f.Add("a=%zz&;=&&", ";;  ;", "\x00\xff<&>", "/", uint8(2))
	f.Fuzz(func(t *testing.T, rawQuery, cookie, token, path string, v uint8) {
		for _, typ := range []string{authorizer.TypeToken, authorizer.TypeRequest} {
			req := authorizertest.Request(typ, fuzzVersions[int(v)%len(fuzzVersions)])
			req.Token = token
			req.HTTP.RawQuery, req.HTTP.RawPath, req.HTTP.Path, req.Path = rawQuery, path, path, path
			req.HTTP.Headers["cookie"] = cookie
			b, err := authorizer.MarshalEvent(req)
			if err != nil {
				t.Fatalf("%s event: %v", typ, err)
			}
			var event map[string]any
			if err := json.Unmarshal(b, &event); err != nil {
				t.Fatalf("%s event is not a JSON object: %v\n%s", typ, err, b)
			}
			if typ == authorizer.TypeToken && utf8.ValidString(token) && event["authorizationToken"] != token {
				t.Fatalf("token changed: %q became %q", token, event["authorizationToken"])
			}
		}
	})
}
