package importer

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// tmpl is one SAM or CloudFormation template being read.
type tmpl struct {
	im       *importer
	file     string
	root     *yaml.Node
	res      *yaml.Node // Resources
	r        *resolver
	apis     map[string]*apiDef // by logical ID
	order    []string           // logical IDs of APIs, in template order
	auths    map[string]*authDef
	paths    map[string]*cfnResource // AWS::ApiGateway::Resource by logical ID
	stageSet map[string]bool         // APIs whose stage came from a Stage resource
	extra    map[string][]*routeDef  // routes from Method, Route resources and SAM events
	samAuth  map[string]*samAuth     // SAM Auth of each Serverless Api / HttpApi
	globals  *yaml.Node
	defined  map[string]bool // SAM APIs with their own DefinitionBody or DefinitionUri
}

type cfnResource struct {
	parent   *yaml.Node
	pathPart string
	line     int
}

// template reads a SAM or CloudFormation template: its APIs first, then what refers to them.
func (im *importer) template(file string, root *yaml.Node) ([]*apiDef, error) {
	res := child(root, "Resources")
	if res.Kind != yaml.MappingNode {
		return nil, inputErr(file, res.Line, "Resources is not a mapping")
	}
	t := &tmpl{im: im, file: file, root: root, res: res, apis: map[string]*apiDef{}, auths: map[string]*authDef{},
		paths: map[string]*cfnResource{}, stageSet: map[string]bool{}, extra: map[string][]*routeDef{},
		samAuth: map[string]*samAuth{}, globals: child(root, "Globals"), defined: map[string]bool{}}
	t.r = &resolver{file: file, opts: im.opts, rep: im.report, params: child(root, "Parameters"), resources: res,
		conditions: child(root, "Conditions"), mappings: child(root, "Mappings")}
	// Every pass walks the resources in template order; each kind needs the ones before it.
	passes := []map[string]func(id string, props *yaml.Node, line int) error{
		{
			"AWS::ApiGateway::RestApi":  t.restAPI,
			"AWS::ApiGatewayV2::Api":    t.httpAPI,
			"AWS::Serverless::Api":      t.samAPI,
			"AWS::Serverless::HttpApi":  t.samHTTPAPI,
			"AWS::ApiGateway::Resource": t.resource,
		},
		{
			"AWS::ApiGateway::Authorizer":   t.restAuthorizer,
			"AWS::ApiGatewayV2::Authorizer": t.httpAuthorizer,
			"AWS::ApiGateway::Stage":        t.restStage,
			"AWS::ApiGatewayV2::Stage":      t.httpStage,
		},
		{
			"AWS::ApiGateway::Deployment":      t.restDeployment,
			"AWS::ApiGateway::Method":          t.method,
			"AWS::ApiGatewayV2::Route":         t.route,
			"AWS::ApiGateway::GatewayResponse": t.gatewayResponse,
			"AWS::Serverless::Function":        t.samFunction,
			"AWS::Serverless::StateMachine":    t.samFunction, // its Api events are a function's
		},
	}
	for _, pass := range passes {
		for _, id := range sortedKeys(res) {
			r := child(res, id)
			typ := scalarValue(child(r, "Type"))
			if f := pass[typ]; f != nil {
				if !t.created(id, r) {
					continue
				}
				if err := f(id, child(r, "Properties"), lineOf(res, id)); err != nil {
					return nil, err
				}
			}
		}
	}
	if len(t.order) == 0 {
		im.report.add(file, res.Line, "template", "no API Gateway API (AWS::ApiGateway::RestApi, AWS::ApiGatewayV2::Api, AWS::Serverless::Api or HttpApi) found")
	}
	var out []*apiDef
	for _, id := range t.order {
		api := t.apis[id]
		// Routes of Method, Route and event resources come before the body's, so that they
		// win where both define a method, as SAM merges them.
		api.routes = append(t.extra[id], api.routes...)
		t.preflightRoutes(id, api)
		out = append(out, api)
	}
	return out, nil
}

// created reports whether a resource exists: its Condition, when it has one, is true or cannot
// be evaluated (then it is read, and the report says so).
func (t *tmpl) created(id string, r *yaml.Node) bool {
	cond := scalarValue(child(r, "Condition"))
	if cond == "" {
		return true
	}
	v, ok := t.r.condition(cond, 0)
	if !ok {
		t.im.report.add(t.file, lineOf(r, "Condition"), "resource "+id, "condition %s cannot be evaluated: the resource is read as if created (give --set %s=true|false)", cond, cond)
		return true
	}
	return v
}

// newAPI registers an API under its logical ID, with the values a template gives every API.
func (t *tmpl) newAPI(id string, line int, protocol string) *apiDef {
	api := &apiDef{name: id, file: t.file, line: line, protocol: protocol}
	api.apiID = t.r.ref(id, line).Value
	api.region = t.pseudo("AWS::Region", line)
	api.accountID = t.pseudo("AWS::AccountId", line)
	t.apis[id] = api
	t.order = append(t.order, id)
	return api
}

// pseudo resolves a pseudo-parameter the flags may give; "" when they do not (the builder then
// reports it once per API, naming the flag).
func (t *tmpl) pseudo(name string, line int) string {
	if v, ok := t.im.opts.Set[name]; ok {
		return v
	}
	return ""
}

// body reads an inline OpenAPI body (Body, DefinitionBody) into api.
func (t *tmpl) body(api *apiDef, n *yaml.Node, o oasOptions) error {
	resolved := t.r.resolveBody(n)
	if resolved == nil || resolved.Kind != yaml.MappingNode {
		t.im.report.add(t.file, n.Line, "api "+api.name, "the definition body is not a mapping; left out")
		return nil
	}
	kind := detect(resolved)
	if kind != kindOpenAPI3 && kind != kindSwagger2 {
		return inputErr(t.file, n.Line, "the definition body of %s is neither OpenAPI 3 nor Swagger 2 (no openapi or swagger field)", api.name)
	}
	def, err := t.im.openAPI(t.file, resolved, kind, o)
	if err != nil {
		return err
	}
	api.routes = append(api.routes, def.routes...)
	api.gatewayResponses = append(api.gatewayResponses, def.gatewayResponses...)
	api.authorizers = append(api.authorizers, def.authorizers...)
	if def.basePath != "" && api.basePath == "" {
		api.basePath = def.basePath
	}
	return nil
}

func (t *tmpl) restAPI(id string, props *yaml.Node, line int) error {
	api := t.newAPI(id, line, v1alpha1.ProtocolREST)
	if b := child(props, "Body"); b != nil {
		return t.body(api, b, oasOptions{protocol: v1alpha1.ProtocolREST})
	}
	if child(props, "BodyS3Location") != nil {
		t.im.report.add(t.file, lineOf(props, "BodyS3Location"), "api "+id, "BodyS3Location is not read: download the definition and import it too, or give it as Body")
	}
	return nil
}

func (t *tmpl) httpAPI(id string, props *yaml.Node, line int) error {
	if p := t.text(child(props, "ProtocolType")); p != "" && p != "HTTP" {
		t.im.report.add(t.file, line, "api "+id, "%s APIs are not HTTP requests Portcullis authorizes; left out", p)
		return nil
	}
	api := t.newAPI(id, line, v1alpha1.ProtocolHTTP)
	if b := child(props, "Body"); b != nil {
		return t.body(api, b, oasOptions{protocol: v1alpha1.ProtocolHTTP})
	}
	if child(props, "BodyS3Location") != nil {
		t.im.report.add(t.file, lineOf(props, "BodyS3Location"), "api "+id, "BodyS3Location is not read: download the definition and import it too, or give it as Body")
	}
	if child(props, "Target") != nil {
		// Quick create: one route, $default unless RouteKey says otherwise, open to all, on
		// the $default stage.
		api.stage = v1alpha1.RouteDefault
		key := t.text(child(props, "RouteKey"))
		if key == "" {
			key = v1alpha1.RouteDefault
		}
		method, path := splitRouteKey(key)
		t.extra[id] = append(t.extra[id], &routeDef{path: path, method: method, file: t.file, line: line, guard: guard{none: true}})
	}
	return nil
}

func (t *tmpl) resource(id string, props *yaml.Node, line int) error {
	t.paths[id] = &cfnResource{parent: child(props, "ParentId"), pathPart: t.text(child(props, "PathPart")), line: line}
	return nil
}

// resourcePath builds the path of an AWS::ApiGateway::Resource from its parents.
func (t *tmpl) resourcePath(n *yaml.Node, depth int) (string, bool) {
	target, attr := refTarget(n)
	if attr == "RootResourceId" {
		return "/", true
	}
	r := t.paths[target]
	if r == nil || depth > 64 {
		return "", false
	}
	parent, ok := t.resourcePath(r.parent, depth+1)
	if !ok {
		return "", false
	}
	return strings.TrimSuffix(parent, "/") + "/" + r.pathPart, true
}

func (t *tmpl) restAuthorizer(id string, props *yaml.Node, line int) error {
	def := &authDef{name: id, file: t.file, line: line}
	if n := t.text(child(props, "Name")); n != "" && !strings.Contains(n, unresolvedMark) {
		def.name = n
	}
	typ := t.text(child(props, "Type"))
	def.sourceType = typ
	def.identitySource = splitSources(t.text(child(props, "IdentitySource")))
	def.validation = t.text(child(props, "IdentityValidationExpression"))
	def.ttl = ttlOf(t.text(child(props, "AuthorizerResultTtlInSeconds")))
	switch typ {
	case "TOKEN":
		def.kind = authLambdaToken
	case "REQUEST":
		def.kind = authLambdaRequest
	case "COGNITO_USER_POOLS":
		def.kind = authCognito
		def.providerARNs = t.texts(child(props, "ProviderARNs"))
		if len(def.providerARNs) == 0 {
			def.providerARNs = []string{unresolved(id + ".ProviderARNs")}
		}
	default:
		def.kind = authUnknown
	}
	if api := t.apiOf(child(props, "RestApiId")); api != nil {
		api.authorizers = append(api.authorizers, def)
	}
	if def.kind == authLambdaToken || def.kind == authLambdaRequest {
		def.functionARN = lambdaFromURI(t.text(child(props, "AuthorizerUri")))
		if child(props, "AuthorizerCredentials") != nil {
			t.im.report.add(t.file, lineOf(props, "AuthorizerCredentials"), "authorizer "+def.name, "AuthorizerCredentials not carried over: Portcullis invokes the function with its own AWS credentials")
		}
	}
	t.auths[id] = def
	return nil
}

func (t *tmpl) httpAuthorizer(id string, props *yaml.Node, line int) error {
	def := &authDef{name: id, file: t.file, line: line}
	if n := t.text(child(props, "Name")); n != "" && !strings.Contains(n, unresolvedMark) {
		def.name = n
	}
	typ := t.text(child(props, "AuthorizerType"))
	def.sourceType = typ
	def.identitySource = t.texts(child(props, "IdentitySource"))
	def.ttl = ttlOf(t.text(child(props, "AuthorizerResultTtlInSeconds")))
	switch typ {
	case "JWT":
		def.kind = authJWT
		cfg := child(props, "JwtConfiguration")
		def.issuer = t.text(child(cfg, "Issuer"))
		def.audience = t.texts(child(cfg, "Audience"))
		def.ttl = nil
	case "REQUEST":
		def.kind = authLambdaRequest
		def.functionARN = lambdaFromURI(t.text(child(props, "AuthorizerUri")))
		def.payloadVersion = t.text(child(props, "AuthorizerPayloadFormatVersion"))
		def.simple = t.text(child(props, "EnableSimpleResponses")) == "true"
		if def.ttl == nil {
			def.ttl = httpAPIDefaultTTL()
		}
	default:
		def.kind = authUnknown
	}
	if api := t.apiOf(child(props, "ApiId")); api != nil {
		api.authorizers = append(api.authorizers, def)
	}
	t.auths[id] = def
	return nil
}

func (t *tmpl) restStage(id string, props *yaml.Node, line int) error {
	return t.stage(id, child(props, "RestApiId"), child(props, "StageName"), child(props, "Variables"), line)
}

func (t *tmpl) httpStage(id string, props *yaml.Node, line int) error {
	return t.stage(id, child(props, "ApiId"), child(props, "StageName"), child(props, "StageVariables"), line)
}

// stage sets an API's stage; a second stage of the same API is reported: one Api is one stage.
func (t *tmpl) stage(id string, apiRef, name, vars *yaml.Node, line int) error {
	api := t.apiOf(apiRef)
	if api == nil {
		return nil
	}
	stage := t.text(name)
	if t.stageSet[api.name] {
		t.im.report.add(t.file, line, "stage "+stage, "API %s has another stage (%s); import once per stage with --stage to write each", api.name, api.stage)
		return nil
	}
	t.stageSet[api.name] = true
	api.stage = stage
	if v := t.r.resolve(vars); v != nil {
		api.stageVariables = stringMapOf(v)
	}
	return nil
}

func (t *tmpl) restDeployment(id string, props *yaml.Node, line int) error {
	api := t.apiOf(child(props, "RestApiId"))
	if api != nil && api.stage == "" {
		api.stage = t.text(child(props, "StageName"))
	}
	return nil
}

// method reads an AWS::ApiGateway::Method.
func (t *tmpl) method(id string, props *yaml.Node, line int) error {
	api := t.apiOf(child(props, "RestApiId"))
	if api == nil {
		return nil
	}
	path, ok := t.resourcePath(child(props, "ResourceId"), 0)
	if !ok {
		t.im.report.add(t.file, line, "method "+id, "its ResourceId names no AWS::ApiGateway::Resource of this template; left out")
		return nil
	}
	r := &routeDef{path: path, method: strings.ToUpper(t.text(child(props, "HttpMethod"))), file: t.file, line: line}
	authType := t.text(child(props, "AuthorizationType"))
	scopes := t.texts(child(props, "AuthorizationScopes"))
	r.guard = t.cfnGuard(authType, child(props, "AuthorizerId"), scopes, line)
	if t.text(child(props, "ApiKeyRequired")) == "true" {
		r.guard = t.withAPIKey(r.guard, r)
	}
	t.extra[api.name] = append(t.extra[api.name], r)
	return nil
}

// route reads an AWS::ApiGatewayV2::Route.
func (t *tmpl) route(id string, props *yaml.Node, line int) error {
	api := t.apiOf(child(props, "ApiId"))
	if api == nil {
		return nil
	}
	method, path := splitRouteKey(t.text(child(props, "RouteKey")))
	r := &routeDef{path: path, method: method, file: t.file, line: line}
	r.guard = t.cfnGuard(t.text(child(props, "AuthorizationType")), child(props, "AuthorizerId"), t.texts(child(props, "AuthorizationScopes")), line)
	if t.text(child(props, "ApiKeyRequired")) == "true" {
		r.guard = t.withAPIKey(r.guard, r)
	}
	t.extra[api.name] = append(t.extra[api.name], r)
	return nil
}

// cfnGuard reads AuthorizationType and AuthorizerId of a Method or Route.
func (t *tmpl) cfnGuard(authType string, authorizerID *yaml.Node, scopes []string, line int) guard {
	switch authType {
	case "", "NONE":
		return guard{none: true}
	case "AWS_IAM":
		return guard{why: "AWS_IAM (SigV4) authorization is not supported by Portcullis"}
	}
	target, _ := refTarget(authorizerID)
	def := t.auths[target]
	if def == nil {
		return guard{why: fmt.Sprintf("AuthorizationType %s names authorizer %q, not found in this template", authType, target)}
	}
	return guard{auth: def, scopes: scopes}
}

// withAPIKey adds an API key requirement to a guard: alone it makes the route DENY; beside an
// authorizer it is reported.
func (t *tmpl) withAPIKey(g guard, r *routeDef) guard {
	if g.none {
		return guard{why: "an API key alone guards the route; Portcullis does not check API keys"}
	}
	t.im.report.add(r.file, r.line, "route "+r.method+" "+r.path, "API key requirement not carried over: Portcullis does not check API keys; the authorizer is kept")
	return g
}

func (t *tmpl) gatewayResponse(id string, props *yaml.Node, line int) error {
	api := t.apiOf(child(props, "RestApiId"))
	if api == nil {
		return nil
	}
	resolved := t.r.resolve(props)
	typ := scalarValue(child(resolved, "ResponseType"))
	gr, ok := gatewayResponseOf(t.file, line, typ, t.im.report)
	if !ok {
		return nil
	}
	if code := ttlOf(scalarValue(child(resolved, "StatusCode"))); code != nil {
		gr.resp.StatusCode = *code
	}
	gr.resp.ResponseParameters = stringMapOf(child(resolved, "ResponseParameters"))
	gr.resp.ResponseTemplates = stringMapOf(child(resolved, "ResponseTemplates"))
	api.gatewayResponses = append(api.gatewayResponses, gr)
	return nil
}

// apiOf finds the API a RestApiId or ApiId refers to; a reference to an API this template does
// not define is reported.
func (t *tmpl) apiOf(n *yaml.Node) *apiDef {
	if n == nil {
		return nil
	}
	target, _ := refTarget(n)
	if api := t.apis[target]; api != nil {
		return api
	}
	t.im.report.add(t.file, n.Line, "reference "+target, "names no API of this template; left out")
	return nil
}

// refTarget reads the logical ID a !Ref or !GetAtt names, and the attribute.
func refTarget(n *yaml.Node) (string, string) {
	if n == nil {
		return "", ""
	}
	fn, arg, ok := intrinsic(n)
	if !ok {
		return n.Value, ""
	}
	switch fn {
	case "Ref":
		return arg.Value, ""
	case "Fn::GetAtt":
		if arg.Kind == yaml.SequenceNode && len(arg.Content) == 2 {
			return arg.Content[0].Value, arg.Content[1].Value
		}
		id, attr, _ := strings.Cut(arg.Value, ".")
		return id, attr
	}
	return "", ""
}

// text resolves a scalar property; "" when absent.
func (t *tmpl) text(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	return scalarValue(t.r.resolve(n))
}

// texts resolves a list (or a single value) of strings.
func (t *tmpl) texts(n *yaml.Node) []string {
	v := t.r.resolve(n)
	if v == nil {
		return nil
	}
	if v.Kind == yaml.ScalarNode {
		if v.Value == "" {
			return nil
		}
		return []string{v.Value}
	}
	var out []string
	for _, it := range v.Content {
		if it.Kind == yaml.ScalarNode {
			out = append(out, it.Value)
		}
	}
	return out
}

// splitRouteKey reads an HTTP API route key: "GET /pets", "ANY /{proxy+}" or "$default".
func splitRouteKey(key string) (string, string) {
	if key == v1alpha1.RouteDefault {
		return v1alpha1.MethodAny, v1alpha1.RouteDefault
	}
	method, path, ok := strings.Cut(key, " ")
	if !ok {
		return v1alpha1.MethodAny, key
	}
	return strings.ToUpper(method), path
}
