package authorizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// Payload format versions of REQUEST events.
const (
	PayloadVersion1 = "1.0"
	PayloadVersion2 = "2.0"
)

// Authorizer types that are sent an event, as named in the configuration. JWT authorizers decide
// in process and have none.
const (
	TypeToken   = v1alpha1.TypeToken
	TypeRequest = v1alpha1.TypeRequest
)

// errNoFacts is returned for a REQUEST event without the request's facts: a caller bug, reported
// as an error rather than an event full of blanks.
var errNoFacts = errors.New("REQUEST event needs the request facts (Request.HTTP)")

// tokenEvent is what API Gateway sends a TOKEN authorizer. Field order follows AWS's documented
// example so events are byte-stable.
type tokenEvent struct {
	Type               string `json:"type"`
	AuthorizationToken string `json:"authorizationToken"`
	MethodArn          string `json:"methodArn"`
}

// MarshalEvent builds the JSON event API Gateway would send a Lambda authorizer for req: the
// TOKEN event, or the REQUEST event in payload format 1.0 (REST) or 2.0 (HTTP API), chosen by
// req.Type and req.PayloadVersion (empty means 1.0). JWT requests have no event.
func MarshalEvent(req *Request) ([]byte, error) { return EncodeEvent(req, nil) }

// EncodeEvent is MarshalEvent reporting to log (nil: nowhere) what it leaves out of a REQUEST
// event rather than failing the call: a client certificate that does not parse.
func EncodeEvent(req *Request, log *slog.Logger) ([]byte, error) {
	if req == nil {
		return nil, errors.New("no request")
	}
	var event any
	switch req.Type {
	case TypeToken:
		event = tokenEvent{Type: TypeToken, AuthorizationToken: req.Token, MethodArn: req.MethodArn}
	case TypeRequest:
		if req.HTTP == nil {
			return nil, errNoFacts
		}
		switch req.PayloadVersion {
		case "", PayloadVersion1:
			event = newRequestEventV1(req, clientCert(req, log))
		case PayloadVersion2:
			event = newRequestEventV2(req, clientCert(req, log))
		default:
			return nil, fmt.Errorf("unknown payload format version %q", req.PayloadVersion)
		}
	default:
		return nil, fmt.Errorf("authorizer type %q has no event", req.Type)
	}
	return encode(event)
}

// encode writes JSON without escaping <, > and &: API Gateway sends them as they are, and an
// authorizer comparing rawQueryString or a header byte for byte must see the same text.
func encode(event any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(event); err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// clientCert describes the request's client certificate, if Envoy sent one. It is parsed here,
// when an event is built (a cache miss), and never on the Check path.
func clientCert(req *Request, log *slog.Logger) *ClientCert {
	if req.HTTP.Certificate == "" {
		return nil
	}
	cert, err := ParseClientCert(req.HTTP.Certificate)
	if err != nil {
		if log != nil {
			log.Warn("client certificate left out of the authorizer event",
				slog.String("request_id", req.RequestID), slog.String("error", err.Error()))
		}
		return nil
	}
	return cert
}
