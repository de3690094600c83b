// Package request turns an Envoy CheckRequest into the facts Portcullis decides on: method, host,
// a clean decoded path, query, headers, source IP. Hostile paths are rejected here, before any
// routing or authorizer call, because a path that Portcullis and the upstream read differently is
// an authorization bypass.
package request

import "time"

// Request holds the facts of one HTTP request under authorization. Headers is Envoy's map as it
// arrives (lower-case names; repeated headers already joined by Envoy with ","): it is read, never
// copied.
type Request struct {
	Method    string // upper-case, e.g. GET
	Host      string // lower-case, port removed
	Authority string // as sent, port included
	Scheme    string // http or https
	Protocol  string // e.g. HTTP/1.1
	RawPath   string // the path as sent, without the query
	Path      string // percent-decoded and validated; always starts with "/"
	RawQuery  string // the query as sent, without "?"
	Headers   map[string]string
	SourceIP  string // client address without port; empty when Envoy sent none
	RequestID string // x-request-id when present and safe, else the id attribute, else a fresh UUID
	// Certificate is the client's certificate as Envoy sends it with include_peer_certificate:
	// URL-encoded PEM, kept as sent. It is parsed only when an event needs it (see
	// authorizer.ParseClientCert), never on the way to a cached answer. Empty without mTLS.
	Certificate string
	// ContextExtensions are the per-route values Envoy's ext_authz filter adds (api, authorizer).
	ContextExtensions map[string]string
	Time              time.Time
}

// Header returns the value of a header by its lower-case name.
func (r *Request) Header(name string) string { return r.Headers[name] }
