package engine

// dryRun lets a denial through on a route (or, for an unmatched route, an Api) in dry run: the
// outcome it would have had is kept in DryRun for the front, the log and the metrics. A bad
// request (400), a methodArn over the limit (414) and throttling (429) are still enforced: they
// protect Portcullis and the upstream, not the policy being tried.
func dryRun(st *state) {
	d, t := &st.d, &st.t
	switch d.Outcome {
	case Unauthorized, ExplicitDeny, ImplicitDeny, MissingToken, AuthorizerFailure, AuthorizerConfig:
	default:
		return
	}
	switch {
	case t.api == nil:
		return
	case t.route != nil && !t.route.DryRun:
		return
	case t.route == nil && !t.api.DryRun:
		return
	}
	d.DryRun, d.Outcome = d.Outcome, Allow
}

// DryRunName names the outcome a dry-run request would have had, as the x-authorizer-dry-run
// header, the decision log and portcullis_dry_run_total spell it (the response types'
// names, lower-case).
func (o Outcome) DryRunName() string {
	if o == MissingToken {
		return "missing_authentication_token"
	}
	return o.String()
}
