package engine

import (
	"strings"
	"unsafe"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/arn"
	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/gatewayresponse"
	"github.com/portcullis-dev/portcullis/pkg/request"
	"github.com/portcullis-dev/portcullis/pkg/routes"
)

// target is what resolve finds for a request: where it goes and who guards it.
type target struct {
	api        *config.Api
	route      *config.Route
	match      routes.Match
	params     [4]routes.Param
	path       string // the request path after the basePath
	routeKey   string
	methodArn  string
	authorizer *config.Authorizer // nil: no identity needed
	// arn holds methodArn's bytes for most requests, so that it costs no allocation of its own:
	// a target lives in the request's one allocation (state), which Release pools.
	arn [arnBufferBytes]byte
}

// arnBufferBytes fits the methodArn of a path of about 40 bytes; a longer one is allocated.
const arnBufferBytes = 112

// resolve finds the Api, the route and the authorizer, and builds the methodArn.
func (e *Engine) resolve(snap *config.Snapshot, req *request.Request, t *target, d *Decision) bool {
	api := e.findApi(snap, req)
	if api == nil {
		d.Outcome = MissingToken
		return false
	}
	d.Api, d.Protocol, d.Responses = api.Name, api.Protocol, api.Responses

	path, ok := stripBasePath(api.BasePath, req.Path)
	if !ok {
		d.Outcome = MissingToken
		return false
	}
	t.api, t.path = api, path
	m, ok := api.Routes.MatchInto(req.Method, path, t.params[:0])
	if req.Method == "OPTIONS" && api.AllowPreflight && (!ok || m.Resource == routes.Default) {
		// A preflight no explicit OPTIONS route claims passes; $default is not such a route.
		d.Outcome = Allow
		return true
	}
	if !ok {
		d.Outcome = MissingToken
		return false
	}
	t.route, t.match = api.Route[m.Index], m
	t.routeKey = t.route.Key(req.Method)
	b := arn.Append(t.arn[:0], api.Region, api.AccountID, api.APIID, api.Stage, req.Method, path)
	// b is written once, here, and not changed while the Decision is in use, so a string may
	// share its bytes. Release zeroes them for the next request: nothing may keep this string
	// past Release (the decision log copies it; the trace span does not carry it).
	t.methodArn = unsafe.String(unsafe.SliceData(b), len(b))
	d.Route, d.MethodArn, d.params = t.routeKey, t.methodArn, m.Params
	if len(b) > arn.MaxMethodArnBytes {
		d.Outcome = URITooLong
		return false
	}

	if t.route.Deny {
		// Checked before context_extensions: nothing a proxy route says may open a DENY route.
		d.Outcome, d.Authorizer = ImplicitDeny, v1alpha1.AuthorizerDeny
		return false
	}
	t.authorizer = t.route.Authorizer
	if name := req.ContextExtensions["authorizer"]; name != "" {
		switch name {
		case v1alpha1.AuthorizerDeny:
			d.Outcome, d.Authorizer = ImplicitDeny, v1alpha1.AuthorizerDeny
			return false
		case v1alpha1.AuthorizerNone:
			t.authorizer = nil
		default:
			t.authorizer = snap.Authorizer(name)
			if t.authorizer == nil {
				d.Outcome, d.Err = AuthorizerConfig, errUnknownAuthorizer(name)
				return false
			}
		}
	}
	if t.authorizer != nil {
		d.Authorizer = t.authorizer.Name
		d.JWT = t.authorizer.Type == config.JWTAuthorizer
	}
	return true
}

// findApi picks the Api: Envoy's per-route context extension, else the host.
func (e *Engine) findApi(snap *config.Snapshot, req *request.Request) *config.Api {
	if name := req.ContextExtensions["api"]; name != "" {
		return snap.ApiByName(name)
	}
	return snap.ApiForHost(req.Host)
}

// ResponsesFor returns the gateway responses of the Api a request that could not be read was
// for, so that its 400 or 429 is answered as that Api answers: the Api named apiName (the api
// context extension), else the one serving authority. nil (the built-in answers) when there is
// none.
func (e *Engine) ResponsesFor(apiName, authority string) *gatewayresponse.Set {
	snap := e.snap.Load()
	var api *config.Api
	if apiName != "" {
		api = snap.ApiByName(apiName)
	} else {
		api = snap.ApiForHost(request.HostOf(authority))
	}
	if api == nil {
		return nil
	}
	return api.Responses
}

// stripBasePath removes base ("" or "/v1") from path; a path outside the base matches nothing.
func stripBasePath(base, path string) (string, bool) {
	if base == "" {
		return path, true
	}
	rest, ok := strings.CutPrefix(path, base)
	switch {
	case !ok:
		return "", false
	case rest == "":
		return "/", true
	case rest[0] != '/':
		return "", false
	}
	return rest, true
}
