package v1alpha1

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// FieldError is one problem found in an object, at a field path such as spec.routes[2].path.
// Reasons never quote secret values.
type FieldError struct {
	Field  string
	Reason string
}

// Error prints the problem as "field: reason".
func (e FieldError) Error() string { return e.Field + ": " + e.Reason }

// fieldErrors collects the problems of one object.
type fieldErrors []FieldError

func (e *fieldErrors) add(p *field.Path, format string, args ...any) {
	*e = append(*e, FieldError{Field: p.String(), Reason: fmt.Sprintf(format, args...)})
}

// Paths shared by both kinds.
var (
	specPath = field.NewPath("spec")
	namePath = field.NewPath("metadata", "name")
)

// Validate reports every problem of the Authorizer that can be found without looking at other
// objects. It expects a defaulted spec.
func (a *Authorizer) Validate() []FieldError {
	var errs fieldErrors
	validateName(&errs, a.Name)
	a.Spec.validate(&errs, specPath)
	return errs
}

// Validate reports every problem of the Api that can be found without looking at other objects
// (references to Authorizers are checked by the loader). It expects a defaulted spec.
func (a *Api) Validate() []FieldError {
	var errs fieldErrors
	validateName(&errs, a.Name)
	a.Spec.validate(&errs, specPath)
	return errs
}

func validateName(errs *fieldErrors, name string) {
	if name == "" {
		errs.add(namePath, "required")
		return
	}
	for _, msg := range validation.IsDNS1123Label(name) {
		errs.add(namePath, "%q: %s", name, msg)
	}
}

// validateURL checks an absolute http(s) URL with a host. Credentials in the URL are refused:
// URLs end up in logs, secrets must come through headers and valueFrom.
func validateURL(errs *fieldErrors, p *field.Path, raw string) {
	u, err := url.Parse(raw)
	// url.Error repeats the whole URL, which may carry a key in its query: keep only the reason.
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	switch {
	case raw == "":
		errs.add(p, "required")
	case err != nil:
		errs.add(p, "not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		errs.add(p, "want an http:// or https:// URL")
	case u.Host == "" || u.Hostname() == "":
		errs.add(p, "want a URL with a host")
	case u.User != nil:
		errs.add(p, "credentials in the URL are not allowed: send them in a header with valueFrom")
	case u.Fragment != "":
		errs.add(p, "a URL fragment is not allowed")
	}
}

func validateTimeout(errs *fieldErrors, p *field.Path, d *metav1.Duration) {
	if d == nil {
		return
	}
	if d.Duration <= 0 || d.Duration > MaxTimeout {
		errs.add(p, "%s out of range: want more than 0s and at most %s", d.Duration, MaxTimeout)
	}
}

// validateSecret checks where a secret comes from. Secrets are resolved when the backend is
// built, not here, so a config can be validated away from the secrets it names.
func validateSecret(errs *fieldErrors, p *field.Path, s *SecretValue) {
	switch {
	case s.Value != "" && s.ValueFrom != nil:
		errs.add(p, "set one of value or valueFrom, not both")
	case s.Value == "" && s.ValueFrom == nil:
		errs.add(p, "set one of value or valueFrom")
	case s.ValueFrom != nil:
		validateValueFrom(errs, p.Child("valueFrom"), s.ValueFrom)
	}
}

func validateValueFrom(errs *fieldErrors, p *field.Path, v *ValueFrom) {
	switch {
	case v.Env != "" && v.File != "":
		errs.add(p, "set one of env or file, not both")
	case v.Env == "" && v.File == "":
		errs.add(p, "set one of env or file")
	case v.Env != "" && strings.ContainsAny(v.Env, "=\x00"):
		errs.add(p.Child("env"), "%q is not an environment variable name", v.Env)
	}
}

// hasSeparator reports whether an ARN part holds a character that would shift the other parts
// of the methodArn.
func hasSeparator(s string) bool {
	return strings.ContainsAny(s, ":/") || strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0
}
