package authorizer

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
)

// ClientCert is the client's TLS certificate as API Gateway describes it to authorizers of an
// API with mutual TLS: requestContext.identity.clientCert (payload 1.0) and
// requestContext.authentication.clientCert (2.0). The formats are the ones API Gateway's events
// carry, which are OpenSSL's printing conventions: DNs in the certificate's own attribute order
// ("C=US,ST=Washington,O=Example,CN=client"), the serial in decimal when it fits a signed 64-bit
// integer and as colon-separated lower-case hex bytes otherwise, dates as "May 28 12:30:02 2019 GMT".
type ClientCert struct {
	ClientCertPem string             `json:"clientCertPem"`
	SubjectDN     string             `json:"subjectDN"`
	IssuerDN      string             `json:"issuerDN"`
	SerialNumber  string             `json:"serialNumber"`
	Validity      ClientCertValidity `json:"validity"`
}

// ClientCertValidity is the certificate's validity period.
type ClientCertValidity struct {
	NotBefore string `json:"notBefore"`
	NotAfter  string `json:"notAfter"`
}

// certTimeLayout is OpenSSL's ASN1_TIME_print form: the day padded with a space, always GMT.
const certTimeLayout = "Jan _2 15:04:05 2006 GMT"

// ParseClientCert reads the certificate Envoy sends in attributes.source.certificate (URL-encoded
// PEM, the leaf first) and describes its leaf. An error means the value is not a certificate;
// the caller leaves it out of the event.
func ParseClientCert(urlEncodedPEM string) (*ClientCert, error) {
	// PathUnescape, not QueryUnescape: Envoy escapes '+' as %2B, and a '+' left as is would be
	// base64, never a space.
	decoded, err := url.PathUnescape(urlEncodedPEM)
	if err != nil {
		return nil, fmt.Errorf("client certificate: not URL-encoded: %w", err)
	}
	rest := []byte(decoded)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("client certificate: no PEM CERTIFICATE block")
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		subject, err := distinguishedName(cert.RawSubject)
		if err != nil {
			return nil, fmt.Errorf("client certificate: subject: %w", err)
		}
		issuer, err := distinguishedName(cert.RawIssuer)
		if err != nil {
			return nil, fmt.Errorf("client certificate: issuer: %w", err)
		}
		return &ClientCert{
			ClientCertPem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes})),
			SubjectDN:     subject,
			IssuerDN:      issuer,
			SerialNumber:  serialNumber(cert.SerialNumber),
			Validity: ClientCertValidity{
				NotBefore: cert.NotBefore.UTC().Format(certTimeLayout),
				NotAfter:  cert.NotAfter.UTC().Format(certTimeLayout),
			},
		}, nil
	}
}

// distinguishedName writes a DER-encoded name in the order its attributes are encoded, comma
// separated, each value escaped as RFC 4514 says (pkix's escaping, one RDN at a time, because
// pkix.RDNSequence.String reverses the order and API Gateway does not).
func distinguishedName(raw []byte) (string, error) {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &seq); err != nil {
		return "", err
	} else if len(rest) > 0 {
		return "", errors.New("trailing data after the name")
	}
	parts := make([]string, 0, len(seq))
	for _, rdn := range seq {
		atvs := make([]string, 0, len(rdn))
		for _, atv := range rdn {
			atvs = append(atvs, attribute(atv))
		}
		parts = append(parts, strings.Join(atvs, "+"))
	}
	return strings.Join(parts, ","), nil
}

// oidEmailAddress is PKCS #9 emailAddress, which OpenSSL (and so API Gateway) names while pkix
// writes it as a dotted OID with a hex value.
var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

func attribute(atv pkix.AttributeTypeAndValue) string {
	if atv.Type.Equal(oidEmailAddress) {
		if s, ok := atv.Value.(string); ok {
			// Escaped as a common name would be, then named as OpenSSL names it.
			cn := pkix.RDNSequence{{{Type: oidCommonName, Value: s}}}.String()
			return "emailAddress=" + strings.TrimPrefix(cn, "CN=")
		}
	}
	return pkix.RDNSequence{{atv}}.String()
}

// serialNumber prints a serial as OpenSSL's X509_print does: decimal when it fits a signed 64-bit
// integer (a certificate with serial 1 gives "1"), else its magnitude's bytes as lower-case hex
// joined by ':' (a random 128-bit serial gives "a1:b2:...").
func serialNumber(n *big.Int) string {
	if n.IsInt64() {
		return n.String()
	}
	b := n.Bytes()
	var sb strings.Builder
	if n.Sign() < 0 {
		sb.WriteString("(Negative)")
	}
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		fmt.Fprintf(&sb, "%02x", c)
	}
	return sb.String()
}
