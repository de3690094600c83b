package extauthz

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/portcullis-dev/portcullis/pkg/engine"
)

// Every denying outcome has its own gRPC status: none is answered as another by default.
func TestEveryOutcomeHasAGRPCCode(t *testing.T) {
	for _, o := range engine.Outcomes() {
		if o == engine.Allow {
			continue
		}
		if int(o) >= len(grpcCodes) || grpcCodes[o] == codes.OK {
			t.Errorf("outcome %s has no gRPC status", o)
		}
	}
}
