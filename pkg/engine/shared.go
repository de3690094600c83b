package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/cache"
	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/identity"
)

// SharedCache is a cache tier shared by every replica, under each one's own (pkg/cache/shared).
// Keys are the identity's cache key (section 4 of the SPEC), the same on every replica serving
// the same config; values are what this package encodes, opaque to the tier.
type SharedCache interface {
	// Get returns the value stored for key, or false on a miss of any kind.
	Get(ctx context.Context, authorizer string, key *[32]byte) ([]byte, bool)
	// Set stores value for ttl; it returns once the store has it, or has failed to take it.
	Set(ctx context.Context, authorizer string, key *[32]byte, value []byte, ttl time.Duration)
	// Invalidate drops keys (nil: all of the authorizer's answers) from the store and has every
	// replica call DropLocal for them.
	Invalidate(ctx context.Context, authorizer string, keys [][32]byte) error
}

// ErrNoSuchAuthorizer is an invalidation naming an authorizer the config does not have.
var ErrNoSuchAuthorizer = errors.New("no such authorizer")

// ErrIdentityShape is an invalidation whose identity has not one value per identity source.
var ErrIdentityShape = errors.New("identity does not match the authorizer's identity sources")

// errSharedExpired is a stored answer read in the moment between its own expiry and the store's.
var errSharedExpired = errors.New("shared answer expired")

// sharedAnswer is an answer as another replica rebuilds it: the backend's response, the policy
// as the backend sent it, compiled again on the reading side through compileAnswer, so a shared
// answer is decided exactly as a fresh one.
type sharedAnswer struct {
	Expires    int64           `json:"e"` // Unix nanoseconds
	Principal  string          `json:"p,omitempty"`
	Policy     json.RawMessage `json:"d,omitempty"`
	Context    map[string]any  `json:"c,omitempty"`
	Authorized *bool           `json:"a,omitempty"`
	Scopes     []string        `json:"s,omitempty"`
	UsageKey   string          `json:"u,omitempty"`
}

func encodeShared(resp *authorizer.Response, expires time.Time) ([]byte, error) {
	return json.Marshal(sharedAnswer{
		Expires: expires.UnixNano(), Principal: resp.PrincipalID, Policy: resp.PolicyDocument,
		Context: resp.Context, Authorized: resp.IsAuthorized, Scopes: resp.Scopes, UsageKey: resp.UsageIdentifierKey,
	})
}

// sharedFetch is the cache-miss path with a shared tier: the tier's answer if it has a live one,
// else the backend's, written to the tier (with the time it has left) before it is returned, so
// that the store holds it before the Check that fetched it is answered.
func (e *Engine) sharedFetch(ctx context.Context, base *[32]byte, ans *Answer, a *config.Authorizer, backend cache.Fetch[Answer]) (int64, time.Duration, error) {
	name := a.Name
	if v, ok := e.shared.Get(ctx, name, base); ok {
		cost, ttl, err := e.openShared(v, ans)
		if err == nil {
			return cost, ttl, nil
		}
		*ans = Answer{}
		if !errors.Is(err, errSharedExpired) {
			e.log.Warn("shared cache answer not used", "authorizer", name, "error", err.Error())
		}
	}
	var resp *authorizer.Response
	cost, ttl, err := backend(withResponse(ctx, &resp), ans)
	if err != nil || ttl <= 0 || resp == nil {
		return cost, ttl, err
	}
	if v, err := encodeShared(resp, e.now().Add(ttl)); err == nil {
		e.shared.Set(ctx, name, base, v, ttl)
	}
	return cost, ttl, nil
}

// openShared rebuilds an answer another replica stored.
func (e *Engine) openShared(v []byte, ans *Answer) (int64, time.Duration, error) {
	var s sharedAnswer
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber() // as DecodeResponse does: context numbers keep their text
	if err := dec.Decode(&s); err != nil {
		return 0, 0, err
	}
	ttl := time.Unix(0, s.Expires).Sub(e.now())
	if ttl <= 0 {
		return 0, 0, errSharedExpired
	}
	resp := &authorizer.Response{
		PrincipalID: s.Principal, PolicyDocument: s.Policy, Context: s.Context,
		IsAuthorized: s.Authorized, Scopes: s.Scopes, UsageIdentifierKey: s.UsageKey,
	}
	if err := e.compileAnswer(resp, ans); err != nil {
		return 0, 0, err
	}
	return ans.cost(), ttl, nil
}

// responseKey carries, through a backend fetch's context, where callBackend leaves the
// backend's response for sharedFetch to store.
type responseKey struct{}

func withResponse(ctx context.Context, out **authorizer.Response) context.Context {
	return context.WithValue(ctx, responseKey{}, out)
}

func keepResponse(ctx context.Context, resp *authorizer.Response) {
	if out, ok := ctx.Value(responseKey{}).(**authorizer.Response); ok {
		*out = resp
	}
}

// generation counts the times all of an authorizer's answers were dropped (Engine.gens); the
// count is mixed into the local cache key (mixGeneration), so dropping them all is one increment
// and the old entries, unreachable, age out of the cache by cost. gens is nil until the first
// such drop: the cached path then reads one nil pointer.
func (e *Engine) generation(authorizer string) uint64 {
	if g := e.gens.Load(); g != nil {
		return (*g)[authorizer]
	}
	return 0
}

// mixGeneration turns an identity's key into its local cache key under generation g. Only the
// first 8 bytes, the local cache's index, change: an entry of another generation is then a miss
// (its check bits agree, its index does not), and the shared tier's key, the identity's key,
// stays the same on every replica.
func mixGeneration(k *[32]byte, g uint64) {
	if g == 0 {
		return
	}
	binary.LittleEndian.PutUint64(k[:8], binary.LittleEndian.Uint64(k[:8])^(g*0x9e3779b97f4a7c15))
}

// DropLocal drops this replica's cached answers of one authorizer: those of keys, or all of them
// when keys is nil. The shared tier calls it for every invalidation, its own included.
func (e *Engine) DropLocal(authorizer string, keys [][32]byte) {
	if keys == nil {
		e.gensMu.Lock()
		next := map[string]uint64{}
		if g := e.gens.Load(); g != nil {
			for k, v := range *g {
				next[k] = v
			}
		}
		next[authorizer]++
		e.gens.Store(&next)
		e.gensMu.Unlock()
		return
	}
	g := e.generation(authorizer)
	for _, k := range keys {
		mixGeneration(&k, g)
		e.cache.Delete((*cache.Key)(&k))
	}
}

// Invalidate drops one identity's cached answers of the authorizer named (identity nil: all of
// its answers), here and, with a shared tier, in the store and on every replica. An identity is
// the values of the authorizer's identity sources, in order (a TOKEN authorizer's header value
// as sent; a JWT authorizer's token, with or without "Bearer "). It reports whether the shared
// tier took the invalidation too; an error from the tier leaves this replica's drop done.
func (e *Engine) Invalidate(ctx context.Context, authorizer string, identityValues []string) (shared bool, err error) {
	snap := e.snap.Load()
	a := snap.Authorizer(authorizer)
	if a == nil {
		return false, fmt.Errorf("%w: %q", ErrNoSuchAuthorizer, authorizer)
	}
	var keys [][32]byte
	if identityValues != nil {
		if n := a.Identity.Len(); len(identityValues) != n {
			return false, fmt.Errorf("%w: %d values for %d sources", ErrIdentityShape, len(identityValues), n)
		}
		keys = identityKeys(snap, a, identityValues)
	}
	e.DropLocal(authorizer, keys)
	if e.shared == nil {
		return false, nil
	}
	if err := e.shared.Invalidate(ctx, authorizer, keys); err != nil {
		return false, err
	}
	return true, nil
}

// identityKeys are an identity's cache keys under every Api of snap: a key names the Api too,
// and an authorizer may guard several.
func identityKeys(snap *config.Snapshot, a *config.Authorizer, values []string) [][32]byte {
	values = append([]string(nil), values...)
	if a.Type == config.JWTAuthorizer && len(values) > 0 {
		values[0] = identity.BearerToken(values[0])
	}
	apis := snap.Apis()
	keys := make([][32]byte, 0, len(apis))
	for _, api := range apis {
		keys = append(keys, identity.Key(a.UID, api.Name, values))
	}
	return keys
}
