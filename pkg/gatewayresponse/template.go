package gatewayresponse

import (
	"fmt"
	"html"
	"mime"
	"strings"
)

// segment is one part of a template: literal text, or a variable read from the request.
type segment struct {
	text string // the literal, or the variable's key (authorizer context key)
	v    reqVar // literal when the segment is text
	raw  bool   // a constant already in JSON syntax (messageString): not escaped in JSON
}

type reqVar uint8

const (
	literal reqVar = iota
	requestID
	principalID
	authorizerKey
	httpMethod
	path
	resourcePath
)

func (s segment) value(req *Request) string {
	switch s.v {
	case requestID:
		return req.RequestID
	case principalID:
		return req.PrincipalID
	case authorizerKey:
		return contextText(req.Context.Lookup(s.text))
	case httpMethod:
		return req.Method
	case path:
		return req.Path
	case resourcePath:
		return req.ResourcePath
	}
	return s.text
}

// escaping makes a value safe inside a template of one content type: a request value cannot end
// a JSON string or open an HTML tag. The template's own text is never escaped.
type escaping uint8

const (
	noEscaping escaping = iota
	jsonString
	markup
)

func escapingFor(contentType string) escaping {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return jsonString
	case mt == "text/html" || mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		return markup
	}
	return noEscaping
}

func (e escaping) apply(s string) string {
	switch e {
	case jsonString:
		return jsonEscape(s)
	case markup:
		return html.EscapeString(s)
	}
	return s
}

// jsonEscape is s as the inside of a JSON string, for templates that write "$context.path".
func jsonEscape(s string) string {
	q := quote(s)
	return q[1 : len(q)-1]
}

// constants are what a template variable stands for that is known at load: the error of the
// reason the entry answers, the stage, the stage variables.
type constants struct {
	message, messageString, responseType, stage string
	stageVariables                              map[string]string
}

// parseTemplate splits a template into segments, replacing the variables known at load (escaped
// as esc says). A '$' followed by a letter or '{' starts a variable ($context.path,
// ${context.path}); any other '$' is text. A variable outside the supported list is an error.
func parseTemplate(t string, c *constants, esc escaping) ([]segment, error) {
	var segs []segment
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			segs = append(segs, segment{text: text.String()})
			text.Reset()
		}
	}
	for i := 0; i < len(t); {
		name, n := variableAt(t[i:])
		if n == 0 {
			text.WriteByte(t[i])
			i++
			continue
		}
		seg, err := variable(name, c)
		if err != nil {
			return nil, err
		}
		switch {
		case seg.v != literal:
			flush()
			segs = append(segs, seg)
		case seg.raw && esc == jsonString:
			text.WriteString(seg.text)
		default:
			text.WriteString(esc.apply(seg.text))
		}
		i += n
	}
	flush()
	return segs, nil
}

// variableAt reads a variable reference at the start of s: its name and length, or 0.
func variableAt(s string) (string, int) {
	if len(s) < 2 || s[0] != '$' {
		return "", 0
	}
	if s[1] == '{' {
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return "", 0
		}
		return s[2:end], end + 1
	}
	if !isLetter(s[1]) {
		return "", 0
	}
	n := 1
	for n < len(s) && (isNameChar(s[n]) || s[n] == '.' && n+1 < len(s) && isNameChar(s[n+1])) {
		n++
	}
	return s[1:n], n
}

func isLetter(c byte) bool   { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isNameChar(c byte) bool { return isLetter(c) || '0' <= c && c <= '9' || c == '_' || c == '-' }

// variable resolves one variable name.
func variable(name string, c *constants) (segment, error) {
	switch name {
	case "context.error.message":
		return segment{text: c.message}, nil
	case "context.error.messageString":
		return segment{text: c.messageString, raw: true}, nil
	case "context.error.responseType":
		return segment{text: c.responseType}, nil
	case "context.stage":
		return segment{text: c.stage}, nil
	case "context.requestId":
		return segment{v: requestID}, nil
	case "context.authorizer.principalId":
		return segment{v: principalID}, nil
	case "context.httpMethod":
		return segment{v: httpMethod}, nil
	case "context.path":
		return segment{v: path}, nil
	case "context.resourcePath":
		return segment{v: resourcePath}, nil
	}
	if key, ok := strings.CutPrefix(name, "context.authorizer."); ok && key != "" {
		return segment{v: authorizerKey, text: key}, nil
	}
	if key, ok := strings.CutPrefix(name, "stageVariables."); ok && key != "" {
		v, ok := c.stageVariables[key]
		if !ok {
			return segment{}, fmt.Errorf("$%s: the Api has no stage variable %q", name, key)
		}
		return segment{text: v}, nil
	}
	return segment{}, fmt.Errorf("unknown template variable $%s: want $context.error.message, $context.error.messageString, "+
		"$context.error.responseType, $context.requestId, $context.authorizer.principalId, $context.authorizer.KEY, "+
		"$context.httpMethod, $context.path, $context.resourcePath, $context.stage or $stageVariables.NAME", name)
}
