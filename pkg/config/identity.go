package config

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/identity"
)

// identityProblems checks an Authorizer's identity sources and validation expression with the
// parser and compiler that build them (pkg/identity), so the rules live beside the code that
// reads them: a TOKEN authorizer takes one header; a REQUEST authorizer one or more sources, or
// none when it caches nothing; a JWT authorizer at most one header or query string. An unknown
// type is reported by the Authorizer's own validation.
func identityProblems(s *v1alpha1.AuthorizerSpec) []v1alpha1.FieldError {
	switch s.Type {
	case v1alpha1.TypeToken, v1alpha1.TypeRequest, v1alpha1.TypeJWT:
	default:
		return nil
	}
	const field = "spec.identitySource"
	var problems []v1alpha1.FieldError
	add := func(field, format string, args ...any) {
		problems = append(problems, v1alpha1.FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	sources := make([]identity.Source, 0, len(s.IdentitySource))
	for i, expr := range s.IdentitySource {
		src, err := identity.Parse(expr)
		if err != nil {
			add(field+"["+strconv.Itoa(i)+"]", "%v", err)
			continue
		}
		sources = append(sources, src)
	}
	if len(sources) == len(s.IdentitySource) {
		headerOnly := !slices.ContainsFunc(sources, func(src identity.Source) bool { return src.Kind != identity.KindHeader })
		headerOrQuery := !slices.ContainsFunc(sources, func(src identity.Source) bool {
			return src.Kind != identity.KindHeader && src.Kind != identity.KindQueryString
		})
		switch s.Type {
		case v1alpha1.TypeToken:
			if len(sources) != 1 || !headerOnly {
				add(field, "TOKEN authorizers take exactly one header source, e.g. method.request.header.Authorization")
			}
		case v1alpha1.TypeRequest:
			// API Gateway lets a REQUEST authorizer name no source only when it caches nothing:
			// with no identity there is no cache key to tell callers apart.
			if len(sources) == 0 && (s.ResultTTLInSeconds == nil || *s.ResultTTLInSeconds != 0) {
				add(field, "required: REQUEST authorizers take one or more sources (none only with resultTtlInSeconds: 0)")
			}
		case v1alpha1.TypeJWT:
			if len(sources) > 1 || !headerOrQuery {
				add(field, "JWT authorizers take at most one header or query string source (default %s)", v1alpha1.DefaultJWTIdentitySource)
			}
		}
	}
	if s.Type == v1alpha1.TypeToken && s.IdentityValidationExpression != "" {
		if _, err := identity.CompileValidation(s.IdentityValidationExpression); err != nil {
			add("spec.identityValidationExpression", "%v", err)
		}
	}
	return problems
}
