package config

import (
	"fmt"
	"net/http"
	"time"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	httpbackend "github.com/portcullis-dev/portcullis/pkg/authorizer/http"
	introspectionbackend "github.com/portcullis-dev/portcullis/pkg/authorizer/introspection"
	jwtbackend "github.com/portcullis-dev/portcullis/pkg/authorizer/jwt"
	lambdabackend "github.com/portcullis-dev/portcullis/pkg/authorizer/lambda"
)

// backend makes the authorizer's backend; on error it also names the field at fault.
func (c *compiler) backend(a *v1alpha1.Authorizer, name string) (authorizer.Backend, string, error) {
	spec := &a.Spec
	secret := func(v v1alpha1.SecretValue) (string, error) {
		return authorizer.ResolveSecret(v, c.opts.Getenv, c.opts.ReadFile)
	}
	switch {
	case spec.HTTP != nil:
		headers := make(map[string]string, len(spec.HTTP.Headers))
		for header, v := range spec.HTTP.Headers {
			s, err := secret(v)
			if err != nil {
				return nil, "spec.http.headers[" + header + "]", err
			}
			headers[header] = s
		}
		b, err := httpbackend.New(name, httpbackend.Config{
			URL:     spec.HTTP.URL,
			Timeout: spec.HTTP.Timeout.Duration,
			Headers: headers,
			Simple:  spec.EnableSimpleResponses,
			Logger:  c.opts.Logger,
		}, c.httpClient())
		return b, "spec.http", err
	case spec.Lambda != nil:
		// The engine sets each request's payload version from the Api's protocol; the backend
		// only checks the authorizer's own settings. Simple responses imply 2.0, which the
		// loader already required of every Api the authorizer guards.
		version := spec.PayloadFormatVersion
		if version == "" && spec.EnableSimpleResponses {
			version = v1alpha1.PayloadFormat20
		}
		b, err := lambdabackend.New(c.ctx, name, spec.Lambda, lambdabackend.Options{
			Type:           spec.Type,
			PayloadVersion: version,
			Simple:         spec.EnableSimpleResponses,
			Logger:         c.opts.Logger,
		})
		return b, "spec.lambda", err
	case spec.JWT != nil:
		b, err := jwtbackend.New(c.ctx, name, spec.JWT, jwtbackend.Options{
			HTTPClient: c.httpClient(),
			Logger:     c.opts.Logger,
			Secret:     secret,
		})
		return b, "spec.jwt", err
	case spec.Introspection != nil:
		in := spec.Introspection
		clientSecret, err := secret(in.ClientSecret)
		if err != nil {
			return nil, "spec.introspection.clientSecret", err
		}
		var timeout time.Duration
		if in.Timeout != nil {
			timeout = in.Timeout.Duration
		}
		b, err := introspectionbackend.New(a.Name, introspectionbackend.Config{
			URL:              in.URL,
			ClientID:         in.ClientID,
			ClientSecret:     clientSecret,
			TokenTypeHint:    in.TokenTypeHint,
			Timeout:          timeout,
			PrincipalIDClaim: in.PrincipalIDClaim,
			ContextClaims:    in.ContextClaims,
			Policy:           in.Policy,
		}, c.httpClient())
		return b, "spec.introspection", err
	}
	return nil, "spec", fmt.Errorf("no backend: set one of http, lambda, jwt or introspection")
}

func (c *compiler) httpClient() *http.Client {
	if c.opts.HTTPClient == nil {
		c.opts.HTTPClient = httpbackend.NewClient()
	}
	return c.opts.HTTPClient
}
