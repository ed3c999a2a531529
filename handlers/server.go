// Package handlers is the HTTP layer of the service: Gin routes that
// translate requests into calls on the domain packages (otp, guard,
// challenge, recovery), and their answers and errors into JSON, and
// nothing else.
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
	swaggerFiles "github.com/swaggo/files"
	ginSwagger "github.com/swaggo/gin-swagger"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/acme/totp/access"
	"github.com/acme/totp/challenge"
	"github.com/acme/totp/client/api"
	"github.com/acme/totp/docs"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/otp"
	"github.com/acme/totp/recovery"
	"github.com/acme/totp/seal"
)

// Config is what the service is built from: main fills it from flags and
// the environment, tests from their own clock and store.
type Config struct {
	// Now is the clock every code and verification is computed against.
	Now func() time.Time
	// Random is where new secrets and codes come from: crypto/rand.Reader
	// outside tests.
	Random io.Reader
	// Log receives one line per request and every unexpected error.
	// Secrets, codes and bodies are never logged.
	Log *slog.Logger

	// Store keeps the guard's records; nil turns the guard off (codes may
	// be reused within their window and guessed without limit).
	Store guard.Store
	// GuardKey keys the fingerprints that name secrets in Store; instances
	// sharing a Store must share it.
	GuardKey []byte
	// MaxFailures wrong codes inside FailureWindow lock a secret (or, when
	// the request names a client, that client of the secret; or a set of
	// recovery hashes); each lock within a day doubles the last, up to a
	// day. Zero: guard.DefaultMaxFailures and guard.DefaultFailureWindow.
	MaxFailures   int
	FailureWindow time.Duration
	// SecretMaxFailures wrong codes over all clients of a secret lock it
	// (zero: guard.SecretCeilingFactor × MaxFailures).
	SecretMaxFailures int
	// KeyShare is how many guard records one API key may hold (zero: no
	// bound); only with Keys.
	KeyShare int
	// RecoveryKeys key recovery code hashes: the first makes new ones,
	// all check. None: plain SHA-256 hashes.
	RecoveryKeys []seal.Key

	// ChallengeKeys seal email and SMS challenges: the first seals, all
	// open. Without any, a random key is made and a warning logged: a
	// challenge lives minutes, so losing them at a restart costs little.
	ChallengeKeys        []seal.Key
	ChallengeMaxAttempts int
	// ChallengeSubjectMaxFailures wrong codes for one subject and purpose
	// within an hour, over all its challenges, lock the subject (zero:
	// challenge.DefaultSubjectMaxFailures).
	ChallengeSubjectMaxFailures int
	// ChallengeMinDigits is the fewest digits a challenge may have (zero:
	// challenge.DefaultMinDigits).
	ChallengeMinDigits int

	// SealKeys seal the secrets callers store: the first seals, all open.
	// Without any, sealing and opening answer sealing_not_configured; never
	// a random key, which would make every stored secret useless at the
	// next restart.
	SealKeys []seal.Key
	// SealContextOptional lets secrets be sealed and opened without a
	// context (SEAL_CONTEXT=optional); by default one is needed.
	SealContextOptional bool

	// QRConcurrency is how many QR codes may be drawn at once; more are
	// answered 503 busy. Zero means one per two CPUs, at least one.
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
}

// Server holds what the handlers depend on, built once by New.
type Server struct {
	now        func() time.Time
	random     io.Reader
	log        *slog.Logger
	verifier   *guard.Verifier
	challenges *challenge.Service
	recovery   *recovery.Service
	sealer     *otp.Sealer // nil without SealKeys
	metrics    *metrics
	version    string

	fullWarnings rareLog       // "guard store full", at most once a minute
	qrSlots      chan struct{} // one per QR code being drawn
	heavySlots   chan struct{} // one per costly verification (maxLightCost) running
}

// New wires the services cfg describes and returns the router with every
// route and middleware. main, the tests, the client's tests and the
// benchmarks all build the service through it.
func New(cfg Config) (http.Handler, error) {
	s, err := newServer(cfg)
	if err != nil {
		return nil, err
	}
	return s.routes(cfg.Keys, cfg.Tracing), nil
}

// newServer builds the Server cfg describes.
func newServer(cfg Config) (*Server, error) {
	if cfg.Now == nil || cfg.Random == nil || cfg.Log == nil {
		return nil, errors.New("handlers: Now, Random and Log are required")
	}
	keys := cfg.ChallengeKeys
	if len(keys) == 0 {
		keys = []seal.Key{{ID: "random", Secret: make([]byte, seal.KeyLen)}}
		if _, err := io.ReadFull(cfg.Random, keys[0].Secret); err != nil {
			return nil, err
		}
		cfg.Log.Warn("no CHALLENGE_KEYS: challenges are sealed with a random key, so they do not survive a restart or cross instances")
	}
	store := cfg.Store
	if cfg.Keys != nil {
		store = guard.OwnerShare(store, cfg.KeyShare)
	}
	challenges, err := challenge.New(challenge.Options{
		Keys: keys, Store: store, Now: cfg.Now, Random: cfg.Random, FingerprintKey: cfg.GuardKey,
		MaxAttempts: cfg.ChallengeMaxAttempts, SubjectMaxFailures: cfg.ChallengeSubjectMaxFailures,
		MinDigits: cfg.ChallengeMinDigits,
	})
	if err != nil {
		return nil, err
	}
	s := &Server{
		now:    cfg.Now,
		random: cfg.Random,
		log:    cfg.Log,
		verifier: guard.New(guard.Options{
			Store:             store,
			Key:               cfg.GuardKey,
			MaxFailures:       cfg.MaxFailures,
			FailureWindow:     cfg.FailureWindow,
			SecretMaxFailures: cfg.SecretMaxFailures,
		}),
		challenges: challenges,
		recovery: recovery.New(recovery.Options{
			Keys: cfg.RecoveryKeys, Store: store, Now: cfg.Now, FingerprintKey: cfg.GuardKey,
			MaxFailures: cfg.MaxFailures, FailureWindow: cfg.FailureWindow,
		}),
		metrics: newMetrics(cfg.Store, cfg.Version),
		version: cfg.Version,
	}
	if len(cfg.SealKeys) > 0 {
		ring, err := seal.NewRing(otp.SealLabel, cfg.SealKeys)
		if err != nil {
			return nil, err
		}
		s.sealer = &otp.Sealer{Ring: ring, Random: cfg.Random, ContextOptional: cfg.SealContextOptional}
	}
	s.fullWarnings.every = time.Minute
	qrSlots := cfg.QRConcurrency
	if qrSlots < 1 {
		qrSlots = max(1, runtime.GOMAXPROCS(0)/2)
	}
	s.qrSlots = make(chan struct{}, qrSlots)
	s.heavySlots = make(chan struct{}, qrSlots)
	return s, nil
}

// routes registers every route and middleware.
func (s *Server) routes(keys *access.Ring, tracing trace.TracerProvider) *gin.Engine {
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
		return newProblem(http.StatusNotFound, api.CodeNotFound, "", "no route for "+c.Request.Method+" on this path")
	}))
	r.NoMethod(s.handle(func(c *gin.Context) error {
		return newProblem(http.StatusMethodNotAllowed, api.CodeMethodNotAllowed, "",
			"method "+c.Request.Method+" is not allowed here; see the Allow header")
	}))

	// Open to all: the redirect, probes and the docs.
	r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/swagger/index.html") })
	r.GET("/healthz", s.handle(s.health))
	r.GET("/readyz", s.handle(s.ready))
	// Swagger UI shows the OpenAPI 3 document; the Swagger 2.0 one stays at
	// /swagger/doc.json for the tools that read only 2.0.
	r.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", docs.OpenAPI) })
	swagger := ginSwagger.WrapHandler(swaggerFiles.Handler, ginSwagger.URL("/openapi.json"), ginSwagger.PersistAuthorization(false))
	r.GET("/swagger/*any", func(c *gin.Context) {
		if c.Param("any") == "/" {
			c.Redirect(http.StatusFound, "/swagger/index.html")
			return
		}
		swagger(c)
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
	keyed.POST("/generate/recovery-codes", s.handle(s.generateRecoveryCodes))
	keyed.POST("/verify/recovery-code", s.handle(s.verifyRecoveryCode))

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
func (s *Server) health(c *gin.Context) error {
	return reply(c, http.StatusOK, api.HealthResponse{Status: "ok", Version: s.version})
}

// ready answers GET /readyz: whether the guard store can be reached, so a
// load balancer sends no logins to an instance that would answer 503.
//
//	@Summary	Readiness check
//	@ID				getReadiness
//	@Tags		operations
//	@Produce	json
//	@Success	200	{object}	api.ReadyResponse
//	@Failure	503	{object}	api.Problem	"guard store unreachable"
//	@Router		/readyz [get]
func (s *Server) ready(c *gin.Context) error {
	if err := s.verifier.Ready(c.Request.Context()); err != nil {
		return err
	}
	return reply(c, http.StatusOK, api.ReadyResponse{Status: "ready"})
}
