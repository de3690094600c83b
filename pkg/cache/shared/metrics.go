package shared

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	opGet = "get"
	opSet = "set"

	reasonStore    = "store"    // the store failed or did not answer within the timeout
	reasonBreaker  = "breaker"  // not asked: the breaker is open after repeated failures
	reasonUnsealed = "unsealed" // a value (or an invalidation) failed to open
)

type metrics struct {
	hits, misses prometheus.Counter
	errors       *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	getLatency   prometheus.Observer
	setLatency   prometheus.Observer
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portcullis_shared_cache_hits_total", Help: "Answers read from the shared cache.",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portcullis_shared_cache_misses_total",
			Help: "Shared cache reads that gave no answer: absent, failed, timed out, breaker open, or refused.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_shared_cache_errors_total",
			Help: "Shared cache failures, by reason: store (failed or timed out), breaker (open, not asked), unsealed (a value that failed to open).",
		}, []string{"reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "portcullis_shared_cache_duration_seconds",
			Help:    "Shared cache call latency, by operation.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25},
		}, []string{"op"}),
	}
	for _, r := range []string{reasonStore, reasonBreaker, reasonUnsealed} {
		m.errors.WithLabelValues(r)
	}
	m.getLatency = m.latency.WithLabelValues(opGet)
	m.setLatency = m.latency.WithLabelValues(opSet)
	if reg != nil {
		reg.MustRegister(m.hits, m.misses, m.errors, m.latency)
	}
	return m
}

func (m *metrics) observe(op string, d time.Duration) {
	if op == opGet {
		m.getLatency.Observe(d.Seconds())
		return
	}
	m.setLatency.Observe(d.Seconds())
}
