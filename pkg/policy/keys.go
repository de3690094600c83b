package policy

import (
	"encoding/json"
	"errors"
	"strings"
)

type keyKind uint8

const (
	keySourceIP keyKind = iota + 1
	keyCurrentTime
	keyEpochTime
	keySecureTransport
	keyUserAgent
	keyReferer
	keyContext
	keyHeader
)

const (
	contextPrefix = "context:"
	headerPrefix  = "request:header/"
)

// condKey is a compiled condition key or policy variable name.
type condKey struct {
	kind keyKind
	// name is the context key as written (keyContext) or the lower-case header name (keyHeader).
	name string
}

var errUnknownKey = errors.New("unknown condition key (want aws:SourceIp, aws:CurrentTime, " +
	"aws:EpochTime, aws:SecureTransport, aws:UserAgent, aws:Referer, context:<key> or request:header/<name>)")

// parseKey reads a key name; names are case-insensitive, as in IAM.
func parseKey(s string) (condKey, error) {
	switch strings.ToLower(s) {
	case "aws:sourceip":
		return condKey{kind: keySourceIP}, nil
	case "aws:currenttime":
		return condKey{kind: keyCurrentTime}, nil
	case "aws:epochtime":
		return condKey{kind: keyEpochTime}, nil
	case "aws:securetransport":
		return condKey{kind: keySecureTransport}, nil
	case "aws:useragent":
		return condKey{kind: keyUserAgent}, nil
	case "aws:referer":
		return condKey{kind: keyReferer}, nil
	}
	if name, ok := cutPrefixFold(s, contextPrefix); ok && name != "" {
		return condKey{kind: keyContext, name: name}, nil
	}
	if name, ok := cutPrefixFold(s, headerPrefix); ok && name != "" {
		return condKey{kind: keyHeader, name: strings.ToLower(name)}, nil
	}
	return condKey{}, errUnknownKey
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}

// values is what a key holds in one request: nothing, one value, or a list (a context value
// that is an array: a multi-valued key).
type values struct {
	present bool
	multi   bool
	one     value
	list    any // []any or []string when multi
}

func (v *values) len() int {
	switch l := v.list.(type) {
	case []any:
		return len(l)
	case []string:
		return len(l)
	}
	if v.present {
		return 1
	}
	return 0
}

func (v *values) at(i int) value {
	switch l := v.list.(type) {
	case []any:
		return scalar(l[i])
	case []string:
		return value{kind: kindString, s: l[i]}
	}
	return v.one
}

// lookup returns the key's values in a request.
func (k *condKey) lookup(f *Facts) values {
	switch k.kind {
	case keySourceIP:
		if f.SourceIP.IsValid() {
			return one(value{kind: kindAddr, addr: f.SourceIP})
		}
	case keyCurrentTime:
		if !f.Time.IsZero() {
			return one(value{kind: kindTime, n: float64(f.Time.Unix())})
		}
	case keyEpochTime:
		if !f.Time.IsZero() {
			return one(value{kind: kindNumber, n: float64(f.Time.Unix())})
		}
	case keySecureTransport:
		return one(value{kind: kindBool, b: f.SecureTransport})
	case keyUserAgent:
		if f.UserAgent != "" {
			return one(value{kind: kindString, s: f.UserAgent})
		}
	case keyReferer:
		if f.Referer != "" {
			return one(value{kind: kindString, s: f.Referer})
		}
	case keyHeader:
		if h, ok := f.Headers[k.name]; ok {
			return one(value{kind: kindString, s: h})
		}
	case keyContext:
		return contextValues(f.Context.Lookup(k.name))
	}
	return values{}
}

func one(v value) values { return values{present: true, one: v} }

func contextValues(x any) values {
	switch x := x.(type) {
	case nil:
		return values{}
	case []any, []string:
		return values{present: true, multi: true, list: x}
	}
	return one(scalar(x))
}

// scalar converts one context value. Objects, lists within lists and nulls within lists are
// present but of no type an operator reads.
func scalar(x any) value {
	switch x := x.(type) {
	case string:
		return value{kind: kindString, s: x}
	case json.Number:
		return value{kind: kindString, s: string(x)}
	case bool:
		return value{kind: kindBool, b: x}
	case float64:
		return value{kind: kindNumber, n: x}
	case float32:
		return value{kind: kindNumber, n: float64(x)}
	case int:
		return value{kind: kindNumber, n: float64(x)}
	case int32:
		return value{kind: kindNumber, n: float64(x)}
	case int64:
		return value{kind: kindNumber, n: float64(x)}
	case uint:
		return value{kind: kindNumber, n: float64(x)}
	case uint32:
		return value{kind: kindNumber, n: float64(x)}
	case uint64:
		return value{kind: kindNumber, n: float64(x)}
	}
	return value{kind: kindOther}
}

// single returns the key's value as a policy variable substitutes it. A variable needs exactly
// one value: an absent or multi-valued key gives false.
func (k *condKey) single(f *Facts) (value, bool) {
	vs := k.lookup(f)
	return vs.one, vs.present && !vs.multi
}
