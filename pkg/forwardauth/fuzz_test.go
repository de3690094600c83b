package forwardauth

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/engine"
	fat "github.com/portcullis-dev/portcullis/pkg/forwardauth/forwardauthtest"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

// FuzzClientIP: any X-Forwarded-For is either refused as a bad request or gives an address that
// is the peer's or one of the header's entries, never one a trusted proxy's list would skip.
func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"", "203.0.113.7", "198.51.100.9, 203.0.113.7, 10.1.2.3", "[::1]:80, 10.0.0.1:443",
		"::ffff:10.0.0.1", ",,,", "fe80::1%eth0", "not-an-address, 10.0.0.1", strings.Repeat("1.1.1.1,", 50)} {
		f.Add("127.0.0.1:40000", s)
		f.Add("203.0.113.9:40000", s)
	}
	proxies, err := ParseProxies("127.0.0.0/8, 10.0.0.0/8, ::1")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		hd := http.Header{"X-Forwarded-For": strings.Split(xff, "\n")}
		ip, trusted, err := proxies.clientIP(remote, hd)
		if err != nil {
			return
		}
		a, perr := netip.ParseAddr(ip)
		if perr != nil {
			t.Fatalf("clientIP(%q, %q) = %q, not an address", remote, xff, ip)
		}
		peer := netip.MustParseAddrPort(remote).Addr().Unmap()
		if trusted != proxies.trusts(peer) {
			t.Fatalf("trusted = %v for peer %s", trusted, peer)
		}
		if !trusted && a != peer {
			t.Fatalf("untrusted peer %s: client %s taken from X-Forwarded-For", peer, a)
		}
		if trusted && a != peer && proxies.trusts(a) {
			// Only allowed when every entry is trusted: the leftmost one.
			for _, line := range hd["X-Forwarded-For"] {
				for _, e := range strings.Split(line, ",") {
					if e = strings.TrimSpace(e); e == "" {
						continue
					}
					if ea, err := parseForwarded(e); err == nil && !proxies.trusts(ea) {
						t.Fatalf("client %s is a trusted proxy while %s is not", a, ea)
					}
				}
			}
		}
	})
}

// FuzzFacts: whatever a proxy's headers say, reading them either fails as a bad request (or one
// over the limits) or gives facts that pkg/request's checks hold: a clean absolute path, a
// token method.
func FuzzFacts(f *testing.F) {
	for _, s := range []string{"/pets", "/pets/../admin", "/a%2Fb", "/pets?x=1#f", "http://evil/x", "", "/%C0%AE", "*"} {
		f.Add("GET", s, "api.example.com")
	}
	f.Add("get", "/pets", "[::1]:80")
	b := fat.NewBackend(f)
	snap, err := config.Build(context.Background(), config.BuildOptions{Paths: []string{fat.WriteConfig(f, b.URL)}})
	if err != nil {
		f.Fatal(err)
	}
	e, err := engine.New(snap, engine.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(e.Close)
	h, err := New(e, Options{Mode: ModeXOriginal})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, uri, host string) {
		r := &http.Request{Method: "GET", RequestURI: "/auth", Host: host, RemoteAddr: "127.0.0.1:1", Proto: "HTTP/1.1",
			Header: http.Header{"X-Original-Method": {method}, "X-Original-Uri": {uri}}}
		st := &reqState{}
		if err := h.facts(r, st); err != nil {
			if !errors.Is(err, request.ErrBadRequest) && !errors.Is(err, request.ErrTooLarge) {
				t.Fatalf("facts error %v is neither a bad request nor too large", err)
			}
			return
		}
		if p := st.req.Path; p == "" || p[0] != '/' || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") {
			t.Fatalf("X-Original-URI %q gave path %q", uri, p)
		}
		if st.req.Method == "" || st.req.Method != strings.ToUpper(st.req.Method) {
			t.Fatalf("method %q gave %q", method, st.req.Method)
		}
	})
}
