package policy

import (
	"errors"
	"testing"
)

// FuzzCompile checks that Compile never panics, that every refusal is a *Error, and that
// whatever it accepts evaluates without panicking to a well-formed Result.
func FuzzCompile(f *testing.F) {
	f.Add([]byte(doc(allowAll)))
	f.Add([]byte(benchPolicy(true)))
	f.Add([]byte(doc(allowWith(everyOperator()))))
	f.Add([]byte(`{"Version":"2008-10-17","Statement":{"Effect":"Deny","NotAction":"s3:*","NotResource":"arn:*/${*}"}}`))
	f.Add([]byte(doc(allowWith(`{"ForAllValues:StringLike":{"context:groups":["${context:tenant}-*","a?"]},"Null":{"request:header/x":"false"}}`))))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Compile(data)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("error %T %v is not a *policy.Error", err, err)
			}
			return
		}
		if p.Size() <= 0 {
			t.Fatalf("Size = %d", p.Size())
		}
		for _, arn := range []string{testArn, arnPrefix + "GET/", arnPrefix + "POST/a/b/c", "", "é"} {
			for _, facts := range []*Facts{nil, testFacts()} {
				r := p.Evaluate(arn, facts)
				switch {
				case r.Decision > Allow:
					t.Fatalf("decision %d", r.Decision)
				case r.Decision == ImplicitDeny && r.Statement != -1:
					t.Fatalf("implicit deny names statement %d", r.Statement)
				case r.Decision != ImplicitDeny && (r.Statement < 0 || r.Statement >= len(p.statements)):
					t.Fatalf("statement %d out of range", r.Statement)
				}
			}
		}
	})
}
