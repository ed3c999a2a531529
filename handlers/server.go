package handlers

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	swaggerFiles "github.com/swaggo/files/v2"
	ginSwagger "github.com/swaggo/gin-swagger"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/net/webdav"

	"github.com/acme/totp/access"
	"github.com/acme/totp/challenge"
	"github.com/acme/totp/client/api"
	"github.com/acme/totp/delivery"
	"github.com/acme/totp/docs"
	"github.com/acme/totp/events"
	"github.com/acme/totp/fault"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/otp"
	"github.com/acme/totp/recovery"
	"github.com/acme/totp/trust"
)

// Config is what the handlers depend on: the domain services main
// builds, the clock and randomness they answer on, and the router's own
// settings.
type Config struct {
	// Now is the clock every code and verification is computed against.
	Now func() time.Time
	// Random is where new secrets and codes come from: crypto/rand.Reader
	// outside tests.
	Random io.Reader
	// Log receives one line per request and every unexpected error.
	// Secrets, codes and bodies are never logged.
	Log *slog.Logger

	// Verifier checks TOTP and HOTP codes; its store is Store.
	Verifier *guard.Verifier
	// Store is the guard's store, for the metrics of its fill; nil when
	// the guard is off.
	Store      guard.Store
	Challenges *challenge.Service
	Recovery   *recovery.Service
	// Sealer seals the secrets callers store; nil answers sealing and
	// opening with sealing_not_configured.
	Sealer *otp.Sealer
	// Events receives the security events: locks, used recovery codes, a
	// full store, bursts of wrong keys. Nil: none are told.
	Events *events.Sink
	// Trust issues and checks trusted-device tokens; nil answers them
	// with trust_not_configured.
	Trust *trust.Service
	// Delivery sends challenge codes through the channels it has; nil:
	// none, and channel answers delivery_not_configured.
	Delivery *delivery.Deliverer

	// QRConcurrency is how many QR codes (and costly HOTP verifications)
	// may run at once; more are answered 503 busy. Zero means one per two
	// CPUs, at least one.
	QRConcurrency int

	// Tracing, when set, makes a span of every API request through
	// otelgin, continuing the caller's W3C traceparent, and puts its trace
	// ID in the access line. Nil: no spans, and traceparent is ignored.
	Tracing trace.TracerProvider

	// Keys, when set, are the API keys every API route and /metrics
	// require, each route its scope (RouteScopes); main may replace the
	// ring's keys while serving. A key's name is what the guard counts
	// its share under, and what logs and metrics show. Nil: no key needed.
	Keys *access.Ring
	// Version is reported by /healthz.
	Version string
	// Stopping is closed when the instance is told to stop: /readyz
	// answers 503 shutting_down from then on, so that load balancers send
	// nothing more while the last requests are answered. Nil: never.
	Stopping <-chan struct{}
}

// server holds what the handlers depend on, built once by New.
type server struct {
	now        func() time.Time
	random     io.Reader
	log        *slog.Logger
	verifier   *guard.Verifier
	challenges *challenge.Service
	recovery   *recovery.Service
	sealer     *otp.Sealer // nil without SealKeys
	delivery   *delivery.Deliverer
	trust      *trust.Service
	events     *events.Sink
	metrics    *metrics
	version    string
	stopping   <-chan struct{}

	fullWarnings rareLog       // "guard store full", at most once a minute
	fullEvents   rareLog       // guard.store_full events, at most once a minute
	shareEvents  rareLog       // guard.key_share_exceeded events, likewise
	qrSlots      chan struct{} // one per QR code being drawn
	heavySlots   chan struct{} // one per costly verification (maxLightCost) running
}

// New returns the router with every route and middleware over the
// services cfg holds. main, the tests, the client's tests and the
// benchmarks all build the service through it.
func New(cfg Config) (http.Handler, error) {
	s, err := newServer(cfg)
	if err != nil {
		return nil, err
	}
	return s.routes(cfg.Keys, cfg.Tracing), nil
}

// newServer builds the server cfg describes.
func newServer(cfg Config) (*server, error) {
	if cfg.Now == nil || cfg.Random == nil || cfg.Log == nil || cfg.Verifier == nil || cfg.Challenges == nil || cfg.Recovery == nil {
		return nil, errors.New("handlers: Now, Random, Log, Verifier, Challenges and Recovery are required")
	}
	slots := cfg.QRConcurrency
	if slots < 1 {
		slots = max(1, runtime.GOMAXPROCS(0)/2)
	}
	return &server{
		now:          cfg.Now,
		random:       cfg.Random,
		log:          cfg.Log,
		verifier:     cfg.Verifier,
		challenges:   cfg.Challenges,
		recovery:     cfg.Recovery,
		sealer:       cfg.Sealer,
		delivery:     cfg.Delivery,
		trust:        cfg.Trust,
		events:       cfg.Events,
		metrics:      newMetrics(cfg.Store, cfg.Events, cfg.Version),
		version:      cfg.Version,
		stopping:     cfg.Stopping,
		fullWarnings: rareLog{every: time.Minute},
		fullEvents:   rareLog{every: time.Minute},
		shareEvents:  rareLog{every: time.Minute},
		qrSlots:      make(chan struct{}, slots),
		heavySlots:   make(chan struct{}, slots),
	}, nil
}

// routes registers every route and middleware.
func (s *server) routes(keys *access.Ring, tracing trace.TracerProvider) *gin.Engine {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.ContextWithFallback = true
	// The caller's address in the access line is the peer's: no
	// X-Forwarded-For is trusted, so nobody can write another address there.
	_ = r.SetTrustedProxies(nil)
	r.Use(requestID(newRequestIDs()))
	if tracing != nil {
		r.Use(otelgin.Middleware("totp",
			otelgin.WithTracerProvider(tracing),
			otelgin.WithPropagators(propagation.TraceContext{}),
			// Probes, scrapes and the docs are not worth a span each.
			otelgin.WithGinFilter(func(c *gin.Context) bool {
				return !quietRoutes[route(c)] && !strings.HasPrefix(c.FullPath(), "/swagger/")
			}),
		))
	}
	r.Use(s.observe, s.recover, securityHeaders)
	r.NoRoute(s.handle(func(c *gin.Context) error {
		return fault.Whole(fault.NotFound, api.CodeNotFound, "", "no route for "+c.Request.Method+" on this path")
	}))
	r.NoMethod(s.handle(func(c *gin.Context) error {
		return fault.Whole(fault.MethodNotAllowed, api.CodeMethodNotAllowed, "",
			"method "+c.Request.Method+" is not allowed here; see the Allow header")
	}))

	// Open to all: the redirect, probes and the docs.
	r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/swagger/index.html") })
	r.GET("/healthz", s.handle(s.health))
	r.GET("/readyz", s.handle(s.ready))
	// Swagger UI shows the OpenAPI 3 document; the Swagger 2.0 one stays at
	// /swagger/doc.json for the tools that read only 2.0.
	r.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", docs.OpenAPI) })
	//
	// gin-swagger writes the pages it fills in (the index, its style, the
	// initializer naming /openapi.json, the 2.0 document); Swagger UI's own
	// files come from swaggo/files/v2's embedded FS, read from the binary
	// rather than copied into the heap as swaggo/files v1 does (gin-swagger
	// serves only v1's webdav handler: swaggo/gin-swagger#264).
	swagger := ginSwagger.WrapHandler(&webdav.Handler{FileSystem: webdav.NewMemFS(), LockSystem: webdav.NewMemLS()},
		ginSwagger.URL("/openapi.json"), ginSwagger.PersistAuthorization(false))
	assets := http.StripPrefix("/swagger", http.FileServerFS(swaggerFiles.FS))
	r.GET("/swagger/*any", func(c *gin.Context) {
		switch c.Param("any") {
		case "/":
			c.Redirect(http.StatusFound, "/swagger/index.html")
		case "/index.html", "/index.css", "/swagger-initializer.js", "/doc.json":
			swagger(c)
		default:
			assets.ServeHTTP(c.Writer, c.Request)
		}
	})

	keyed := r.Group("")
	if keys != nil {
		keyed.Use(s.authenticate(keys, newPeerCounts(s.now)))
	}
	// With keys, the scrape needs the metrics scope: fill levels and
	// outcomes tell an attacker what works.
	keyed.GET("/metrics", gin.WrapH(s.metrics.Handler()))
	keyed.GET("/generate/secret", s.handle(s.generateSecret))
	keyed.POST("/generate/token", s.handle(s.generateToken))
	keyed.POST("/verify/token", s.handle(s.verifyToken))
	keyed.POST("/generate/qr", s.handle(s.generateQR))
	keyed.POST("/seal", s.handle(s.sealSecret))
	keyed.POST("/reseal", s.handle(s.resealSecret))
	keyed.POST("/hotp/token", s.handle(s.hotpToken))
	keyed.POST("/hotp/verify", s.handle(s.hotpVerify))
	keyed.POST("/hotp/resync", s.handle(s.hotpResync))
	keyed.POST("/challenge", s.handle(s.issueChallenge))
	keyed.POST("/challenge/verify", s.handle(s.verifyChallenge))
	keyed.POST("/challenge/resend", s.handle(s.resendChallenge))
	keyed.POST("/generate/recovery-codes", s.handle(s.generateRecoveryCodes))
	keyed.POST("/verify/recovery-code", s.handle(s.verifyRecoveryCode))

	keyed.POST("/trust", s.handle(s.issueTrust))
	keyed.POST("/trust/verify", s.handle(s.verifyTrust))

	project := keyed.Group("/2fa")
	project.POST("/requestotp", s.handle(s.requestOTP))
	project.POST("/verifyotp", s.handle(s.verifyOTP))

	legacy := keyed.Group("/auth")
	legacy.GET("/generate/secret/:encoding/:length", s.handle(s.legacyGenerateSecret))
	legacy.POST("/generate/token/:encoding", s.handle(s.legacyGenerateToken))
	legacy.POST("/verify/token/:encoding", s.handle(s.legacyVerifyToken))
	return r
}

// health answers GET /healthz.
//
//	@Summary	Liveness check
//	@ID				getHealth
//	@Tags		operations
//	@Produce	json
//	@Success	200	{object}	api.HealthResponse
//	@Router		/healthz [get]
func (s *server) health(c *gin.Context) error {
	return reply(c, http.StatusOK, api.HealthResponse{Status: "ok", Version: s.version})
}

// ready answers GET /readyz: whether the guard store can be reached, so a
// load balancer sends no logins to an instance that would answer 503, and
// whether the instance is staying.
//
//	@Summary	Readiness check
//	@ID				getReadiness
//	@Tags		operations
//	@Produce	json
//	@Success	200	{object}	api.ReadyResponse
//	@Failure	503	{object}	api.Problem	"guard store unreachable, or the instance is shutting down"
//	@Router		/readyz [get]
func (s *server) ready(c *gin.Context) error {
	select {
	case <-s.stopping:
		return errShuttingDown
	default:
	}
	if err := s.verifier.Ready(c.Request.Context()); err != nil {
		return err
	}
	return reply(c, http.StatusOK, api.ReadyResponse{Status: "ready"})
}
