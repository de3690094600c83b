package lambda

import (
	"strings"
	"testing"
)

func FuzzReadFunctionFailure(f *testing.F) {
	f.Add(false, []byte(`{"errorMessage":"Unauthorized","errorType":"errorString"}`))
	f.Add(true, []byte(`{"errorMessage":"boom","errorType":"Runtime.ExitError"}`))
	f.Add(false, []byte(allowAnswer))
	f.Add(true, []byte(`not json`))
	f.Fuzz(func(t *testing.T, withHeader bool, payload []byte) {
		var header *string
		if withHeader {
			h := "Unhandled"
			header = &h
		}
		got, ok := readFunctionFailure(header, payload)
		if withHeader && !ok {
			t.Fatalf("X-Amz-Function-Error set but no failure read from %q", payload)
		}
		if got.unauthorized && !strings.Contains(string(payload), unauthorizedMessage) {
			t.Fatalf("Unauthorized read from %q", payload)
		}
		if got.errorType != identifierOrEmpty(got.errorType) {
			t.Fatalf("errorType %q is not an identifier", got.errorType)
		}
	})
}

func FuzzParseFunction(f *testing.F) {
	f.Add("authorizer-fn", "")
	f.Add("arn:aws:lambda:eu-west-1:123456789012:function:auth:live", "")
	f.Add("123456789012:function:auth", "3")
	f.Add("arn:aws:s3:::bucket", "")
	f.Fuzz(func(t *testing.T, name, qualifier string) {
		fn, err := parseFunction(name, qualifier)
		if err != nil {
			return
		}
		if fn.name != name || fn.qualifier != qualifier {
			t.Fatalf("parseFunction(%q, %q) = %+v", name, qualifier, fn)
		}
		if fn.region != "" && (!strings.HasPrefix(name, "arn:") || strings.Contains(fn.region, ":")) {
			t.Fatalf("region %q from %q", fn.region, name)
		}
		if strings.HasPrefix(name, "arn:") && fn.region == "" {
			t.Fatalf("ARN %q accepted without a region", name)
		}
	})
}
