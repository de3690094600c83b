package gatewayresponse

import (
	"strconv"
	"strings"
)

// acceptQuality is the weight an Accept header gives the media type of contentType (0: not
// acceptable, or no Accept header). The most specific range that matches decides, as RFC 9110
// section 12.5.1 says: text/html beats text/*, which beats */*.
func acceptQuality(accept, contentType string) float64 {
	if accept == "" {
		return 0
	}
	mediaType, _, _ := strings.Cut(contentType, ";")
	mediaType = strings.ToLower(strings.TrimSpace(mediaType))
	typ, _, _ := strings.Cut(mediaType, "/")
	best, specificity := 0.0, -1
	for part := range strings.SplitSeq(accept, ",") {
		rng, params, _ := strings.Cut(part, ";")
		rng = strings.ToLower(strings.TrimSpace(rng))
		var s int
		switch rng {
		case mediaType:
			s = 2
		case typ + "/*":
			s = 1
		case "*/*":
			s = 0
		default:
			continue
		}
		if s < specificity {
			continue
		}
		specificity, best = s, quality(params)
	}
	return best
}

// quality reads q= from a media range's parameters; 1 when absent, 0 when unreadable.
func quality(params string) float64 {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || q < 0 || q > 1 {
			return 0
		}
		return q
	}
	return 1
}
