package engine

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
)

// Metrics are the decision pipeline's Prometheus metrics. Labels are low-cardinality: Api and
// authorizer names, outcomes; never paths, principals or tokens.
type Metrics struct {
	checks         *prometheus.CounterVec
	checksByTarget sync.Map // checkTarget -> *[numOutcomes]prometheus.Counter
	checkDuration  prometheus.Histogram
	backendCalls   *prometheus.CounterVec
	backendLatency *prometheus.HistogramVec
	cacheHits      prometheus.Counter
	cacheMisses    prometheus.Counter
	dryRuns        *prometheus.CounterVec
}

// NewMetrics registers the pipeline's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_check_total", Help: "Checks decided, by Api, authorizer and decision.",
		}, []string{"api", "authorizer", "decision"}),
		checkDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "portcullis_check_duration_seconds",
			Help:    "Time to decide one Check, backend calls included.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		backendCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_backend_requests_total", Help: "Authorizer backend calls, by outcome.",
		}, []string{"authorizer", "outcome"}),
		backendLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "portcullis_backend_duration_seconds",
			Help:    "Authorizer backend call latency.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"authorizer"}),
		cacheHits:   prometheus.NewCounter(prometheus.CounterOpts{Name: "portcullis_cache_hits_total", Help: "Answers served from the cache."}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{Name: "portcullis_cache_misses_total", Help: "Answers that needed a backend call."}),
		dryRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_dry_run_total", Help: "Denials let through by dry run, by Api, authorizer and the decision they would have been.",
		}, []string{"api", "authorizer", "decision"}),
	}
	reg.MustRegister(m.checks, m.checkDuration, m.backendCalls, m.backendLatency, m.cacheHits, m.cacheMisses, m.dryRuns)
	return m
}

func (m *Metrics) observeCheck(d *Decision, took time.Duration) {
	m.checkCounter(d).Inc()
	if d.DryRun != Allow {
		m.dryRuns.WithLabelValues(d.Api, d.Authorizer, d.DryRun.DryRunName()).Inc()
	}
	m.checkDuration.Observe(took.Seconds())
}

type checkTarget struct{ api, authorizer string }

// checkCounter returns d's portcullis_check_total counter. The counters of an Api and authorizer
// are looked up once and kept in a sync.Map, whose reads take no lock: CounterVec's own lookup
// hashes the three labels and takes its read lock, shared by every Check, on every call.
func (m *Metrics) checkCounter(d *Decision) prometheus.Counter {
	if d.Outcome >= numOutcomes {
		return m.checks.WithLabelValues(d.Api, d.Authorizer, d.Outcome.String())
	}
	k := checkTarget{d.Api, d.Authorizer}
	v, ok := m.checksByTarget.Load(k)
	if !ok {
		var counters [numOutcomes]prometheus.Counter
		for o := range counters {
			counters[o] = m.checks.WithLabelValues(d.Api, d.Authorizer, Outcome(o).String())
		}
		v, _ = m.checksByTarget.LoadOrStore(k, &counters)
	}
	return v.(*[numOutcomes]prometheus.Counter)[d.Outcome]
}

func (m *Metrics) observeCache(hit bool) {
	if hit {
		m.cacheHits.Inc()
	} else {
		m.cacheMisses.Inc()
	}
}

func (m *Metrics) observeBackend(name string, err error, took time.Duration) {
	outcome := "ok"
	switch {
	case err == nil:
	case errors.Is(err, authorizer.ErrUnauthorized):
		outcome = "unauthorized"
	case errors.Is(err, authorizer.ErrConfiguration):
		outcome = "bad_answer"
	default:
		outcome = "error"
	}
	m.backendCalls.WithLabelValues(name, outcome).Inc()
	m.backendLatency.WithLabelValues(name).Observe(took.Seconds())
}
