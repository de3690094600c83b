package importer

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// SAM's implicit APIs: the ones function events create when they name no API.
const (
	implicitRestAPI = "ServerlessRestApi"
	implicitHTTPAPI = "ServerlessHttpApi"
)

// samAuth is the Auth section of an AWS::Serverless::Api or HttpApi.
type samAuth struct {
	authorizers map[string]*authDef
	scopes      map[string][]string // an authorizer's default AuthorizationScopes
	defaultName string
	apiKey      bool
	iamEnabled  bool
	protocol    string
	// cors: the API has Cors, so SAM adds an OPTIONS method to each of its paths, guarded by
	// the default authorizer unless AddDefaultAuthorizerToCorsPreflight is false.
	cors          bool
	preflightAuth bool
	preflightKey  bool // AddApiKeyRequiredToCorsPreflight
}

// defaultGuard guards routes that name no authorizer: the DefaultAuthorizer, else NONE.
func (a *samAuth) defaultGuard() guard {
	if a == nil || a.defaultName == "" {
		return guard{none: true}
	}
	return a.guardFor(a.defaultName, nil)
}

// guardFor guards a route with the named authorizer (NONE, AWS_IAM or one of Authorizers).
func (a *samAuth) guardFor(name string, scopes []string) guard {
	def := a.authorizers[name] // an authorizer of the API may be named AWS_IAM, and wins
	switch {
	case def == nil && name == "NONE":
		return guard{none: true}
	case def == nil && name == "AWS_IAM":
		return guard{why: "AWS_IAM (SigV4) authorization is not supported by Portcullis"}
	}
	if def == nil {
		return guard{why: fmt.Sprintf("authorizer %q is not defined in the API's Auth", name)}
	}
	if scopes == nil {
		scopes = a.scopes[name]
	}
	return guard{auth: def, scopes: scopes}
}

// properties merges a resource's properties over the template's Globals for its kind, as SAM
// does: mappings are merged key by key, and what the resource sets wins.
func (t *tmpl) properties(kind string, props *yaml.Node) *yaml.Node {
	return mergeGlobals(child(t.globals, kind), props)
}

func mergeGlobals(g, props *yaml.Node) *yaml.Node {
	if g == nil || g.Kind != yaml.MappingNode {
		return props
	}
	if props != nil && props.Kind != yaml.MappingNode {
		return props
	}
	out := &yaml.Node{Kind: yaml.MappingNode}
	if props != nil {
		out.Line = props.Line
		for _, k := range sortedKeys(props) {
			out.Content = append(out.Content, keyNode(props, k), mergeGlobals(child(g, k), child(props, k)))
		}
	}
	for _, k := range sortedKeys(g) {
		if child(props, k) == nil {
			out.Content = append(out.Content, keyNode(g, k), child(g, k))
		}
	}
	return out
}

func (t *tmpl) samAPI(id string, props *yaml.Node, line int) error {
	return t.samAPIOf(id, t.properties("Api", props), line, v1alpha1.ProtocolREST)
}

func (t *tmpl) samHTTPAPI(id string, props *yaml.Node, line int) error {
	return t.samAPIOf(id, t.properties("HttpApi", props), line, v1alpha1.ProtocolHTTP)
}

func (t *tmpl) samAPIOf(id string, props *yaml.Node, line int, protocol string) error {
	api := t.newAPI(id, line, protocol)
	api.stage = t.text(child(props, "StageName"))
	if api.stage == "" && protocol == v1alpha1.ProtocolHTTP {
		api.stage = v1alpha1.RouteDefault // an HttpApi without StageName deploys the $default stage
	}
	vars := child(props, "Variables")
	if protocol == v1alpha1.ProtocolHTTP {
		vars = child(props, "StageVariables")
	}
	if v := t.r.resolve(vars); v != nil {
		api.stageVariables = stringMapOf(v)
	}
	auth := t.samAuthOf(id, child(props, "Auth"), protocol)
	auth.preflightKey = t.text(child(child(props, "Auth"), "AddApiKeyRequiredToCorsPreflight")) != "false"
	t.samAuth[id] = auth
	for _, name := range slices.Sorted(maps.Keys(auth.authorizers)) {
		api.authorizers = append(api.authorizers, auth.authorizers[name])
	}
	switch {
	case protocol == v1alpha1.ProtocolREST && child(props, "Cors") != nil:
		auth.cors = true
		auth.preflightAuth = t.text(child(child(props, "Auth"), "AddDefaultAuthorizerToCorsPreflight")) != "false"
	case child(props, "CorsConfiguration") != nil:
		t.im.report.add(t.file, lineOf(props, "CorsConfiguration"), "api "+id, "CORS settings not carried over; set spec.cors.allowPreflight if preflight requests must pass without authorization")
	}
	fallback := auth.defaultGuard()
	o := oasOptions{protocol: protocol, fallback: &fallback}
	if (child(props, "DefinitionBody") != nil || child(props, "DefinitionUri") != nil) && t.text(child(props, "MergeDefinitions")) != "true" {
		t.defined[id] = true // without MergeDefinitions, SAM leaves the definition as written
	}
	if b := child(props, "DefinitionBody"); b != nil {
		if err := t.body(api, b, o); err != nil {
			return err
		}
	} else if u := child(props, "DefinitionUri"); u != nil {
		if err := t.definitionURI(api, u, o); err != nil {
			return err
		}
	}
	if auth.apiKey {
		// SAM adds the API key requirement to every method of the definition.
		for _, r := range api.routes {
			if r.method != "OPTIONS" || auth.preflightKey {
				r.guard = t.withAPIKey(r.guard, r)
			}
		}
	}
	if protocol == v1alpha1.ProtocolREST {
		t.samGatewayResponses(api, child(props, "GatewayResponses"))
	}
	return nil
}

// definitionURI reads a local DefinitionUri (relative to the template) as the API's body; an S3
// location is reported.
func (t *tmpl) definitionURI(api *apiDef, n *yaml.Node, o oasOptions) error {
	path := t.text(n)
	if path == "" || strings.HasPrefix(path, "s3://") || n.Kind == yaml.MappingNode {
		t.im.report.add(t.file, n.Line, "api "+api.name, "DefinitionUri in S3 is not read: download the definition and import it too")
		return nil
	}
	file := filepath.Join(filepath.Dir(t.file), path)
	data, err := t.im.opts.ReadFile(file)
	if err != nil {
		return inputErr(t.file, n.Line, "DefinitionUri %s: %v", path, unwrapPathError(err))
	}
	root, err := parseYAML(file, data)
	if err != nil {
		return err
	}
	sub := &tmpl{im: t.im, file: file, r: &resolver{file: file, opts: t.im.opts, rep: t.im.report}}
	return sub.body(api, root, o)
}

// samAuthOf reads an API's Auth: its authorizers, default authorizer and API key requirement.
func (t *tmpl) samAuthOf(apiID string, n *yaml.Node, protocol string) *samAuth {
	a := &samAuth{authorizers: map[string]*authDef{}, scopes: map[string][]string{}, protocol: protocol}
	if n == nil {
		return a
	}
	a.defaultName = t.text(child(n, "DefaultAuthorizer"))
	a.apiKey = t.text(child(n, "ApiKeyRequired")) == "true"
	a.iamEnabled = t.text(child(n, "EnableIamAuthorizer")) == "true"
	auths := child(n, "Authorizers")
	for _, name := range sortedKeys(auths) {
		node := child(auths, name)
		line := lineOf(auths, name)
		def := t.samAuthorizer(name, node, line, protocol)
		a.authorizers[name] = def
		if s := child(node, "AuthorizationScopes"); s != nil {
			a.scopes[name] = t.texts(s)
		}
	}
	return a
}

// samAuthorizer reads one entry of Auth.Authorizers.
func (t *tmpl) samAuthorizer(name string, n *yaml.Node, line int, protocol string) *authDef {
	def := &authDef{name: name, file: t.file, line: line}
	identity := child(n, "Identity")
	switch {
	case child(n, "UserPoolArn") != nil:
		def.kind, def.sourceType = authCognito, "COGNITO_USER_POOLS"
		def.providerARNs = t.texts(child(n, "UserPoolArn"))
		def.identitySource = []string{"method.request.header." + t.headerOr(identity, "Authorization")}
		def.validation = t.text(child(identity, "ValidationExpression"))
	case child(n, "JwtConfiguration") != nil:
		def.kind, def.sourceType = authJWT, "JWT"
		cfg := child(n, "JwtConfiguration")
		def.issuer = t.text(firstChild(cfg, "issuer", "Issuer"))
		def.audience = t.texts(firstChild(cfg, "audience", "Audience"))
		if src := t.text(child(n, "IdentitySource")); src != "" {
			def.identitySource = []string{src}
		}
	case child(n, "FunctionArn") != nil:
		def.functionARN = t.text(child(n, "FunctionArn"))
		def.ttl = ttlOf(t.text(child(identity, "ReauthorizeEvery")))
		payloadType := strings.ToUpper(t.text(child(n, "FunctionPayloadType")))
		if protocol == v1alpha1.ProtocolHTTP {
			payloadType = "REQUEST"
			def.payloadVersion = t.text(child(n, "AuthorizerPayloadFormatVersion"))
			if v := t.r.resolve(child(n, "AuthorizerPayloadFormatVersion")); v != nil && v.ShortTag() == "!!float" {
				def.payloadVersion = fmt.Sprintf("%.1f", mustFloat(v.Value))
			}
			def.simple = t.text(child(n, "EnableSimpleResponses")) == "true"
			if def.ttl == nil {
				def.ttl = httpAPIDefaultTTL()
			}
		}
		if payloadType == "REQUEST" {
			def.kind, def.sourceType = authLambdaRequest, "REQUEST"
			def.identitySource = t.requestSources(identity, protocol)
		} else {
			def.kind, def.sourceType = authLambdaToken, "TOKEN"
			def.identitySource = []string{"method.request.header." + t.headerOr(identity, "Authorization")}
			def.validation = t.text(child(identity, "ValidationExpression"))
		}
		if child(n, "FunctionInvokeRole") != nil {
			t.im.report.add(t.file, lineOf(n, "FunctionInvokeRole"), "authorizer "+name, "FunctionInvokeRole not carried over: Portcullis invokes the function with its own AWS credentials")
		}
	default:
		def.kind, def.sourceType = authUnknown, "unknown"
	}
	return def
}

func firstChild(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if c := child(n, k); c != nil {
			return c
		}
	}
	return nil
}

func mustFloat(s string) float64 {
	var f float64
	_, _ = fmt.Sscanf(s, "%g", &f) // not a number: 0
	return f
}

func (t *tmpl) headerOr(identity *yaml.Node, def string) string {
	if h := t.text(child(identity, "Header")); h != "" {
		return h
	}
	return def
}

// requestSources builds a REQUEST authorizer's identity sources from SAM's Identity, in SAM's
// order: headers, query strings, stage variables, context.
func (t *tmpl) requestSources(identity *yaml.Node, protocol string) []string {
	prefixes := [4]string{"method.request.header.", "method.request.querystring.", "stageVariables.", "context."}
	if protocol == v1alpha1.ProtocolHTTP {
		prefixes = [4]string{"$request.header.", "$request.querystring.", "$stageVariables.", "$context."}
	}
	var out []string
	for i, key := range []string{"Headers", "QueryStrings", "StageVariables", "Context"} {
		for _, v := range t.texts(child(identity, key)) {
			out = append(out, prefixes[i]+v)
		}
	}
	if protocol == v1alpha1.ProtocolHTTP {
		slices.Sort(out) // SAM writes an HttpApi's identity sources sorted
	}
	return out
}

// samGatewayResponses reads SAM's GatewayResponses, whose ResponseParameters are grouped as
// Headers, Paths and QueryStrings.
func (t *tmpl) samGatewayResponses(api *apiDef, n *yaml.Node) {
	resolved := t.r.resolve(n)
	for _, typ := range sortedKeys(resolved) {
		v := child(resolved, typ)
		gr, ok := gatewayResponseOf(t.file, lineOf(n, typ), typ, t.im.report)
		if !ok {
			continue
		}
		if code := ttlOf(scalarValue(child(v, "StatusCode"))); code != nil {
			gr.resp.StatusCode = *code
		}
		params := child(v, "ResponseParameters")
		for group, prefix := range map[string]string{"Headers": "gatewayresponse.header.", "Paths": "gatewayresponse.path.", "QueryStrings": "gatewayresponse.querystring."} {
			for name, value := range stringMapOf(child(params, group)) {
				if gr.resp.ResponseParameters == nil {
					gr.resp.ResponseParameters = map[string]string{}
				}
				gr.resp.ResponseParameters[prefix+name] = value
			}
		}
		gr.resp.ResponseTemplates = stringMapOf(child(v, "ResponseTemplates"))
		api.gatewayResponses = append(api.gatewayResponses, gr)
	}
}

// samFunction reads a function's Api and HttpApi events as routes of their APIs, creating SAM's
// implicit APIs for events that name none.
func (t *tmpl) samFunction(id string, props *yaml.Node, line int) error {
	events := child(t.properties("Function", props), "Events")
	for _, name := range sortedKeys(events) {
		ev := child(events, name)
		typ := t.text(child(ev, "Type"))
		if typ != "Api" && typ != "HttpApi" {
			continue
		}
		p := child(ev, "Properties")
		evLine := lineOf(events, name)
		protocol, refKey, implicit := v1alpha1.ProtocolREST, "RestApiId", implicitRestAPI
		if typ == "HttpApi" {
			protocol, refKey, implicit = v1alpha1.ProtocolHTTP, "ApiId", implicitHTTPAPI
		}
		apiID := implicit
		if ref := child(p, refKey); ref != nil {
			apiID, _ = refTarget(ref)
		}
		api := t.apis[apiID]
		if api == nil && apiID == implicit {
			api = t.implicitAPI(implicit, evLine, protocol)
		}
		if api == nil {
			t.im.report.add(t.file, evLine, "event "+id+"."+name, "%s %s names no API of this template; left out", refKey, apiID)
			continue
		}
		if t.defined[apiID] {
			// SAM leaves an API's own definition as it is: the event adds its integration,
			// not a route, and its Auth does not change the definition's security.
			continue
		}
		r := t.eventRoute(p, evLine, typ == "HttpApi", t.samAuth[apiID])
		t.extra[apiID] = append(t.extra[apiID], r)
	}
	return nil
}

// eventRoute reads one Api or HttpApi event's route and how it is guarded: the event's
// Authorizer (NONE, AWS_IAM or one of the API's), else the API's DefaultAuthorizer, with the
// event's scopes over the authorizer's, and API keys as SAM applies them.
func (t *tmpl) eventRoute(p *yaml.Node, line int, httpAPI bool, auth *samAuth) *routeDef {
	if auth == nil {
		auth = &samAuth{authorizers: map[string]*authDef{}}
	}
	path, method := t.text(child(p, "Path")), strings.ToUpper(t.text(child(p, "Method")))
	if httpAPI && path == "" && method == "" || path == "/"+v1alpha1.RouteDefault {
		path, method = v1alpha1.RouteDefault, v1alpha1.MethodAny
	}
	r := &routeDef{path: path, method: method, file: t.file, line: line}
	evAuth := child(p, "Auth")
	var scopes []string
	if s := child(evAuth, "AuthorizationScopes"); s != nil {
		scopes = append([]string{}, t.texts(s)...) // an empty list clears the authorizer's default scopes
	}
	name := t.text(child(evAuth, "Authorizer"))
	if name != "" {
		r.guard = auth.guardFor(name, scopes)
	} else {
		r.guard = auth.defaultGuard()
		if scopes != nil && r.guard.auth != nil {
			r.guard.scopes = scopes
		}
	}
	// The Api's ApiKeyRequired applies to every route but those that say Authorizer: NONE,
	// as SAM writes it.
	keyRequired := auth.apiKey && name != "NONE"
	if v := t.text(child(evAuth, "ApiKeyRequired")); v != "" {
		keyRequired = v == "true"
	}
	if keyRequired {
		r.guard = t.withAPIKey(r.guard, r)
	}
	return r
}

// preflightRoutes adds the OPTIONS method SAM gives each path of an API with Cors.
func (t *tmpl) preflightRoutes(id string, api *apiDef) {
	auth := t.samAuth[id]
	if auth == nil || !auth.cors {
		return
	}
	has := map[string]bool{}
	var paths []string
	for _, r := range api.routes {
		if !has[r.path] {
			paths = append(paths, r.path)
		}
		has[r.path] = true
		has[r.path+" "+r.method] = true
	}
	for _, p := range paths {
		if has[p+" OPTIONS"] {
			continue
		}
		g := guard{none: true}
		if auth.preflightAuth {
			g = auth.defaultGuard()
		}
		r := &routeDef{path: p, method: "OPTIONS", file: api.file, line: api.line, guard: g}
		if auth.apiKey && auth.preflightKey {
			r.guard = t.withAPIKey(r.guard, r)
		}
		api.routes = append(api.routes, r)
	}
}

// implicitAPI is the API SAM creates for events that name none, with the template's Globals.
func (t *tmpl) implicitAPI(id string, line int, protocol string) *apiDef {
	kind := "Api"
	if protocol == v1alpha1.ProtocolHTTP {
		kind = "HttpApi"
	}
	props := t.properties(kind, &yaml.Node{Kind: yaml.MappingNode, Line: line})
	if child(props, "StageName") == nil && protocol == v1alpha1.ProtocolREST {
		props.Content = append(props.Content, scalar("StageName", line), scalar("Prod", line))
	}
	if err := t.samAPIOf(id, props, line, protocol); err != nil {
		return nil
	}
	return t.apis[id]
}
