package importer

import (
	"bytes"
	"maps"
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// write encodes the documents as one YAML stream, Authorizers first, every field in a fixed
// order, so that the same input gives the same bytes.
func write(r *Result) ([]byte, error) {
	var buf bytes.Buffer
	if len(r.Authorizers)+len(r.Apis) == 0 {
		return nil, nil
	}
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for _, a := range r.Authorizers {
		if err := enc.Encode(document("Authorizer", a.Name, a.Comment, authorizerNode(&a.Spec))); err != nil {
			return nil, err
		}
	}
	for _, a := range r.Apis {
		if err := enc.Encode(document("Api", a.Name, a.Comment, apiNode(a))); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func document(kind, name, comment string, spec *yaml.Node) *yaml.Node {
	doc := mapping()
	doc.HeadComment = comment
	add(doc, "apiVersion", str("portcullis.dev/v1alpha1"))
	add(doc, "kind", str(kind))
	meta := mapping()
	meta.Style = yaml.FlowStyle
	add(meta, "name", str(name))
	add(doc, "metadata", meta)
	add(doc, "spec", spec)
	return doc
}

func authorizerNode(s *v1alpha1.AuthorizerSpec) *yaml.Node {
	n := mapping()
	add(n, "type", str(s.Type))
	switch len(s.IdentitySource) {
	case 0:
	case 1:
		add(n, "identitySource", str(s.IdentitySource[0]))
	default:
		add(n, "identitySource", flowList(s.IdentitySource))
	}
	if s.IdentityValidationExpression != "" {
		add(n, "identityValidationExpression", str(s.IdentityValidationExpression))
	}
	if s.ResultTTLInSeconds != nil {
		add(n, "resultTtlInSeconds", integer(int(*s.ResultTTLInSeconds)))
	}
	if s.PayloadFormatVersion != "" {
		add(n, "payloadFormatVersion", str(s.PayloadFormatVersion))
	}
	if s.EnableSimpleResponses {
		add(n, "enableSimpleResponses", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
	}
	if s.Lambda != nil {
		l := mapping()
		add(l, "functionName", str(s.Lambda.FunctionName))
		add(n, "lambda", l)
	}
	if s.JWT != nil {
		j := mapping()
		add(j, "issuer", str(s.JWT.Issuer))
		if len(s.JWT.Audience) > 0 {
			add(j, "audience", flowList(s.JWT.Audience))
		}
		add(n, "jwt", j)
	}
	return n
}

func apiNode(a *Api) *yaml.Node {
	s := &a.Spec
	n := mapping()
	add(n, "protocol", str(s.Protocol))
	add(n, "region", str(s.Region))
	add(n, "accountId", str(s.AccountID))
	add(n, "apiId", str(s.APIID))
	add(n, "stage", str(s.Stage))
	if s.BasePath != "" {
		add(n, "basePath", str(s.BasePath))
	}
	if len(s.StageVariables) > 0 {
		add(n, "stageVariables", stringMap(s.StageVariables))
	}
	if len(s.GatewayResponses) > 0 {
		g := mapping()
		for _, typ := range slices.Sorted(maps.Keys(s.GatewayResponses)) {
			add(g, typ, gatewayResponseNode(s.GatewayResponses[typ]))
		}
		add(n, "gatewayResponses", g)
	}
	routes := &yaml.Node{Kind: yaml.SequenceNode}
	for i, r := range s.Routes {
		rn := mapping()
		rn.Style = yaml.FlowStyle
		add(rn, "path", str(r.Path))
		add(rn, "methods", flowList(r.Methods))
		if r.Authorizer != "" {
			add(rn, "authorizer", str(r.Authorizer))
		}
		if len(r.AuthorizationScopes) > 0 {
			add(rn, "authorizationScopes", flowList(r.AuthorizationScopes))
		}
		rn.LineComment = a.RouteComments[i]
		routes.Content = append(routes.Content, rn)
	}
	add(n, "routes", routes)
	return n
}

func gatewayResponseNode(r v1alpha1.GatewayResponse) *yaml.Node {
	n := mapping()
	if r.StatusCode != 0 {
		add(n, "statusCode", integer(int(r.StatusCode)))
	}
	if len(r.ResponseParameters) > 0 {
		add(n, "responseParameters", stringMap(r.ResponseParameters))
	}
	if len(r.ResponseTemplates) > 0 {
		add(n, "responseTemplates", stringMap(r.ResponseTemplates))
	}
	return n
}

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode} }

func add(m *yaml.Node, key string, value *yaml.Node) {
	m.Content = append(m.Content, str(key), value)
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func integer(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}
}

func flowList(items []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, it := range items {
		n.Content = append(n.Content, str(it))
	}
	return n
}

func stringMap(m map[string]string) *yaml.Node {
	n := mapping()
	for _, k := range slices.Sorted(maps.Keys(m)) {
		add(n, k, str(m[k]))
	}
	return n
}
