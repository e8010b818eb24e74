package chat

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics; registered on the Server's own registry.
type metrics struct {
	connections    prometheus.Gauge
	connsTotal     *prometheus.CounterVec
	messagesIn     *prometheus.CounterVec
	messagesOut    *prometheus.CounterVec
	replyLatency   prometheus.Histogram
	errors         *prometheus.CounterVec
	replays        prometheus.Counter
	duplicates     prometheus.Counter
	disconnections *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shopchat_connections", Help: "Open customer WebSocket connections."}),
		connsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shopchat_connections_total", Help: "WebSocket upgrade attempts by result."}, []string{"result"}),
		messagesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shopchat_messages_in_total", Help: "Frames received from customers, by frame type."}, []string{"type"}),
		messagesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shopchat_messages_out_total", Help: "Messages stored for delivery, by sender."}, []string{"sender"}),
		replyLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "shopchat_reply_latency_seconds",
			Help:    "From a customer message's arrival to the bot's reply being stored and published.",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5},
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shopchat_errors_total", Help: "Error frames sent, by code."}, []string{"code"}),
		replays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shopchat_replayed_messages_total", Help: "Messages sent from the store on resume or to fill a gap."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shopchat_duplicate_messages_total", Help: "Inbound messages recognised as resent duplicates."}),
		disconnections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shopchat_disconnections_total", Help: "Connections closed, by reason."}, []string{"reason"}),
	}
	reg.MustRegister(m.connections, m.connsTotal, m.messagesIn, m.messagesOut, m.replyLatency,
		m.errors, m.replays, m.duplicates, m.disconnections)
	return m
}

// NewRegistry returns a Prometheus registry with the Go runtime and process collectors, for
// Config.Registry and DialogueConfig.Registry.
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

func metricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}
