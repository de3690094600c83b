package engine

import (
	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/identity"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

// maxIdentityBytes bounds one identity value (SPEC section 11: a token over 16 KiB is refused).
const maxIdentityBytes = 16 << 10

// identified is the identity of one request and its cache key.
type identified struct {
	values []string
	token  string // TOKEN and JWT: the value the backend verifies
	key    [32]byte
}

// identify reads the authorizer's identity sources; a missing or invalid identity is a 401
// without calling the backend.
func (e *Engine) identify(req *request.Request, t *target, d *Decision, id *identified) bool {
	a := t.authorizer
	vars := contextVars{req: req, t: t}
	values, missing := a.Identity.Extract(id.values[:0], req, t.api.StageVariables, vars.lookup)
	id.values = values
	if missing != identity.NoneMissing && !(a.Type == config.RequestAuthorizer && a.TTL == 0) {
		d.Outcome, d.Err = Unauthorized, errMissingIdentity
		return false
	}
	for _, v := range values {
		if len(v) > maxIdentityBytes {
			d.Outcome, d.Err = Unauthorized, errIdentityTooLarge
			return false
		}
	}
	switch a.Type {
	case config.TokenAuthorizer:
		id.token = values[0]
		if a.Validation != nil && !a.Validation.MatchString(id.token) {
			d.Outcome, d.Err = Unauthorized, errIdentityInvalid
			return false
		}
	case config.JWTAuthorizer:
		id.token = identity.BearerToken(values[0])
		if id.token == "" {
			d.Outcome, d.Err = Unauthorized, errMissingIdentity
			return false
		}
		values[0] = id.token
	}
	id.key = identity.Key(a.UID, t.api.Name, values)
	d.key, d.hasKey = id.key, true
	return true
}

// contextVars answers `context.X` identity sources from the request and its target.
type contextVars struct {
	req *request.Request
	t   *target
}

func (c contextVars) lookup(name string) (string, bool) {
	var v string
	switch name {
	case "requestId":
		v = c.req.RequestID
	case "identity.sourceIp":
		v = c.req.SourceIP
	case "identity.userAgent":
		v = c.req.Header("user-agent")
	case "httpMethod":
		v = c.req.Method
	case "path":
		v = c.req.Path
	case "resourcePath":
		v = c.t.route.Template
	case "routeKey":
		v = c.t.routeKey
	case "stage":
		v = c.t.api.Stage
	case "apiId":
		v = c.t.api.APIID
	case "accountId":
		v = c.t.api.AccountID
	case "domainName":
		v = c.req.Host
	case "protocol":
		v = c.req.Protocol
	}
	return v, v != ""
}
