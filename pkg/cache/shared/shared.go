// Package shared is the decision cache's second tier: a Redis (or Valkey) store under each
// replica's own cache, so a fleet of replicas calls a backend once per identity per TTL. Values
// are sealed with AES-256-GCM, their store key bound in, under a key derived from a secret the
// replicas share; the store learns nothing of tokens, principals, policies or contexts and cannot
// forge or swap a decision. A store that is down, slow or answers garbage is a miss: every call
// is bounded by a timeout, and a circuit breaker stops waiting on a store that keeps failing.
// Invalidations reach every replica over Redis pub/sub.
//
// The client is github.com/redis/go-redis/v9: the client the Redis project maintains, speaking
// RESP2 and RESP3 (so Redis, Valkey and managed services such as ElastiCache alike), reading
// redis:// and rediss:// URLs, honouring each call's context deadline on the connection itself,
// and resubscribing pub/sub channels after a reconnect.
package shared

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// DefaultTimeout bounds one store call on the Check path.
const DefaultTimeout = 50 * time.Millisecond

// invalidateChannel carries invalidations to every replica, sealed like the values.
const invalidateChannel = "portcullis:invalidate"

// adminTimeout bounds an invalidation's store calls: an operator's request, not a Check.
const adminTimeout = 5 * time.Second

// Options configure a Tier.
type Options struct {
	// URL is redis://[user:password@]host:port[/db] or rediss://... (TLS).
	URL string
	// Password is used when the URL has none.
	Password string
	// Secret seals the values; at least MinSecretBytes. Every replica must share it.
	Secret []byte
	// Timeout bounds each store call on the Check path; default DefaultTimeout.
	Timeout time.Duration
	// BreakerFailures consecutive failures open the breaker (default 5); it stays open for
	// BreakerCooldown (default 1s), then lets one call through to try the store again.
	BreakerFailures uint32
	BreakerCooldown time.Duration
	Logger          *slog.Logger
	Registerer      prometheus.Registerer // nil: metrics not registered
}

// Tier is the shared store. It is safe for concurrent use.
type Tier struct {
	client  *redis.Client
	seal    *sealer
	timeout time.Duration
	breaker *gobreaker.CircuitBreaker[[]byte]
	metrics *metrics
	log     *slog.Logger
}

// New connects lazily: a store that is down now is a miss until it is back.
func New(opts Options) (*Tier, error) {
	s, err := newSealer(opts.Secret)
	if err != nil {
		return nil, err
	}
	ro, err := redis.ParseURL(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("shared cache URL: %w", err)
	}
	if ro.Password == "" {
		ro.Password = opts.Password
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.BreakerFailures == 0 {
		opts.BreakerFailures = 5
	}
	if opts.BreakerCooldown <= 0 {
		opts.BreakerCooldown = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	// Retrying would overrun the timeout; a lost call is a miss and the next Check tries again.
	ro.MaxRetries = -1
	ro.DialTimeout = opts.Timeout
	ro.ReadTimeout = opts.Timeout
	ro.WriteTimeout = opts.Timeout
	ro.PoolTimeout = opts.Timeout
	ro.ContextTimeoutEnabled = true
	ro.DisableIdentity = true
	opts.Logger.Info("shared cache tier", "addr", ro.Addr, "db", ro.DB, "tls", ro.TLSConfig != nil, "timeout", opts.Timeout.String())
	t := &Tier{
		client:  redis.NewClient(ro),
		seal:    s,
		timeout: opts.Timeout,
		metrics: newMetrics(opts.Registerer),
		log:     opts.Logger,
	}
	t.breaker = gobreaker.NewCircuitBreaker[[]byte](gobreaker.Settings{
		Name:        "shared-cache",
		MaxRequests: 1,
		Timeout:     opts.BreakerCooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= opts.BreakerFailures },
		IsSuccessful: func(err error) bool {
			return err == nil || errors.Is(err, redis.Nil)
		},
		OnStateChange: func(_ string, from, to gobreaker.State) {
			t.log.Warn("shared cache breaker", "from", from.String(), "to", to.String())
		},
	})
	return t, nil
}

// Close closes the connections.
func (t *Tier) Close() error { return t.client.Close() }

// Get returns the opened value stored for one authorizer's cache key. Anything but a value that
// opens (absent, store down or slow, breaker open, corrupted, swapped) is a miss, counted.
func (t *Tier) Get(ctx context.Context, authorizer string, key *[32]byte) ([]byte, bool) {
	name := t.seal.storeKey(authorizer, key)
	start := time.Now()
	sealed, err := t.call(ctx, func(ctx context.Context) ([]byte, error) {
		return t.client.Get(ctx, name).Bytes()
	})
	t.metrics.observe(opGet, time.Since(start))
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			t.failed(opGet, err)
		}
		t.metrics.misses.Inc()
		return nil, false
	}
	plain, err := t.seal.open(name, sealed)
	if err != nil {
		t.metrics.errors.WithLabelValues(reasonUnsealed).Inc()
		t.metrics.misses.Inc()
		t.log.Warn("shared cache value refused", "authorizer", authorizer, "error", err.Error())
		return nil, false
	}
	t.metrics.hits.Inc()
	return plain, true
}

// Set stores value for one authorizer's cache key, sealed, expiring after ttl. A failure is
// counted and otherwise ignored: the answer is still served, from this replica's cache.
func (t *Tier) Set(ctx context.Context, authorizer string, key *[32]byte, value []byte, ttl time.Duration) {
	if ttl < time.Millisecond {
		return
	}
	name := t.seal.storeKey(authorizer, key)
	sealed := t.seal.seal(name, value)
	start := time.Now()
	_, err := t.call(ctx, func(ctx context.Context) ([]byte, error) {
		return nil, t.client.Set(ctx, name, sealed, ttl).Err()
	})
	t.metrics.observe(opSet, time.Since(start))
	if err != nil {
		t.failed(opSet, err)
	}
}

// call runs one store call through the breaker, bounded by the timeout.
func (t *Tier) call(ctx context.Context, f func(context.Context) ([]byte, error)) ([]byte, error) {
	return t.breaker.Execute(func() ([]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, t.timeout)
		defer cancel()
		return f(ctx)
	})
}

func (t *Tier) failed(op string, err error) {
	reason := reasonStore
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		reason = reasonBreaker
	}
	t.metrics.errors.WithLabelValues(reason).Inc()
	if reason == reasonStore {
		t.log.Debug("shared cache call failed", "op", op, "error", err.Error())
	}
}

// invalidation is what travels on the channel: an authorizer's name and the cache keys to drop
// (none: all of its answers).
type invalidation struct {
	Authorizer string   `json:"a"`
	Keys       []string `json:"k,omitempty"`
}

// Invalidate deletes one authorizer's answers for keys from the store (keys nil: all its
// answers) and tells every replica, this one included, to drop its own copies.
func (t *Tier) Invalidate(ctx context.Context, authorizer string, keys [][32]byte) error {
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	msg := invalidation{Authorizer: authorizer}
	if keys == nil {
		if err := t.deletePrefix(ctx, t.seal.authorizerPrefix(authorizer)); err != nil {
			return fmt.Errorf("shared cache: %w", err)
		}
	} else {
		names := make([]string, len(keys))
		msg.Keys = make([]string, len(keys))
		for i := range keys {
			names[i] = t.seal.storeKey(authorizer, &keys[i])
			msg.Keys[i] = hex.EncodeToString(keys[i][:])
		}
		if len(names) > 0 {
			if err := t.client.Unlink(ctx, names...).Err(); err != nil {
				return fmt.Errorf("shared cache: %w", err)
			}
		}
	}
	// The store is emptied first: a replica told to drop its copy must not find it again there.
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if err := t.client.Publish(ctx, invalidateChannel, t.seal.seal(invalidateChannel, body)).Err(); err != nil {
		return fmt.Errorf("shared cache: %w", err)
	}
	return nil
}

func (t *Tier) deletePrefix(ctx context.Context, prefix string) error {
	var cursor uint64
	for {
		names, next, err := t.client.Scan(ctx, cursor, prefix+"*", 1000).Result()
		if err != nil {
			return err
		}
		if len(names) > 0 {
			if err := t.client.Unlink(ctx, names...).Err(); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// Subscribe calls drop for every invalidation published by any replica (keys nil: all of the
// authorizer's answers) until ctx ends. The subscription survives the store going away and
// coming back. It returns once the subscription is confirmed or ctx ends; a store that is down
// now is subscribed to when it is back.
func (t *Tier) Subscribe(ctx context.Context, drop func(authorizer string, keys [][32]byte)) {
	ps := t.client.Subscribe(ctx, invalidateChannel)
	// The confirmation, so an invalidation published after Subscribe returns reaches this
	// replica; a store that does not confirm soon is left to the reconnecting loop below.
	confirm, cancel := context.WithTimeout(ctx, 20*t.timeout)
	if _, err := ps.Receive(confirm); err != nil {
		t.log.Warn("shared cache invalidations not subscribed yet; retrying in the background", "error", err.Error())
	}
	cancel()
	ch := ps.Channel()
	go func() {
		<-ctx.Done()
		ps.Close()
	}()
	go func() {
		for m := range ch {
			t.apply(m.Payload, drop)
		}
	}()
}

func (t *Tier) apply(payload string, drop func(string, [][32]byte)) {
	plain, err := t.seal.open(invalidateChannel, []byte(payload))
	if err != nil {
		t.metrics.errors.WithLabelValues(reasonUnsealed).Inc()
		t.log.Warn("shared cache invalidation refused", "error", err.Error())
		return
	}
	var msg invalidation
	if err := json.Unmarshal(plain, &msg); err != nil {
		t.log.Warn("shared cache invalidation refused", "error", err.Error())
		return
	}
	var keys [][32]byte
	if msg.Keys != nil {
		keys = make([][32]byte, 0, len(msg.Keys))
		for _, k := range msg.Keys {
			var key [32]byte
			if n, err := hex.Decode(key[:], []byte(k)); err != nil || n != 32 {
				continue
			}
			keys = append(keys, key)
		}
	}
	drop(msg.Authorizer, keys)
}

// ClientLogs sends the Redis client's own messages (reconnects, dial failures) to l at debug
// level, instead of the standard logger's unstructured lines on stderr. The client's logger is
// process-wide: call it once, from main.
func ClientLogs(l *slog.Logger) { redis.SetLogger(clientLogger{l}) }

type clientLogger struct{ l *slog.Logger }

func (c clientLogger) Printf(ctx context.Context, format string, v ...any) {
	c.l.Debug(fmt.Sprintf(format, v...), "component", "redis-client")
}
