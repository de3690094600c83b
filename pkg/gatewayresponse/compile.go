package gatewayresponse

import (
	"fmt"
	"maps"
	"mime"
	"slices"
	"strings"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// Api is what compiling an Api's gateway responses needs of the Api.
type Api struct {
	Protocol       string // REST or HTTP
	Stage          string
	StageVariables map[string]string
}

// The fallback types: a reason without a gateway response of its own takes the one of its
// status class.
const (
	Default4XX = "DEFAULT_4XX"
	Default5XX = "DEFAULT_5XX"
)

// Types lists the gateway response types an Api may configure, in a new slice each time.
func Types() []string {
	types := []string{Default4XX, Default5XX}
	for r := range numReasons {
		if !slices.Contains(types, builtins[r].typ) {
			types = append(types, builtins[r].typ)
		}
	}
	slices.Sort(types)
	return types
}

// field is the path of a field under spec.gatewayResponses, for errors.
const field = "spec.gatewayResponses"

// Compile compiles an Api's gateway responses into the Set its denials are rendered with. It
// reports every problem, each at its field (spec.gatewayResponses.UNAUTHORIZED.statusCode), and
// returns no Set when there is one.
func Compile(responses map[string]v1alpha1.GatewayResponse, api Api) (*Set, []v1alpha1.FieldError) {
	s := &Set{}
	if api.Protocol == v1alpha1.ProtocolHTTP {
		s.proto = httpAPI
	}
	var errs []v1alpha1.FieldError
	compiled := map[string][2][numReasons]*entry{}
	for _, typ := range slices.Sorted(maps.Keys(responses)) {
		if !slices.Contains(Types(), typ) {
			errs = append(errs, v1alpha1.FieldError{Field: field + "." + typ,
				Reason: fmt.Sprintf("unknown response type %q: want one of %s", typ, strings.Join(Types(), ", "))})
			continue
		}
		gr := responses[typ]
		var byJWT [2][numReasons]*entry
		for r := range numReasons {
			for jwt := range 2 {
				e, problems := compileEntry(typ, &gr, r, jwt == 1, s.proto, &api)
				if r == 0 && jwt == 0 {
					// The same template and parameters for every reason: report their problems once.
					errs = append(errs, problems...)
				}
				byJWT[jwt][r] = e
			}
		}
		compiled[typ] = byJWT
	}
	if len(errs) > 0 {
		return nil, errs
	}
	for r := range numReasons {
		class := Default4XX
		if builtins[r].status[s.proto] >= 500 {
			class = Default5XX
		}
		for jwt := range 2 {
			if c, ok := compiled[builtins[r].typ]; ok {
				s.entries[r][jwt] = c[jwt][r]
			} else if c, ok := compiled[class]; ok {
				s.entries[r][jwt] = c[jwt][r]
			}
		}
	}
	return s, nil
}

// compileEntry compiles the gateway response gr of type typ for one reason.
func compileEntry(typ string, gr *v1alpha1.GatewayResponse, reason Reason, jwt bool, proto int, api *Api) (*entry, []v1alpha1.FieldError) {
	at := field + "." + typ
	var errs []v1alpha1.FieldError
	fail := func(f, format string, args ...any) {
		errs = append(errs, v1alpha1.FieldError{Field: at + f, Reason: fmt.Sprintf(format, args...)})
	}
	b := &builtins[reason]
	e := &entry{status: b.status[proto]}
	if gr.StatusCode != 0 {
		if gr.StatusCode < 200 || gr.StatusCode > 599 {
			fail(".statusCode", "%d out of range: want 200 to 599", gr.StatusCode)
		}
		e.status = int(gr.StatusCode)
	}
	configured := map[string]bool{}
	var own []header
	for _, key := range slices.Sorted(maps.Keys(gr.ResponseParameters)) {
		h, err := compileParameter(key, gr.ResponseParameters[key], api)
		if err != nil {
			fail(".responseParameters["+key+"]", "%v", err)
			continue
		}
		if configured[h.name] {
			fail(".responseParameters["+key+"]", "header %q is set twice", h.name)
			continue
		}
		configured[h.name] = true
		own = append(own, h)
	}
	for _, h := range b.headers(reason, jwt) {
		if !configured[h.Name] {
			e.headers = append(e.headers, header{name: h.Name, value: h.Value})
		}
	}
	e.headers = append(e.headers, own...)
	c := &constants{message: b.message[proto], messageString: b.messageString(proto), responseType: b.typ,
		stage: api.Stage, stageVariables: api.StageVariables}
	seen := map[string]string{}
	for _, ct := range slices.Sorted(maps.Keys(gr.ResponseTemplates)) {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !strings.Contains(mt, "/") {
			fail(".responseTemplates["+ct+"]", "%q is not a content type such as application/json", ct)
			continue
		}
		if other, dup := seen[mt]; dup {
			fail(".responseTemplates["+ct+"]", "the same content type as %q", other)
			continue
		}
		seen[mt] = ct
		esc := escapingFor(ct)
		body, err := parseTemplate(gr.ResponseTemplates[ct], c, esc)
		if err != nil {
			fail(".responseTemplates["+ct+"]", "%v", err)
			continue
		}
		e.variants = append(e.variants, &variant{contentType: ct, body: body, escape: esc})
	}
	if len(e.variants) == 0 { // no template: the default one
		e.variants = []*variant{{contentType: "application/json", body: []segment{{text: b.body(reason, proto)}}, escape: jsonString}}
	}
	for _, v := range e.variants {
		if mt, _, _ := mime.ParseMediaType(v.contentType); mt == "application/json" {
			e.json = v
		}
		e.share(v)
	}
	return e, errs
}

// share builds v's whole answer now when nothing of it reads the request.
func (e *entry) share(v *variant) {
	for _, h := range e.headers {
		if h.from != constant {
			return
		}
	}
	for _, s := range v.body {
		if s.v != literal {
			return
		}
	}
	r := e.render(v, &Request{})
	r.shared = true
	v.shared = r
}

// forbiddenHeaders can never be set by a gateway response: they frame the answer (Envoy writes
// them itself) or are set from the template chosen.
var forbiddenHeaders = []string{"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
	"te", "trailer", "proxy-connection", "host", "content-type", "x-amzn-requestid"}

// compileParameter reads one response parameter: gatewayresponse.header.NAME set from a source.
func compileParameter(key, value string, api *Api) (header, error) {
	name, ok := strings.CutPrefix(key, "gatewayresponse.header.")
	if !ok || name == "" {
		return header{}, fmt.Errorf("want a key gatewayresponse.header.NAME")
	}
	if !isToken(name) {
		return header{}, fmt.Errorf("%q is not a header name", name)
	}
	name = strings.ToLower(name)
	if slices.Contains(forbiddenHeaders, name) {
		return header{}, fmt.Errorf("header %q cannot be set by a gateway response", name)
	}
	h := header{name: name}
	if lit, ok := strings.CutPrefix(value, "'"); ok {
		lit, ok = strings.CutSuffix(lit, "'")
		switch {
		case !ok:
			return header{}, fmt.Errorf("a literal value is quoted: 'value'")
		case !headerSafe(lit):
			return header{}, fmt.Errorf("the literal holds a control character (CR, LF, NUL...): never a valid header value")
		case len(lit) > 8<<10:
			return header{}, fmt.Errorf("the literal is over 8 KiB")
		}
		h.value = lit
		return h, nil
	}
	for _, src := range []struct {
		prefix string
		from   source
	}{
		{"method.request.header.", fromHeader},
		{"method.request.querystring.", fromQuery},
		{"method.request.path.", fromPath},
	} {
		if n, ok := strings.CutPrefix(value, src.prefix); ok {
			if n == "" || src.from == fromHeader && !isToken(n) {
				return header{}, fmt.Errorf("%q: want a name after %s", value, src.prefix)
			}
			if src.from == fromHeader {
				n = strings.ToLower(n)
			}
			h.from, h.value = src.from, n
			return h, nil
		}
	}
	if n, ok := strings.CutPrefix(value, "stageVariables."); ok {
		v, ok := api.StageVariables[n]
		switch {
		case !ok:
			return header{}, fmt.Errorf("%q: the Api has no stage variable %q", value, n)
		case !headerSafe(v):
			return header{}, fmt.Errorf("%q: the stage variable holds a control character: never a valid header value", value)
		}
		h.value = v
		return h, nil
	}
	return header{}, fmt.Errorf("%q: want 'literal', method.request.header.NAME, method.request.querystring.NAME, "+
		"method.request.path.NAME or stageVariables.NAME", value)
}

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2), as header names are.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isLetter(c) || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
