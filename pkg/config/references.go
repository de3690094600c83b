package config

import (
	"fmt"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// checkReferences checks what an Api says about Authorizers: that they exist, that a route's
// authorizationScopes go to a JWT authorizer, and that an authorizer with simple responses is
// used at payload format 2.0.
func (l *loader) checkReferences(set *Set) {
	for _, d := range l.docs {
		api, ok := d.obj.(*v1alpha1.Api)
		if !ok || d.broken {
			continue
		}
		spec := &api.Spec
		if spec.DefaultAuthorizer != "" {
			l.checkAuthorizerRef(set, d, "spec.defaultAuthorizer", spec.DefaultAuthorizer, spec.Protocol)
		}
		for i := range spec.Routes {
			route := &spec.Routes[i]
			if route.Authorizer != "" {
				l.checkAuthorizerRef(set, d, fmt.Sprintf("spec.routes[%d].authorizer", i), route.Authorizer, spec.Protocol)
			}
			l.checkScopes(set, d, i, route, spec.RouteAuthorizer(route))
		}
	}
}

func (l *loader) checkAuthorizerRef(set *Set, d *document, field, name, protocol string) {
	if name == v1alpha1.AuthorizerNone || name == v1alpha1.AuthorizerDeny {
		return
	}
	a := set.authorizerIn(d.ns, name)
	if a == nil {
		if l.known[objectKey{v1alpha1.KindAuthorizer, qualify(d.ns, name)}] {
			l.report(d, field, "Authorizer %q is not accepted: see its status", name)
			return
		}
		l.report(d, field, "no Authorizer named %q", name)
		return
	}
	if a.Spec.EnableSimpleResponses && v1alpha1.EffectivePayloadFormatVersion(&a.Spec, protocol) != v1alpha1.PayloadFormat20 {
		l.report(d, field,
			"Authorizer %q enables simple responses, which need payload format 2.0, but a %s Api defaults to 1.0: set its payloadFormatVersion to \"2.0\"",
			name, protocol)
	}
}

func (l *loader) checkScopes(set *Set, d *document, i int, route *v1alpha1.Route, name string) {
	if len(route.AuthorizationScopes) == 0 {
		return
	}
	a := set.authorizerIn(d.ns, name)
	if a == nil || a.Spec.Type == v1alpha1.TypeJWT {
		return // a missing authorizer is reported once, where it is named
	}
	l.report(d, fmt.Sprintf("spec.routes[%d].authorizationScopes", i),
		"only JWT authorizers check scopes; Authorizer %q is %s", name, a.Spec.Type)
}

// checkHosts makes sure every request finds at most one Api by its host: no host claimed twice.
// Apis without hosts are not checked here: one alone is the fallback for unknown hosts; several
// are told apart by name only (Envoy's per-route context_extensions["api"]), and none of them
// is a fallback (see Snapshot.ApiForHost).
func (l *loader) checkHosts() {
	owners := map[string]*document{}
	for _, d := range l.docs {
		api, ok := d.obj.(*v1alpha1.Api)
		if !ok || d.broken {
			continue
		}
		for i, host := range api.Spec.Hosts {
			owner := owners[host]
			switch {
			case owner == nil:
				owners[host] = d
			case owner != d:
				l.report(d, fmt.Sprintf("spec.hosts[%d]", i), "host %q is also claimed by %s", host, owner.ref())
			}
		}
	}
}
