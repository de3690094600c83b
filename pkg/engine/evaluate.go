package engine

import (
	"net/netip"

	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/policy"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

// evaluate decides the request from the identity's answer: route scopes first (JWT), then the
// simple response or the policy against this request's methodArn.
func (e *Engine) evaluate(req *request.Request, t *target, ans *Answer, d *Decision) {
	if len(t.route.Scopes) > 0 && t.authorizer.Type == config.JWTAuthorizer && !holdsAny(ans.Scopes(), t.route.Scopes) {
		// No statement decided: the log must not name statement 0.
		d.Outcome, d.Err, d.Policy = ImplicitDeny, errScopes, policy.Result{Decision: policy.ImplicitDeny, Statement: -1}
		return
	}
	if ans.Policy == nil {
		if ans.Authorized {
			d.Outcome = Allow
		} else {
			d.Outcome = ImplicitDeny
		}
		return
	}
	facts := policy.Facts{
		Time:            req.Time,
		SecureTransport: req.Scheme == "https",
		UserAgent:       req.Header("user-agent"),
		Referer:         req.Header("referer"),
		Context:         ans.Context(),
		Headers:         req.Headers,
	}
	if ip, err := netip.ParseAddr(req.SourceIP); err == nil {
		facts.SourceIP = ip
	}
	res := ans.Policy.Evaluate(t.methodArn, &facts)
	d.Policy = res
	switch res.Decision {
	case policy.Allow:
		d.Outcome = Allow
	case policy.ExplicitDeny:
		d.Outcome = ExplicitDeny
	default:
		d.Outcome = ImplicitDeny
	}
}

func holdsAny(held, wanted []string) bool {
	for _, w := range wanted {
		for _, h := range held {
			if h == w {
				return true
			}
		}
	}
	return false
}
