package policy

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

type valueKind uint8

const (
	kindString valueKind = iota + 1
	kindNumber
	kindBool
	kindAddr
	kindTime  // n holds seconds since the epoch
	kindOther // present, but nothing an operator can read (an object)
)

// value is one request value of a condition key, in the form the request holds it. Each
// operator family reads it in its own type and treats a value it cannot read as not matching.
type value struct {
	kind valueKind
	b    bool
	s    string
	n    float64
	addr netip.Addr
}

// isoSeconds is how aws:CurrentTime reads as a string, as IAM writes it.
const isoSeconds = "2006-01-02T15:04:05Z"

// appendText appends the value's text, which string operators and policy variables see.
func (v *value) appendText(dst []byte) ([]byte, bool) {
	switch v.kind {
	case kindString:
		return append(dst, v.s...), true
	case kindNumber:
		return appendNumber(dst, v.n), true
	case kindBool:
		return strconv.AppendBool(dst, v.b), true
	case kindAddr:
		return v.addr.AppendTo(dst), true
	case kindTime:
		return time.Unix(int64(v.n), 0).UTC().AppendFormat(dst, isoSeconds), true
	}
	return dst, false
}

// appendNumber writes a number as JSON does in JavaScript: 42, 1.5, 1e+21.
func appendNumber(dst []byte, n float64) []byte {
	if abs := math.Abs(n); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(dst, n, 'g', -1, 64)
	}
	return strconv.AppendFloat(dst, n, 'f', -1, 64)
}

func (v *value) number() (float64, bool) {
	switch v.kind {
	case kindNumber:
		return v.n, true
	case kindString:
		return parseNumber(v.s)
	}
	return 0, false
}

func (v *value) date() (time.Time, bool) {
	switch v.kind {
	case kindTime, kindNumber:
		return epochTime(v.n)
	case kindString:
		return parseDate(v.s)
	}
	return time.Time{}, false
}

func (v *value) boolean() (bool, bool) {
	switch v.kind {
	case kindBool:
		return v.b, true
	case kindString:
		return parseBool(v.s)
	}
	return false, false
}

func (v *value) ip() (netip.Addr, bool) {
	switch v.kind {
	case kindAddr:
		return v.addr.Unmap().WithZone(""), true
	case kindString:
		a, err := netip.ParseAddr(v.s)
		return a.Unmap().WithZone(""), err == nil
	}
	return netip.Addr{}, false
}

// parseNumber reads a decimal number: an optional sign, digits, an optional fraction and
// exponent. The syntax is checked first so that strconv's other forms (inf, nan, hex, "_") are
// refused and a failure costs no allocated error.
func parseNumber(s string) (float64, bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := skipDigits(s, i)
	if digits == i {
		return 0, false
	}
	i = digits
	if i < len(s) && s[i] == '.' {
		if i = skipDigits(s, i+1); i == digits+1 {
			return 0, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		start := i
		if i = skipDigits(s, i); i == start {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	n, err := strconv.ParseFloat(s, 64)
	return n, err == nil
}

func skipDigits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// dateLayouts are the W3C profile of ISO 8601 IAM accepts; a layout without a zone means UTC.
// Fractional seconds are accepted by the layouts with seconds.
var dateLayouts = [...]string{
	time.RFC3339,
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseDate reads an ISO 8601 date or a number of seconds since the Unix epoch.
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if n, ok := parseNumber(s); ok {
		return epochTime(n)
	}
	if len(s) < len("2006-01-02") || s[4] != '-' {
		return time.Time{}, false
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// epochTime converts seconds since the epoch, refusing values no time.Time holds.
func epochTime(n float64) (time.Time, bool) {
	const limit = 1 << 53 // beyond float64 integer precision, and far beyond any policy date
	if math.IsNaN(n) || n > limit || n < -limit {
		return time.Time{}, false
	}
	sec, frac := math.Modf(n)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

func parseBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// parsePrefix reads a CIDR block, or a single address as a block of one.
func parsePrefix(s string) (netip.Prefix, bool) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, false
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), true
}
