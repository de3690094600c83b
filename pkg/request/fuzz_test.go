package request

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
)

// checkCleanPath fails t unless out has every property CleanPath promises of its results.
func checkCleanPath(t *testing.T, raw, out string) {
	t.Helper()
	if out == "" || out[0] != '/' {
		t.Fatalf("CleanPath(%q) = %q: not absolute", raw, out)
	}
	if !utf8.ValidString(out) {
		t.Fatalf("CleanPath(%q) = %q: invalid UTF-8", raw, out)
	}
	for _, r := range out {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '\\' {
			t.Fatalf("CleanPath(%q) = %q: holds %U", raw, out, r)
		}
	}
	if strings.Contains(out, "/../") || strings.Contains(out, "/./") {
		t.Fatalf("CleanPath(%q) = %q: holds a dot segment", raw, out)
	}
	for _, seg := range strings.Split(out[1:], "/") {
		if isDotSegment(seg) {
			t.Fatalf("CleanPath(%q) = %q: holds dot segment %q", raw, out, seg)
		}
	}
}

func FuzzCleanPath(f *testing.F) {
	for _, seed := range []string{
		"/", "/pets/42", "/a//b/", "/my%20file", "/a%2Fb", "/a/%2e%2e/b", "/..;/admin",
		"/%252e%252e", "/a%C0%AE", "/100%25", "/%2541", "/caf%C3%A9", "/a\\b", "http://x/y",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out, err := CleanPath(raw)
		if err != nil {
			if !errors.Is(err, ErrBadPath) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("CleanPath(%q) error %v wraps neither ErrBadPath nor ErrTooLarge", raw, err)
			}
			return
		}
		checkCleanPath(t, raw, out)
		if !strings.Contains(raw, "%") && out != raw {
			t.Fatalf("CleanPath(%q) = %q: a path without escapes must come back unchanged", raw, out)
		}
		if !strings.Contains(out, "%") {
			if again, err := CleanPath(out); err != nil || again != out {
				t.Fatalf("CleanPath(CleanPath(%q)) = %q, %v; want %q", raw, again, err, out)
			}
		}
		// Re-escaping the only byte that decoding consumes must lead back to the same path.
		escaped := strings.ReplaceAll(out, "%", "%25")
		if len(escaped) <= MaxPathBytes {
			if again, err := CleanPath(escaped); err != nil || again != out {
				t.Fatalf("CleanPath(%q) = %q, %v; want %q", escaped, again, err, out)
			}
		}
	})
}

func FuzzFromCheck(f *testing.F) {
	f.Add("GET", "api.example.com:443", "/pets/42?x=1", "authorization", "Bearer t", false)
	f.Add("post", "[::1]:8080", "/a%20b#frag", "x-request-id", "id-1", true)
	f.Add("", "", "", "", "", false)
	f.Add("GET", "EXAMPLE.com.", "/..;/admin", "X-A", "1", true)
	f.Fuzz(func(t *testing.T, method, host, path, name, value string, raw bool) {
		h := &authv3.AttributeContext_HttpRequest{Method: method, Host: host, Path: path}
		if raw {
			h.HeaderMap = rawHeaders(name, value, name, value)
		} else {
			h.Headers = map[string]string{name: value}
		}
		r, err := FromCheck(checkRequest(h, "", nil), time.Time{})
		if err != nil {
			if !errors.Is(err, ErrBadRequest) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("FromCheck error %v wraps neither ErrBadRequest nor ErrTooLarge", err)
			}
			return
		}
		if r.Method == "" || r.Method != strings.ToUpper(r.Method) {
			t.Fatalf("Method %q from %q is not upper-case and non-empty", r.Method, method)
		}
		if r.Host != strings.ToLower(r.Host) || strings.ContainsAny(r.Host, "[]/@ ") {
			t.Fatalf("Host %q from %q is not a lower-case bare host", r.Host, host)
		}
		if r.RawPath+queryPart(r.RawQuery, path) != cutFragment(path) {
			t.Fatalf("RawPath %q and RawQuery %q do not rebuild target %q", r.RawPath, r.RawQuery, path)
		}
		checkCleanPath(t, r.RawPath, r.Path)
	})
}

func cutFragment(target string) string {
	before, _, _ := strings.Cut(target, "#")
	return before
}

// queryPart rebuilds "?query" when the target had a '?' before any fragment.
func queryPart(query, target string) string {
	if strings.Contains(cutFragment(target), "?") {
		return "?" + query
	}
	return ""
}
