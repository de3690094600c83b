package policy

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

var testTime = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func testFacts() *Facts {
	return &Facts{
		SourceIP:        netip.MustParseAddr("203.0.113.7"),
		Time:            testTime,
		SecureTransport: true,
		UserAgent:       "curl/8.5.0",
		Context: NewContext(map[string]any{
			"tenant": "acme",
			"level":  3.0,
			"admin":  true,
			"num":    json.Number("7"),
			"since":  "2024-01-01T00:00:00Z",
			"groups": []any{"dev", "ops"},
			"roles":  []string{"reader"},
			"empty":  []any{},
			"obj":    map[string]any{"a": 1.0},
			"nil":    nil,
		}),
		Headers: map[string]string{"x-tenant": "acme", "x-empty": ""},
	}
}

type condCase struct {
	name  string
	cond  string // a Condition block
	facts *Facts // testFacts() when nil
	want  bool   // whether the condition holds
}

func runCondCases(t *testing.T, tests []condCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustCompile(t, doc(allowWith(tt.cond)))
			f := tt.facts
			if f == nil {
				f = testFacts()
			}
			got := p.Evaluate(testArn, f).Decision == Allow
			if got != tt.want {
				t.Errorf("condition %s holds = %v, want %v", tt.cond, got, tt.want)
			}
		})
	}
}

func TestStringConditions(t *testing.T) {
	runCondCases(t, []condCase{
		{"equals", `{"StringEquals":{"context:tenant":"acme"}}`, nil, true},
		{"equals is case-sensitive", `{"StringEquals":{"context:tenant":"ACME"}}`, nil, false},
		{"values are ORed", `{"StringEquals":{"context:tenant":["x","acme"]}}`, nil, true},
		{"not equals", `{"StringNotEquals":{"context:tenant":"other"}}`, nil, true},
		{"not equals is a NOR of the values", `{"StringNotEquals":{"context:tenant":["x","acme"]}}`, nil, false},
		{"equals ignore case", `{"StringEqualsIgnoreCase":{"context:tenant":"ACME"}}`, nil, true},
		{"not equals ignore case", `{"StringNotEqualsIgnoreCase":{"context:tenant":"ACME"}}`, nil, false},
		{"like with star", `{"StringLike":{"aws:UserAgent":"curl/*"}}`, nil, true},
		{"like question mark is one character", `{"StringLike":{"aws:UserAgent":"curl/?"}}`, nil, false},
		{"not like", `{"StringNotLike":{"aws:UserAgent":"wget*"}}`, nil, true},
		{"star is literal in equals", `{"StringEquals":{"context:tenant":"*"}}`, nil, false},
		{"key names are case-insensitive", `{"StringEquals":{"CONTEXT:Tenant":"acme","AWS:USERAGENT":"curl/8.5.0"}}`, nil, true},
		{"number reads as its JSON text", `{"StringEquals":{"context:level":"3"}}`, nil, true},
		{"json.Number reads as its text", `{"StringEquals":{"context:num":"7"}}`, nil, true},
		{"boolean reads as true", `{"StringEquals":{"context:admin":"true"}}`, nil, true},
		{"source IP reads as text", `{"StringEquals":{"aws:SourceIp":"203.0.113.7"}}`, nil, true},
		{"current time reads as ISO 8601", `{"StringLike":{"aws:CurrentTime":"2024-06-01T*Z"}}`, nil, true},
		{"secure transport reads as text", `{"StringEquals":{"aws:SecureTransport":"true"}}`, nil, true},
		{"header name is case-insensitive", `{"StringEquals":{"request:header/X-Tenant":"acme"}}`, nil, true},
		{"empty header is present", `{"StringEquals":{"request:header/x-empty":""}}`, nil, true},
		{"object value matches nothing", `{"StringEquals":{"context:obj":"{\"a\":1}"}}`, nil, false},
		{"object value is unequal to everything", `{"StringNotEquals":{"context:obj":"x"}}`, nil, true},
		{"variable in value", `{"StringEquals":{"context:tenant":"${request:header/x-tenant}"}}`, nil, true},
		{"variable in ignore-case value", `{"StringEqualsIgnoreCase":{"context:tenant":"${request:header/x-upper}"}}`, &Facts{Context: NewContext(map[string]any{"tenant": "acme"}), Headers: map[string]string{"x-upper": "ACME"}}, true},
		{"variable in like value", `{"StringLike":{"aws:UserAgent":"${context:tenant}-*"}}`, &Facts{UserAgent: "acme-app", Context: NewContext(map[string]any{"tenant": "acme"})}, true},
		{"literal text around a variable", `{"StringEquals":{"aws:UserAgent":"app/${context:tenant}/1"}}`, &Facts{UserAgent: "app/acme/1", Context: NewContext(map[string]any{"tenant": "acme"})}, true},
		{"literal prefix before a variable in like", `{"StringLike":{"aws:UserAgent":"app/${context:tenant}/*"}}`, &Facts{UserAgent: "app/acme/1.0", Context: NewContext(map[string]any{"tenant": "acme"})}, true},
		{"literal prefix before a variable must match", `{"StringLike":{"aws:UserAgent":"app/${context:tenant}/*"}}`, &Facts{UserAgent: "web/acme/1.0", Context: NewContext(map[string]any{"tenant": "acme"})}, false},
		{"absent variable in value never matches", `{"StringEquals":{"context:tenant":"${context:missing}"}}`, nil, false},
		{"absent variable in a negated value", `{"StringNotEquals":{"context:tenant":"${context:missing}"}}`, nil, true},
		{"escaped star in like value is literal", `{"StringLike":{"context:tenant":"${*}"}}`, nil, false},
	})
}

func TestNumericConditions(t *testing.T) {
	epoch := strconv.FormatInt(testTime.Unix(), 10)
	runCondCases(t, []condCase{
		{"equals", `{"NumericEquals":{"context:level":"3"}}`, nil, true},
		{"equals a decimal", `{"NumericEquals":{"context:level":"3.0"}}`, nil, true},
		{"equals a JSON number value", `{"NumericEquals":{"context:level":3}}`, nil, true},
		{"not equals", `{"NumericNotEquals":{"context:level":"4"}}`, nil, true},
		{"not equals of an equal value", `{"NumericNotEquals":{"context:level":"3"}}`, nil, false},
		{"less than", `{"NumericLessThan":{"context:level":"4"}}`, nil, true},
		{"less than is strict", `{"NumericLessThan":{"context:level":"3"}}`, nil, false},
		{"less than equals", `{"NumericLessThanEquals":{"context:level":"3"}}`, nil, true},
		{"greater than", `{"NumericGreaterThan":{"context:level":"2.5"}}`, nil, true},
		{"greater than equals", `{"NumericGreaterThanEquals":{"context:level":"4"}}`, nil, false},
		{"json.Number context value", `{"NumericEquals":{"context:num":"7"}}`, nil, true},
		{"numeric string context value", `{"NumericLessThan":{"context:tenant":"10"}}`, &Facts{Context: NewContext(map[string]any{"tenant": "9"})}, true},
		{"non-numeric value does not match", `{"NumericLessThan":{"context:tenant":"10"}}`, nil, false},
		{"non-numeric value is unequal", `{"NumericNotEquals":{"context:tenant":"10"}}`, nil, true},
		{"epoch time", `{"NumericEquals":{"aws:EpochTime":"` + epoch + `"}}`, nil, true},
	})
}

func TestDateConditions(t *testing.T) {
	epoch := strconv.FormatInt(testTime.Unix(), 10)
	withNanos := &Facts{Time: testTime.Add(999 * time.Millisecond)}
	runCondCases(t, []condCase{
		{"before an ISO 8601 date", `{"DateLessThan":{"aws:CurrentTime":"2025-01-01T00:00:00Z"}}`, nil, true},
		{"not after a date-only value", `{"DateGreaterThan":{"aws:CurrentTime":"2025-01-01"}}`, nil, false},
		{"equals an epoch value", `{"DateEquals":{"aws:CurrentTime":"` + epoch + `"}}`, nil, true},
		{"equals a JSON number epoch", `{"DateEquals":{"aws:CurrentTime":` + epoch + `}}`, nil, true},
		{"equals with a zone offset", `{"DateEquals":{"aws:CurrentTime":"2024-06-01T14:00:00+02:00"}}`, nil, true},
		{"equals with fractional seconds", `{"DateEquals":{"aws:CurrentTime":"2024-06-01T12:00:00.000Z"}}`, nil, true},
		{"equals without a zone is UTC", `{"DateEquals":{"aws:CurrentTime":"2024-06-01T12:00:00"}}`, nil, true},
		{"not equals", `{"DateNotEquals":{"aws:CurrentTime":"2024-06-01T12:00:00Z"}}`, nil, false},
		{"less than equals at the instant", `{"DateLessThanEquals":{"aws:CurrentTime":"2024-06-01T12:00:00Z"}}`, nil, true},
		{"greater than equals at the instant", `{"DateGreaterThanEquals":{"aws:CurrentTime":"2024-06-01T12:00:00Z"}}`, nil, true},
		{"epoch key against ISO 8601", `{"DateGreaterThanEquals":{"aws:EpochTime":"2024-06-01T12:00:00Z"}}`, nil, true},
		{"request time has second precision", `{"DateEquals":{"aws:CurrentTime":"2024-06-01T12:00:00Z"}}`, withNanos, true},
		{"context date string", `{"DateGreaterThan":{"context:since":"2023-12-31"}}`, nil, true},
		{"context epoch number", `{"DateLessThan":{"context:level":"1970-01-01T00:00:04Z"}}`, nil, true},
		{"unknown time is absent", `{"DateLessThan":{"aws:CurrentTime":"2100-01-01"}}`, &Facts{}, false},
	})
}

func TestBoolAndIPConditions(t *testing.T) {
	ipv6 := &Facts{SourceIP: netip.MustParseAddr("2001:db8::1")}
	mapped := &Facts{SourceIP: netip.MustParseAddr("::ffff:203.0.113.7")}
	runCondCases(t, []condCase{
		{"bool true", `{"Bool":{"aws:SecureTransport":"true"}}`, nil, true},
		{"bool false", `{"Bool":{"aws:SecureTransport":"false"}}`, nil, false},
		{"bool JSON value", `{"Bool":{"aws:SecureTransport":true}}`, nil, true},
		{"bool is case-insensitive", `{"Bool":{"aws:SecureTransport":"TRUE"}}`, nil, true},
		{"bool context value", `{"Bool":{"context:admin":"true"}}`, nil, true},
		{"bool of a non-boolean", `{"Bool":{"context:tenant":"true"}}`, nil, false},
		{"in an IPv4 CIDR", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, nil, true},
		{"outside an IPv4 CIDR", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, nil, false},
		{"any of several CIDRs", `{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","203.0.113.0/24"]}}`, nil, true},
		{"single address", `{"IpAddress":{"aws:SourceIp":"203.0.113.7"}}`, nil, true},
		{"not in a CIDR", `{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, nil, true},
		{"not in a CIDR that holds it", `{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, nil, false},
		{"unmasked CIDR", `{"IpAddress":{"aws:SourceIp":"203.0.113.99/24"}}`, nil, true},
		{"in an IPv6 CIDR", `{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`, ipv6, true},
		{"outside an IPv6 CIDR", `{"IpAddress":{"aws:SourceIp":"2001:db9::/32"}}`, ipv6, false},
		{"IPv6 is not in an IPv4 CIDR", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, ipv6, false},
		{"IPv4-mapped address in an IPv4 CIDR", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, mapped, true},
		{"header holding an address", `{"IpAddress":{"request:header/x-forwarded-for":"198.51.100.0/24"}}`, &Facts{Headers: map[string]string{"x-forwarded-for": "198.51.100.9"}}, true},
	})
}

func TestAbsentKeys(t *testing.T) {
	noIP := &Facts{}
	runCondCases(t, []condCase{
		{"absent key fails a positive operator", `{"StringEquals":{"context:missing":"x"}}`, nil, false},
		{"absent key satisfies a negated operator", `{"StringNotEquals":{"context:missing":"x"}}`, nil, true},
		{"IfExists passes an absent key", `{"StringEqualsIfExists":{"context:missing":"x"}}`, nil, true},
		{"IfExists checks a present key", `{"StringEqualsIfExists":{"context:tenant":"other"}}`, nil, false},
		{"IfExists on a negated operator", `{"StringNotEqualsIfExists":{"context:missing":"x"}}`, nil, true},
		{"null context value is absent", `{"StringEquals":{"context:nil":"x"}}`, nil, false},
		{"empty user agent is absent", `{"StringLike":{"aws:UserAgent":"*"}}`, &Facts{}, false},
		{"empty referer passes IfExists", `{"StringLikeIfExists":{"aws:Referer":"https://example.com/*"}}`, nil, true},
		{"unknown source IP fails IpAddress", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, noIP, false},
		{"unknown source IP satisfies NotIpAddress", `{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, noIP, true},
		{"unknown source IP passes IpAddressIfExists", `{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}`, noIP, true},
		{"absent header", `{"StringEquals":{"request:header/x-missing":""}}`, nil, false},
		{"nil facts", `{"StringEquals":{"context:tenant":"acme"}}`, &Facts{}, false},
	})
}

func TestSetOperators(t *testing.T) {
	runCondCases(t, []condCase{
		{"ForAnyValue matches one of the values", `{"ForAnyValue:StringEquals":{"context:groups":"ops"}}`, nil, true},
		{"ForAnyValue with no match", `{"ForAnyValue:StringEquals":{"context:groups":"qa"}}`, nil, false},
		{"ForAllValues within the allowed set", `{"ForAllValues:StringEquals":{"context:groups":["dev","ops","qa"]}}`, nil, true},
		{"ForAllValues with one value outside", `{"ForAllValues:StringEquals":{"context:groups":["dev"]}}`, nil, false},
		{"ForAllValues on an empty set is true", `{"ForAllValues:StringEquals":{"context:empty":"x"}}`, nil, true},
		{"ForAnyValue on an empty set is false", `{"ForAnyValue:StringEquals":{"context:empty":"x"}}`, nil, false},
		{"ForAllValues on an absent key is true", `{"ForAllValues:StringEquals":{"context:missing":"x"}}`, nil, true},
		{"ForAnyValue on an absent key is false", `{"ForAnyValue:StringEquals":{"context:missing":"x"}}`, nil, false},
		{"ForAnyValue IfExists on an absent key", `{"ForAnyValue:StringEqualsIfExists":{"context:missing":"x"}}`, nil, true},
		{"ForAnyValue negated: some value matches none", `{"ForAnyValue:StringNotEquals":{"context:groups":"dev"}}`, nil, true},
		{"ForAllValues negated: a value is listed", `{"ForAllValues:StringNotEquals":{"context:groups":["dev"]}}`, nil, false},
		{"ForAllValues negated: no value is listed", `{"ForAllValues:StringNotEquals":{"context:groups":["qa"]}}`, nil, true},
		{"ForAnyValue like", `{"ForAnyValue:StringLike":{"context:groups":"o*"}}`, nil, true},
		{"string list context value", `{"ForAllValues:StringEquals":{"context:roles":["reader","writer"]}}`, nil, true},
		{"single-valued key is a set of one", `{"ForAllValues:StringEquals":{"context:tenant":"acme"}}`, nil, true},
		{"plain operator on a multi-valued key matches any", `{"StringEquals":{"context:groups":"ops"}}`, nil, true},
		{"plain negated operator on a multi-valued key", `{"StringNotEquals":{"context:groups":"ops"}}`, nil, false},
		{"list of objects matches nothing", `{"ForAnyValue:StringEquals":{"context:groups":"x"}}`, &Facts{Context: NewContext(map[string]any{"groups": []any{map[string]any{}, nil}})}, false},
	})
}

func TestNullAndCombinedConditions(t *testing.T) {
	runCondCases(t, []condCase{
		{"Null true on an absent key", `{"Null":{"context:missing":"true"}}`, nil, true},
		{"Null true on a present key", `{"Null":{"context:tenant":"true"}}`, nil, false},
		{"Null false on a present key", `{"Null":{"context:tenant":"false"}}`, nil, true},
		{"Null false on an absent key", `{"Null":{"context:missing":"false"}}`, nil, false},
		{"Null on an empty list is present", `{"Null":{"context:empty":"false"}}`, nil, true},
		{"Null on an object is present", `{"Null":{"context:obj":"false"}}`, nil, true},
		{"Null on an empty header is present", `{"Null":{"request:header/x-empty":"false"}}`, nil, true},
		{"Null on the source IP", `{"Null":{"aws:SourceIp":"true"}}`, &Facts{}, true},
		{"keys under one operator are ANDed", `{"StringEquals":{"context:tenant":"acme","aws:UserAgent":"wget"}}`, nil, false},
		{"operators are ANDed", `{"StringEquals":{"context:tenant":"acme"},"Bool":{"aws:SecureTransport":"false"}}`, nil, false},
		{"all operators hold", `{"StringEquals":{"context:tenant":"acme"},"Bool":{"aws:SecureTransport":"true"},"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, nil, true},
	})
}

func TestContextKeyCase(t *testing.T) {
	tests := []struct {
		name string
		ctx  map[string]any
		want bool
	}{
		{"exact name wins over a case variant", map[string]any{"Tenant": "other", "tenant": "acme"}, true},
		{"case variant found", map[string]any{"TENANT": "acme"}, true},
		{"smallest case variant wins", map[string]any{"TENANT": "acme", "Tenant": "other", "TEnant": "x"}, true},
	}
	p := mustCompile(t, doc(allowWith(`{"StringEquals":{"context:tenant":"acme"}}`)))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 20 { // map order varies between iterations
				if got := p.Evaluate(testArn, &Facts{Context: NewContext(tt.ctx)}).Decision == Allow; got != tt.want {
					t.Fatalf("holds = %v, want %v", got, tt.want)
				}
			}
		})
	}
}
