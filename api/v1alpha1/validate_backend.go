package v1alpha1

import (
	"maps"
	"slices"

	"golang.org/x/net/http/httpguts"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func (h *HTTPBackend) validate(errs *fieldErrors, p *field.Path) {
	validateURL(errs, p.Child("url"), h.URL)
	validateTimeout(errs, p.Child("timeout"), h.Timeout)
	// Sorted, so the errors come out in the same order on every run.
	for _, name := range slices.Sorted(maps.Keys(h.Headers)) {
		hp := p.Child("headers").Key(name)
		if !httpguts.ValidHeaderFieldName(name) {
			errs.add(hp, "%q is not a valid header name", name)
		}
		secret := h.Headers[name]
		validateSecret(errs, hp, &secret)
	}
}

func (l *LambdaBackend) validate(errs *fieldErrors, p *field.Path) {
	if l.FunctionName == "" {
		errs.add(p.Child("functionName"), "required: a function name or ARN")
	}
	if l.Region != "" && hasSeparator(l.Region) {
		errs.add(p.Child("region"), "%q is not a region", l.Region)
	}
	if l.Endpoint != "" {
		validateURL(errs, p.Child("endpoint"), l.Endpoint)
	}
	validateTimeout(errs, p.Child("timeout"), l.Timeout)
}
