package policy

// Evaluate decides execute-api:Invoke on methodArn. A matching Deny statement gives an explicit
// deny; otherwise the first matching Allow statement allows; otherwise the request is
// implicitly denied. f may be nil when the request has no facts to offer. A nil Policy denies.
func (p *Policy) Evaluate(methodArn string, f *Facts) Result {
	if f == nil {
		f = &Facts{}
	}
	if p != nil {
		for _, i := range p.denies {
			if p.statements[i].applies(methodArn, f) {
				return Result{Decision: ExplicitDeny, Statement: int(i), Sid: p.statements[i].sid}
			}
		}
		for _, i := range p.allows {
			if p.statements[i].applies(methodArn, f) {
				return Result{Decision: Allow, Statement: int(i), Sid: p.statements[i].sid}
			}
		}
	}
	return Result{Decision: ImplicitDeny, Statement: -1}
}

// applies reports whether the statement's Resource (or NotResource) and Condition hold for the
// request. Its Action was settled at compile time.
func (st *statement) applies(methodArn string, f *Facts) bool {
	matched := false
	for i := range st.resources {
		if st.resources[i].match(methodArn, f) {
			matched = true
			break
		}
	}
	if matched == st.notResource {
		return false
	}
	for i := range st.conditions {
		if !st.conditions[i].eval(f) {
			return false
		}
	}
	return true
}
