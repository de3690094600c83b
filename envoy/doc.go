// Package envoy holds runnable examples of putting Portcullis behind Envoy (envoy.yaml, with
// docker-compose.yaml) and Istio (istio/). The package has no code of its own: no Envoy or
// Istio runs here, so its tests prove the examples against Envoy's own protos and validation
// rules (go-control-plane) and Istio's API protos (istio.io/api), with unknown fields refused,
// and check the files agree with each other and with Portcullis's embedded demo config.
package envoy
