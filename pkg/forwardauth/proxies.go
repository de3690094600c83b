package forwardauth

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/portcullis-dev/portcullis/pkg/request"
)

// Proxies are the networks whose X-Forwarded-For is believed.
type Proxies struct{ prefixes []netip.Prefix }

// Loopback trusts 127.0.0.0/8 and ::1, the default.
func Loopback() *Proxies {
	return &Proxies{prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
}

// ParseProxies reads a comma-separated list of CIDRs or addresses (an address is its own /32 or
// /128). An empty list trusts no peer: X-Forwarded-For is never read.
func ParseProxies(list string) (*Proxies, error) {
	p := &Proxies{}
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
			}
			s = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()).String()
		}
		pr, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
		}
		if pr.Addr().Is4In6() {
			pr = netip.PrefixFrom(pr.Addr().Unmap(), pr.Bits()-96)
		}
		p.prefixes = append(p.prefixes, pr.Masked())
	}
	return p, nil
}

func (p *Proxies) String() string {
	s := make([]string, len(p.prefixes))
	for i, pr := range p.prefixes {
		s[i] = pr.String()
	}
	return strings.Join(s, ",")
}

func (p *Proxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, pr := range p.prefixes {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP is the client's address (SPEC section 15): when the TCP peer is a trusted proxy, the
// rightmost X-Forwarded-For entry that is not one (the leftmost when all are); otherwise, or
// without X-Forwarded-For, the peer. An entry a trusted proxy wrote that is not an address is a
// bad request, not a reason to fall back on the proxy's own address. trusted reports whether the
// peer is a trusted proxy.
func (p *Proxies) clientIP(remoteAddr string, hd http.Header) (ip string, trusted bool, err error) {
	peer, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return "", false, fmt.Errorf("%w: peer address %q", request.ErrBadRequest, remoteAddr)
	}
	addr := peer.Addr().Unmap()
	trusted = p.trusts(addr)
	ip, err = p.forwardedFor(addr, trusted, hd["X-Forwarded-For"])
	return ip, trusted, err
}

func (p *Proxies) forwardedFor(addr netip.Addr, trusted bool, xff []string) (string, error) {
	if len(xff) == 0 || !trusted {
		return addr.String(), nil
	}
	var leftmost netip.Addr
	// Entries are read from the right across every X-Forwarded-For line, the last line last.
	for i := len(xff) - 1; i >= 0; i-- {
		line := xff[i]
		for line != "" {
			var entry string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				entry, line = line[j+1:], line[:j]
			} else {
				entry, line = line, ""
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			a, err := parseForwarded(entry)
			if err != nil {
				return "", fmt.Errorf("%w: X-Forwarded-For entry %.64q", request.ErrBadRequest, entry)
			}
			if !p.trusts(a) {
				return a.String(), nil
			}
			leftmost = a
		}
	}
	if !leftmost.IsValid() {
		return addr.String(), nil
	}
	return leftmost.String(), nil
}

// parseForwarded reads one X-Forwarded-For entry: an address, with or without a port.
func parseForwarded(s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.Addr{}, err
	}
	return ap.Addr().Unmap(), nil
}
