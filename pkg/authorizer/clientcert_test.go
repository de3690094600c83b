package authorizer_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/authorizer/authorizertest"
)

// envoyEncode URL-encodes a PEM as Envoy does for attributes.source.certificate: every byte but
// the unreserved ones percent-encoded (so a space is %20, a '+' %2B, a newline %0A).
func envoyEncode(pemText string) string {
	var b strings.Builder
	for i := 0; i < len(pemText); i++ {
		c := pemText[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

var oidEmail = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// testCerts makes a CA and a client certificate it signs, with the names spelled in the order a
// CA usually encodes them (country first).
type testCert struct {
	pem  string
	cert *x509.Certificate
}

func makeClientCert(t testing.TB, serial *big.Int, subject pkix.Name, notBefore, notAfter time.Time) testCert {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1000),
		Subject: pkix.Name{Country: []string{"US"}, Province: []string{"Washington"},
			Locality: []string{"Seattle"}, Organization: []string{"Example Corp"},
			OrganizationalUnit: []string{"Security"}, CommonName: "Example Private CA"},
		NotBefore: notBefore, NotAfter: notAfter.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: subject, NotBefore: notBefore, NotAfter: notAfter,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), cert: cert}
}

var (
	certNotBefore = time.Date(2024, time.March, 5, 9, 36, 4, 0, time.UTC)
	certNotAfter  = time.Date(2025, time.November, 28, 12, 30, 2, 0, time.UTC)
	clientSubject = pkix.Name{Country: []string{"US"}, Province: []string{"Washington"},
		Locality: []string{"Seattle"}, Organization: []string{"Example Corp"},
		OrganizationalUnit: []string{"Payments"}, CommonName: "client.example.com"}
)

func TestParseClientCertFormats(t *testing.T) {
	bigSerial, _ := new(big.Int).SetString("a1b2c3d4e5f60718293a4b5c6d7e8f90", 16)
	escaped := pkix.Name{Organization: []string{"Example, Inc. +1"}, CommonName: `a "quoted" name`,
		ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidEmail, Value: "ops@example.com"}}}
	tests := []struct {
		name    string
		serial  *big.Int
		subject pkix.Name
		want    authorizer.ClientCert
	}{
		{
			name: "small serial in decimal, names in encoded order", serial: big.NewInt(1), subject: clientSubject,
			want: authorizer.ClientCert{
				SubjectDN:    "C=US,ST=Washington,L=Seattle,O=Example Corp,OU=Payments,CN=client.example.com",
				SerialNumber: "1",
			},
		},
		{
			name: "largest serial still in decimal", serial: big.NewInt(1<<63 - 1), subject: clientSubject,
			want: authorizer.ClientCert{
				SubjectDN:    "C=US,ST=Washington,L=Seattle,O=Example Corp,OU=Payments,CN=client.example.com",
				SerialNumber: "9223372036854775807",
			},
		},
		{
			name: "random 128-bit serial as colon-separated hex", serial: bigSerial, subject: clientSubject,
			want: authorizer.ClientCert{
				SubjectDN:    "C=US,ST=Washington,L=Seattle,O=Example Corp,OU=Payments,CN=client.example.com",
				SerialNumber: "a1:b2:c3:d4:e5:f6:07:18:29:3a:4b:5c:6d:7e:8f:90",
			},
		},
		{
			name: "special characters escaped, emailAddress named", serial: big.NewInt(7), subject: escaped,
			want: authorizer.ClientCert{
				SubjectDN:    `O=Example\, Inc. \+1,CN=a \"quoted\" name,emailAddress=ops@example.com`,
				SerialNumber: "7",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := makeClientCert(t, tt.serial, tt.subject, certNotBefore, certNotAfter)
			got, err := authorizer.ParseClientCert(envoyEncode(tc.pem))
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.ClientCertPem = tc.pem
			want.IssuerDN = "C=US,ST=Washington,L=Seattle,O=Example Corp,OU=Security,CN=Example Private CA"
			want.Validity = authorizer.ClientCertValidity{NotBefore: "Mar  5 09:36:04 2024 GMT", NotAfter: "Nov 28 12:30:02 2025 GMT"}
			if *got != want {
				t.Errorf("ParseClientCert =\n%+v\nwant\n%+v", *got, want)
			}
		})
	}
}

// Envoy may send the chain; the event describes the client's own certificate, the first.
func TestParseClientCertTakesTheLeaf(t *testing.T) {
	leaf := makeClientCert(t, big.NewInt(5), clientSubject, certNotBefore, certNotAfter)
	other := makeClientCert(t, big.NewInt(6), pkix.Name{CommonName: "other"}, certNotBefore, certNotAfter)
	got, err := authorizer.ParseClientCert(envoyEncode(leaf.pem + other.pem))
	if err != nil {
		t.Fatal(err)
	}
	if got.SerialNumber != "5" || got.ClientCertPem != leaf.pem {
		t.Errorf("got serial %q and PEM of another certificate; want the leaf's", got.SerialNumber)
	}
}

func TestParseClientCertRefuses(t *testing.T) {
	tc := makeClientCert(t, big.NewInt(1), clientSubject, certNotBefore, certNotAfter)
	block, _ := pem.Decode([]byte(tc.pem))
	corrupt := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes[:len(block.Bytes)/2]})
	tests := map[string]string{
		"empty":                 "",
		"not PEM":               "hello",
		"bad escape":            "%zz-----BEGIN CERTIFICATE-----",
		"truncated DER":         envoyEncode(string(corrupt)),
		"a key, no CERTIFICATE": envoyEncode("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
		"query-style escaping":  strings.ReplaceAll(envoyEncode(tc.pem), "%20", "+"),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if got, err := authorizer.ParseClientCert(in); err == nil {
				t.Fatalf("ParseClientCert accepted it: %+v", got)
			}
		})
	}
}

// clientCertOf decodes the event and returns the clientCert member at path, or nil.
func clientCertOf(t *testing.T, event []byte, path ...string) *authorizer.ClientCert {
	t.Helper()
	var v any
	if err := json.Unmarshal(event, &v); err != nil {
		t.Fatal(err)
	}
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if v, ok = m[p]; !ok {
			return nil
		}
	}
	b, _ := json.Marshal(v)
	var cc authorizer.ClientCert
	if err := json.Unmarshal(b, &cc); err != nil {
		t.Fatal(err)
	}
	return &cc
}

func TestEventClientCert(t *testing.T) {
	tc := makeClientCert(t, big.NewInt(42), clientSubject, certNotBefore, certNotAfter)
	want, err := authorizer.ParseClientCert(envoyEncode(tc.pem))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, version string
		path          []string
	}{
		{"REQUEST 1.0 in identity", "1.0", []string{"requestContext", "identity", "clientCert"}},
		{"REQUEST 2.0 in authentication", "2.0", []string{"requestContext", "authentication", "clientCert"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := authorizertest.Request(authorizer.TypeRequest, tt.version)
			req.HTTP.Certificate = envoyEncode(tc.pem)
			event, err := authorizer.MarshalEvent(req)
			if err != nil {
				t.Fatal(err)
			}
			got := clientCertOf(t, event, tt.path...)
			if got == nil || *got != *want {
				t.Fatalf("clientCert = %+v, want %+v\nevent: %s", got, want, event)
			}
			// Without a certificate, no member at all (not null, not empty).
			req.HTTP.Certificate = ""
			event, err = authorizer.MarshalEvent(req)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(event, []byte("clientCert")) || bytes.Contains(event, []byte("authentication")) {
				t.Errorf("event without a certificate mentions one: %s", event)
			}
		})
	}
}

func TestEventBadClientCertLeftOutAndLogged(t *testing.T) {
	for _, version := range []string{"1.0", "2.0"} {
		t.Run(version, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			req := authorizertest.Request(authorizer.TypeRequest, version)
			req.HTTP.Certificate = envoyEncode("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
			event, err := authorizer.EncodeEvent(req, log)
			if err != nil {
				t.Fatalf("a bad certificate failed the event: %v", err)
			}
			if bytes.Contains(event, []byte("clientCert")) {
				t.Errorf("bad certificate reached the event: %s", event)
			}
			var entry map[string]any
			if err := json.Unmarshal(logs.Bytes(), &entry); err != nil {
				t.Fatalf("want one JSON log line, got %q", logs.String())
			}
			if entry["level"] != "WARN" || entry["request_id"] != authorizertest.RequestID || entry["error"] == "" {
				t.Errorf("log entry = %v", entry)
			}
		})
	}
}

// A TOKEN event has no request context: the certificate is neither parsed nor sent.
func TestTokenEventIgnoresClientCert(t *testing.T) {
	var logs bytes.Buffer
	req := authorizertest.Request(authorizer.TypeToken, "")
	req.HTTP.Certificate = "not a certificate"
	event, err := authorizer.EncodeEvent(req, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(event, []byte("clientCert")) || logs.Len() != 0 {
		t.Errorf("TOKEN event touched the certificate: %s / %s", event, logs.String())
	}
}

// FuzzParseClientCert: no input panics the parser, and whatever it accepts describes a
// certificate that parses again from its own clientCertPem to the same description.
func FuzzParseClientCert(f *testing.F) {
	tc := makeClientCert(f, big.NewInt(3), clientSubject, certNotBefore, certNotAfter)
	f.Add(envoyEncode(tc.pem))
	f.Add(tc.pem)
	f.Add("%2D%2D%2D%2D%2DBEGIN%20CERTIFICATE")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := authorizer.ParseClientCert(in)
		if err != nil {
			return
		}
		again, err := authorizer.ParseClientCert(envoyEncode(got.ClientCertPem))
		if err != nil || *again != *got {
			t.Fatalf("accepted %+v, but its own PEM gives %+v, %v", got, again, err)
		}
	})
}

// BenchmarkParseClientCert is what a REQUEST event with a certificate costs on a cache miss
// (never on a cached decision).
func BenchmarkParseClientCert(b *testing.B) {
	tc := makeClientCert(b, big.NewInt(1), clientSubject, certNotBefore, certNotAfter)
	in := envoyEncode(tc.pem)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := authorizer.ParseClientCert(in); err != nil {
			b.Fatal(err)
		}
	}
}
