package envoy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/portcullis-dev/portcullis/pkg/config/demo"
)

// composeService mirrors the Compose file fields docker-compose.yaml uses; any other field is
// refused, so a typo cannot pass unnoticed.
type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	Expose      []string          `yaml:"expose"`
	Environment map[string]string `yaml:"environment"`
	DependsOn   []string          `yaml:"depends_on"`
}

func loadCompose(t *testing.T) map[string]composeService {
	t.Helper()
	var compose struct {
		Services map[string]composeService `yaml:"services"`
	}
	strictYAML(t, "docker-compose.yaml", &compose)
	return compose.Services
}

// strictYAML decodes a one-document YAML file with unknown fields refused.
func strictYAML(t *testing.T, file string, into any) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if err := dec.Decode(new(any)); !errors.Is(err, io.EOF) {
		t.Fatalf("%s: want one document", file)
	}
}

func TestComposeRunsTheBootstrap(t *testing.T) {
	services := loadCompose(t)
	b := loadBootstrap(t)
	envoy, portcullis := services["envoy"], services["portcullis"]
	cases := []struct {
		name string
		ok   bool
	}{
		{name: "envoy runs envoy.yaml", ok: slices.Contains(envoy.Volumes, "./envoy.yaml:/etc/envoy/envoy.yaml:ro") && slices.Contains(envoy.Command, "/etc/envoy/envoy.yaml")},
		{name: "envoy publishes its listener port", ok: slices.Contains(envoy.Ports, listenerPort(b)+":"+listenerPort(b))},
		{name: "envoy starts after what it routes to", ok: slices.Contains(envoy.DependsOn, "portcullis") && slices.Contains(envoy.DependsOn, "upstream")},
		{name: "portcullis is built from the repository's Dockerfile", ok: portcullis.Build != nil && fileExists(filepath.Join(portcullis.Build.Context, portcullis.Build.Dockerfile))},
		{name: "portcullis serves the embedded demo config", ok: slices.Contains(portcullis.Command, "serve") && !slices.ContainsFunc(portcullis.Command, func(a string) bool { return strings.HasPrefix(a, "--config") })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Errorf("docker-compose.yaml: not so (envoy %+v, portcullis %+v)", envoy, portcullis)
			}
		})
	}
}

func TestComposeImagesArePinned(t *testing.T) {
	for name, s := range loadCompose(t) {
		if s.Image == "" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			_, tag, ok := strings.Cut(s.Image[strings.LastIndex(s.Image, "/")+1:], ":")
			if !ok || tag == "" || tag == "latest" || !strings.ContainsAny(tag, "0123456789") {
				t.Errorf("image %q is not pinned to a version", s.Image)
			}
		})
	}
}

// TestClustersReachComposeServices checks every Envoy cluster names a Compose service by its
// host name and a port that service listens on.
func TestClustersReachComposeServices(t *testing.T) {
	services := loadCompose(t)
	for name, c := range loadBootstrap(t).clusters {
		t.Run(name, func(t *testing.T) {
			for _, l := range c.GetLoadAssignment().GetEndpoints() {
				for _, e := range l.GetLbEndpoints() {
					addr := e.GetEndpoint().GetAddress().GetSocketAddress()
					s, ok := services[addr.GetAddress()]
					port := strconv.FormatUint(uint64(addr.GetPortValue()), 10)
					if !ok || !slices.Contains(s.Expose, port) {
						t.Errorf("cluster %s sends to %s:%s, which no Compose service exposes", name, addr.GetAddress(), port)
					}
					if p, set := s.Environment["PORT"]; set && p != port {
						t.Errorf("service %s listens on PORT %s, cluster %s sends to %s", addr.GetAddress(), p, name, port)
					}
				}
			}
		})
	}
}

// TestContextExtensionsNameDemoObjects checks the Api and authorizer the per-route
// context_extensions name exist in the embedded demo config Compose serves.
func TestContextExtensionsNameDemoObjects(t *testing.T) {
	objects := demoObjects(t)
	for _, vh := range loadBootstrap(t).hcm.GetRouteConfig().GetVirtualHosts() {
		for _, r := range vh.GetRoutes() {
			ext := perRoute(t, r).GetCheckSettings().GetContextExtensions()
			for key, kind := range map[string]string{"api": "Api", "authorizer": "Authorizer"} {
				if v, ok := ext[key]; ok && !objects[kind+"/"+v] {
					t.Errorf("route %s names %s %q, which the demo config does not define", r.GetMatch(), kind, v)
				}
			}
		}
	}
}

// demoObjects is the set of "Kind/name" in the embedded demo config.
func demoObjects(t *testing.T) map[string]bool {
	t.Helper()
	objects := map[string]bool{}
	dec := yaml.NewDecoder(bytes.NewReader(demo.Config))
	for {
		var doc struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return objects
		}
		if err != nil {
			t.Fatalf("demo config: %v", err)
		}
		objects[doc.Kind+"/"+doc.Metadata.Name] = true
	}
}

func listenerPort(b *bootstrap) string {
	port := b.proto.GetStaticResources().GetListeners()[0].GetAddress().GetSocketAddress().GetPortValue()
	return strconv.FormatUint(uint64(port), 10)
}

func fileExists(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular()
}
