package gatewayresponse

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/policy"
)

// FuzzTemplate compiles any template and renders it with any request values: never a panic, no
// request value in a header with a control character, and a JSON template that quotes its
// variables stays valid JSON whatever the request holds.
func FuzzTemplate(f *testing.F) {
	f.Add(`{"m":$context.error.messageString,"id":"$context.requestId"}`, "/pets/1", "alice", "x\r\ny")
	f.Add(`$`, `"`, `\`, "\x00")
	f.Add(`${context.path}$context.authorizer.k.$stageVariables.env`, "</p>", "", "")
	f.Fuzz(func(t *testing.T, template, path, principal, header string) {
		s, errs := Compile(map[string]v1alpha1.GatewayResponse{"DEFAULT_4XX": {
			ResponseParameters: map[string]string{"gatewayresponse.header.x-h": "method.request.header.x-h"},
			ResponseTemplates:  map[string]string{"text/plain": template},
		}}, restApi)
		if errs == nil {
			r := s.Render(ExplicitDeny, false, &Request{Path: path, PrincipalID: principal, Headers: map[string]string{"x-h": header},
				Context: policy.NewContext(map[string]any{"k": header})})
			for _, h := range r.Headers {
				if !headerSafe(h.Value) {
					t.Fatalf("header %s = %q", h.Name, h.Value)
				}
			}
		}
		quoted := mustCompile(t, restApi, map[string]v1alpha1.GatewayResponse{"DEFAULT_4XX": {
			ResponseTemplates: map[string]string{"application/json": `{"p":"$context.path","id":"$context.authorizer.principalId","k":"$context.authorizer.k"}`},
		}})
		r := quoted.Render(ExplicitDeny, false, &Request{Path: path, PrincipalID: principal,
			Context: policy.NewContext(map[string]any{"k": header})})
		var v map[string]string
		if err := json.Unmarshal([]byte(r.Body), &v); err != nil && strings.ToValidUTF8(path+principal+header, "") == path+principal+header {
			t.Fatalf("body %q is not JSON: %v", r.Body, err)
		}
	})
}
