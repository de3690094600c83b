package authorizer

import "strings"

// timeLayout is the request time format of HTTP API events, e.g. 12/Mar/2020:19:03:58 +0000.
const timeLayout = "02/Jan/2006:15:04:05 -0700"

// requestEventV2 is the REQUEST event of payload format 2.0, as an HTTP API sends it. Optional
// members are omitted when empty, as API Gateway does (it sends no cookies, queryStringParameters,
// pathParameters or stageVariables member rather than an empty one).
type requestEventV2 struct {
	Version               string            `json:"version"`
	Type                  string            `json:"type"`
	RouteArn              string            `json:"routeArn"`
	IdentitySource        []string          `json:"identitySource"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	RequestContext        requestContextV2  `json:"requestContext"`
	PathParameters        map[string]string `json:"pathParameters,omitempty"`
	StageVariables        map[string]string `json:"stageVariables,omitempty"`
}

type requestContextV2 struct {
	AccountID      string            `json:"accountId"`
	APIID          string            `json:"apiId"`
	Authentication *authenticationV2 `json:"authentication,omitempty"`
	DomainName     string            `json:"domainName"`
	DomainPrefix   string            `json:"domainPrefix"`
	HTTP           httpV2            `json:"http"`
	RequestID      string            `json:"requestId"`
	RouteKey       string            `json:"routeKey"`
	Stage          string            `json:"stage"`
	Time           string            `json:"time"`
	TimeEpoch      int64             `json:"timeEpoch"`
}

// authenticationV2 is sent only with a client certificate, as HTTP APIs send it only with mutual
// TLS.
type authenticationV2 struct {
	ClientCert *ClientCert `json:"clientCert"`
}

type httpV2 struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

func newRequestEventV2(req *Request, cert *ClientCert) requestEventV2 {
	h := req.HTTP
	identity := req.IdentitySource
	if identity == nil {
		identity = []string{}
	}
	t := h.Time.UTC()
	var auth *authenticationV2
	if cert != nil {
		auth = &authenticationV2{ClientCert: cert}
	}
	return requestEventV2{
		Version:               PayloadVersion2,
		Type:                  TypeRequest,
		RouteArn:              req.MethodArn,
		IdentitySource:        identity,
		RouteKey:              req.RouteKey,
		RawPath:               h.RawPath,
		RawQueryString:        h.RawQuery,
		Cookies:               splitCookies(h.Headers["cookie"]),
		Headers:               eventHeaders(h, true),
		QueryStringParameters: joinedQuery(h.RawQuery),
		RequestContext: requestContextV2{
			AccountID:      req.AccountID,
			APIID:          req.APIID,
			Authentication: auth,
			DomainName:     h.Host,
			DomainPrefix:   domainPrefix(h.Host),
			HTTP: httpV2{
				Method:    h.Method,
				Path:      h.Path,
				Protocol:  h.Protocol,
				SourceIP:  h.SourceIP,
				UserAgent: h.Headers["user-agent"],
			},
			RequestID: req.RequestID,
			RouteKey:  req.RouteKey,
			Stage:     req.Stage,
			Time:      t.Format(timeLayout),
			TimeEpoch: t.UnixMilli(),
		},
		PathParameters: req.PathParameters,
		StageVariables: req.StageVariables,
	}
}

// domainPrefix is the first label of the host, as HTTP APIs report it.
func domainPrefix(host string) string {
	prefix, _, _ := strings.Cut(host, ".")
	return prefix
}
