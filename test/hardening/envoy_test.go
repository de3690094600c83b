package hardening

import (
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
)

// upstreamHeaders is what Envoy forwards after an allow: the client's headers with the
// OkHttpResponse applied. Envoy's own order is set/add first, then remove; removeFirst applies the
// other order, so a test can require that the answer is right whichever order a version of Envoy
// uses. Names are lower-cased as Envoy's header map does; pseudo-headers and host are never
// removed, as in Envoy.
func upstreamHeaders(client map[string]string, ok *authv3.OkHttpResponse, removeFirst bool) map[string][]string {
	m := map[string][]string{}
	for k, v := range client {
		k = strings.ToLower(k)
		m[k] = append(m[k], v)
	}
	remove := func() {
		for _, name := range ok.GetHeadersToRemove() {
			name = strings.ToLower(name)
			if strings.HasPrefix(name, ":") || name == "host" {
				continue
			}
			delete(m, name)
		}
	}
	if removeFirst {
		remove()
	}
	for _, h := range ok.GetHeaders() {
		setHeader(m, h)
	}
	if !removeFirst {
		remove()
	}
	return m
}

// setHeader applies one HeaderValueOption as Envoy does.
func setHeader(m map[string][]string, h *corev3.HeaderValueOption) {
	k, v := strings.ToLower(h.GetHeader().GetKey()), h.GetHeader().GetValue()
	_, exists := m[k]
	action := h.GetAppendAction()
	//nolint:staticcheck // Envoy still honours the deprecated field, so the test must too.
	if h.GetAppend() != nil { // the deprecated field wins when set, as in Envoy
		action = corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD
		if h.GetAppend().GetValue() { //nolint:staticcheck // as above
			action = corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD
		}
	}
	switch action {
	case corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD:
		m[k] = append(m[k], v)
	case corev3.HeaderValueOption_ADD_IF_ABSENT:
		if !exists {
			m[k] = []string{v}
		}
	case corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD:
		m[k] = []string{v}
	case corev3.HeaderValueOption_OVERWRITE_IF_EXISTS:
		if exists {
			m[k] = []string{v}
		}
	}
}

// cgiName is how CGI, WSGI, Rack and PHP name a header: upper-case, '-' turned into '_'. Two
// headers with one cgiName are one variable to such an upstream.
func cgiName(name string) string {
	return "HTTP_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}
