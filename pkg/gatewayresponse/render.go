package gatewayresponse

import (
	"encoding/json"
	"net/url"
	"strings"
)

// Set is one Api's answers, its gateway responses compiled: nil, or an Api without any, answers
// with the built-in ones.
type Set struct {
	proto   int                   // rest or httpAPI
	entries [numReasons][2]*entry // by reason and JWT authorizer; nil: the built-in answer
}

// entry is the compiled gateway response answering one reason.
type entry struct {
	status   int
	variants []*variant // one per template, sorted by content type; at least one
	json     *variant   // the application/json one, the default; nil if none
	headers  []header
}

// variant is one template of an entry.
type variant struct {
	contentType string
	body        []segment
	escape      escaping
	shared      *Response // the whole answer, when nothing of it depends on the request
}

// header is one header of an entry: a constant, or a value read from the request.
type header struct {
	name  string
	value string // the constant, or the name of the request value
	from  source
}

type source uint8

const (
	constant source = iota
	fromHeader
	fromQuery
	fromPath
)

// Render returns the answer for a denial with reason, by an authorizer that is a JWT one or not,
// of the request req (nil: nothing of the request is known).
func (s *Set) Render(reason Reason, jwt bool, req *Request) *Response {
	if reason >= numReasons {
		reason = AuthorizerFailure // never anything weaker
	}
	j := 0
	if jwt {
		j = 1
	}
	if s == nil {
		return defaults[reason][rest][j]
	}
	e := s.entries[reason][j]
	if e == nil {
		return defaults[reason][s.proto][j]
	}
	if req == nil {
		req = &Request{}
	}
	v := e.choose(req.Headers["accept"])
	if v.shared != nil {
		return v.shared
	}
	return e.render(v, req)
}

// choose picks the template for the request's Accept header: the acceptable one the client
// prefers, else application/json, else the first.
func (e *entry) choose(accept string) *variant {
	if len(e.variants) == 1 {
		return e.variants[0]
	}
	var best *variant
	bestQ := 0.0
	for _, v := range e.variants {
		q := acceptQuality(accept, v.contentType)
		if q > bestQ || q == bestQ && q > 0 && v == e.json {
			best, bestQ = v, q
		}
	}
	switch {
	case best != nil:
		return best
	case e.json != nil:
		return e.json
	}
	return e.variants[0]
}

// render builds the answer of a variant that reads the request.
func (e *entry) render(v *variant, req *Request) *Response {
	r := &Response{Status: e.status, ContentType: v.contentType, Headers: make([]Header, 0, len(e.headers))}
	var query url.Values
	for _, h := range e.headers {
		value := h.value
		switch h.from {
		case fromHeader:
			value = req.Headers[h.value]
		case fromQuery:
			if query == nil {
				query, _ = url.ParseQuery(req.RawQuery)
			}
			value = query.Get(h.value)
		case fromPath:
			value = ""
			for _, p := range req.PathParameters {
				if p.Name == h.value {
					value = p.Value
				}
			}
		}
		// A request value that is absent, or that could split or end the header, is left out.
		if h.from != constant && (value == "" || !headerSafe(value)) {
			continue
		}
		r.Headers = append(r.Headers, Header{h.name, value})
	}
	var b strings.Builder
	for _, s := range v.body {
		if s.v == literal {
			b.WriteString(s.text)
		} else {
			b.WriteString(v.escape.apply(s.value(req)))
		}
	}
	r.Body = b.String()
	return r
}

// headerSafe reports whether a value may be sent in a header: no control character but tab.
func headerSafe(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// contextText is an authorizer context value as text: strings as they are, the rest as JSON.
func contextText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// quote is s as a JSON string.
func quote(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}
