package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const testArn = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/42"

func mustCompile(t testing.TB, doc string) *Policy {
	t.Helper()
	p, err := Compile([]byte(doc))
	if err != nil {
		t.Fatalf("Compile: %v\n%s", err, doc)
	}
	return p
}

// doc wraps statements in a 2012-10-17 document.
func doc(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

func allowWith(condition string) string {
	return `{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*","Condition":` + condition + `}`
}

const allowAll = `{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}`

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string // the whole error text
	}{
		{"bad JSON", `{"Version":`, "invalid JSON: unexpected end of JSON input"},
		{"trailing garbage", `{"Statement":[]} x`, "invalid JSON: invalid character 'x' after top-level value"},
		{"document not an object", `[]`, "want an object"},
		{"unknown top-level field", `{"Statement":[],"Principal":"*"}`, `unknown field "Principal"`},
		{"unsupported version", `{"Version":"2020-01-01","Statement":[]}`, `Version: unsupported version "2020-01-01" (want "2012-10-17" or "2008-10-17")`},
		{"version not a string", `{"Version":null,"Statement":[]}`, "Version: want a string"},
		{"missing statement", `{"Version":"2012-10-17"}`, "Statement: missing"},
		{"statement a string", `{"Statement":"Allow"}`, "Statement: want an object or a list of objects"},
		{"statement element not an object", doc(allowAll, `"x"`), "Statement[1]: want an object"},
		{"duplicate field", doc(`{"Effect":"Allow","Effect":"Deny","Action":"*","Resource":"*"}`), `Statement[0]: duplicate field "Effect"`},
		{"duplicate top-level field", `{"Statement":[],"Statement":[]}`, `duplicate field "Statement"`},
		{"duplicate condition key", doc(allowWith(`{"StringEquals":{"aws:UserAgent":"a","aws:UserAgent":"b"}}`)), `Statement[0].Condition: StringEquals: duplicate field "aws:UserAgent"`},
		{"duplicate condition operator", doc(allowWith(`{"Bool":{"aws:SecureTransport":"true"},"Bool":{"aws:SecureTransport":"false"}}`)), `Statement[0].Condition: duplicate field "Bool"`},
		{"nested too deeply", doc(allowWith(`{"StringEquals":{"aws:UserAgent":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `}}`)), "nested deeper than 16 levels"},
		{"field names are exact", doc(`{"effect":"Allow","Action":"*","Resource":"*"}`), `Statement[0]: unknown field "effect"`},
		{"principal not allowed", doc(`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}`), `Statement[0]: unknown field "Principal"`},
		{"sid not a string", doc(`{"Sid":1,"Effect":"Allow","Action":"*","Resource":"*"}`), "Statement[0].Sid: want a string"},
		{"unknown effect", doc(allowAll, `{"Effect":"allow","Action":"*","Resource":"*"}`), `Statement[1].Effect: must be "Allow" or "Deny", not "allow"`},
		{"missing effect", doc(`{"Action":"*","Resource":"*"}`), "Statement[0].Effect: missing"},
		{"missing action", doc(allowAll, `{"Effect":"Allow","Resource":"*"}`), "Statement[1].Action: missing (a statement needs Action or NotAction)"},
		{"both action and notaction", doc(`{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}`), "Statement[0].Action: a statement takes Action or NotAction, not both"},
		{"missing resource", doc(`{"Effect":"Allow","Action":"*"}`), "Statement[0].Resource: missing (a statement needs Resource or NotResource)"},
		{"both resource and notresource", doc(`{"Effect":"Deny","Action":"*","Resource":"*","NotResource":"*"}`), "Statement[0].Resource: a statement takes Resource or NotResource, not both"},
		{"empty action list", doc(`{"Effect":"Allow","Action":[],"Resource":"*"}`), "Statement[0].Action: empty list"},
		{"action not a string", doc(`{"Effect":"Allow","Action":7,"Resource":"*"}`), "Statement[0].Action: want a string or a list of strings"},
		{"empty resource", doc(`{"Effect":"Allow","Action":"*","Resource":["*",""]}`), "Statement[0].Resource: entry 1 is empty"},
		{"action without service", doc(`{"Effect":"Allow","Action":"Invoke","Resource":"*"}`), `Statement[0].Action: "Invoke" is not "*" or service:action`},
		{"resource not an ARN", doc(`{"Effect":"Deny","Action":"*","NotResource":"/pets"}`), `Statement[0].NotResource: "/pets" is not "*" or an ARN`},
		{"unknown operator", doc(allowAll, allowAll, allowWith(`{"StringEqualz":{"aws:UserAgent":"x"}}`)), `Statement[2].Condition: unknown operator "StringEqualz"`},
		{"operator names are case-sensitive", doc(allowWith(`{"stringequals":{"aws:UserAgent":"x"}}`)), `Statement[0].Condition: unknown operator "stringequals"`},
		{"null takes no IfExists", doc(allowWith(`{"NullIfExists":{"aws:UserAgent":"true"}}`)), `Statement[0].Condition: operator "NullIfExists": Null takes neither IfExists nor a set prefix`},
		{"unknown condition key", doc(allowWith(`{"StringEquals":{"aws:username":"bob"}}`)), `Statement[0].Condition: StringEquals: "aws:username": unknown condition key`},
		{"empty context key", doc(allowWith(`{"StringEquals":{"context:":"x"}}`)), `Statement[0].Condition: StringEquals: "context:": unknown condition key`},
		{"bad CIDR", doc(allowWith(`{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}`)), `Statement[0].Condition: IpAddress: "aws:SourceIp": bad CIDR "10.0.0.0/33"`},
		{"bad IPv6 CIDR", doc(allowWith(`{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/129"]}}`)), `Statement[0].Condition: IpAddress: "aws:SourceIp": bad CIDR "2001:db8::/129"`},
		{"bad date", doc(allowWith(`{"DateLessThan":{"aws:CurrentTime":"2024-13-01T00:00:00Z"}}`)), `Statement[0].Condition: DateLessThan: "aws:CurrentTime": bad date "2024-13-01T00:00:00Z"`},
		{"bad number", doc(allowWith(`{"NumericLessThan":{"context:n":"ten"}}`)), `Statement[0].Condition: NumericLessThan: "context:n": bad number "ten"`},
		{"numbers refuse inf", doc(allowWith(`{"NumericLessThan":{"context:n":"inf"}}`)), `Statement[0].Condition: NumericLessThan: "context:n": bad number "inf"`},
		{"bad boolean", doc(allowWith(`{"Bool":{"aws:SecureTransport":"yes"}}`)), `Statement[0].Condition: Bool: "aws:SecureTransport": bad boolean "yes"`},
		{"operator cannot read key", doc(allowWith(`{"IpAddress":{"aws:UserAgent":"10.0.0.0/8"}}`)), `Statement[0].Condition: IpAddress: "aws:UserAgent" cannot be read by this operator`},
		{"condition value null", doc(allowWith(`{"StringEquals":{"aws:UserAgent":null}}`)), `Statement[0].Condition: StringEquals: "aws:UserAgent": want a string, number or boolean`},
		{"condition value object", doc(allowWith(`{"StringEquals":{"aws:UserAgent":["a",{}]}}`)), `Statement[0].Condition: StringEquals: "aws:UserAgent": value 1: want a string, number or boolean`},
		{"condition empty value list", doc(allowWith(`{"StringEquals":{"aws:UserAgent":[]}}`)), `Statement[0].Condition: StringEquals: "aws:UserAgent": empty list of values`},
		{"condition operator without keys", doc(allowWith(`{"StringEquals":{}}`)), "Statement[0].Condition: StringEquals: no condition keys"},
		{"condition not an object", doc(allowWith(`[]`)), "Statement[0].Condition: want an object"},
		{"unknown variable key", doc(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:execute-api:*:*:*/prod/GET/users/${aws:username}"}`), `Statement[0].Resource: policy variable ${aws:username}: unknown condition key`},
		{"unterminated variable", doc(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:execute-api:*/${context:sub"}`), `Statement[0].Resource: unterminated policy variable in "arn:aws:execute-api:*/${context:sub"`},
		{"unknown variable key in condition value", doc(allowWith(`{"StringEquals":{"context:tenant":"${tenant}"}}`)), `Statement[0].Condition: StringEquals: "context:tenant": policy variable ${tenant}: unknown condition key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Compile accepted %s (%v)", tt.doc, p)
			}
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("error %T %v is not a *policy.Error", err, err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q\nwant  %q", err.Error(), tt.want)
			}
		})
	}
}

func TestCompileLimits(t *testing.T) {
	stmts := make([]string, MaxStatements+1)
	for i := range stmts {
		stmts[i] = `{"Effect":"Allow","Action":"*","Resource":"*"}`
	}
	large := doc(allowWith(`{"StringEquals":{"aws:UserAgent":"` + strings.Repeat("x", MaxDocumentSize) + `"}}`))
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"too many statements", doc(stmts...), "Statement: 1001 statements, over the limit of 1000"},
		{"document too large", large, fmt.Sprintf("document is %d bytes, over the limit of 65536", len(large))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile([]byte(tt.doc))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := Compile([]byte(doc(stmts[:MaxStatements]...))); err != nil {
		t.Errorf("%d statements refused: %v", MaxStatements, err)
	}
}

func TestCompileAccepts(t *testing.T) {
	tests := []struct {
		name string
		doc  string
	}{
		{"statement as object", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}}`},
		{"version 2008-10-17", `{"Version":"2008-10-17","Statement":[` + allowAll + `]}`},
		{"no version", `{"Statement":[` + allowAll + `]}`},
		{"id and sid", `{"Version":"2012-10-17","Id":"p1","Statement":[{"Sid":"A1","Effect":"Allow","Action":["execute-api:Invoke"],"Resource":["*"]}]}`},
		{"empty statement list", `{"Version":"2012-10-17","Statement":[]}`},
		{"number and boolean condition values", doc(allowWith(`{"NumericLessThan":{"context:n":[1,2.5,-3e2]},"Bool":{"aws:SecureTransport":true}}`))},
		{"every operator", doc(allowWith(everyOperator()))},
		{"variables are literal text in 2008-10-17", `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:execute-api:*/${aws:username}"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustCompile(t, tt.doc)
			if p.Size() <= 0 {
				t.Errorf("Size = %d", p.Size())
			}
		})
	}
}

// everyOperator is a condition block naming each operator the SPEC lists, with and without
// IfExists and the set prefixes.
func everyOperator() string {
	values := map[string]string{
		"String": `"context:s":"x"`, "Numeric": `"context:n":"1"`, "Date": `"aws:CurrentTime":"2024-01-01"`,
	}
	var parts []string
	add := func(op, kv string) {
		for _, prefix := range []string{"", "ForAnyValue:", "ForAllValues:"} {
			for _, suffix := range []string{"", "IfExists"} {
				parts = append(parts, fmt.Sprintf(`"%s%s%s":{%s}`, prefix, op, suffix, kv))
			}
		}
	}
	for _, op := range []string{"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike"} {
		add(op, values["String"])
	}
	for _, op := range []string{"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals"} {
		add(op, values["Numeric"])
	}
	for _, op := range []string{"DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals"} {
		add(op, values["Date"])
	}
	add("Bool", `"aws:SecureTransport":"true"`)
	add("IpAddress", `"aws:SourceIp":"10.0.0.0/8"`)
	add("NotIpAddress", `"aws:SourceIp":"10.0.0.0/8"`)
	parts = append(parts, `"Null":{"context:x":"true"}`)
	return "{" + strings.Join(parts, ",") + "}"
}

func TestPolicyHash(t *testing.T) {
	a := mustCompile(t, doc(allowAll))
	b := mustCompile(t, doc(allowAll))
	c := mustCompile(t, doc(allowAll, allowAll))
	if a.Hash() != b.Hash() {
		t.Error("equal documents hash differently")
	}
	if a.Hash() == c.Hash() {
		t.Error("different documents hash the same")
	}
	if !strings.HasPrefix(a.String(), "policy ") {
		t.Errorf("String = %q", a.String())
	}
}
