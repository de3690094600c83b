package policy

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// benchPolicy is a 20-statement policy of the kind authorizers return: denies guarded by
// conditions, then allows per route, the request's route last so every statement is checked.
func benchPolicy(variables bool) string {
	var s []string
	for i := range 5 {
		s = append(s, fmt.Sprintf(`{"Sid":"Deny%d","Effect":"Deny","Action":"execute-api:Invoke",`+
			`"Resource":"%s*/admin%d/*","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}}`, i, arnPrefix, i))
	}
	for i := range 14 {
		s = append(s, fmt.Sprintf(`{"Sid":"Allow%d","Effect":"Allow","Action":["execute-api:Invoke"],`+
			`"Resource":["%sGET/route%d/*","%sPOST/route%d"],"Condition":{"StringEquals":{"context:tenant":"acme"},`+
			`"Bool":{"aws:SecureTransport":"true"}}}`, i, arnPrefix, i, arnPrefix, i))
	}
	last := `{"Sid":"Users","Effect":"Allow","Action":"execute-api:Invoke","Resource":"` + arnPrefix + `GET/users/*",` +
		`"Condition":{"StringEquals":{"context:tenant":"acme"},"DateLessThan":{"aws:CurrentTime":"2100-01-01T00:00:00Z"},` +
		`"StringLike":{"request:header/user-agent":"Mozilla/*"}}}`
	if variables {
		last = strings.Replace(last, "GET/users/*", "GET/users/${context:sub}", 1)
	}
	s = append(s, last)
	return doc(s...)
}

func benchFacts() *Facts {
	return &Facts{
		SourceIP:        netip.MustParseAddr("10.1.2.3"),
		Time:            testTime,
		SecureTransport: true,
		Context:         NewContext(map[string]any{"tenant": "acme", "sub": "42"}),
		Headers:         map[string]string{"user-agent": "Mozilla/5.0"},
	}
}

const benchArn = arnPrefix + "GET/users/42"

func TestEvaluateAllocatesNothing(t *testing.T) {
	tests := []struct {
		name      string
		variables bool
	}{
		{"without variables", false},
		{"with a variable in a resource", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustCompile(t, benchPolicy(tt.variables))
			f := benchFacts()
			if got := p.Evaluate(benchArn, f); got.Decision != Allow || got.Statement != 19 {
				t.Fatalf("Evaluate = %+v, want Allow at statement 19", got)
			}
			if n := testing.AllocsPerRun(100, func() { p.Evaluate(benchArn, f) }); n != 0 {
				t.Errorf("Evaluate allocates %v times per run", n)
			}
		})
	}
	t.Run("string operator on a formatted value", func(t *testing.T) {
		p := mustCompile(t, doc(allowWith(`{"StringLike":{"aws:SourceIp":"10.*"},"StringEquals":{"context:level":"3"}}`)))
		f := &Facts{SourceIP: netip.MustParseAddr("10.1.2.3"), Context: NewContext(map[string]any{"level": 3.0})}
		if n := testing.AllocsPerRun(100, func() { p.Evaluate(benchArn, f) }); n != 0 {
			t.Errorf("Evaluate allocates %v times per run", n)
		}
	})
}

func BenchmarkEvaluate(b *testing.B) {
	for _, variables := range []bool{false, true} {
		b.Run(fmt.Sprintf("20 statements variables=%v", variables), func(b *testing.B) {
			p := mustCompile(b, benchPolicy(variables))
			f := benchFacts()
			b.ReportAllocs()
			for b.Loop() {
				p.Evaluate(benchArn, f)
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	docBytes := []byte(benchPolicy(false))
	b.ReportAllocs()
	b.SetBytes(int64(len(docBytes)))
	for b.Loop() {
		if _, err := Compile(docBytes); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInternerHit(b *testing.B) {
	in := NewInterner()
	docBytes := []byte(benchPolicy(false))
	p, err := in.Compile(docBytes)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(docBytes)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if q, _ := in.Compile(docBytes); q != p {
				b.Error("miss")
			}
		}
	})
}
