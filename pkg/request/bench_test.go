package request

import (
	"testing"
	"time"
)

func BenchmarkFromCheck(b *testing.B) {
	req := checkRequest(typicalHTTP(), "203.0.113.7", map[string]string{"api": "petstore"})
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromCheck(req, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCleanPath(b *testing.B) {
	for _, bc := range []struct{ name, path string }{
		{"plain", "/prod/pets/42/toys"},
		{"encoded", "/prod/pets/my%20dog/caf%C3%A9"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := CleanPath(bc.path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
