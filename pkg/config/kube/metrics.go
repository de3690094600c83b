package kube

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the Kubernetes source.
type metrics struct {
	connected    prometheus.Gauge
	watchErrors  *prometheus.CounterVec
	statusWrites *prometheus.CounterVec
	resources    *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "portcullis_kubernetes_connected",
			Help: "1 while the Kubernetes API server answers, 0 while it does not (the config in force keeps serving).",
		}),
		watchErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_kubernetes_watch_errors_total",
			Help: "Watches of Authorizers and Apis that ended with an error, by kind.",
		}, []string{"kind"}),
		statusWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_kubernetes_status_writes_total",
			Help: "Status writes, by result: written, conflict (another replica or a change came first) or error.",
		}, []string{"result"}),
		resources: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "portcullis_config_resources",
			Help: "Resources read from the Kubernetes API, by kind and state: accepted, previous (rejected, its last accepted version serves) or invalid (rejected, left out).",
		}, []string{"kind", "state"}),
	}
	if reg != nil {
		reg.MustRegister(m.connected, m.watchErrors, m.statusWrites, m.resources)
	}
	return m
}

// setResources sets the resource gauges from counts by kind and state.
func (m *metrics) setResources(counts map[string]map[string]int) {
	for _, k := range kinds {
		for _, state := range []string{"accepted", "previous", "invalid"} {
			m.resources.WithLabelValues(k.kind, state).Set(float64(counts[k.kind][state]))
		}
	}
}
