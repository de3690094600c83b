package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/config/demo"
	"github.com/portcullis-dev/portcullis/pkg/gatewayresponse"
	"github.com/portcullis-dev/portcullis/pkg/identity"
	"github.com/portcullis-dev/portcullis/pkg/routes"
)

// BuildOptions say where the configuration comes from and how backends are made.
type BuildOptions struct {
	// Paths are files and directories; none means the embedded demo configuration.
	Paths []string
	// ValidateOnly compiles everything but makes no backend: no secret is read, no key set is
	// fetched. For `portcullis validate`.
	ValidateOnly bool
	Logger       *slog.Logger
	Getenv       func(string) string
	ReadFile     func(string) ([]byte, error)
	HTTPClient   *http.Client
	// WrapBackend, when set, wraps every backend made (test-invoke records calls with it).
	WrapBackend func(name string, b authorizer.Backend) authorizer.Backend
	// Source names where resources came from, for BuildResources (files name themselves).
	Source string
	// Generation numbers the snapshot.
	Generation uint64
	// Previous is the snapshot in force, whose backends are reused where the authorizer's spec
	// did not change and the backend holds state worth keeping (a fetched remote key set).
	Previous *Snapshot
}

// Build loads, validates and compiles a complete Snapshot. Every problem is reported in one
// ErrorList; nothing is half-built: on error, backends already made are closed.
func Build(ctx context.Context, opts BuildOptions) (*Snapshot, error) {
	opts.defaults()
	var set *Set
	var err error
	isDemo := len(opts.Paths) == 0
	if isDemo {
		set, err = LoadBytes("embedded demo config", demo.Config)
	} else {
		set, err = Load(opts.Paths...)
	}
	if err != nil {
		return nil, err
	}
	sources := opts.Paths
	if isDemo {
		sources = []string{"embedded demo config"}
	}
	snap, errs := compile(ctx, set, opts, sources)
	if len(errs) > 0 {
		return nil, errs
	}
	snap.Demo = isDemo
	return snap, nil
}

// compile turns a validated Set into a Snapshot. On error, backends already made are closed.
func compile(ctx context.Context, set *Set, opts BuildOptions, sources []string) (*Snapshot, ErrorList) {
	c := &compiler{ctx: ctx, opts: opts, set: set}
	snap := &Snapshot{
		Generation:  opts.Generation,
		Sources:     sources,
		apis:        map[string]*Api{},
		exactHosts:  map[string]*Api{},
		authorizers: map[string]*Authorizer{},
	}
	for _, a := range set.Authorizers {
		if ca := c.authorizer(a); ca != nil {
			snap.authorizers[ca.Name] = ca
		}
	}
	for _, a := range set.Apis {
		if ca := c.api(a, snap); ca != nil {
			snap.addApi(a, ca)
		}
	}
	if len(c.errs) > 0 {
		snap.CloseExcept(opts.Previous)
		return nil, c.errs
	}
	return snap, nil
}

func (o *BuildOptions) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
}

// compiler turns the validated Set into compiled objects, collecting every problem.
type compiler struct {
	ctx  context.Context
	opts BuildOptions
	set  *Set
	errs ErrorList
}

func (c *compiler) authorizer(a *v1alpha1.Authorizer) *Authorizer {
	spec := &a.Spec
	ex, err := identity.Compile(spec.IdentitySource)
	if err != nil {
		c.errs = append(c.errs, c.set.Errorf(a, "spec.identitySource", "%v", err))
		return nil
	}
	name := c.set.id(a)
	ca := &Authorizer{
		Name:     name,
		UID:      spec.Hash(),
		Type:     authorizerTypes[spec.Type],
		Identity: ex,
		TTL:      time.Duration(*spec.ResultTTLInSeconds) * time.Second,
		Simple:   spec.EnableSimpleResponses,
		Spec:     spec,
	}
	if spec.IdentityValidationExpression != "" {
		re, err := identity.CompileValidation(spec.IdentityValidationExpression)
		if err != nil {
			c.errs = append(c.errs, c.set.Errorf(a, "spec.identityValidationExpression", "%v", err))
			return nil
		}
		ca.Validation = re
	}
	if c.opts.ValidateOnly {
		return ca
	}
	if prev := c.previous(name); prev != nil && prev.UID == ca.UID && keepsState(spec) {
		ca.Backend = prev.Backend
		return ca
	}
	b, field, err := c.backend(a, name)
	if err != nil {
		c.errs = append(c.errs, c.set.Errorf(a, field, "%v", err))
		return nil
	}
	if c.opts.WrapBackend != nil {
		b = c.opts.WrapBackend(name, b)
	}
	ca.Backend = b
	return ca
}

func (c *compiler) api(a *v1alpha1.Api, snap *Snapshot) *Api {
	spec := &a.Spec
	specs := make([]routes.Spec, len(spec.Routes))
	for i, r := range spec.Routes {
		specs[i] = routes.Spec{Path: r.Path, Methods: r.Methods}
	}
	table, errs := routes.Compile(specs)
	for _, err := range errs {
		var re *routes.Error
		if errors.As(err, &re) {
			c.errs = append(c.errs, c.set.Errorf(a, fmt.Sprintf("spec.routes[%d].%s", re.Index, re.Field), "%s", re.Reason))
		} else {
			c.errs = append(c.errs, c.set.Errorf(a, "spec.routes", "%v", err))
		}
	}
	if len(errs) > 0 {
		return nil
	}
	// Checked with the other problems of the Api when it was loaded.
	responses, bad := gatewayresponse.Compile(spec.GatewayResponses, responsesApi(spec))
	if len(bad) > 0 {
		return nil
	}
	ca := &Api{
		Name:           c.set.id(a),
		Protocol:       protocolOf(spec.Protocol),
		Region:         spec.Region,
		AccountID:      spec.AccountID,
		APIID:          spec.APIID,
		Stage:          spec.Stage,
		BasePath:       strings.TrimSuffix(spec.BasePath, "/"),
		StageVariables: spec.StageVariables,
		AllowPreflight: spec.CORS != nil && spec.CORS.AllowPreflight,
		Routes:         table,
		Route:          make([]*Route, len(spec.Routes)),
		Responses:      responses,
		DryRun:         spec.DryRun,
	}
	for i, r := range spec.Routes {
		name := r.Authorizer
		if name == "" {
			name = spec.DefaultAuthorizer
		}
		route := &Route{Template: r.Path, Methods: r.Methods, Scopes: r.AuthorizationScopes, keys: map[string]string{},
			DryRun: spec.DryRun || r.DryRun}
		for _, m := range append([]string{"ANY"}, r.Methods...) {
			route.keys[m] = m + " " + r.Path
		}
		if r.Path == v1alpha1.RouteDefault {
			// API Gateway's routeKey of the $default route is "$default", whatever the method.
			route.keys = map[string]string{"ANY": v1alpha1.RouteDefault}
		}
		switch name {
		case v1alpha1.AuthorizerNone:
		case v1alpha1.AuthorizerDeny:
			route.Deny = true
		default:
			route.Authorizer = snap.authorizers[qualify(c.set.namespace(a), name)]
			if route.Authorizer == nil {
				// The loader checked the name exists; the authorizer itself failed to compile
				// and was reported already.
				return nil
			}
		}
		ca.Route[i] = route
	}
	return ca
}

// responsesApi is what compiling an Api's gateway responses reads of its spec.
func responsesApi(spec *v1alpha1.ApiSpec) gatewayresponse.Api {
	return gatewayresponse.Api{Protocol: spec.Protocol, Stage: spec.Stage, StageVariables: spec.StageVariables}
}

// addApi indexes an Api by name and by its hosts.
func (s *Snapshot) addApi(a *v1alpha1.Api, ca *Api) {
	s.apis[ca.Name] = ca
	if len(a.Spec.Hosts) == 0 {
		s.hostlessCount++
		s.hostless = ca
		if s.hostlessCount > 1 {
			s.hostless = nil
		}
	}
	for _, h := range a.Spec.Hosts {
		if suffix, ok := strings.CutPrefix(h, "*"); ok {
			s.wildcards = append(s.wildcards, wildcardHost{suffix: suffix, api: ca})
			continue
		}
		s.exactHosts[h] = ca
	}
	// Longest suffix first, so the most specific wildcard wins.
	for i := len(s.wildcards) - 1; i > 0 && len(s.wildcards[i].suffix) > len(s.wildcards[i-1].suffix); i-- {
		s.wildcards[i], s.wildcards[i-1] = s.wildcards[i-1], s.wildcards[i]
	}
}

func (c *compiler) previous(name string) *Authorizer {
	if c.opts.Previous == nil {
		return nil
	}
	return c.opts.Previous.authorizers[name]
}

// keepsState reports whether an authorizer's backend holds what a rebuild would lose: a JWT
// authorizer's remote key set, whose refetch would make the service unready for a while. Other
// backends are rebuilt, so that a secret file that changed under an unchanged spec is re-read.
func keepsState(spec *v1alpha1.AuthorizerSpec) bool {
	return spec.JWT != nil && spec.JWT.Keys == nil
}

// Close stops what the snapshot's backends run in the background (key set refreshes).
func (s *Snapshot) Close() { s.CloseExcept(nil) }

// CloseExcept closes the backends of s that next does not use: after a reload, the backends the
// new snapshot took over keep running.
func (s *Snapshot) CloseExcept(next *Snapshot) {
	if s == nil {
		return
	}
	inUse := map[authorizer.Backend]bool{}
	if next != nil {
		for _, a := range next.authorizers {
			if a.Backend != nil {
				inUse[a.Backend] = true
			}
		}
	}
	for _, a := range s.authorizers {
		if a.Backend == nil || inUse[a.Backend] {
			continue
		}
		if c, ok := a.Backend.(interface{ Close() }); ok {
			c.Close()
		}
	}
}

// Ready reports why snap cannot serve yet (a remote key set not fetched), or nil.
func Ready(snap *Snapshot) error {
	for _, a := range snap.Authorizers() {
		if r, ok := a.Backend.(interface{ Ready() bool }); ok && !r.Ready() {
			return fmt.Errorf("authorizer %q: signing keys not fetched yet", a.Name)
		}
	}
	return nil
}

// WaitReady waits until snap is Ready, at most timeout.
func WaitReady(ctx context.Context, snap *Snapshot, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := Ready(snap)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
