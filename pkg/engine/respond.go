package engine

import (
	"strings"

	"github.com/portcullis-dev/portcullis/pkg/gatewayresponse"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

// reasons maps each denying outcome to the row of the answers table it is answered with.
var reasons = [numOutcomes]gatewayresponse.Reason{
	Allow:             gatewayresponse.AuthorizerFailure, // never denied; answered as a failure should it be
	Unauthorized:      gatewayresponse.Unauthorized,
	ExplicitDeny:      gatewayresponse.ExplicitDeny,
	ImplicitDeny:      gatewayresponse.ImplicitDeny,
	MissingToken:      gatewayresponse.MissingAuthenticationToken,
	BadRequest:        gatewayresponse.BadRequest,
	Throttled:         gatewayresponse.Throttled,
	URITooLong:        gatewayresponse.URITooLong,
	AuthorizerFailure: gatewayresponse.AuthorizerFailure,
	AuthorizerConfig:  gatewayresponse.AuthorizerConfigurationError,
}

// Reason is the answers-table row an outcome is answered with; an unknown outcome is answered
// as a backend failure (500), never as anything weaker.
func (o Outcome) Reason() gatewayresponse.Reason {
	if int(o) < len(reasons) {
		return reasons[o]
	}
	return gatewayresponse.AuthorizerFailure
}

// Denial renders d's answer for the client with its Api's gateway responses, every front alike.
// req is the request d decided, or nil for one that could not be read. The Response is read-only;
// it does not hold d's memory, so it outlives Release.
func (d *Decision) Denial(req *request.Request) *gatewayresponse.Response {
	facts := gatewayresponse.Request{RequestID: d.RequestID, PrincipalID: d.PrincipalID, PathParameters: d.params}
	if req != nil {
		facts.Method, facts.Path, facts.RawQuery, facts.Headers = req.Method, req.Path, req.RawQuery, req.Headers
	}
	// The route key is "GET /pets/{petId}", or $default.
	if _, template, ok := strings.Cut(d.Route, " "); ok {
		facts.ResourcePath = template
	} else {
		facts.ResourcePath = d.Route
	}
	if d.Answer != nil {
		facts.Context = d.Answer.Context()
	}
	return d.Responses.Render(d.Outcome.Reason(), d.JWT, &facts)
}
