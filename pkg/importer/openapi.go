package importer

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// API Gateway's OpenAPI extensions.
const (
	extAuthorizer       = "x-amazon-apigateway-authorizer"
	extAuthType         = "x-amazon-apigateway-authtype"
	extAnyMethod        = "x-amazon-apigateway-any-method"
	extGatewayResponses = "x-amazon-apigateway-gateway-responses"
	extImportExport     = "x-amazon-apigateway-importexport-version"
)

// openAPIFile reads a standalone OpenAPI 3 or Swagger 2 file as one Api, named after its title
// (else the file).
func (im *importer) openAPIFile(file string, root *yaml.Node, kind inputKind) (*apiDef, error) {
	api, err := im.openAPI(file, root, kind, oasOptions{})
	if err != nil {
		return nil, err
	}
	api.name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	if title := child(child(root, "info"), "title"); title != nil && title.Kind == yaml.ScalarNode && title.Value != "" {
		api.name = title.Value
	}
	return api, nil
}

// oasOptions say what a template knows about the definition it holds.
type oasOptions struct {
	// protocol is REST or HTTP when the caller knows it, "" to tell from the definition.
	protocol string
	// fallback guards the operations that name no security when the definition has no
	// top-level security either (a SAM Api's DefaultAuthorizer).
	fallback *guard
}

// openAPI reads a definition held in root: a file's, or a template's inline body (intrinsics
// already resolved).
func (im *importer) openAPI(file string, root *yaml.Node, kind inputKind, o oasOptions) (*apiDef, error) {
	if err := checkRefs(file, root); err != nil {
		return nil, err
	}
	doc, err := im.loadOpenAPI(file, root, kind)
	if err != nil {
		return nil, err
	}
	x := &oasReader{im: im, file: file, root: root, doc: doc, kind: kind, schemes: map[string]*authDef{},
		byValue: map[*openapi3.SecurityScheme]*authDef{}, fallback: o.fallback}
	api := &apiDef{file: file, line: root.Line, protocol: o.protocol}
	if api.protocol == "" {
		api.protocol = x.protocol()
	}
	x.protocolName = api.protocol
	x.servers(api)
	x.routes(api)
	for _, name := range slices.Sorted(maps.Keys(x.securitySchemes())) {
		if def := x.scheme(name); def != nil {
			api.authorizers = append(api.authorizers, def)
		}
	}
	api.gatewayResponses = gatewayResponsesFromOpenAPI(file, child(root, extGatewayResponses), im.report)
	return api, nil
}

// loadOpenAPI parses and resolves the definition with kin-openapi; Swagger 2 is converted to
// OpenAPI 3 first, keeping API Gateway's extensions.
func (im *importer) loadOpenAPI(file string, root *yaml.Node, kind inputKind) (*openapi3.T, error) {
	data, err := toJSON(root)
	if err != nil {
		return nil, inputErr(file, root.Line, "cannot read the definition: %v", err)
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	loader.ReadFromURIFunc = func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		if u.Scheme != "" && u.Scheme != "file" {
			return nil, fmt.Errorf("%s: only local files are read", u)
		}
		return im.opts.ReadFile(u.Path)
	}
	location := &url.URL{Path: file}
	var doc *openapi3.T
	if kind == kindSwagger2 {
		doc, err = loadSwagger2(data, loader, location)
	} else {
		doc, err = loader.LoadFromDataWithPath(data, location)
	}
	if err != nil {
		return nil, inputErr(file, refLine(root, err.Error()), "not a readable OpenAPI definition: %v", err)
	}
	return doc, nil
}

// oasReader turns one loaded definition into routes and authorizers.
type oasReader struct {
	im           *importer
	file         string
	root         *yaml.Node
	doc          *openapi3.T
	kind         inputKind
	protocolName string
	schemes      map[string]*authDef
	byValue      map[*openapi3.SecurityScheme]*authDef
	fallback     *guard
}

// protocol tells an HTTP API's export from a REST API's: HTTP APIs carry the import/export
// version, JWT or payload-versioned authorizers, or a $default route.
func (x *oasReader) protocol() string {
	if x.doc.Extensions[extImportExport] != nil {
		return v1alpha1.ProtocolHTTP
	}
	for _, ref := range x.securitySchemes() {
		if ref.Value == nil {
			continue
		}
		if ext, ok := ref.Value.Extensions[extAuthorizer].(map[string]any); ok {
			if str := strings.ToLower(stringOf(ext["type"])); str == "jwt" || ext["authorizerPayloadFormatVersion"] != nil {
				return v1alpha1.ProtocolHTTP
			}
		}
	}
	for path := range x.doc.Paths.Map() {
		if path == v1alpha1.RouteDefault {
			return v1alpha1.ProtocolHTTP
		}
	}
	return v1alpha1.ProtocolREST
}

func (x *oasReader) securitySchemes() openapi3.SecuritySchemes {
	if x.doc.Components == nil {
		return nil
	}
	return x.doc.Components.SecuritySchemes
}

// servers reads the stage, the API ID, the region and the base path from an API Gateway export:
// Swagger 2's host and basePath, OpenAPI 3's servers (https://ID.execute-api.REGION.amazonaws.com/{basePath}
// with basePath's default being /STAGE). On an execute-api host the first segment is the stage;
// on a custom domain the path is the base path.
func (x *oasReader) servers(api *apiDef) {
	var host, path string
	line := x.root.Line
	if x.kind == kindSwagger2 {
		host, path = scalarValue(child(x.root, "host")), scalarValue(child(x.root, "basePath"))
		line = lineOf(x.root, "host")
	} else if servers := child(x.root, "servers"); servers != nil && servers.Kind == yaml.SequenceNode && len(servers.Content) > 0 {
		s := servers.Content[0]
		line = s.Line
		raw := scalarValue(child(s, "url"))
		for _, v := range sortedKeys(child(s, "variables")) {
			def := scalarValue(child(child(child(s, "variables"), v), "default"))
			raw = strings.ReplaceAll(raw, "{"+v+"}", strings.TrimPrefix(def, "/"))
		}
		if u, err := url.Parse(raw); err == nil {
			host, path = u.Host, u.Path
		}
	}
	if id, rest, ok := strings.Cut(host, ".execute-api."); ok {
		if region, _, ok := strings.Cut(rest, ".amazonaws.com"); ok && !strings.Contains(id, "{") {
			api.apiID, api.region = id, region
		}
		stage, _, _ := strings.Cut(strings.Trim(path, "/"), "/")
		switch {
		case stage != "" && !strings.Contains(stage, "{"):
			api.stage = stage
			x.im.report.add(x.file, line, "stage "+stage, "taken from the execute-api URL's first segment; set spec.basePath: /%s too if clients keep it in their paths", stage)
		case stage == "" && api.protocol == v1alpha1.ProtocolHTTP:
			// An HTTP API served without a stage in its URL is on its $default stage.
			api.stage = v1alpha1.RouteDefault
			x.im.report.add(x.file, line, "stage $default", "the execute-api URL has no stage segment: the HTTP API's $default stage")
		}
		return
	}
	if p := strings.TrimRight(path, "/"); p != "" && !strings.Contains(p, "{") {
		api.basePath = p
	}
}

// routes reads every operation and x-amazon-apigateway-any-method, paths in sorted order.
func (x *oasReader) routes(api *apiDef) {
	paths := x.doc.Paths.Map()
	keys := make([]string, 0, len(paths))
	for p := range paths {
		keys = append(keys, p)
	}
	slices.Sort(keys)
	for _, p := range keys {
		item := paths[p]
		if item == nil {
			continue
		}
		path := p
		if p == v1alpha1.RouteDefault || p == "/"+v1alpha1.RouteDefault {
			path = v1alpha1.RouteDefault
		}
		ops := item.Operations()
		for _, method := range slices.Sorted(func(yield func(string) bool) {
			for m := range ops {
				if !yield(m) {
					return
				}
			}
		}) {
			line := lineOf(x.root, "paths", p, strings.ToLower(method))
			if !slices.Contains(v1alpha1.RouteMethods(), method) {
				x.im.report.add(x.file, line, "route "+method+" "+path, "method %s is not one Portcullis routes; left out", method)
				continue
			}
			sec := ops[method].Security
			x.addRoute(api, path, method, line, sec)
		}
		if anyOp, ok := item.Extensions[extAnyMethod].(map[string]any); ok {
			line := lineOf(x.root, "paths", p, extAnyMethod)
			var sec *openapi3.SecurityRequirements
			if raw, ok := anyOp["security"]; ok {
				sec = securityFromAny(raw)
			}
			x.addRoute(api, path, v1alpha1.MethodAny, line, sec)
		}
	}
}

func (x *oasReader) addRoute(api *apiDef, path, method string, line int, sec *openapi3.SecurityRequirements) {
	if path != v1alpha1.RouteDefault && path == "" {
		return
	}
	reqs := x.doc.Security
	if sec != nil {
		reqs = *sec
	}
	r := &routeDef{path: path, method: method, file: x.file, line: line}
	if sec == nil && x.doc.Security == nil && x.fallback != nil {
		r.guard = *x.fallback
	} else {
		r.guard = x.guard(reqs, r)
	}
	api.routes = append(api.routes, r)
}

// securityFromAny reads a security list given as plain JSON (x-amazon-apigateway-any-method is
// an extension, so kin-openapi leaves it undecoded).
func securityFromAny(raw any) *openapi3.SecurityRequirements {
	out := openapi3.SecurityRequirements{}
	list, _ := raw.([]any)
	for _, item := range list {
		m, _ := item.(map[string]any)
		req := openapi3.SecurityRequirement{}
		for name, scopes := range m {
			req[name] = stringList(scopes)
		}
		out = append(out, req)
	}
	return &out
}

// guard decides what protects a route from its security requirements: none at all is NONE; the
// first requirement's authorizer guards the route; an API key alongside it is reported, an API
// key alone or anything that cannot run makes the route DENY.
func (x *oasReader) guard(reqs openapi3.SecurityRequirements, r *routeDef) guard {
	if len(reqs) == 0 || len(reqs) == 1 && len(reqs[0]) == 0 {
		return guard{none: true}
	}
	if _, ok := reqs[0]["NONE"]; ok && len(reqs[0]) == 1 && x.securitySchemes()["NONE"] == nil {
		// SAM writes an event's `Authorizer: NONE` as a requirement of an undefined scheme.
		return guard{none: true}
	}
	if len(reqs) > 1 {
		x.im.report.add(x.file, r.line, "route "+r.method+" "+r.path, "%d alternative security requirements: API Gateway applies one authorizer per method; the first is kept", len(reqs))
	}
	var g guard
	var key *authDef
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range reqs[0] {
			if !yield(n) {
				return
			}
		}
	}) {
		def := x.scheme(name)
		switch {
		case def == nil:
			return guard{why: fmt.Sprintf("security scheme %q is not defined", name)}
		case def.kind == authAPIKey:
			key = def
		case g.auth == nil:
			g.auth, g.scopes = def, reqs[0][name]
		default:
			x.im.report.add(x.file, r.line, "route "+r.method+" "+r.path, "security scheme %q also required; only %q is kept", name, g.auth.name)
		}
	}
	switch {
	case g.auth == nil && key != nil:
		g.auth = key
	case key != nil:
		x.im.report.add(x.file, r.line, "route "+r.method+" "+r.path, "API key %q not carried over: Portcullis does not check API keys; the authorizer %q is kept", key.name, g.auth.name)
	}
	return g
}

// scheme reads a security scheme once.
func (x *oasReader) scheme(name string) *authDef {
	if def, ok := x.schemes[name]; ok {
		return def
	}
	ref := x.securitySchemes()[name]
	if ref == nil || ref.Value == nil {
		x.schemes[name] = nil
		return nil
	}
	if def, ok := x.byValue[ref.Value]; ok {
		x.schemes[name] = def // a $ref to a scheme already read
		return def
	}
	line := lineOf(x.root, "components", "securitySchemes", name)
	if x.kind == kindSwagger2 {
		line = lineOf(x.root, "securityDefinitions", name)
	}
	def := schemeDef(name, x.file, line, ref.Value, x.im.report)
	x.byValue[ref.Value] = def
	if def.kind == authLambdaRequest && def.ttl == nil && x.protocolName == v1alpha1.ProtocolHTTP {
		def.ttl = httpAPIDefaultTTL()
	}
	x.schemes[name] = def
	return def
}

// schemeDef reads one security scheme with its x-amazon-apigateway-authorizer.
func schemeDef(name, file string, line int, s *openapi3.SecurityScheme, rep *reporter) *authDef {
	def := &authDef{name: name, file: file, line: line, sourceType: s.Type}
	authType := strings.ToLower(stringOf(s.Extensions[extAuthType]))
	ext, hasExt := s.Extensions[extAuthorizer].(map[string]any)
	typ := strings.ToLower(stringOf(ext["type"]))
	if typ != "" {
		def.sourceType = typ
	}
	switch {
	case authType == "awssigv4" || authType == "aws_iam" || typ == "aws_iam":
		def.kind = authIAM
	case !hasExt && s.Type == "apiKey" && authType == "":
		def.kind = authAPIKey
	case typ == "token", typ == "request":
		def.lambdaFromExtension(s, ext, rep)
	case typ == "jwt":
		def.jwtFromExtension(s, ext, rep)
	case typ == "cognito_user_pools":
		def.kind = authCognito
		def.providerARNs = stringList(ext["providerARNs"])
		def.identitySource = splitSources(stringOrList(ext["identitySource"]))
		def.defaultHeaderSource(s)
		if len(def.providerARNs) == 0 {
			rep.add(file, line, "authorizer "+name, "no providerARNs: the user pool is unknown")
			def.providerARNs = []string{""}
		}
	default:
		def.kind = authUnknown
	}
	return def
}

// lambdaFromExtension reads a token or request authorizer.
func (def *authDef) lambdaFromExtension(s *openapi3.SecurityScheme, ext map[string]any, rep *reporter) {
	def.kind = authLambdaToken
	if def.sourceType == "request" {
		def.kind = authLambdaRequest
		def.payloadVersion = stringOf(ext["authorizerPayloadFormatVersion"])
		def.simple, _ = ext["enableSimpleResponses"].(bool)
	}
	def.ttl = ttlOf(ext["authorizerResultTtlInSeconds"])
	def.identitySource = splitSources(stringOrList(ext["identitySource"]))
	def.validation = stringOf(ext["identityValidationExpression"])
	if def.kind == authLambdaToken {
		def.defaultHeaderSource(s)
	}
	if ext["authorizerCredentials"] != nil {
		rep.add(def.file, def.line, "authorizer "+def.name, "authorizerCredentials not carried over: Portcullis invokes the function with its own AWS credentials")
	}
	def.functionARN = lambdaFromURI(stringOf(ext["authorizerUri"]))
	if def.functionARN == "" {
		rep.add(def.file, def.line, "authorizer "+def.name, "no authorizerUri naming a Lambda function: write spec.lambda.functionName")
	}
}

// jwtFromExtension reads an HTTP API's JWT authorizer.
func (def *authDef) jwtFromExtension(s *openapi3.SecurityScheme, ext map[string]any, rep *reporter) {
	def.kind = authJWT
	def.identitySource = splitSources(stringOrList(ext["identitySource"]))
	cfg, _ := ext["jwtConfiguration"].(map[string]any)
	def.issuer = stringOf(cfg["issuer"])
	if def.issuer == "" && s.Type == "openIdConnect" {
		// API Gateway finds the issuer from openIdConnectUrl, the issuer's discovery document.
		def.issuer = strings.TrimSuffix(s.OpenIdConnectUrl, "/.well-known/openid-configuration")
	}
	def.audience = stringList(cfg["audience"])
	if len(def.identitySource) > 1 {
		rep.add(def.file, def.line, "authorizer "+def.name, "JWT authorizers read one identity source; only %s is kept", def.identitySource[0])
		def.identitySource = def.identitySource[:1]
	}
}

// defaultHeaderSource makes the scheme's header the identity source when the authorizer names
// none, as API Gateway does for token and Cognito authorizers.
func (def *authDef) defaultHeaderSource(s *openapi3.SecurityScheme) {
	if len(def.identitySource) == 0 && s.In == "header" && s.Name != "" {
		def.identitySource = []string{"method.request.header." + s.Name}
	}
}

// httpAPIDefaultTTL is the TTL of an HTTP API's Lambda authorizer that names none: API Gateway's
// API creates it with caching off (REST APIs default to 300 seconds instead).
func httpAPIDefaultTTL() *int32 {
	zero := int32(0)
	return &zero
}

// lambdaFromURI takes the function ARN out of an authorizerUri,
// arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations.
func lambdaFromURI(uri string) string {
	_, rest, ok := strings.Cut(uri, ":lambda:path/")
	if !ok {
		return uri
	}
	_, fn, ok := strings.Cut(rest, "/functions/")
	if !ok {
		return uri
	}
	return strings.TrimSuffix(fn, "/invocations")
}

// gatewayResponsesFromOpenAPI reads x-amazon-apigateway-gateway-responses; types Portcullis
// does not answer are reported and left out.
func gatewayResponsesFromOpenAPI(file string, n *yaml.Node, rep *reporter) []gatewayResponse {
	var out []gatewayResponse
	for _, typ := range sortedKeys(n) {
		v := child(n, typ)
		line := lineOf(n, typ)
		gr, ok := gatewayResponseOf(file, line, typ, rep)
		if !ok {
			continue
		}
		if code := scalarValue(child(v, "statusCode")); code != "" {
			c, err := strconv.Atoi(code)
			if err != nil || c < 100 || c > 599 {
				rep.add(file, line, "gateway response "+typ, "statusCode %q is not an HTTP status; left out", code)
			} else {
				gr.resp.StatusCode = int32(c)
			}
		}
		gr.resp.ResponseParameters = stringMapOf(child(v, "responseParameters"))
		gr.resp.ResponseTemplates = stringMapOf(child(v, "responseTemplates"))
		out = append(out, gr)
	}
	return out
}

// gatewayResponseTypes are the types SPEC section 13 answers.
var gatewayResponseTypes = []string{"UNAUTHORIZED", "ACCESS_DENIED", "MISSING_AUTHENTICATION_TOKEN", "AUTHORIZER_FAILURE",
	"AUTHORIZER_CONFIGURATION_ERROR", "THROTTLED", "BAD_REQUEST_PARAMETERS", "REQUEST_TOO_LARGE", "DEFAULT_4XX", "DEFAULT_5XX"}

func gatewayResponseOf(file string, line int, typ string, rep *reporter) (gatewayResponse, bool) {
	if !slices.Contains(gatewayResponseTypes, typ) {
		rep.add(file, line, "gateway response "+typ, "not a denial Portcullis gives; left out")
		return gatewayResponse{}, false
	}
	return gatewayResponse{typ: typ, file: file, line: line}, true
}

// checkRefs follows every local $ref: one that goes nowhere, or a chain of $refs that comes back
// to itself, makes the input unreadable.
func checkRefs(file string, root *yaml.Node) error {
	var err error
	walk(root, func(n *yaml.Node) bool {
		ref := child(n, "$ref")
		if err != nil || ref == nil || ref.Kind != yaml.ScalarNode || !strings.HasPrefix(ref.Value, "#") {
			return err == nil
		}
		seen := []string{}
		at := ref
		for {
			if slices.Contains(seen, at.Value) {
				err = inputErr(file, ref.Line, "$ref loop: %s -> %s", strings.Join(seen, " -> "), at.Value)
				return false
			}
			seen = append(seen, at.Value)
			target := pointer(root, at.Value)
			if target == nil {
				err = inputErr(file, at.Line, "$ref %q goes nowhere", at.Value)
				return false
			}
			next := child(target, "$ref")
			if next == nil || next.Kind != yaml.ScalarNode || !strings.HasPrefix(next.Value, "#") {
				return true
			}
			at = next
		}
	})
	return err
}

// walk calls f on every node below n until f returns false.
func walk(n *yaml.Node, f func(*yaml.Node) bool) bool {
	if n == nil {
		return true
	}
	if !f(n) {
		return false
	}
	for _, c := range n.Content {
		if !walk(c, f) {
			return false
		}
	}
	return true
}

// pointer finds the node a local JSON pointer (#/a/b~1c) names.
func pointer(root *yaml.Node, ref string) *yaml.Node {
	p := strings.TrimPrefix(ref, "#")
	if p == "" {
		return root
	}
	n := root
	for _, part := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if u, err := url.PathUnescape(part); err == nil {
			part = u
		}
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		switch {
		case n == nil:
			return nil
		case n.Kind == yaml.MappingNode:
			n = child(n, part)
		case n.Kind == yaml.SequenceNode:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
		default:
			return nil
		}
	}
	return n
}

// refLine finds the line of the $ref an error message names, else the root's.
func refLine(root *yaml.Node, msg string) int {
	line := root.Line
	walk(root, func(n *yaml.Node) bool {
		if ref := child(n, "$ref"); ref != nil && ref.Value != "" && strings.Contains(msg, ref.Value) {
			line = ref.Line
			return false
		}
		return true
	})
	return line
}

func scalarValue(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func stringMapOf(n *yaml.Node) map[string]string {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := map[string]string{}
	for _, k := range sortedKeys(n) {
		out[k] = scalarValue(child(n, k))
	}
	return out
}

func stringOf(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

func stringList(v any) []string {
	switch v := v.(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, it := range v {
			out = append(out, stringOf(it))
		}
		return out
	case []string:
		return v
	case string:
		return []string{v}
	}
	return nil
}

// stringOrList joins a list of identity sources as API Gateway's comma-separated form.
func stringOrList(v any) string {
	if l, ok := v.([]any); ok {
		return strings.Join(stringList(l), ",")
	}
	return stringOf(v)
}

// splitSources splits "a, b" into its sources.
func splitSources(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// ttlOf reads a TTL given as a number or a numeric string.
func ttlOf(v any) *int32 {
	s := stringOf(v)
	if s == "" {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil
	}
	t := int32(f)
	return &t
}
