package deploy

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// traefikDynamic mirrors the fields deploy/proxies/traefik/dynamic.yaml uses; any other field is
// refused, so that a misspelt setting (which Traefik would ignore) fails here.
type traefikDynamic struct {
	HTTP struct {
		Middlewares map[string]struct {
			ForwardAuth struct {
				Address                  string   `yaml:"address"`
				TrustForwardHeader       bool     `yaml:"trustForwardHeader"`
				AuthResponseHeadersRegex string   `yaml:"authResponseHeadersRegex"`
				AuthResponseHeaders      []string `yaml:"authResponseHeaders"`
			} `yaml:"forwardAuth"`
		} `yaml:"middlewares"`
		Routers map[string]struct {
			EntryPoints []string `yaml:"entryPoints"`
			Rule        string   `yaml:"rule"`
			Middlewares []string `yaml:"middlewares"`
			Service     string   `yaml:"service"`
		} `yaml:"routers"`
		Services map[string]struct {
			LoadBalancer struct {
				Servers []struct {
					URL string `yaml:"url"`
				} `yaml:"servers"`
			} `yaml:"loadBalancer"`
		} `yaml:"services"`
	} `yaml:"http"`
}

// nginx and Caddy configurations are run against the real proxies by test/e2e; Traefik's is
// held here to the settings its security depends on.
func TestTraefikForwardAuth(t *testing.T) {
	raw, err := os.ReadFile("proxies/traefik/dynamic.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg traefikDynamic
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("dynamic.yaml: %v", err)
	}
	fa := cfg.HTTP.Middlewares["portcullis"].ForwardAuth
	if fa.TrustForwardHeader {
		t.Error("trustForwardHeader: true lets a client choose X-Forwarded-Uri, the URI authorized")
	}
	if !strings.HasPrefix(fa.Address, "http://") || !strings.Contains(fa.Address, ":9191/") {
		t.Errorf("address %q, want Portcullis's forward-auth port", fa.Address)
	}
	re, err := regexp.Compile(fa.AuthResponseHeadersRegex)
	if err != nil {
		t.Fatalf("authResponseHeadersRegex: %v", err)
	}
	// Traefik matches the regex against canonical header names.
	for name, want := range map[string]bool{
		"X-Authorizer-Principal-Id": true, "X_authorizer_principal_id": true, "X-Authorizer-Role": true,
		"Authorization": false, "X-Forwarded-For": false, "X-Amzn-Requestid": false, "X-Other-Authorizer-Id": false,
	} {
		if re.MatchString(name) != want {
			t.Errorf("authResponseHeadersRegex matches %s: %v, want %v", name, !want, want)
		}
	}
	for name, r := range cfg.HTTP.Routers {
		if len(r.Middlewares) == 0 || r.Middlewares[0] != "portcullis" {
			t.Errorf("router %s does not ask Portcullis first: %v", name, r.Middlewares)
		}
	}
}
