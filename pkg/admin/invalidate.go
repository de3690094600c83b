package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/portcullis-dev/portcullis/pkg/engine"
)

// Invalidator drops cached answers: one identity's (identity non-nil) or all of an
// authorizer's. shared reports whether every replica was told, through the shared tier.
type Invalidator func(ctx context.Context, authorizer string, identity []string) (shared bool, err error)

// maxInvalidateBody bounds an invalidation request: an authorizer name and a few identity values.
const maxInvalidateBody = 256 << 10

// InvalidateRequest is the body of POST /cache/invalidate.
type InvalidateRequest struct {
	Authorizer string `json:"authorizer"`
	// Identity is the values of the authorizer's identity sources, in order; absent: all of the
	// authorizer's answers.
	Identity []string `json:"identity,omitempty"`
}

// InvalidateResponse is its answer.
type InvalidateResponse struct {
	Authorizer string `json:"authorizer"`
	Dropped    string `json:"dropped"`  // "identity" or "all"
	Replicas   string `json:"replicas"` // "all" (through the shared tier) or "this"
}

func invalidateHandler(token string, invalidate Invalidator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !bearerMatches(r.Header.Get("authorization"), token) {
			w.Header().Set("www-authenticate", `Bearer realm="portcullis admin"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Unauthorized"})
			return
		}
		var req InvalidateRequest
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInvalidateBody))
		if err == nil {
			dec := json.NewDecoder(strings.NewReader(string(body)))
			dec.DisallowUnknownFields()
			err = dec.Decode(&req)
		}
		switch {
		case err != nil:
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "body: " + err.Error()})
			return
		case req.Authorizer == "":
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "authorizer is required"})
			return
		case req.Identity != nil && len(req.Identity) == 0:
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "identity is empty: name its values, or leave it out to drop all of the authorizer's answers"})
			return
		}
		shared, err := invalidate(r.Context(), req.Authorizer, req.Identity)
		switch {
		case errors.Is(err, engine.ErrNoSuchAuthorizer):
			writeJSON(w, http.StatusNotFound, map[string]string{"message": fmt.Sprintf("no authorizer named %q", req.Authorizer)})
			return
		case errors.Is(err, engine.ErrIdentityShape):
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
			return
		case err != nil:
			// This replica dropped its copies; the store or the other replicas may still hold theirs.
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"message": "dropped on this replica only: " + err.Error()})
			return
		}
		resp := InvalidateResponse{Authorizer: req.Authorizer, Dropped: "all", Replicas: "this"}
		if req.Identity != nil {
			resp.Dropped = "identity"
		}
		if shared {
			resp.Replicas = "all"
		}
		writeJSON(w, http.StatusOK, resp)
	})
}

// bearerMatches compares in constant time, so the token cannot be guessed byte by byte.
func bearerMatches(header, token string) bool {
	const scheme = "bearer "
	if len(header) < len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(header[len(scheme):])), []byte(token)) == 1
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
