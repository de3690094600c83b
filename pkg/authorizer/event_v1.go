package authorizer

import (
	"crypto/sha256"
	"encoding/hex"
)

// requestEventV1 is the REQUEST event of payload format 1.0, as a REST API sends it. Every map is
// sent as {} when empty, never null: that is what API Gateway REST sends authorizers (unlike its
// proxy integration events, which use null).
type requestEventV1 struct {
	Type                            string              `json:"type"`
	MethodArn                       string              `json:"methodArn"`
	Resource                        string              `json:"resource"`
	Path                            string              `json:"path"`
	HTTPMethod                      string              `json:"httpMethod"`
	Headers                         map[string]string   `json:"headers"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	PathParameters                  map[string]string   `json:"pathParameters"`
	StageVariables                  map[string]string   `json:"stageVariables"`
	RequestContext                  requestContextV1    `json:"requestContext"`
}

type requestContextV1 struct {
	Path         string     `json:"path"`
	AccountID    string     `json:"accountId"`
	ResourceID   string     `json:"resourceId"`
	Stage        string     `json:"stage"`
	RequestID    string     `json:"requestId"`
	Identity     identityV1 `json:"identity"`
	ResourcePath string     `json:"resourcePath"`
	HTTPMethod   string     `json:"httpMethod"`
	APIID        string     `json:"apiId"`
}

type identityV1 struct {
	SourceIP   string      `json:"sourceIp"`
	UserAgent  string      `json:"userAgent"`
	ClientCert *ClientCert `json:"clientCert,omitempty"`
}

func newRequestEventV1(req *Request, cert *ClientCert) requestEventV1 {
	h := req.HTTP
	path := eventPath(req)
	headers := eventHeaders(h, false)
	single, multi := parseQuery(h.RawQuery)
	return requestEventV1{
		Type:                            TypeRequest,
		MethodArn:                       req.MethodArn,
		Resource:                        req.Resource,
		Path:                            path,
		HTTPMethod:                      h.Method,
		Headers:                         headers,
		MultiValueHeaders:               multiValueHeaders(headers),
		QueryStringParameters:           single,
		MultiValueQueryStringParameters: multi,
		PathParameters:                  nonNil(req.PathParameters),
		StageVariables:                  nonNil(req.StageVariables),
		RequestContext: requestContextV1{
			Path:         "/" + req.Stage + path,
			AccountID:    req.AccountID,
			ResourceID:   ResourceID(h.Method, req.Resource),
			Stage:        req.Stage,
			RequestID:    req.RequestID,
			Identity:     identityV1{SourceIP: h.SourceIP, UserAgent: h.Headers["user-agent"], ClientCert: cert},
			ResourcePath: req.Resource,
			HTTPMethod:   h.Method,
			APIID:        req.APIID,
		},
	}
}

// ResourceID is a stable six-character id for a method on a resource template, standing in for
// the id API Gateway gives each resource (requestContext.resourceId). Derived from the template,
// it stays the same across restarts and replicas, so an authorizer may key on it.
func ResourceID(method, resource string) string {
	sum := sha256.Sum256([]byte(method + " " + resource))
	return hex.EncodeToString(sum[:3])
}

// multiValueHeaders gives each header its value as a one-element list. Envoy has already joined
// repeated headers with ",", and a comma cannot be split back safely: it also occurs inside single
// values (dates, quoted strings, User-Agent), so splitting would invent values the client never
// sent. Keeping the joined value is lossless and what a function reading [0] expects.
func multiValueHeaders(headers map[string]string) map[string][]string {
	multi := make(map[string][]string, len(headers))
	for name, value := range headers {
		multi[name] = []string{value}
	}
	return multi
}

// eventPath is the request path after the basePath, as API Gateway REST sends it in "path".
func eventPath(req *Request) string {
	if req.Path != "" {
		return req.Path
	}
	return req.HTTP.Path
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
