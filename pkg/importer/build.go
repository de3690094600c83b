package importer

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/gatewayresponse"
)

// build turns the APIs read from every file into documents: authorizers named once across the
// output (the same definition used by several APIs is written once), routes grouped by path and
// guard, and flags applied.
func build(apis []*apiDef, opts Options, rep *reporter) *Result {
	b := &builder{opts: opts, rep: rep, authNames: names{}, apiNames: names{}, written: map[string]*Authorizer{}}
	out := &Result{}
	for _, api := range apis {
		out.Apis = append(out.Apis, b.api(api))
	}
	for _, api := range apis {
		for _, def := range api.authorizers {
			if _, used := b.byDef[def]; !used && def.runnable(opts) {
				rep.add(def.file, def.line, "authorizer "+def.name, "guards no route of API %s; not written", api.name)
			}
		}
	}
	out.Authorizers = b.authorizers
	return out
}

type builder struct {
	opts        Options
	rep         *reporter
	authNames   names
	apiNames    names
	written     map[string]*Authorizer // by the canonical form of the spec and source name
	byDef       map[*authDef]string
	authorizers []*Authorizer
}

func (b *builder) api(def *apiDef) *Api {
	a := &Api{Name: b.apiNames.take(def.name, "api"), RouteComments: map[int]string{}}
	a.Comment = fmt.Sprintf("from %s:%d", displayName(def.file), def.line)
	s := &a.Spec
	s.Protocol = def.protocol
	s.Region = b.value(def, "region", def.region, b.opts.Region, "AWS::Region", "--region")
	s.AccountID = b.value(def, "accountId", def.accountID, b.opts.AccountID, "AWS::AccountId", "--account-id")
	s.APIID = b.value(def, "apiId", def.apiID, b.opts.APIID, "", "--api-id")
	s.Stage = b.value(def, "stage", def.stage, b.opts.Stage, "", "--stage")
	if def.basePath != "" && def.basePath != "/" {
		s.BasePath = def.basePath
	}
	s.StageVariables = def.stageVariables
	for _, gr := range def.gatewayResponses {
		if s.GatewayResponses == nil {
			s.GatewayResponses = map[string]v1alpha1.GatewayResponse{}
		}
		s.GatewayResponses[gr.typ] = b.runnable(gr, s)
	}
	b.routes(def, a)
	if len(s.Routes) == 0 {
		b.rep.add(def.file, def.line, "api "+def.name, "no routes found: the Api is written without routes, which validate rejects")
	}
	return a
}

// value picks a flag over the source, and the source over a --set of the pseudo-parameter; with
// none, the value is written unresolved and reported.
func (b *builder) value(def *apiDef, field, source, flag, pseudo, flagName string) string {
	switch {
	case flag != "":
		return flag
	case source != "":
		return source
	case pseudo != "" && b.opts.Set[pseudo] != "":
		return b.opts.Set[pseudo]
	}
	b.rep.add(def.file, def.line, "api "+def.name+": "+field, "not in the source: give %s", flagName)
	return unresolved(flagName)
}

// routes groups the route methods of one API by path and guard, in a stable order: paths
// sorted, $default last, methods in the order API Gateway lists them.
func (b *builder) routes(def *apiDef, a *Api) {
	type group struct {
		path    string
		key     string
		route   v1alpha1.Route
		comment string
		line    int
	}
	var groups []*group
	seen := map[string]*routeDef{}
	for _, r := range def.routes {
		id := r.path + " " + r.method
		if first, ok := seen[id]; ok {
			if first.guard.key() != r.guard.key() {
				b.rep.add(r.file, r.line, "route "+r.method+" "+r.path, "defined twice with different authorization; the first (line %d) is kept", first.line)
			}
			continue
		}
		seen[id] = r
		name, comment := b.guardName(r)
		if len(r.guard.scopes) > 0 && !b.checksScopes(name, r.guard.auth) {
			if name != v1alpha1.AuthorizerDeny {
				b.rep.add(r.file, r.line, "route "+r.method+" "+r.path, "authorization scopes %v not carried over: only JWT authorizers check scopes", r.guard.scopes)
			}
			r.guard.scopes = nil
		}
		key := r.path + "\x00" + name + "\x00" + strings.Join(r.guard.scopes, " ")
		i := slices.IndexFunc(groups, func(g *group) bool { return g.key == key })
		if i < 0 {
			groups = append(groups, &group{path: r.path, key: key, comment: comment, line: r.line,
				route: v1alpha1.Route{Path: r.path, Authorizer: name, AuthorizationScopes: slices.Clone(r.guard.scopes)}})
			i = len(groups) - 1
		}
		groups[i].route.Methods = append(groups[i].route.Methods, r.method)
	}
	order := methodOrder()
	for _, g := range groups {
		slices.SortFunc(g.route.Methods, func(x, y string) int { return cmp.Compare(order[x], order[y]) })
	}
	slices.SortStableFunc(groups, func(x, y *group) int {
		if (x.path == v1alpha1.RouteDefault) != (y.path == v1alpha1.RouteDefault) {
			if x.path == v1alpha1.RouteDefault {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(x.path, y.path), cmp.Compare(order[x.route.Methods[0]], order[y.route.Methods[0]]))
	})
	for i, g := range groups {
		a.Spec.Routes = append(a.Spec.Routes, g.route)
		if g.comment != "" {
			a.RouteComments[i] = g.comment
		}
	}
}

func methodOrder() map[string]int {
	order := map[string]int{}
	for i, m := range v1alpha1.RouteMethods() {
		order[m] = i
	}
	return order
}

// checksScopes reports whether the authorizer written for a route checks authorization scopes.
func (b *builder) checksScopes(name string, def *authDef) bool {
	if name == v1alpha1.AuthorizerNone || name == v1alpha1.AuthorizerDeny || def == nil {
		return false
	}
	return def.kind == authJWT || def.kind == authCognito
}

// key identifies a guard for spotting conflicting definitions.
func (g guard) key() string {
	switch {
	case g.none:
		return "NONE"
	case g.auth == nil:
		return "DENY"
	}
	return fmt.Sprintf("%p %v", g.auth, g.scopes)
}

// guardName names the authorizer of a route: NONE, DENY (with the reason as a comment, and
// reported), or the name of the written authorizer.
func (b *builder) guardName(r *routeDef) (string, string) {
	g := r.guard
	switch {
	case g.none:
		return v1alpha1.AuthorizerNone, ""
	case g.auth == nil || !g.auth.runnable(b.opts):
		why := g.why
		if g.auth != nil {
			why = denyReason(g.auth)
		}
		b.rep.add(r.file, r.line, "route "+r.method+" "+r.path, "written with authorizer DENY (every request gets 403): %s", why)
		return v1alpha1.AuthorizerDeny, why
	}
	return b.authorizer(g.auth), ""
}

// denyReason says why an authorizer cannot run in Portcullis.
func denyReason(a *authDef) string {
	switch a.kind {
	case authCognito:
		return fmt.Sprintf("Cognito user pool authorizer %q: import with --cognito-as-jwt to check the pool's tokens as JWTs", a.name)
	case authIAM:
		return "AWS_IAM (SigV4) authorization is not supported by Portcullis"
	case authAPIKey:
		return fmt.Sprintf("API key %q alone guards the route; Portcullis does not check API keys", a.name)
	}
	return fmt.Sprintf("authorizer %q of type %q cannot run in Portcullis", a.name, a.sourceType)
}

// authorizer writes def once and returns its name. Two definitions with the same name and the
// same resulting spec share one document.
func (b *builder) authorizer(def *authDef) string {
	if b.byDef == nil {
		b.byDef = map[*authDef]string{}
	}
	if name, ok := b.byDef[def]; ok {
		return name
	}
	spec := b.authorizerSpec(def)
	key := def.name + "\x00" + canonical(spec)
	if w, ok := b.written[key]; ok {
		b.byDef[def] = w.Name
		return w.Name
	}
	w := &Authorizer{Name: b.authNames.take(def.name, "authorizer"), Spec: spec,
		Comment: fmt.Sprintf("from %s:%d", displayName(def.file), def.line)}
	b.written[key] = w
	b.byDef[def] = w.Name
	b.authorizers = append(b.authorizers, w)
	return w.Name
}

func (b *builder) authorizerSpec(def *authDef) v1alpha1.AuthorizerSpec {
	s := v1alpha1.AuthorizerSpec{IdentitySource: def.identitySource, ResultTTLInSeconds: def.ttl}
	switch def.kind {
	case authLambdaToken, authLambdaRequest:
		s.Type = v1alpha1.TypeToken
		if def.kind == authLambdaRequest {
			s.Type = v1alpha1.TypeRequest
			s.PayloadFormatVersion = def.payloadVersion
			s.EnableSimpleResponses = def.simple
		}
		s.IdentityValidationExpression = def.validation
		s.Lambda = &v1alpha1.LambdaBackend{FunctionName: def.functionARN}
		if def.kind == authLambdaRequest && len(def.identitySource) == 0 && (def.ttl == nil || *def.ttl != 0) {
			zero := int32(0)
			s.ResultTTLInSeconds = &zero
			b.rep.add(def.file, def.line, "authorizer "+def.name, "no identity source: written with resultTtlInSeconds 0, as API Gateway caches nothing without one")
		}
	case authJWT:
		s.Type = v1alpha1.TypeJWT
		s.ResultTTLInSeconds = nil
		s.JWT = &v1alpha1.JWTBackend{Issuer: def.issuer, Audience: def.audience}
	case authCognito:
		s.Type = v1alpha1.TypeJWT
		s.ResultTTLInSeconds = nil
		s.JWT = &v1alpha1.JWTBackend{Issuer: cognitoIssuer(def.providerARNs[0])}
		if s.JWT.Issuer == "" && def.providerARNs[0] != "" {
			b.rep.add(def.file, def.line, "authorizer "+def.name, "%q is not a user pool ARN (arn:aws:cognito-idp:REGION:ACCOUNT:userpool/POOL_ID): write spec.jwt.issuer", def.providerARNs[0])
		}
		b.rep.add(def.file, def.line, "authorizer "+def.name, "Cognito user pool written as a JWT authorizer on the pool's issuer (--cognito-as-jwt): id and access tokens of any app client are accepted; see docs/import.md")
		if len(def.providerARNs) > 1 {
			b.rep.add(def.file, def.line, "authorizer "+def.name, "%d user pools: only the first (%s) is carried over", len(def.providerARNs), def.providerARNs[0])
		}
		if def.validation != "" {
			b.rep.add(def.file, def.line, "authorizer "+def.name, "identityValidationExpression not carried over: JWT authorizers verify the token itself")
		}
	}
	return s
}

// cognitoIssuer is the issuer of a user pool's tokens, from the pool's ARN
// (arn:aws:cognito-idp:REGION:ACCOUNT:userpool/POOL_ID). An ARN the import could not resolve is
// kept as it is, so validate names the --set that resolves it.
func cognitoIssuer(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 && parts[2] == "cognito-idp" && strings.HasPrefix(parts[5], "userpool/") {
		return "https://cognito-idp." + parts[3] + ".amazonaws.com/" + strings.TrimPrefix(parts[5], "userpool/")
	}
	if strings.Contains(arn, unresolvedMark) {
		return arn // validate names the --set that resolves it
	}
	return "" // not a user pool ARN: validate says the issuer is missing
}

// canonical is a stable text form of a spec, to spot identical definitions.
func canonical(s v1alpha1.AuthorizerSpec) string {
	ttl := "-"
	if s.ResultTTLInSeconds != nil {
		ttl = fmt.Sprint(*s.ResultTTLInSeconds)
	}
	out := fmt.Sprintf("%s|%v|%s|%s|%s|%v", s.Type, []string(s.IdentitySource), s.IdentityValidationExpression, ttl, s.PayloadFormatVersion, s.EnableSimpleResponses)
	if s.Lambda != nil {
		out += "|lambda " + s.Lambda.FunctionName
	}
	if s.JWT != nil {
		out += fmt.Sprintf("|jwt %s %v", s.JWT.Issuer, s.JWT.Audience)
	}
	return out
}

// runnable is gr less the parameters and templates Portcullis cannot answer with (a path or query
// string parameter, which a denial cannot set; VTL beyond the $context variables of SPEC section
// 13), each reported: what is left compiles as portcullis validate compiles it.
func (b *builder) runnable(gr gatewayResponse, s *v1alpha1.ApiSpec) v1alpha1.GatewayResponse {
	api := gatewayresponse.Api{Protocol: s.Protocol, Stage: s.Stage, StageVariables: s.StageVariables}
	compiles := func(one v1alpha1.GatewayResponse) error {
		if _, bad := gatewayresponse.Compile(map[string]v1alpha1.GatewayResponse{gr.typ: one}, api); len(bad) > 0 {
			return bad[0]
		}
		return nil
	}
	out := v1alpha1.GatewayResponse{StatusCode: gr.resp.StatusCode}
	what := "gateway response " + gr.typ
	for _, k := range slices.Sorted(maps.Keys(gr.resp.ResponseParameters)) {
		v := gr.resp.ResponseParameters[k]
		if err := compiles(v1alpha1.GatewayResponse{ResponseParameters: map[string]string{k: v}}); err != nil {
			b.rep.add(gr.file, gr.line, what, "parameter %s left out: %s", k, reasonOf(err))
			continue
		}
		if out.ResponseParameters == nil {
			out.ResponseParameters = map[string]string{}
		}
		out.ResponseParameters[k] = v
	}
	for _, k := range slices.Sorted(maps.Keys(gr.resp.ResponseTemplates)) {
		v := gr.resp.ResponseTemplates[k]
		if err := compiles(v1alpha1.GatewayResponse{ResponseTemplates: map[string]string{k: v}}); err != nil {
			b.rep.add(gr.file, gr.line, what, "template %s left out: %s", k, reasonOf(err))
			continue
		}
		if out.ResponseTemplates == nil {
			out.ResponseTemplates = map[string]string{}
		}
		out.ResponseTemplates[k] = v
	}
	if err := compiles(out); err != nil { // the status code
		b.rep.add(gr.file, gr.line, what, "statusCode left out: %s", reasonOf(err))
		out.StatusCode = 0
	}
	return out
}

// reasonOf is a gateway response compile error without its field path.
func reasonOf(err error) string {
	var fe v1alpha1.FieldError
	if errors.As(err, &fe) {
		return fe.Reason
	}
	return err.Error()
}
