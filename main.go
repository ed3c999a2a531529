// Command totp is a stateless TOTP utility API: it generates secrets, their
// enrolment URIs and QR codes, current codes, and verifies codes, for the
// services that keep their users' secrets.
//
//	@title						TOTP service
//	@version					1.0
//	@description				Stateless RFC 6238 TOTP utility API. The caller keeps each user's secret; this service generates secrets, Key URIs and QR codes, and generates and verifies codes. Every error is an RFC 9457 problem+json answer with a stable `code`.
//	@BasePath					/
//	@accept						json
//	@produce					json
//	@tag.name					secrets
//	@tag.description			Enrolment: a new secret with its Key URI and QR code, or the QR code of a secret you hold
//	@tag.name					tokens
//	@tag.description			The current code of a secret, and verification of the code a user typed
//	@tag.name					sealed secrets
//	@tag.description			Secrets sealed under SEAL_KEYS, for callers to store instead of the secret; rotation
//	@tag.name					hotp
//	@tag.description			Counter-based codes (RFC 4226) for hardware tokens; the caller keeps the counter
//	@tag.name					challenges
//	@tag.description			Email and SMS codes, with no storage
//	@tag.name					recovery codes
//	@tag.description			Single-use recovery codes, checked against their hashes
//	@tag.name					original routes
//	@tag.description			The original service's route forms, kept for callers migrating without change
//	@tag.name					operations
//	@tag.description			Liveness and readiness
//	@securityDefinitions.apikey	ApiKeyAuth
//	@in							header
//	@name						X-API-Key
//	@description				Needed when the service is started with API keys (API_KEYS).
//	@securityDefinitions.apikey	BearerAuth
//	@in							header
//	@name						Authorization
//	@description				The same key as "Bearer KEY".
package main

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/gin-gonic/gin"
	"github.com/go-logr/logr"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/acme/totp/access"
	"github.com/acme/totp/challenge"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/handlers"
	"github.com/acme/totp/seal"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.0".
var version string

// buildVersion is version, or else what the Go toolchain recorded: the
// module version, or the VCS revision of a build from a checkout.
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		// Like every other line on stderr, the last one is JSON.
		newLogger(os.Stderr, slog.LevelInfo).Error("totp stopped", "err", err.Error())
		stop()
		os.Exit(1)
	}
}

// newLogger writes JSON lines to w, one write per line, as it logs them.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// redisLogger hands go-redis's messages (dial failures, pool warnings) to
// slog, so they are JSON lines like the rest.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(format, v...), "source", "go-redis")
}

// config is everything the service reads at start.
type config struct {
	help            bool
	showVersion     bool
	pprofAddr       string
	addr            string
	logLevel        slog.Level
	shutdownTimeout time.Duration

	guard         bool
	guardKey      []byte // from GUARD_KEY, or random per process
	guardKeySet   bool   // GUARD_KEY was given
	guardCapacity int
	capacityFrom  string // what set guardCapacity, for the start-up line
	keyShare      float64
	maxFailures   int
	secretMax     int
	failureWindow time.Duration
	redisURL      string
	redisMode     string // single, cluster or sentinel
	redisPrefix   string

	apiKeys             []access.Key
	apiKeysList         string // API_KEYS, read again with the file on SIGHUP
	apiKeysFile         string
	allowNoAuth         bool
	sealContextOptional bool

	challengeKeys        []seal.Key // the first seals, all open
	challengeMaxAttempts int
	challengeSubjectMax  int
	challengeMinDigits   int
	recoveryKeys         []seal.Key // the first hashes, all check
	sealKeys             []seal.Key // the first seals, all open

	otlpEndpoint string // OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, for the start-up line
}

// attrs is the effective configuration for the start-up line: every
// setting, and of each secret only whether it is set (or how many).
func (cfg config) attrs() []any {
	guardKey := "random per process"
	if cfg.guardKeySet {
		guardKey = "set"
	}
	return []any{
		"addr", cfg.addr, "log_level", cfg.logLevel.String(), "shutdown_timeout", cfg.shutdownTimeout.String(),
		"guard", cfg.guard, "guard_capacity", cfg.guardCapacity, "guard_capacity_from", cfg.capacityFrom,
		"guard_key_share", cfg.keyShare, "max_failures", cfg.maxFailures, "secret_max_failures", cfg.secretMax,
		"failure_window", cfg.failureWindow.String(), "guard_key", guardKey,
		"redis_url", redactURL(cfg.redisURL), "redis_mode", cfg.redisMode, "redis_prefix", cfg.redisPrefix,
		"api_keys", keyNames(cfg.apiKeys), "allow_no_auth", cfg.allowNoAuth, "seal_context_optional", cfg.sealContextOptional, "challenge_keys", keyIDs(cfg.challengeKeys), "seal_keys", keyIDs(cfg.sealKeys),
		"challenge_max_attempts", cfg.challengeMaxAttempts, "challenge_subject_max_failures", cfg.challengeSubjectMax,
		"challenge_min_digits", cfg.challengeMinDigits, "recovery_keys", keyIDs(cfg.recoveryKeys), "pprof_addr", cfg.pprofAddr,
		"otlp_endpoint", redactURL(cfg.otlpEndpoint),
	}
}

// keyIDs lists the IDs of keys, the sealing one first: IDs are not secret,
// and an operator rotating keys wants to see which seals.
func keyIDs(keys []seal.Key) []string {
	ids := []string{}
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	return ids
}

// redactURL is u with every credential replaced: the userinfo's password,
// and any query parameter that names a password (go-redis reads
// password= and sentinel_password= from Sentinel URLs); a word for a URL
// that does not parse (which might be all password).
func redactURL(u string) string {
	if u == "" {
		return ""
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return "(set, unparsable)"
	}
	q := parsed.Query()
	for name := range q {
		if strings.Contains(strings.ToLower(name), "password") {
			q.Set(name, "xxxxx")
		}
	}
	parsed.RawQuery = q.Encode()
	return parsed.Redacted() // the userinfo's password
}

// minGuardKeyLen keeps GUARD_KEY from being guessable: it keys the
// fingerprints that name secrets in a shared store.
const minGuardKeyLen = 16

// parseConfig reads flags, each falling back to an environment variable and
// then to its default.
func parseConfig(args []string, getenv func(string) string) (config, error) {
	fs := flag.NewFlagSet("totp", flag.ContinueOnError)
	// -h prints the usage for a person; errors are returned, and logged.
	fs.SetOutput(io.Discard)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	// Loopback unless told otherwise: a service started with no keys is
	// open only to this machine.
	defaultAddr := "127.0.0.1:8080"
	if port := getenv("PORT"); port != "" {
		defaultAddr = ":" + port
	}
	var (
		cfg      config
		logLevel string
		err      error
	)
	fs.BoolVar(&cfg.showVersion, "version", false, "print the version and exit")
	fs.StringVar(&cfg.addr, "addr", env("ADDR", defaultAddr), "listen address (env ADDR; :PORT when ADDR is unset and PORT is set; else 127.0.0.1:8080)")
	allowNoAuth := fs.String("allow-no-auth", env("ALLOW_NO_AUTH", "false"), "true: listen beyond loopback without API keys (env ALLOW_NO_AUTH)")
	sealContext := fs.String("seal-context", env("SEAL_CONTEXT", "required"), "required: sealing and opening need context (the user's immutable ID); optional: they may go without (env SEAL_CONTEXT)")
	fs.StringVar(&logLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (env LOG_LEVEL)")
	shutdown := fs.String("shutdown-timeout", env("SHUTDOWN_TIMEOUT", "10s"), "how long in-flight requests may run after SIGTERM (env SHUTDOWN_TIMEOUT)")
	guardMode := fs.String("guard", env("GUARD", "on"), "on: refuse reused codes and throttle failures; off: neither (env GUARD)")
	guardKey := fs.String("guard-key", getenv("GUARD_KEY"), "key of the secret fingerprints, at least 16 bytes; needed to share Redis (env GUARD_KEY; prefer the env)")
	capacity := fs.String("guard-capacity", getenv("GUARD_CAPACITY"), "most live records the guard holds; past it new ones are refused (env GUARD_CAPACITY; default: half of GOMEMLIMIT or the cgroup's memory limit over guard.RecordBytes, else "+strconv.Itoa(guard.DefaultCapacity)+")")
	keyShare := fs.String("guard-key-share", env("GUARD_KEY_SHARE", "0.5"), "fraction of GUARD_CAPACITY one API key's records may take (env GUARD_KEY_SHARE)")
	maxFailures := fs.String("max-failures", env("MAX_FAILURES", strconv.Itoa(guard.DefaultMaxFailures)), "failed verifications of one secret (or of one client of it) before it is locked (env MAX_FAILURES)")
	secretMax := fs.String("secret-max-failures", getenv("SECRET_MAX_FAILURES"), "failed verifications of one secret over all its clients before it is locked (env SECRET_MAX_FAILURES; default 4 x MAX_FAILURES)")
	window := fs.String("failure-window", env("FAILURE_WINDOW", "5m"), "window in which failures count, and the first lock's length; each lock within a day doubles the last, up to 24h (env FAILURE_WINDOW)")
	fs.StringVar(&cfg.redisURL, "redis-url", getenv("REDIS_URL"), "Redis for the guard of a fleet, e.g. redis://localhost:6379/0 (env REDIS_URL)")
	fs.StringVar(&cfg.redisMode, "redis-mode", env("REDIS_MODE", "single"), "what REDIS_URL names: single (one server), cluster (a Redis Cluster: one node, more as addr= parameters) or sentinel (Sentinels: one, more as addr=, and master_name=) (env REDIS_MODE)")
	fs.StringVar(&cfg.redisPrefix, "redis-prefix", env("REDIS_PREFIX", "totp:"), "prefix of every Redis key, without braces (env REDIS_PREFIX)")
	fs.StringVar(&cfg.apiKeysList, "api-keys", getenv("API_KEYS"), "comma-separated API keys, each NAME SCOPES KEY or a bare key (all scopes); none: no key needed (env API_KEYS; prefer the env)")
	fs.StringVar(&cfg.apiKeysFile, "api-keys-file", getenv("API_KEYS_FILE"), "file of API keys, one NAME SCOPES KEY a line, KEY the key or sha256:HEX, # comments; read again on SIGHUP (env API_KEYS_FILE)")
	challengeKeys := fs.String("challenge-keys", getenv("CHALLENGE_KEYS"), "keys of email/SMS challenges, comma-separated ID:KEY, KEY 32 bytes in base64: the first seals, all open (env CHALLENGE_KEYS; prefer the env)")
	sealKeys := fs.String("seal-keys", getenv("SEAL_KEYS"), "keys of sealed secrets, comma-separated ID:KEY, KEY 32 bytes in base64: the first seals, all open; without any, nothing is sealed or opened (env SEAL_KEYS; prefer the env)")
	challengeAttempts := fs.String("challenge-max-attempts", env("CHALLENGE_MAX_ATTEMPTS", strconv.Itoa(challenge.DefaultMaxAttempts)), "wrong codes that kill a challenge (env CHALLENGE_MAX_ATTEMPTS)")
	subjectMax := fs.String("challenge-subject-max-failures", env("CHALLENGE_SUBJECT_MAX_FAILURES", strconv.Itoa(challenge.DefaultSubjectMaxFailures)), "wrong codes for one subject and purpose within an hour, over all its challenges, before the subject is locked (env CHALLENGE_SUBJECT_MAX_FAILURES)")
	minDigits := fs.String("challenge-min-digits", env("CHALLENGE_MIN_DIGITS", strconv.Itoa(challenge.DefaultMinDigits)), "fewest digits a challenge may have, from 4 (env CHALLENGE_MIN_DIGITS)")
	recoveryKeys := fs.String("recovery-keys", getenv("RECOVERY_KEYS"), "keys of recovery code hashes, comma-separated ID:KEY, KEY 32 bytes in base64: the first hashes, all check; default: derived from GUARD_KEY when set (env RECOVERY_KEYS; prefer the env)")
	fs.StringVar(&cfg.pprofAddr, "pprof-addr", getenv("PPROF_ADDR"), "serve net/http/pprof on this address, e.g. 127.0.0.1:6060; off when empty (env PPROF_ADDR)")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(os.Stdout)
		fs.PrintDefaults()
		cfg.help = true
		return cfg, nil
	} else if err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := cfg.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return cfg, fmt.Errorf("log level: %w", err)
	}
	if cfg.shutdownTimeout, err = time.ParseDuration(*shutdown); err != nil {
		return cfg, fmt.Errorf("shutdown timeout: %w", err)
	}
	switch cfg.redisMode {
	case "single", "cluster", "sentinel":
	default:
		return cfg, fmt.Errorf("redis mode must be single, cluster or sentinel, not %q", cfg.redisMode)
	}
	if strings.ContainsAny(cfg.redisPrefix, "{}") {
		// The first {...} of a key is its hash tag, which the guard sets.
		return cfg, errors.New("REDIS_PREFIX must not contain { or }")
	}
	switch strings.ToLower(*guardMode) {
	case "on", "true", "1":
		cfg.guard = true
	case "off", "false", "0":
	default:
		return cfg, fmt.Errorf("guard must be on or off, not %q", *guardMode)
	}
	if *capacity != "" {
		if cfg.guardCapacity, err = strconv.Atoi(*capacity); err != nil || cfg.guardCapacity < 1 {
			return cfg, fmt.Errorf("guard capacity must be a positive integer")
		}
		cfg.capacityFrom = "GUARD_CAPACITY"
	} else {
		cfg.guardCapacity, cfg.capacityFrom = defaultCapacity(memoryLimit(getenv))
	}
	if cfg.keyShare, err = strconv.ParseFloat(*keyShare, 64); err != nil || !(cfg.keyShare > 0 && cfg.keyShare <= 1) {
		return cfg, fmt.Errorf("guard key share must be a fraction above 0 and at most 1, such as 0.5")
	}
	if cfg.maxFailures, err = strconv.Atoi(*maxFailures); err != nil || cfg.maxFailures < 1 {
		return cfg, fmt.Errorf("max failures must be a positive integer")
	}
	cfg.secretMax = guard.SecretCeilingFactor * cfg.maxFailures
	if *secretMax != "" {
		if cfg.secretMax, err = strconv.Atoi(*secretMax); err != nil || cfg.secretMax < cfg.maxFailures {
			return cfg, fmt.Errorf("secret max failures must be an integer at least MAX_FAILURES (%d)", cfg.maxFailures)
		}
	}
	if cfg.failureWindow, err = time.ParseDuration(*window); err != nil || cfg.failureWindow < time.Second {
		return cfg, fmt.Errorf("failure window must be a duration of at least 1s, such as 5m")
	}
	switch {
	case *guardKey != "" && len(*guardKey) < minGuardKeyLen:
		return cfg, fmt.Errorf("GUARD_KEY must be at least %d bytes", minGuardKeyLen)
	case *guardKey != "":
		cfg.guardKey, cfg.guardKeySet = []byte(*guardKey), true
	case cfg.guard && cfg.redisURL != "":
		return cfg, errors.New("REDIS_URL needs GUARD_KEY: instances with different fingerprint keys cannot see each other's used codes; set the same GUARD_KEY (at least 16 random bytes) on every instance")
	default:
		cfg.guardKey = make([]byte, 32)
		if _, err := rand.Read(cfg.guardKey); err != nil {
			return cfg, err
		}
	}
	if cfg.apiKeys, err = readAPIKeys(cfg.apiKeysList, cfg.apiKeysFile); err != nil {
		return cfg, err
	}
	if cfg.allowNoAuth, err = strconv.ParseBool(*allowNoAuth); err != nil {
		return cfg, errors.New("ALLOW_NO_AUTH must be true or false")
	}
	if len(cfg.apiKeys) == 0 && !loopback(cfg.addr) && !cfg.allowNoAuth {
		return cfg, fmt.Errorf("listening on %s, beyond loopback, needs API keys (API_KEYS or API_KEYS_FILE); set ALLOW_NO_AUTH=true to serve anyone who reaches the port", cfg.addr)
	}
	switch *sealContext {
	case "required":
	case "optional":
		cfg.sealContextOptional = true
	default:
		return cfg, fmt.Errorf("SEAL_CONTEXT must be required or optional, not %q", *sealContext)
	}
	if cfg.pprofAddr != "" && !loopback(cfg.pprofAddr) {
		return cfg, errors.New("PPROF_ADDR must be a loopback address such as 127.0.0.1:6060: profiles show the process's memory")
	}
	if cfg.challengeMaxAttempts, err = strconv.Atoi(*challengeAttempts); err != nil || cfg.challengeMaxAttempts < 1 {
		return cfg, errors.New("challenge max attempts must be a positive integer")
	}
	if cfg.challengeSubjectMax, err = strconv.Atoi(*subjectMax); err != nil || cfg.challengeSubjectMax < 1 {
		return cfg, errors.New("challenge subject max failures must be a positive integer")
	}
	if cfg.challengeMinDigits, err = strconv.Atoi(*minDigits); err != nil || cfg.challengeMinDigits < challenge.MinDigits || cfg.challengeMinDigits > challenge.MaxDigits {
		return cfg, fmt.Errorf("challenge min digits must be from %d to %d", challenge.MinDigits, challenge.MaxDigits)
	}
	if cfg.recoveryKeys, err = seal.ParseKeys("RECOVERY_KEYS", *recoveryKeys); err != nil {
		return cfg, err
	}
	if len(cfg.recoveryKeys) == 0 && cfg.guardKeySet {
		cfg.recoveryKeys = []seal.Key{guardRecoveryKey(cfg.guardKey)}
	}
	if cfg.challengeKeys, err = seal.ParseKeys("CHALLENGE_KEYS", *challengeKeys); err != nil {
		return cfg, err
	}
	if cfg.sealKeys, err = seal.ParseKeys("SEAL_KEYS", *sealKeys); err != nil {
		return cfg, err
	}
	cfg.otlpEndpoint = cmp.Or(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
	return cfg, nil
}

// guardRecoveryKey is the recovery hash key derived from GUARD_KEY, apart
// from the fingerprints' own use of it; its ID is "g" and 8 hex digits of
// its SHA-256, so a changed GUARD_KEY gives hashes a clear "unknown key"
// answer rather than a silent mismatch.
func guardRecoveryKey(guardKey []byte) seal.Key {
	mac := hmac.New(sha256.New, guardKey)
	mac.Write([]byte("recovery code hashes"))
	secret := mac.Sum(nil)
	sum := sha256.Sum256(secret)
	return seal.Key{ID: "g" + hex.EncodeToString(sum[:4]), Secret: secret}
}

// memoryLimit is the process's memory limit: GOMEMLIMIT when set, else the
// cgroup's (a container's), else 0.
func memoryLimit(getenv func(string) string) uint64 {
	if getenv("GOMEMLIMIT") != "" {
		if limit := debug.SetMemoryLimit(-1); limit > 0 && limit < math.MaxInt64 {
			return uint64(limit)
		}
	}
	if limit, err := memlimit.FromCgroup(); err == nil && limit > 0 && limit < 1<<62 {
		return limit
	}
	return 0
}

// defaultCapacity sizes the memory store to half of limit, so the store
// refuses before the process is killed for its memory, and says where
// the figure came from.
func defaultCapacity(limit uint64) (int, string) {
	if limit == 0 {
		return guard.DefaultCapacity, "default"
	}
	return max(int(limit/2/guard.RecordBytes), 1000), "memory limit"
}

// readAPIKeys gathers the keys from the list and the file; none when both
// are unset. A file that is set must hold keys: an empty one (a secret
// that was not mounted) is an error, never "no authentication".
func readAPIKeys(list, file string) ([]access.Key, error) {
	var keys []access.Key
	if strings.TrimSpace(list) != "" {
		k, err := access.ParseList(list)
		if err != nil {
			return nil, fmt.Errorf("API_KEYS: %w", err)
		}
		keys = k
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("API keys file: %w", err)
		}
		k, err := access.ParseFile(string(b))
		if err != nil {
			return nil, fmt.Errorf("API keys file %s: %w", file, err)
		}
		keys = append(keys, k...)
	}
	return access.Checked(keys)
}

// keyNames lists the keys' names for the log: names, never keys.
func keyNames(keys []access.Key) []string {
	names := []string{}
	for _, k := range keys {
		names = append(names, k.Name)
	}
	return names
}

// reloadKeys reads the keys again on every SIGHUP until ctx is done, and
// puts them in force; keys that do not read keep the old ones in force.
func reloadKeys(ctx context.Context, cfg config, ring *access.Ring, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			keys, err := readAPIKeys(cfg.apiKeysList, cfg.apiKeysFile)
			if err == nil && len(keys) == 0 {
				err = access.ErrNoKeys
			}
			if err != nil {
				log.Error("API keys not reloaded; the keys in force stay", "err", err.Error(), "api_keys", ring.Names())
				continue
			}
			ring.Replace(keys)
			log.Info("API keys reloaded", "api_keys", keyNames(keys))
		}
	}()
}

// newStore builds the guard store the configuration asks for: nil when
// the guard is off. close releases it.
func newStore(cfg config, log *slog.Logger) (guard.Store, func(), error) {
	switch {
	case !cfg.guard:
		log.Warn("guard is off: codes can be reused within their window and guessed without limit; callers must send after_step and throttle")
		return nil, func() {}, nil
	case cfg.redisURL == "":
		log.Info("guard on", "store", "memory", "capacity", cfg.guardCapacity)
		return guard.NewMemory(cfg.guardCapacity), func() {}, nil
	}
	client, addrs, err := newRedisClient(cfg.redisMode, cfg.redisURL)
	if err != nil {
		return nil, nil, err
	}
	store := guard.NewRedis(client, cfg.redisPrefix)
	log.Info("guard on", "store", "redis", "redis_mode", cfg.redisMode, "redis_addrs", addrs, "prefix", cfg.redisPrefix)
	checkEviction(store, log)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := store.Ping(ctx); errors.Is(err, guard.ErrClusterNode) {
		log.Error("REDIS_URL names a node of a Redis Cluster, which answers most keys elsewhere: set REDIS_MODE=cluster; /readyz answers 503 until then")
	}
	return store, func() { client.Close() }, nil
}

// newRedisClient parses url as go-redis does for mode: ParseURL,
// ParseClusterURL or ParseFailoverURL, which read TLS (rediss://),
// passwords and timeouts from it. It returns the client and the addresses
// it starts from, for the log. Timeouts left unset are short: a dead Redis
// should cost a 503 now, not a hung login.
func newRedisClient(mode, url string) (redis.UniversalClient, []string, error) {
	// Errors name the mode, never the URL: it may hold a password.
	switch mode {
	case "cluster":
		opts, err := redis.ParseClusterURL(url)
		if err != nil {
			return nil, nil, errors.New("REDIS_URL does not parse as a cluster URL (redis://host:port?addr=host2:port2&addr=...)")
		}
		fastFail(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.MaxRetries)
		return redis.NewClusterClient(opts), opts.Addrs, nil
	case "sentinel":
		opts, err := redis.ParseFailoverURL(url)
		if err != nil || opts.MasterName == "" {
			return nil, nil, errors.New("REDIS_URL does not parse as a Sentinel URL (redis://sentinel:26379?master_name=NAME&addr=sentinel2:26379)")
		}
		fastFail(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.MaxRetries)
		return redis.NewFailoverClient(opts), opts.SentinelAddrs, nil
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, nil, errors.New("REDIS_URL does not parse as a redis:// or rediss:// URL")
	}
	fastFail(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.MaxRetries)
	return redis.NewClient(opts), []string{opts.Addr}, nil
}

// fastFail sets the timeouts and retries a URL left unset.
func fastFail(dial, read, write *time.Duration, retries *int) {
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{dial, time.Second}, {read, 500 * time.Millisecond}, {write, 500 * time.Millisecond}} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if *retries == 0 {
		*retries = 1
	}
}

// checkEviction warns when Redis may evict the guard's keys before they
// expire: every policy but noeviction may, since each guard key has a TTL,
// and an evicted key is a used code accepted again or a lock lifted. It
// warns rather than refuses: managed Redis often forbids CONFIG or fixes
// the policy, and an operator who cannot change it should still be able
// to run, told of the risk.
func checkEviction(store *guard.Redis, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	policies, err := store.EvictionPolicies(ctx)
	if err != nil {
		log.Warn("could not read Redis's maxmemory-policy; set it to noeviction, or a full Redis may drop the guard's records", "err", err.Error())
		return
	}
	for _, p := range policies {
		if p != "noeviction" {
			log.Warn("Redis's maxmemory-policy lets it evict the guard's records (a used code accepted again, a lock lifted); set maxmemory-policy noeviction", "maxmemory_policy", p)
			break
		}
	}
	limits, err := store.MaxMemories(ctx)
	if err != nil {
		return
	}
	for _, l := range limits {
		if l == "0" {
			log.Warn("Redis has no maxmemory: a flood of guard records grows it until its host kills it; set maxmemory, under the noeviction policy, so it refuses instead")
			return
		}
	}
}

// loopback reports whether addr listens on loopback only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// run serves until ctx is done, then shuts down gracefully. The first
// argument "healthcheck" instead asks a running instance for its health,
// so a container needs no shell or curl.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	healthcheck := len(args) > 0 && args[0] == "healthcheck"
	if healthcheck {
		args = args[1:]
	}
	cfg, err := parseConfig(args, getenv)
	switch {
	case err != nil:
		return err
	case cfg.help:
		return nil
	case cfg.showVersion:
		_, err := fmt.Fprintln(stdout, buildVersion())
		return err
	case healthcheck:
		return checkHealth(ctx, cfg.addr)
	}

	log := newLogger(stderr, cfg.logLevel)
	log.Info("configuration", cfg.attrs()...)
	// go-redis logs through a package-level logger of its own; this is the
	// one place it is set.
	redis.SetLogger(redisLogger{log})
	store, closeStore, err := newStore(cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()
	var ring *access.Ring
	switch {
	case len(cfg.apiKeys) > 0:
		ring = access.NewRing(cfg.apiKeys)
		reloadKeys(ctx, cfg, ring, log)
	case !loopback(cfg.addr):
		log.Warn("ALLOW_NO_AUTH: no API keys and listening beyond loopback, so anyone who reaches this port can use the API")
	}

	gin.SetMode(gin.ReleaseMode)
	version := buildVersion()
	tracing, stopTracing, err := newTracing(ctx, getenv, version, log)
	if err != nil {
		return err
	}
	defer func() {
		// Flush the spans still batched, within a bound of their own.
		flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(flushCtx); err != nil {
			log.Warn("traces not flushed", "err", err.Error())
		}
	}()
	handler, err := handlers.New(handlers.Config{
		Now:                         time.Now,
		Random:                      rand.Reader,
		Log:                         log,
		Store:                       store,
		GuardKey:                    cfg.guardKey,
		MaxFailures:                 cfg.maxFailures,
		FailureWindow:               cfg.failureWindow,
		SecretMaxFailures:           cfg.secretMax,
		KeyShare:                    max(int(cfg.keyShare*float64(cfg.guardCapacity)), 1),
		RecoveryKeys:                cfg.recoveryKeys,
		ChallengeKeys:               cfg.challengeKeys,
		SealKeys:                    cfg.sealKeys,
		ChallengeMaxAttempts:        cfg.challengeMaxAttempts,
		ChallengeSubjectMaxFailures: cfg.challengeSubjectMax,
		ChallengeMinDigits:          cfg.challengeMinDigits,
		Keys:                        ring,
		SealContextOptional:         cfg.sealContextOptional,
		Tracing:                     tracing,
		Version:                     version,
	})
	if err != nil {
		return err
	}

	// Listen first so a busy port fails at once.
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", ln.Addr().String(), "version", version)
	if cfg.pprofAddr != "" {
		stopPprof, err := servePprof(cfg.pprofAddr, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.shutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// newTracing returns what OpenTelemetry's environment asks for: with
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) set,
// a tracer provider that batches spans to that collector over OTLP/HTTP,
// configured by the exporter's own OTEL_EXPORTER_OTLP_* variables, with
// service.name "totp" unless OTEL_SERVICE_NAME says otherwise; without,
// nil: no spans, and no trace context read from requests.
func newTracing(ctx context.Context, getenv func(string) string, version string, log *slog.Logger) (trace.TracerProvider, func(context.Context) error, error) {
	none := func(context.Context) error { return nil }
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return nil, none, nil
	}
	// OpenTelemetry reports failed exports through a package-level logger
	// and error handler of its own, which write plain text to stderr by
	// default: both go through slog, as every line on stderr does.
	otel.SetLogger(logr.FromSlogHandler(log.Handler()))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("opentelemetry", "err", err.Error())
	}))
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, none, fmt.Errorf("OTLP exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "totp"), attribute.String("service.version", version)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, none, fmt.Errorf("OpenTelemetry resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	return tp, tp.Shutdown, nil
}

// servePprof serves the runtime profiles on a listener of their own, never
// on the API's port, so they are reachable only where the operator chose.
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	// No /debug/pprof/cmdline: the command line may hold keys.
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Warn("pprof listening: profiles show the process's memory and goroutines; keep the address private", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}

// checkHealth asks the instance listening on addr for GET /healthz.
func checkHealth(ctx context.Context, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort(strings.Trim(host, "[]"), port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz answered %s", resp.Status)
	}
	return nil
}
