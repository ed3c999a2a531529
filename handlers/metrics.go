package handlers

import (
	"errors"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/acme/totp/events"
	"github.com/acme/totp/guard"
)

// metrics are the service's Prometheus collectors, on a registry of their
// own. Labels are route templates, methods, status codes and fixed result
// words: never a secret, a code, a subject or a key, and a bounded set.
type metrics struct {
	registry *prometheus.Registry

	requests *children[requestLabels, requestCollectors]

	verifications          *children[string, prometheus.Counter] // by result
	challengesIssued       prometheus.Counter
	challengeVerifications *children[string, prometheus.Counter] // by result
	recoveryGenerated      prometheus.Counter
	recoveryVerifications  *children[string, prometheus.Counter] // by result
	seals                  *children[sealLabels, prometheus.Counter]
	refusals               *children[refusalLabels, prometheus.Counter]
	deliveries             *children[deliveryLabels, prometheus.Counter]
	trust                  *children[sealLabels, prometheus.Counter]
	deliveryTime           *prometheus.HistogramVec
}

// deliveryLabels are a delivery's labels: the channel, and sent, failed
// (the provider refused) or unavailable (it could not be reached).
type deliveryLabels struct{ channel, result string }

// refusalLabels are a guard refusal's labels: why, and the API key's name
// (never the key; "none" without keys).
type refusalLabels struct{ reason, key string }

// sealLabels are a seal operation's labels: seal or open, ok or invalid.
type sealLabels struct{ operation, result string }

// requestLabels are a request's labels; the duration has no code.
type requestLabels struct {
	route, method, key string
	code               int
}

type requestCollectors struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// children caches a vector's children by their labels: WithLabelValues
// hashes every label value on every call, which showed in the profile of
// the verify route. Labels are bounded sets, and so is the cache.
type children[K comparable, C any] struct {
	mu       sync.RWMutex
	m        map[K]C
	newChild func(K) C
}

func newChildren[K comparable, C any](newChild func(K) C) *children[K, C] {
	return &children[K, C]{m: map[K]C{}, newChild: newChild}
}

func (c *children[K, C]) get(k K) C {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[k]; ok {
		return v
	}
	v = c.newChild(k)
	c.m[k] = v
	return v
}

// counters caches vec's children by their one label.
func counters(vec *prometheus.CounterVec) *children[string, prometheus.Counter] {
	return newChildren(func(label string) prometheus.Counter { return vec.WithLabelValues(label) })
}

// Result labels beyond the guard's reasons.
const (
	resultValid       = "valid"
	resultThrottled   = "throttled"
	resultUnavailable = "unavailable"
	resultStoreFull   = "store_full"
	resultRateLimited = "rate_limited"
	resultOK          = "ok"
	resultInvalid     = "invalid"
)

// boundedStore is a guard store that counts its records and refusals, as
// the memory store does.
type boundedStore interface {
	Len() int
	Capacity() int
	Refused() uint64
}

// newMetrics registers every collector, the Go runtime's and the process's
// among them, on a new registry, with the guard store's size and refusals
// when it counts them.
func newMetrics(store guard.Store, sink *events.Sink, version string) *metrics {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total",
		Help: "HTTP requests by route template, method, status code and API key name (\"\" without keys).",
	}, []string{"route", "method", "code", "key"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_request_duration_seconds",
		Help:    "HTTP request latency by route template and method.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"route", "method"})
	verifications := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "totp_verifications_total",
		Help: "TOTP verifications by result.",
	}, []string{"result"})
	challengeVerifications := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "totp_challenge_verifications_total",
		Help: "Email and SMS challenge verifications by result.",
	}, []string{"result"})
	recoveryVerifications := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "totp_recovery_verifications_total",
		Help: "Recovery code verifications by result.",
	}, []string{"result"})
	seals := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "totp_seal_operations_total",
		Help: "Secrets sealed (operation seal) and sealed secrets opened (operation open), by result: ok or invalid.",
	}, []string{"operation", "result"})
	refusals := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "totp_guard_refusals_total",
		Help: "Attempts the guard refused without looking at the code, by reason (throttled: a lock; store_full; rate_limited: the key's share is used up) and API key name.",
	}, []string{"reason", "key"})
	deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "totp_deliveries_total",
		Help: "Codes the service sent itself, by channel and result: sent, failed (the provider refused) or unavailable (it could not be reached in time).",
	}, []string{"channel", "result"})
	deliveryTime := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "totp_delivery_duration_seconds",
		Help:    "How long a delivery took, retries included, by channel.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10},
	}, []string{"channel"})
	trustOps := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "totp_trust_total",
		Help: "Trusted-device tokens issued (operation issue) and checked (operation verify), by result: ok, valid, or the reason a token does not hold.",
	}, []string{"operation", "result"})
	m := &metrics{
		registry: prometheus.NewRegistry(),
		trust: newChildren(func(l sealLabels) prometheus.Counter {
			return trustOps.WithLabelValues(l.operation, l.result)
		}),
		deliveries: newChildren(func(l deliveryLabels) prometheus.Counter {
			return deliveries.WithLabelValues(l.channel, l.result)
		}),
		deliveryTime: deliveryTime,
		requests: newChildren(func(l requestLabels) requestCollectors {
			return requestCollectors{
				count:    requests.WithLabelValues(l.route, l.method, strconv.Itoa(l.code), l.key),
				duration: duration.WithLabelValues(l.route, l.method),
			}
		}),
		verifications: counters(verifications),
		challengesIssued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "totp_challenges_issued_total",
			Help: "Email and SMS challenges issued.",
		}),
		challengeVerifications: counters(challengeVerifications),
		recoveryGenerated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "totp_recovery_codes_generated_total",
			Help: "Recovery codes generated.",
		}),
		recoveryVerifications: counters(recoveryVerifications),
		seals: newChildren(func(l sealLabels) prometheus.Counter {
			return seals.WithLabelValues(l.operation, l.result)
		}),
		refusals: newChildren(func(l refusalLabels) prometheus.Counter {
			return refusals.WithLabelValues(l.reason, l.key)
		}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		requests, duration, verifications, m.challengesIssued,
		challengeVerifications, m.recoveryGenerated, recoveryVerifications, seals, refusals,
		deliveries, deliveryTime, trustOps,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "totp_events_dropped_total",
			Help: "Security events dropped because the queue to EVENTS_WEBHOOK_URL was full (delivery is at most once).",
		}, func() float64 { return float64(sink.Dropped()) }),
	)
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "totp_build_info",
		Help: "Always 1, labelled with the service's version and the Go version that built it.",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	m.registry.MustRegister(buildInfo)
	if b, ok := store.(boundedStore); ok {
		m.registry.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "totp_guard_store_records",
				Help: "Records the in-memory guard store holds, expired ones not yet reclaimed included.",
			}, func() float64 { return float64(b.Len()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "totp_guard_store_capacity",
				Help: "Records the in-memory guard store may hold (GUARD_CAPACITY).",
			}, func() float64 { return float64(b.Capacity()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "totp_guard_store_refused_total",
				Help: "New records the in-memory guard store refused because it was full.",
			}, func() float64 { return float64(b.Refused()) }),
		)
	}
	// Every result from the start, so dashboards see zeros, not gaps.
	for _, r := range []string{resultValid, string(guard.Mismatch), string(guard.Malformed), string(guard.Replayed), string(guard.Stale), resultThrottled, resultUnavailable, resultStoreFull, resultRateLimited} {
		m.verifications.get(r)
	}
	for _, l := range []sealLabels{{"seal", resultOK}, {"open", resultOK}, {"open", resultInvalid}} {
		m.seals.get(l)
	}
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// knownMethods bounds the method label: anything else is "other".
var knownMethods = map[string]string{
	http.MethodGet: http.MethodGet, http.MethodHead: http.MethodHead, http.MethodPost: http.MethodPost,
	http.MethodPut: http.MethodPut, http.MethodPatch: http.MethodPatch, http.MethodDelete: http.MethodDelete,
	http.MethodOptions: http.MethodOptions,
}

// countRequest counts and times one request under its route template.
func (m *metrics) countRequest(route, method string, status int, key string, elapsed time.Duration) {
	if known, ok := knownMethods[method]; ok {
		method = known
	} else {
		method = "other"
	}
	r := m.requests.get(requestLabels{route: route, method: method, code: status, key: key})
	r.count.Inc()
	r.duration.Observe(elapsed.Seconds())
}

// result is the label of a verification's outcome; "" when err is about
// the request rather than the verification, which is then not counted.
func result(reason guard.Reason, err error) string {
	switch {
	case err == nil && reason == "":
		return resultValid
	case err == nil:
		return string(reason)
	}
	switch {
	case errors.Is(err, guard.ErrThrottled):
		return resultThrottled
	case errors.Is(err, guard.ErrUnavailable):
		return resultUnavailable
	case errors.Is(err, guard.ErrFull):
		return resultStoreFull
	case errors.Is(err, guard.ErrShare):
		return resultRateLimited
	}
	return ""
}

// count adds one to the child of vec labelled with the outcome, and to the
// refusals by key when the guard refused the attempt.
func (m *metrics) count(vec *children[string, prometheus.Counter], reason guard.Reason, err error, key string) {
	r := result(reason, err)
	if r == "" {
		return
	}
	vec.get(r).Inc()
	switch r {
	case resultThrottled, resultStoreFull, resultRateLimited:
		if key == "" {
			key = "none"
		}
		m.refusals.get(refusalLabels{r, key}).Inc()
	}
}

func (m *metrics) countVerification(reason guard.Reason, err error, key string) {
	m.count(m.verifications, reason, err, key)
}

func (m *metrics) countChallengeVerification(reason guard.Reason, err error, key string) {
	m.count(m.challengeVerifications, reason, err, key)
}

func (m *metrics) countRecoveryVerification(reason guard.Reason, err error, key string) {
	m.count(m.recoveryVerifications, reason, err, key)
}

func (m *metrics) countChallengeIssued() { m.challengesIssued.Inc() }

func (m *metrics) countTrust(operation, result string) {
	m.trust.get(sealLabels{operation, result}).Inc()
}

func (m *metrics) countDelivery(channel, result string, took time.Duration) {
	m.deliveries.get(deliveryLabels{channel, result}).Inc()
	m.deliveryTime.WithLabelValues(channel).Observe(took.Seconds())
}

func (m *metrics) countRecoveryGenerated(n int) { m.recoveryGenerated.Add(float64(n)) }

func (m *metrics) countSeal(operation, result string) {
	m.seals.get(sealLabels{operation, result}).Inc()
}
