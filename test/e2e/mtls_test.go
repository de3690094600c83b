package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
)

const mtlsConfig = `
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: certs}
spec:
  type: REQUEST
  identitySource: [method.request.header.Authorization]
  resultTtlInSeconds: 0
  http: {url: "AUTHZ_URL"}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: rest}
spec:
  protocol: REST
  region: us-east-1
  accountId: "123456789012"
  apiId: restapi001
  stage: prod
  hosts: [rest.example.com]
  defaultAuthorizer: certs
  routes:
    - {path: /pets, methods: [GET]}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: httpapi}
spec:
  protocol: HTTP
  region: us-east-1
  accountId: "123456789012"
  apiId: httpapi001
  stage: prod
  hosts: [http.example.com]
  defaultAuthorizer: certs
  routes:
    - {path: /pets, methods: [GET]}
`

// clientCertPEM makes a CA and a client certificate it signs, as a mutual-TLS client presents.
func clientCertPEM(t *testing.T, serial *big.Int) string {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, clientKey := key(), key()
	notBefore := time.Date(2026, time.January, 2, 3, 4, 5, 0, time.UTC)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(99),
		Subject:      pkix.Name{Country: []string{"DE"}, Organization: []string{"Example Bank"}, CommonName: "Example Bank Client CA"},
		NotBefore:    notBefore, NotAfter: notBefore.AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	if ca, err = x509.ParseCertificate(caDER); err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{Country: []string{"DE"}, Organization: []string{"Example Bank"},
			OrganizationalUnit: []string{"Partners"}, CommonName: "partner-7.example.com"},
		NotBefore: notBefore, NotAfter: time.Date(2027, time.February, 9, 23, 59, 59, 0, time.UTC),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &clientKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// urlEncodePEM encodes as Envoy does for attributes.source.certificate: every byte outside the
// unreserved set percent-encoded.
func urlEncodePEM(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func withCertificate(req *authv3.CheckRequest, cert string) *authv3.CheckRequest {
	req.Attributes.Source.Certificate = cert
	return req
}

// eventRecorder is a real HTTP authorizer endpoint that keeps the last event it was sent and
// allows everything: REQUEST events of both payload versions, whose ARN members differ.
type eventRecorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	last map[string]any
}

func newEventRecorder(t *testing.T) *eventRecorder {
	r := &eventRecorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var ev map[string]any
		if err := json.NewDecoder(req.Body).Decode(&ev); err != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.last = ev
		r.mu.Unlock()
		writeAnswer(w, "partner", []statement{{"Allow", "*"}}, nil)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *eventRecorder) URL() string { return r.srv.URL }

func (r *eventRecorder) LastEvent() map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// lookup walks nested JSON objects.
func lookup(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func TestClientCertificateReachesTheEvent(t *testing.T) {
	authz := newEventRecorder(t)
	p := start(t, "--config", writeConfig(t, strings.ReplaceAll(mtlsConfig, "AUTHZ_URL", authz.URL())))
	serial, _ := new(big.Int).SetString("0f1e2d3c4b5a69788796a5b4c3d2e1f0", 16)
	certPEM := clientCertPEM(t, serial)
	want := map[string]any{
		"clientCertPem": certPEM,
		"subjectDN":     "C=DE,O=Example Bank,OU=Partners,CN=partner-7.example.com",
		"issuerDN":      "C=DE,O=Example Bank,CN=Example Bank Client CA",
		"serialNumber":  "0f:1e:2d:3c:4b:5a:69:78:87:96:a5:b4:c3:d2:e1:f0",
		"validity":      map[string]any{"notBefore": "Jan  2 03:04:05 2026 GMT", "notAfter": "Feb  9 23:59:59 2027 GMT"},
	}
	tests := []struct {
		name, host string
		path       []string
	}{
		{"REST API, payload 1.0", "rest.example.com", []string{"requestContext", "identity", "clientCert"}},
		{"HTTP API, payload 2.0", "http.example.com", []string{"requestContext", "authentication", "clientCert"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := withCertificate(checkRequest("GET", tt.host, "/pets", bearer("mtls-"+tt.host)), urlEncodePEM(certPEM))
			resp, err := p.client.Check(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if code, body := denied(resp); code != 200 {
				t.Fatalf("got %d %s, want an allow", code, body)
			}
			if got := lookup(authz.LastEvent(), tt.path...); !reflect.DeepEqual(got, want) {
				t.Errorf("%s =\n%#v\nwant\n%#v", strings.Join(tt.path, "."), got, want)
			}
		})
	}
}

// A certificate that does not parse is left out of the event and logged; the request is still
// decided (the authorizer is asked without it), and nothing crashes.
func TestBadClientCertificateIsLeftOut(t *testing.T) {
	authz := newEventRecorder(t)
	p := start(t, "--config", writeConfig(t, strings.ReplaceAll(mtlsConfig, "AUTHZ_URL", authz.URL())))
	for _, host := range []string{"rest.example.com", "http.example.com"} {
		bad := urlEncodePEM("-----BEGIN CERTIFICATE-----\nTUlJQm5vdCBhIGNlcnQ=\n-----END CERTIFICATE-----\n")
		resp, err := p.client.Check(t.Context(), withCertificate(checkRequest("GET", host, "/pets", bearer("bad-cert")), bad))
		if err != nil {
			t.Fatal(err)
		}
		if code, body := denied(resp); code != 200 {
			t.Fatalf("%s: got %d %s, want an allow decided without the certificate", host, code, body)
		}
		ev := authz.LastEvent()
		if lookup(ev, "requestContext", "identity", "clientCert") != nil || lookup(ev, "requestContext", "authentication") != nil {
			t.Errorf("%s: unparseable certificate reached the event: %v", host, ev["requestContext"])
		}
	}
	eventually(t, "a log line for each certificate left out", func() bool {
		return strings.Count(p.logs.String(), "client certificate left out of the authorizer event") == 2
	})
}
