package importer

import (
	"strconv"
	"strings"
)

// maxNameLen is the longest DNS-1123 label.
const maxNameLen = 63

// dnsLabel makes a DNS-1123 label of a source name: lower case, every run of other characters
// as one '-', no '-' at either end, at most 63 characters. fallback is used when nothing is left.
func dnsLabel(name, fallback string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if len(s) > maxNameLen {
		s = strings.TrimRight(s[:maxNameLen], "-")
	}
	if s == "" {
		return fallback
	}
	return s
}

// names hands out unique labels: a clash gets -2, -3, ... (shortened to stay within 63).
type names map[string]bool

func (n names) take(name, fallback string) string {
	base := dnsLabel(name, fallback)
	label := base
	for i := 2; n[label]; i++ {
		suffix := "-" + strconv.Itoa(i)
		cut := base
		if len(cut)+len(suffix) > maxNameLen {
			cut = strings.TrimRight(cut[:maxNameLen-len(suffix)], "-")
		}
		label = cut + suffix
	}
	n[label] = true
	return label
}
