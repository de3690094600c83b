package identity

import (
	"net/url"
	"strings"

	"github.com/portcullis-dev/portcullis/pkg/request"
)

// ContextFunc looks up a context variable (requestId, identity.sourceIp, stage, ...) by the name
// written after "context." in an identity source.
type ContextFunc func(name string) (string, bool)

// NoneMissing is what Extract reports when every source had a non-empty value.
const NoneMissing = -1

// Extractor reads the values of a fixed list of identity sources from requests. It is built once
// per authorizer at config load and is safe for concurrent use.
type Extractor struct {
	sources []Source
}

// NewExtractor returns an Extractor for the sources, in order.
func NewExtractor(sources ...Source) *Extractor {
	return &Extractor{sources: append([]Source(nil), sources...)}
}

// Compile parses the identity source expressions and returns their Extractor.
func Compile(exprs []string) (*Extractor, error) {
	sources, err := ParseAll(exprs)
	if err != nil {
		return nil, err
	}
	return &Extractor{sources: sources}, nil
}

// Len is the number of sources, and so of values Extract produces.
func (e *Extractor) Len() int { return len(e.sources) }

// Source returns the i-th source, e.g. to name the one Extract reported missing.
func (e *Extractor) Source(i int) Source { return e.sources[i] }

// Extract appends the value of every source, in order, to dst[:0] and returns the slice with the
// index of the first source that was absent or empty (its value is ""), or NoneMissing. Passing
// a dst with capacity Len() makes it allocation-free unless a query value is percent-encoded.
// A nil ctx treats every context variable as absent.
func (e *Extractor) Extract(dst []string, req *request.Request, stageVars map[string]string, ctx ContextFunc) ([]string, int) {
	dst = dst[:0]
	missing := NoneMissing
	for i, src := range e.sources {
		v := src.value(req, stageVars, ctx)
		if v == "" && missing == NoneMissing {
			missing = i
		}
		dst = append(dst, v)
	}
	return dst, missing
}

func (s *Source) value(req *request.Request, stageVars map[string]string, ctx ContextFunc) string {
	switch s.Kind {
	case KindHeader:
		return req.Headers[s.Name]
	case KindQueryString:
		v, _ := queryValue(req.RawQuery, s.Name)
		return v
	case KindStageVariable:
		return stageVars[s.Name]
	case KindContext:
		if ctx == nil {
			return ""
		}
		v, _ := ctx(s.Name)
		return v
	}
	return ""
}

// queryValue returns the first value of name in a raw query string. It reads the query exactly as
// url.ParseQuery does (pairs with ';' or an invalid escape are skipped) so the identity agrees with
// the queryStringParameters of the event, but without building the whole map: unescaping only
// allocates for a key or value that is actually escaped.
func queryValue(rawQuery, name string) (string, bool) {
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		if pair == "" || strings.IndexByte(pair, ';') >= 0 {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil || key != name {
			continue
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			continue
		}
		return value, true
	}
	return "", false
}
