package handlers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/acme/totp/guard"
)

// Metrics are the service's Prometheus collectors, on a registry of their
// own. Labels are route templates, methods, status codes and fixed result
// words: never a secret, a code, a subject or a key, and a bounded set.
type Metrics struct {
	registry *prometheus.Registry

	requests *prometheus.CounterVec   // route, method, code
	duration *prometheus.HistogramVec // route, method

	verifications          *prometheus.CounterVec // result
	challengesIssued       prometheus.Counter
	challengeVerifications *prometheus.CounterVec // result
	recoveryGenerated      prometheus.Counter
	recoveryVerifications  *prometheus.CounterVec // result
}

// Result labels beyond the guard's reasons.
const (
	resultValid       = "valid"
	resultThrottled   = "throttled"
	resultUnavailable = "unavailable"
)

// NewMetrics registers every collector, the Go runtime's and the process's
// among them, on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "HTTP request latency by route template and method.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"route", "method"}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "totp_verifications_total",
			Help: "TOTP verifications by result.",
		}, []string{"result"}),
		challengesIssued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "totp_challenges_issued_total",
			Help: "Email and SMS challenges issued.",
		}),
		challengeVerifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "totp_challenge_verifications_total",
			Help: "Email and SMS challenge verifications by result.",
		}, []string{"result"}),
		recoveryGenerated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "totp_recovery_codes_generated_total",
			Help: "Recovery codes generated.",
		}),
		recoveryVerifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "totp_recovery_verifications_total",
			Help: "Recovery code verifications by result.",
		}, []string{"result"}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.verifications, m.challengesIssued,
		m.challengeVerifications, m.recoveryGenerated, m.recoveryVerifications,
	)
	// Every result from the start, so dashboards see zeros, not gaps.
	for _, r := range []string{resultValid, string(guard.Mismatch), string(guard.Malformed), string(guard.Replayed), string(guard.Stale), resultThrottled, resultUnavailable} {
		m.verifications.WithLabelValues(r)
	}
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// knownMethods bounds the method label: anything else is "other".
var knownMethods = map[string]string{
	http.MethodGet: http.MethodGet, http.MethodHead: http.MethodHead, http.MethodPost: http.MethodPost,
	http.MethodPut: http.MethodPut, http.MethodPatch: http.MethodPatch, http.MethodDelete: http.MethodDelete,
	http.MethodOptions: http.MethodOptions,
}

// observe counts and times every request under its route template.
func (m *Metrics) observe(c *gin.Context) {
	timer := prometheus.NewTimer(nil)
	c.Next()
	method, ok := knownMethods[c.Request.Method]
	if !ok {
		method = "other"
	}
	r := route(c)
	m.requests.WithLabelValues(r, method, strconv.Itoa(c.Writer.Status())).Inc()
	m.duration.WithLabelValues(r, method).Observe(timer.ObserveDuration().Seconds())
}

// result is the label of a verification's outcome.
func result(reason guard.Reason, err error) string {
	if err == nil {
		if reason == "" {
			return resultValid
		}
		return string(reason)
	}
	var throttled *guard.ThrottledError
	switch {
	case errors.As(err, &throttled):
		return resultThrottled
	case errors.Is(err, guard.ErrUnavailable):
		return resultUnavailable
	}
	return "error"
}

// countVerification, countChallenge and countRecovery record outcomes;
// a nil *Metrics records nothing.
func (m *Metrics) countVerification(reason guard.Reason, err error) {
	if m != nil {
		m.verifications.WithLabelValues(result(reason, err)).Inc()
	}
}

func (m *Metrics) countChallengeVerification(reason guard.Reason, err error) {
	if m != nil {
		m.challengeVerifications.WithLabelValues(result(reason, err)).Inc()
	}
}

func (m *Metrics) countRecoveryVerification(reason guard.Reason, err error) {
	if m != nil {
		m.recoveryVerifications.WithLabelValues(result(reason, err)).Inc()
	}
}

func (m *Metrics) countChallengeIssued() {
	if m != nil {
		m.challengesIssued.Inc()
	}
}

func (m *Metrics) countRecoveryGenerated(n int) {
	if m != nil {
		m.recoveryGenerated.Add(float64(n))
	}
}
