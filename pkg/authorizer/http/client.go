package http

import (
	"net"
	nethttp "net/http"
	"time"
)

// NewClient returns the client HTTP backends share: tuned for many small calls to a few hosts.
// Connections are kept alive (up to 256 idle per host, closed after 90s idle), HTTP/2 is used
// where a TLS server offers it, and proxies come from HTTP_PROXY/HTTPS_PROXY/NO_PROXY as users
// expect. There is no overall client timeout: each call's context carries its own deadline.
//
// Redirects are not followed: a 3xx is a backend failure. Following one would resend the token and
// the configured headers (an API key) to wherever the endpoint points.
func NewClient() *nethttp.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	transport := &nethttp.Transport{
		Proxy:                  nethttp.ProxyFromEnvironment,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    256,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    5 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &nethttp.Client{
		Transport: transport,
		CheckRedirect: func(*nethttp.Request, []*nethttp.Request) error {
			return nethttp.ErrUseLastResponse
		},
	}
}
