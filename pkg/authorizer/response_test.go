package authorizer_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
)

const allowPolicy = `{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/*"}]}`

func TestDecodeResponseIAM(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		version string
		want    authorizer.Response
	}{
		{"allow with scalar context in 1.0",
			`{"principalId":"user-42","policyDocument":` + allowPolicy + `,"context":{"s":"v","n":1.50,"b":true},"usageIdentifierKey":"key-1"}`, "1.0",
			authorizer.Response{PrincipalID: "user-42", PolicyDocument: json.RawMessage(allowPolicy),
				Context: map[string]any{"s": "v", "n": json.Number("1.50"), "b": true}, UsageIdentifierKey: "key-1"}},
		{"empty version reads as 1.0",
			`{"principalId":"u","policyDocument":` + allowPolicy + `}`, "",
			authorizer.Response{PrincipalID: "u", PolicyDocument: json.RawMessage(allowPolicy)}},
		{"missing principalId is empty",
			`{"policyDocument":` + allowPolicy + `}`, "1.0",
			authorizer.Response{PolicyDocument: json.RawMessage(allowPolicy)}},
		{"null context and null principalId are absent",
			`{"principalId":null,"policyDocument":` + allowPolicy + `,"context":null}`, "1.0",
			authorizer.Response{PolicyDocument: json.RawMessage(allowPolicy)}},
		{"big integer keeps its text",
			`{"policyDocument":` + allowPolicy + `,"context":{"n":12345678901234567890}}`, "1.0",
			authorizer.Response{PolicyDocument: json.RawMessage(allowPolicy), Context: map[string]any{"n": json.Number("12345678901234567890")}}},
		{"nested context allowed in 2.0",
			`{"principalId":"u","policyDocument":` + allowPolicy + `,"context":{"o":{"k":[1,null]},"z":null}}`, "2.0",
			authorizer.Response{PrincipalID: "u", PolicyDocument: json.RawMessage(allowPolicy),
				Context: map[string]any{"o": map[string]any{"k": []any{json.Number("1"), nil}}, "z": nil}}},
		{"policy kept as returned, whitespace included",
			`{"policyDocument": { "Version" : "2012-10-17" } }`, "1.0",
			authorizer.Response{PolicyDocument: json.RawMessage(`{ "Version" : "2012-10-17" }`)}},
		{"unknown members ignored",
			`{"policyDocument":` + allowPolicy + `,"extra":[1,2]}`, "1.0",
			authorizer.Response{PolicyDocument: json.RawMessage(allowPolicy)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := authorizer.DecodeResponse([]byte(tt.body), tt.version, false)
			if err != nil {
				t.Fatalf("DecodeResponse: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", *got, tt.want)
			}
		})
	}
}

func TestDecodeResponseSimple(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name string
		body string
		want authorizer.Response
	}{
		{"authorized with nested context",
			`{"isAuthorized":true,"context":{"a":["x"],"m":{"k":"v"}}}`,
			authorizer.Response{IsAuthorized: &yes, Context: map[string]any{"a": []any{"x"}, "m": map[string]any{"k": "v"}}}},
		{"not authorized", `{"isAuthorized":false}`, authorizer.Response{IsAuthorized: &no}},
		{"IAM answer still accepted with simple responses on",
			`{"principalId":"u","policyDocument":` + allowPolicy + `}`,
			authorizer.Response{PrincipalID: "u", PolicyDocument: json.RawMessage(allowPolicy)}},
		{"isAuthorized wins when both forms are present",
			`{"isAuthorized":false,"principalId":"u","policyDocument":` + allowPolicy + `}`,
			authorizer.Response{IsAuthorized: &no}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := authorizer.DecodeResponse([]byte(tt.body), "2.0", true)
			if err != nil {
				t.Fatalf("DecodeResponse: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", *got, tt.want)
			}
		})
	}
}

func TestDecodeResponseConfigurationErrors(t *testing.T) {
	policy := `"policyDocument":` + allowPolicy
	tests := []struct {
		name    string
		body    string
		version string
		simple  bool
		reason  string
	}{
		{"unparseable JSON", `{"principalId":`, "1.0", false, "not a JSON object"},
		{"trailing garbage", `{"policyDocument":` + allowPolicy + `} x`, "1.0", false, "not a JSON object"},
		{"empty body", ``, "1.0", false, "not a JSON object"},
		{"array", `[]`, "1.0", false, "not a JSON object"},
		{"string", `"Allow"`, "1.0", false, "not a JSON object"},
		{"null", `null`, "1.0", false, "null"},
		{"missing policy", `{"principalId":"u"}`, "1.0", false, "policyDocument is missing"},
		{"null policy", `{"policyDocument":null}`, "1.0", false, "policyDocument is missing"},
		{"empty policy", `{"policyDocument":{ }}`, "1.0", false, "policyDocument is empty"},
		{"policy as string", `{"policyDocument":"{}"}`, "1.0", false, "must be a JSON object"},
		{"policy as array", `{"policyDocument":[` + allowPolicy + `]}`, "1.0", false, "must be a JSON object"},
		{"object context value in 1.0", `{` + policy + `,"context":{"o":{}}}`, "1.0", false, `context value "o"`},
		{"array context value in 1.0", `{` + policy + `,"context":{"a":[1]}}`, "1.0", false, `context value "a"`},
		{"null context value in 1.0", `{` + policy + `,"context":{"z":null}}`, "1.0", false, `context value "z"`},
		{"context not an object", `{` + policy + `,"context":"x"}`, "2.0", false, "context must be a JSON object"},
		{"numeric principalId", `{` + policy + `,"principalId":42}`, "1.0", false, "principalId must be a string"},
		{"object principalId", `{` + policy + `,"principalId":{}}`, "2.0", false, "principalId must be a string"},
		{"numeric usageIdentifierKey", `{` + policy + `,"usageIdentifierKey":1}`, "1.0", false, "usageIdentifierKey must be a string"},
		{"member names are case-sensitive", `{"principalid":"u","policydocument":` + allowPolicy + `}`, "1.0", false, "policyDocument is missing"},
		{"isAuthorized as string", `{"isAuthorized":"true"}`, "2.0", true, "isAuthorized must be true or false"},
		{"simple answer with neither form", `{"context":{}}`, "2.0", true, "neither isAuthorized nor policyDocument"},
		{"null isAuthorized is missing", `{"isAuthorized":null}`, "2.0", true, "neither isAuthorized nor policyDocument"},
		{"simple answer without simple responses", `{"isAuthorized":true}`, "2.0", false, "policyDocument is missing"},
		{"simple responses ignored in 1.0", `{"isAuthorized":true}`, "1.0", true, "policyDocument is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := authorizer.DecodeResponse([]byte(tt.body), tt.version, tt.simple)
			if !errors.Is(err, authorizer.ErrConfiguration) {
				t.Fatalf("err = %v (response %#v), want ErrConfiguration", err, got)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %q, want the reason %q", err, tt.reason)
			}
		})
	}
}

func TestDecodeResponseSize(t *testing.T) {
	body := `{"policyDocument":` + allowPolicy + `}`
	atLimit := body + strings.Repeat(" ", authorizer.MaxResponseBytes-len(body))
	if _, err := authorizer.DecodeResponse([]byte(atLimit), "1.0", false); err != nil {
		t.Errorf("answer of exactly 1 MiB: %v", err)
	}
	_, err := authorizer.DecodeResponse([]byte(atLimit+" "), "1.0", false)
	if !errors.Is(err, authorizer.ErrResponseTooLarge) {
		t.Errorf("answer one byte over 1 MiB: err = %v, want ErrResponseTooLarge", err)
	}
	if errors.Is(err, authorizer.ErrConfiguration) {
		t.Error("an oversized answer is a backend failure, not a configuration error")
	}
}

func TestDecodeResponseUnknownVersion(t *testing.T) {
	_, err := authorizer.DecodeResponse([]byte(`{"policyDocument":`+allowPolicy+`}`), "3.0", false)
	if err == nil || errors.Is(err, authorizer.ErrConfiguration) {
		t.Errorf("err = %v, want a plain error: the version is ours, not the backend's", err)
	}
}

func TestDecodeResponseLongKeyIsCutInError(t *testing.T) {
	key := strings.Repeat("k", 10_000)
	_, err := authorizer.DecodeResponse([]byte(`{"policyDocument":`+allowPolicy+`,"context":{"`+key+`":[]}}`), "1.0", false)
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("err = %.300v, want a short configuration error", err)
	}
}

func BenchmarkDecodeResponse(b *testing.B) {
	body := []byte(`{"principalId":"user-42","policyDocument":` + allowPolicy + `,"context":{"s":"v","n":1,"b":true}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := authorizer.DecodeResponse(body, "1.0", false); err != nil {
			b.Fatal(err)
		}
	}
}
