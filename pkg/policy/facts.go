package policy

import (
	"net/netip"
	"time"
)

// Facts are the request values condition keys and policy variables read.
type Facts struct {
	SourceIP        netip.Addr // aws:SourceIp; the zero Addr means unknown
	Time            time.Time  // aws:CurrentTime and aws:EpochTime; the zero Time means unknown
	SecureTransport bool       // aws:SecureTransport
	UserAgent       string     // aws:UserAgent; empty means absent
	Referer         string     // aws:Referer; empty means absent
	// Context is the authorizer's context (context:<key>): string, float64, bool, json.Number,
	// integers, or, from 2.0 answers, lists and objects. A list is a multi-valued key.
	Context Context
	// Headers are the request headers by lower-case name (request:header/<name>).
	Headers map[string]string
}

// Decision is the outcome of evaluating a policy. The zero value is ImplicitDeny.
type Decision uint8

// Decisions, from IAM's evaluation logic.
const (
	ImplicitDeny Decision = iota // no statement allows the request
	ExplicitDeny                 // a Deny statement matches
	Allow                        // an Allow statement matches and no Deny does
)

// String gives "Allow", "Deny (explicit)" or "Deny (implicit)".
func (d Decision) String() string {
	switch d {
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "Deny (explicit)"
	default:
		return "Deny (implicit)"
	}
}

// Result is a decision and the statement that made it.
type Result struct {
	Decision Decision
	// Statement is the index of the deciding statement in the document, -1 for an implicit deny.
	Statement int
	// Sid is that statement's Sid, if it has one.
	Sid string
}
