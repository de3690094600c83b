package v1alpha1

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MethodAny is the route method that matches every method.
const MethodAny = "ANY"

// RouteMethods returns the methods a route may list, in a new slice each time.
func RouteMethods() []string {
	return []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", MethodAny}
}

var (
	accountIDPattern     = regexp.MustCompile(`^[0-9]{12}$`)
	stageVariablePattern = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
)

func (s *ApiSpec) validate(errs *fieldErrors, p *field.Path) {
	if s.Protocol != ProtocolREST && s.Protocol != ProtocolHTTP {
		errs.add(p.Child("protocol"), "unknown protocol %q: want REST or HTTP", s.Protocol)
	}
	s.validateArnParts(errs, p)
	s.validateHosts(errs, p.Child("hosts"))
	if reason := basePathProblem(s.BasePath); reason != "" {
		errs.add(p.Child("basePath"), "%q: %s", s.BasePath, reason)
	}
	for _, name := range slices.Sorted(maps.Keys(s.StageVariables)) {
		if !stageVariablePattern.MatchString(name) {
			errs.add(p.Child("stageVariables").Key(name), "%q: stage variable names hold only letters, digits and '_'", name)
		}
	}
	if len(s.Routes) == 0 {
		errs.add(p.Child("routes"), "required: at least one route")
	}
	for i := range s.Routes {
		s.validateRoute(errs, p.Child("routes").Index(i), &s.Routes[i])
	}
}

// validateArnParts checks the values that become parts of the methodArn.
func (s *ApiSpec) validateArnParts(errs *fieldErrors, p *field.Path) {
	for _, part := range []struct{ name, value string }{
		{"region", s.Region}, {"apiId", s.APIID}, {"stage", s.Stage},
	} {
		switch {
		case part.value == "":
			errs.add(p.Child(part.name), "required")
		case hasSeparator(part.value):
			errs.add(p.Child(part.name), "%q: must not hold ':', '/', spaces or control characters", part.value)
		}
	}
	switch {
	case s.AccountID == "":
		errs.add(p.Child("accountId"), "required")
	case !accountIDPattern.MatchString(s.AccountID):
		errs.add(p.Child("accountId"), "%q: want 12 digits", s.AccountID)
	}
}

func (s *ApiSpec) validateHosts(errs *fieldErrors, p *field.Path) {
	for i, host := range s.Hosts {
		if reason := hostProblem(host); reason != "" {
			errs.add(p.Index(i), "%q: %s", host, reason)
		}
		if j := slices.Index(s.Hosts[:i], host); j >= 0 {
			errs.add(p.Index(i), "%q is listed twice (also hosts[%d])", host, j)
		}
	}
}

// hostProblem explains what is wrong with a host pattern, or returns "".
func hostProblem(host string) string {
	switch {
	case host == "":
		return "empty host"
	case strings.Contains(host, ":"):
		return "no port: ports are ignored when matching"
	case host != strings.ToLower(host):
		return "hosts are written in lower case"
	}
	var msgs []string
	if strings.HasPrefix(host, "*.") {
		msgs = validation.IsWildcardDNS1123Subdomain(host)
	} else {
		msgs = validation.IsDNS1123Subdomain(host)
	}
	return strings.Join(msgs, "; ")
}

// basePathProblem explains what is wrong with a basePath, or returns "". A basePath is a literal
// prefix: no templates, no empty, "." or ".." segments, nothing a clean request path cannot hold.
func basePathProblem(base string) string {
	switch {
	case !strings.HasPrefix(base, "/"):
		return `must start with "/"`
	case base == "/":
		return ""
	case strings.HasSuffix(base, "/"):
		return `must not end with "/"`
	case strings.ContainsAny(base, "{}?#%\\") || strings.IndexFunc(base, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return "must be a plain path without templates, '?', '#', '%', '\\', spaces or control characters"
	}
	for _, seg := range strings.Split(base[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return `must not hold empty, "." or ".." segments`
		}
	}
	return ""
}

func (s *ApiSpec) validateRoute(errs *fieldErrors, p *field.Path, r *Route) {
	switch {
	case r.Path == RouteDefault:
		if len(r.Methods) > 0 && !slices.Equal(r.Methods, []string{MethodAny}) {
			errs.add(p.Child("methods"), "a $default route serves every method: leave methods out or write [ANY]")
		}
	case !strings.HasPrefix(r.Path, "/"):
		errs.add(p.Child("path"), "%q: must start with \"/\" (or be $default)", r.Path)
	}
	if len(r.Methods) == 0 && r.Path != RouteDefault {
		errs.add(p.Child("methods"), "required: methods such as [GET] or [ANY]")
	}
	for i, m := range r.Methods {
		if !slices.Contains(RouteMethods(), m) {
			errs.add(p.Child("methods").Index(i), "unknown method %q: want one of %s", m, strings.Join(RouteMethods(), ", "))
		}
	}
	if r.Authorizer == "" && s.DefaultAuthorizer == "" {
		errs.add(p.Child("authorizer"), "required: name an authorizer (NONE for a public route) or set spec.defaultAuthorizer")
	}
	for i, scope := range r.AuthorizationScopes {
		if scope == "" {
			errs.add(p.Child("authorizationScopes").Index(i), "empty scope")
		}
	}
	if len(r.AuthorizationScopes) > 0 && s.RouteAuthorizer(r) == AuthorizerNone {
		errs.add(p.Child("authorizationScopes"), "a route without authorizer (NONE) has no scopes to check")
	}
	if len(r.AuthorizationScopes) > 0 && s.RouteAuthorizer(r) == AuthorizerDeny {
		errs.add(p.Child("authorizationScopes"), "a DENY route refuses every request and has no scopes to check")
	}
}

// RouteAuthorizer is the name of the authorizer guarding a route: its own, else the Api default.
func (s *ApiSpec) RouteAuthorizer(r *Route) string {
	if r.Authorizer != "" {
		return r.Authorizer
	}
	return s.DefaultAuthorizer
}
