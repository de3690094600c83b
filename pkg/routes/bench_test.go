package routes

import (
	"fmt"
	"testing"
)

// benchSpecs is a 50-route table shaped like a real API: resources with ids, nested
// collections, a few greedy catch-alls.
func benchSpecs() []Spec {
	var specs []Spec
	for _, res := range []string{"pets", "users", "orders", "stores", "invoices", "carts", "reviews", "tags"} {
		specs = append(specs,
			with("/v1/"+res, "GET", "POST"),
			with(fmt.Sprintf("/v1/%s/{%sId}", res, res[:len(res)-1]), "GET", "PUT", "DELETE"),
			get(fmt.Sprintf("/v1/%s/{%sId}/history", res, res[:len(res)-1])),
			get("/v1/"+res+"/search"),
			anyRoute(fmt.Sprintf("/v1/%s/{%sId}/items/{itemId}", res, res[:len(res)-1])),
			get("/v1/"+res+"/export/{proxy+}"),
		)
	}
	specs = append(specs, get("/health"), anyRoute("/{proxy+}"))
	return specs
}

func BenchmarkMatch(b *testing.B) {
	specs := benchSpecs()
	if len(specs) != 50 {
		b.Fatalf("table has %d routes, want 50", len(specs))
	}
	table := mustCompile(b, specs)
	for _, bc := range []struct {
		name, method, path string
		matched            bool
	}{
		{"literal", "GET", "/v1/orders/search", true},
		{"param", "GET", "/v1/users/u-1234", true},
		{"two params", "PATCH", "/v1/carts/c-9/items/42", true},
		{"greedy", "GET", "/v1/stores/export/2024/05/report.csv", true},
		{"root greedy", "POST", "/v2/anything/else", true},
		{"unmatched empty segment", "GET", "/v1/pets//x", false},
		{"method falls back to root greedy", "POST", "/v1/pets/1/history", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var buf [4]Param
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := table.MatchInto(bc.method, bc.path, buf[:0]); ok != bc.matched {
					b.Fatalf("matched = %v, want %v", ok, bc.matched)
				}
			}
		})
	}
}
