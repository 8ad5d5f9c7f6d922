package daemon

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the daemon's Prometheus metrics, in a registry of their own
// (no global registration), all named sfbridge_*.
type Metrics struct {
	reg           *prometheus.Registry
	tokenRequests *prometheus.CounterVec
	apiCalls      *prometheus.CounterVec
	apiUsed       *prometheus.GaugeVec
	apiMax        *prometheus.GaugeVec
	sessionAge    *prometheus.GaugeVec
	orgReady      *prometheus.GaugeVec
	doctorRuns    *prometheus.CounterVec
	componentUp   *prometheus.GaugeVec
	restarts      *prometheus.CounterVec
	pipeEvents    *prometheus.CounterVec
	pipeErrors    *prometheus.CounterVec
	pipeLag       *prometheus.GaugeVec
	pipeSuccess   *prometheus.GaugeVec
	// The bot-facing API's and the webhooks' metrics.
	webhookDeliveries *prometheus.CounterVec
	sseClients        *prometheus.GaugeVec
	handoffsOpen      *prometheus.GaugeVec
}

// NewMetrics creates the metrics and a registry holding them plus the Go
// runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		tokenRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sfbridge_token_requests_total",
			Help: "JWT bearer token requests to Salesforce by org and result (granted, refused, error).",
		}, []string{"org", "result"}),
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sfbridge_api_calls_total",
			Help: "Salesforce API calls by org and HTTP status (\"error\" when no response came).",
		}, []string{"org", "status"}),
		apiUsed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sfbridge_api_usage_requests",
			Help: "Daily API requests used in the org, from the latest Sforce-Limit-Info header.",
		}, []string{"org"}),
		apiMax: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sfbridge_api_usage_limit_requests",
			Help: "Daily API request limit of the org, from the latest Sforce-Limit-Info header.",
		}, []string{"org"}),
		sessionAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sfbridge_session_age_seconds",
			Help: "Age of the org's current Salesforce session; absent while there is none.",
		}, []string{"org"}),
		orgReady: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sfbridge_org_ready",
			Help: "1 when the org has a session and passed its required checks, else 0.",
		}, []string{"org"}),
		doctorRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sfbridge_doctor_runs_total",
			Help: "Doctor runs by org and outcome (ok, failed).",
		}, []string{"org", "outcome"}),
		componentUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sfbridge_component_up",
			Help: "1 when the org's component is running and its last piece of work succeeded, else 0.",
		}, []string{"org", "component"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sfbridge_component_restarts_total",
			Help: "Restarts of the org's component after it failed.",
		}, []string{"org", "component"}),
		pipeEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sfbridge_pipeline_events_total",
			Help: "Events the org's pipeline committed: event-log rows, case events, knowledge changes, directory entries, journal records removed.",
		}, []string{"org", "pipeline"}),
		pipeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sfbridge_pipeline_errors_total",
			Help: "Failed passes of the org's pipeline.",
		}, []string{"org", "pipeline"}),
		pipeLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sfbridge_pipeline_lag_seconds",
			Help: "Seconds since the org's pipeline last completed a pass on this replica; absent before the first.",
		}, []string{"org", "pipeline"}),
		pipeSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sfbridge_pipeline_last_success_timestamp_seconds",
			Help: "Unix time of the last completed pass of the org's pipeline on this replica.",
		}, []string{"org", "pipeline"}),
		webhookDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sfbridge_webhook_deliveries_total",
			Help: "Webhook delivery outcomes by org and result (delivered, retried, failed, dead_lettered, filtered).",
		}, []string{"org", "result"}),
		sseClients: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sfbridge_sse_clients",
			Help: "Open server-sent-event streams of the bot-facing API (org events and handoff events) by org.",
		}, []string{"org"}),
		handoffsOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sfbridge_handoffs_open",
			Help: "Live-agent handoffs the org's pump follows on this replica.",
		}, []string{"org"}),
	}
	m.reg.MustRegister(m.webhookDeliveries, m.sseClients, m.handoffsOpen)
	m.reg.MustRegister(m.pipeEvents, m.pipeErrors, m.pipeLag, m.pipeSuccess)
	m.reg.MustRegister(m.tokenRequests, m.apiCalls, m.apiUsed, m.apiMax, m.sessionAge, m.orgReady, m.doctorRuns, m.componentUp, m.restarts,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry exposes the registry, for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveAPIUsage records the org's daily API usage.
func (m *Metrics) ObserveAPIUsage(org string, used, limit int) {
	m.apiUsed.WithLabelValues(org).Set(float64(used))
	m.apiMax.WithLabelValues(org).Set(float64(limit))
}

// TokenTransport counts the token requests that pass through base.
func (m *Metrics) TokenTransport(org string, base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := base.RoundTrip(req)
		result := "error"
		switch {
		case err != nil:
		case resp.StatusCode == http.StatusOK:
			result = "granted"
		case resp.StatusCode >= 400 && resp.StatusCode < 500:
			result = "refused"
		}
		m.tokenRequests.WithLabelValues(org, result).Inc()
		return resp, err
	})
}

// APITransport counts the API calls that pass through base by status and
// hands each response to observe (nil to skip), which reads headers such
// as Sforce-Limit-Info.
func (m *Metrics) APITransport(org string, base http.RoundTripper, observe func(*http.Response)) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := base.RoundTrip(req)
		if err != nil {
			m.apiCalls.WithLabelValues(org, "error").Inc()
			return resp, err
		}
		m.apiCalls.WithLabelValues(org, strconv.Itoa(resp.StatusCode)).Inc()
		if observe != nil {
			observe(resp)
		}
		return resp, nil
	})
}

func (m *Metrics) setReady(org string, ready bool) {
	v := 0.0
	if ready {
		v = 1
	}
	m.orgReady.WithLabelValues(org).Set(v)
}

func (m *Metrics) setSessionAge(org string, seconds float64, ok bool) {
	if !ok {
		m.sessionAge.DeleteLabelValues(org)
		return
	}
	m.sessionAge.WithLabelValues(org).Set(seconds)
}

func (m *Metrics) doctorRun(org string, ok bool) {
	outcome := "failed"
	if ok {
		outcome = "ok"
	}
	m.doctorRuns.WithLabelValues(org, outcome).Inc()
}

func (m *Metrics) setComponentUp(org, component string, up bool) {
	v := 0.0
	if up {
		v = 1
	}
	m.componentUp.WithLabelValues(org, component).Set(v)
}

// componentAdded exports the component's series from the start (up 0,
// no restarts).
func (m *Metrics) componentAdded(org, component string) {
	m.componentUp.WithLabelValues(org, component).Set(0)
	m.restarts.WithLabelValues(org, component)
}

func (m *Metrics) componentRestarted(org, component string) {
	m.restarts.WithLabelValues(org, component).Inc()
}

// pipelineAdded exports a pipeline's counters from the start.
func (m *Metrics) pipelineAdded(org, pipeline string) {
	m.pipeEvents.WithLabelValues(org, pipeline)
	m.pipeErrors.WithLabelValues(org, pipeline)
}

func (m *Metrics) pipelinePass(org, pipeline string, events int, at time.Time) {
	m.pipeEvents.WithLabelValues(org, pipeline).Add(float64(events))
	m.pipeSuccess.WithLabelValues(org, pipeline).Set(float64(at.UnixMilli()) / 1000)
}

func (m *Metrics) pipelineError(org, pipeline string) {
	m.pipeErrors.WithLabelValues(org, pipeline).Inc()
}

func (m *Metrics) setPipelineLag(org, pipeline string, seconds float64, ok bool) {
	if !ok {
		m.pipeLag.DeleteLabelValues(org, pipeline)
		return
	}
	m.pipeLag.WithLabelValues(org, pipeline).Set(seconds)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
