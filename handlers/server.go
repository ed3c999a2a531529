// Package handlers is the HTTP layer of the service: Gin routes that
// translate requests into calls on the domain packages (otp, guard,
// challenge, recovery), and their answers and errors into JSON, and
// nothing else.
package handlers

import (
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/api"
	"github.com/acme/totp/challenge"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/recovery"
)

// Server holds what the handlers depend on. Its zero value is not usable:
// set every field.
type Server struct {
	// Now is the clock every code and verification is computed against.
	Now func() time.Time
	// Random is where new secrets come from: crypto/rand.Reader outside tests.
	Random io.Reader
	// Log receives unexpected errors. Secrets, tokens and bodies are
	// never logged.
	Log *slog.Logger
	// Access, when set, receives one JSON line per request, in the shape
	// of Log's JSON lines, one Write per line from many goroutines at once.
	Access io.Writer
	// Verifier checks codes; its Store is nil when the guard is off.
	Verifier *guard.Verifier
	// Challenges issues and checks email and SMS codes.
	Challenges *challenge.Service
	// Recovery checks recovery codes.
	Recovery *recovery.Service
	// APIKeys, when not empty, are the keys every API route requires.
	APIKeys []string
	// Metrics, when set, counts requests and outcomes, served on /metrics.
	Metrics *Metrics
	// Version is reported by /healthz.
	Version string
}

// Handler returns the router with every route and middleware.
func (s *Server) Handler() http.Handler {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.ContextWithFallback = true
	r.Use(requestID(newRequestIDs()))
	if s.Metrics != nil || s.Access != nil {
		r.Use(s.observe)
	}
	if s.Metrics != nil {
		r.GET("/metrics", gin.WrapH(s.Metrics.Handler()))
	}
	r.Use(s.recover, securityHeaders)
	r.NoRoute(func(c *gin.Context) {
		abort(c, newProblem(http.StatusNotFound, api.CodeNotFound, "", "no route for "+c.Request.Method+" on this path"))
	})
	r.NoMethod(func(c *gin.Context) {
		abort(c, newProblem(http.StatusMethodNotAllowed, api.CodeMethodNotAllowed, "",
			"method "+c.Request.Method+" is not allowed here; see the Allow header"))
	})

	// Open to all: the redirect, probes, metrics and the docs.
	r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/swagger/index.html") })
	r.GET("/healthz", s.health)
	r.GET("/readyz", s.ready)
	r.GET("/swagger/*file", swaggerUI)

	keyed := r.Group("")
	if len(s.APIKeys) > 0 {
		keyed.Use(requireAPIKey(s.APIKeys))
	}
	keyed.GET("/generate/secret", s.generateSecret)
	keyed.POST("/generate/token", s.generateToken)
	keyed.POST("/verify/token", s.verifyToken)
	keyed.POST("/generate/qr", s.generateQR)
	keyed.POST("/challenge", s.issueChallenge)
	keyed.POST("/challenge/verify", s.verifyChallenge)
	keyed.POST("/generate/recovery-codes", s.generateRecoveryCodes)
	keyed.POST("/verify/recovery-code", s.verifyRecoveryCode)

	legacy := keyed.Group("/auth")
	legacy.GET("/generate/secret/:encoding/:length", s.legacyGenerateSecret)
	legacy.POST("/generate/token/:encoding", s.legacyGenerateToken)
	legacy.POST("/verify/token/:encoding", s.legacyVerifyToken)
	return r
}

// health answers GET /healthz.
//
//	@Summary	Liveness check
//	@Tags		operations
//	@Produce	json
//	@Success	200	{object}	api.HealthResponse
//	@Router		/healthz [get]
func (s *Server) health(c *gin.Context) {
	c.JSON(http.StatusOK, api.HealthResponse{Status: "ok", Version: s.Version})
}

// ready answers GET /readyz: whether the guard store can be reached, so a
// load balancer sends no logins to an instance that would answer 503.
//
//	@Summary	Readiness check
//	@Tags		operations
//	@Produce	json
//	@Success	200	{object}	api.ReadyResponse
//	@Failure	503	{object}	api.Problem	"guard store unreachable"
//	@Router		/readyz [get]
func (s *Server) ready(c *gin.Context) {
	if err := s.Verifier.Ready(c.Request.Context()); err != nil {
		s.fail(c, "", err)
		return
	}
	c.JSON(http.StatusOK, api.ReadyResponse{Status: "ready"})
}
