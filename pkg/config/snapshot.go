package config

import (
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/gatewayresponse"
	"github.com/portcullis-dev/portcullis/pkg/identity"
	"github.com/portcullis-dev/portcullis/pkg/routes"
)

// Snapshot is one complete, validated, compiled configuration. It is immutable: a reload builds a
// new one and swaps it in, so the Check path reads it without locks.
type Snapshot struct {
	Generation  uint64
	Sources     []string
	Demo        bool // the embedded demo config is serving
	apis        map[string]*Api
	exactHosts  map[string]*Api
	wildcards   []wildcardHost // longest suffix first
	hostless    *Api
	authorizers map[string]*Authorizer

	// hostlessCount counts the Apis without hosts. One is the fallback for unknown hosts
	// (hostless); several are each reached only by name (context_extensions["api"]), and none
	// of them is a fallback: hostless is nil then.
	hostlessCount int
}

type wildcardHost struct {
	suffix string // ".example.org"
	api    *Api
}

// Api is an Api compiled for lookups.
type Api struct {
	Name           string
	Protocol       Protocol
	Region         string
	AccountID      string
	APIID          string
	Stage          string
	BasePath       string // "" for "/", else without a trailing slash
	StageVariables map[string]string
	AllowPreflight bool
	Routes         *routes.Table
	Route          []*Route // by routes.Match index
	// Responses render the Api's denials: its gateway responses, else the built-in answers.
	Responses *gatewayresponse.Set
	// DryRun: the Api's denials are let through, marked, unmatched routes included.
	DryRun bool
}

// Route is one route of an Api with its resolved authorizer.
type Route struct {
	Template   string
	Methods    []string
	Authorizer *Authorizer // nil: NONE, no identity needed
	Scopes     []string    // authorizationScopes
	// DryRun: denials on this route are let through, marked (the route's or the Api's dryRun).
	DryRun bool
	keys   map[string]string

	// Deny: the route's authorizer is DENY; every request gets the implicit deny, and
	// Authorizer is nil.
	Deny bool
}

// Key is the route key of a request with method on this route, as API Gateway writes it:
// "GET /pets/{petId}" when the route names the method, "ANY /pets/{petId}" when ANY matched.
func (r *Route) Key(method string) string {
	if k, ok := r.keys[method]; ok {
		return k
	}
	return r.keys["ANY"]
}

// Authorizer is an Authorizer compiled for the Check path.
type Authorizer struct {
	Name string
	// UID is the name and the spec's hash: it changes whenever the spec changes, so cached
	// answers of an older spec are not reused, and two authorizers never share answers.
	UID        string
	Type       AuthorizerType
	Identity   *identity.Extractor
	Validation *regexp.Regexp // anchored; nil when none
	TTL        time.Duration
	Simple     bool
	Backend    authorizer.Backend
	Spec       *v1alpha1.AuthorizerSpec // defaulted; read-only
}

// EffectivePayloadVersion is the event format sent for requests to api (see
// v1alpha1.EffectivePayloadFormatVersion).
func (a *Authorizer) EffectivePayloadVersion(api *Api) string {
	return v1alpha1.EffectivePayloadFormatVersion(a.Spec, api.Protocol.String())
}

// ApiByName returns the Api named name.
func (s *Snapshot) ApiByName(name string) *Api { return s.apis[name] }

// ApiForHost returns the Api serving host (lower-case, no port): an exact host beats the longest
// matching "*." wildcard, which beats the Api with no hosts when there is exactly one. Several
// Apis without hosts are reached by name only: none of them is the fallback.
func (s *Snapshot) ApiForHost(host string) *Api {
	if a, ok := s.exactHosts[host]; ok {
		return a
	}
	for _, w := range s.wildcards {
		if len(host) > len(w.suffix) && strings.HasSuffix(host, w.suffix) {
			return w.api
		}
	}
	return s.hostless
}

// Authorizer returns the Authorizer named name.
func (s *Snapshot) Authorizer(name string) *Authorizer { return s.authorizers[name] }

// Authorizers lists the compiled authorizers by name.
func (s *Snapshot) Authorizers() []*Authorizer {
	out := make([]*Authorizer, 0, len(s.authorizers))
	for _, a := range s.authorizers {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Apis lists the compiled Apis by name.
func (s *Snapshot) Apis() []*Api {
	out := make([]*Api, 0, len(s.apis))
	for _, a := range s.apis {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// HasAuthorizerUID reports whether an authorizer of this snapshot has uid.
func (s *Snapshot) HasAuthorizerUID(uid string) bool {
	for _, a := range s.authorizers {
		if a.UID == uid {
			return true
		}
	}
	return false
}
