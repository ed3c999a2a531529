// Package config is the service's settings: one typed struct read from
// flags, each flag falling back to its environment variable (the flag's
// name in upper snake case: -guard-key is GUARD_KEY) and then to its
// default, in one place.
package config

import (
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
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"

	"github.com/acme/totp/access"
	"github.com/acme/totp/challenge"
	"github.com/acme/totp/delivery"
	"github.com/acme/totp/events"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/seal"
	"github.com/acme/totp/trust"
)

// Config is everything the service reads at start.
type Config struct {
	// Help is set when -h asked for the usage, which Parse has printed.
	Help        bool
	ShowVersion bool

	Addr            string
	PprofAddr       string
	LogLevel        slog.Level
	ShutdownTimeout time.Duration

	Guard bool
	// GuardKey keys the fingerprints of secrets: GUARD_KEY, or random per
	// process when GuardKeySet is false.
	GuardKey    []byte
	GuardKeySet bool
	// GuardCapacity is the most live guard records; CapacityFrom says
	// what set it, for the start-up line.
	GuardCapacity     int
	CapacityFrom      string
	KeyShare          float64
	MaxFailures       int
	SecretMaxFailures int
	FailureWindow     time.Duration
	RedisURL          string
	RedisMode         string // single, cluster or sentinel
	RedisPrefix       string

	APIKeys []access.Key
	// APIKeysList and APIKeysFile are where APIKeys came from, read again
	// on SIGHUP.
	APIKeysList         string
	APIKeysFile         string
	AllowNoAuth         bool
	SealContextOptional bool

	ChallengeKeys               []seal.Key // the first seals, all open
	ChallengeMaxAttempts        int
	ChallengeSubjectMaxFailures int
	ChallengeMinDigits          int
	RecoveryKeys                []seal.Key // the first hashes, all check
	SealKeys                    []seal.Key // the first seals, all open
	TrustKeys                   []seal.Key // the first seals, all open
	TrustMaxAge                 time.Duration
	// Events is where security events go: a receiver, or log lines only.
	Events events.Options

	// OTLPEndpoint is OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, which the
	// exporter reads itself; here for the start-up line.
	OTLPEndpoint string

	// Delivery is the channels the service sends codes by itself.
	Delivery       delivery.Options
	ResendCooldown time.Duration
	MaxSends       int
}

// MinGuardKeyLen keeps GUARD_KEY from being guessable: it keys the
// fingerprints that name secrets in a shared store.
const MinGuardKeyLen = 16

// EnvName is the environment variable a flag falls back to.
func EnvName(flagName string) string {
	return strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// kinds are the words for what a flag of each kind takes.
var kinds = map[string]string{"": "true or false", "int": "an integer", "float": "a number", "duration": "a Go duration such as 5m or 2s", "value": "a level", "string": "a string"}

func flagKind(f *flag.Flag) string {
	kind, _ := flag.UnquoteUsage(f)
	return kind
}

// raw holds the settings read as text whose meaning depends on others,
// finished by finish.
type raw struct {
	guardMode, guardKey, capacity, secretMax, sealMode string
	challengeKeys, recoveryKeys, sealKeys              string
	countries, webhookSecret, trustKeys, eventsSecret  string
}

// define declares every flag on fs, writing into cfg and r.
func define(fs *flag.FlagSet, cfg *Config, r *raw, getenv func(string) string) {
	// Loopback unless told otherwise: a service started with no keys is
	// open only to this machine.
	defaultAddr := "127.0.0.1:8080"
	if port := getenv("PORT"); port != "" {
		defaultAddr = ":" + port
	}
	fs.BoolVar(&cfg.ShowVersion, "version", false, "print the version and exit (no env)")
	fs.StringVar(&cfg.Addr, "addr", defaultAddr, "listen address (:PORT when ADDR is unset and PORT is set); beyond loopback it needs API keys or ALLOW_NO_AUTH=true")
	fs.BoolVar(&cfg.AllowNoAuth, "allow-no-auth", false, "true: listen beyond loopback without API keys")
	fs.StringVar(&r.sealMode, "seal-context", "required", "required: sealing and opening need context (the user's immutable ID); optional: they may go without")
	fs.TextVar(&cfg.LogLevel, "log-level", slog.LevelInfo, "debug, info, warn or error")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long the drain and in-flight requests may run after SIGTERM")
	fs.StringVar(&r.guardMode, "guard", "on", "on: refuse reused codes and throttle failures; off: neither")
	fs.StringVar(&r.guardKey, "guard-key", "", "key of the secret fingerprints, at least 16 bytes, the same on every instance sharing Redis (which needs it); default: random per process (prefer the env)")
	fs.StringVar(&r.capacity, "guard-capacity", "", "most live records the guard holds; past it new ones are refused (default: half of GOMEMLIMIT or the cgroup's memory limit over guard.RecordBytes, else "+strconv.Itoa(guard.DefaultCapacity)+")")
	fs.Float64Var(&cfg.KeyShare, "guard-key-share", 0.5, "fraction of GUARD_CAPACITY one API key's records may take")
	fs.IntVar(&cfg.MaxFailures, "max-failures", guard.DefaultMaxFailures, "failed verifications of one secret (or of one client of it) before it is locked")
	fs.StringVar(&r.secretMax, "secret-max-failures", "", "failed verifications of one secret over all its clients before it is locked (default "+strconv.Itoa(guard.SecretCeilingFactor)+" x MAX_FAILURES)")
	fs.DurationVar(&cfg.FailureWindow, "failure-window", guard.DefaultFailureWindow, "window in which failures count, and the first lock's length; each lock within a day doubles the last, up to 24h")
	fs.StringVar(&cfg.RedisURL, "redis-url", "", "Redis for the guard of a fleet, e.g. redis://localhost:6379/0")
	fs.StringVar(&cfg.RedisMode, "redis-mode", "single", "what REDIS_URL names: single (one server), cluster (a Redis Cluster: one node, more as addr= parameters) or sentinel (Sentinels: one, more as addr=, and master_name=)")
	fs.StringVar(&cfg.RedisPrefix, "redis-prefix", "totp:", "prefix of every Redis key, without braces")
	fs.StringVar(&cfg.APIKeysList, "api-keys", "", "comma-separated API keys, each NAME SCOPES KEY or a bare key (all scopes); none: no key needed (prefer the env)")
	fs.StringVar(&cfg.APIKeysFile, "api-keys-file", "", "file of API keys, one NAME SCOPES KEY a line, KEY the key or sha256:HEX, # comments; read again on SIGHUP")
	fs.StringVar(&r.challengeKeys, "challenge-keys", "", "keys of email/SMS challenges, comma-separated ID:KEY, KEY 32 bytes in base64 (a bare KEY gets an ID from its hash): the first seals, all open; default: random per process (prefer the env)")
	fs.StringVar(&r.sealKeys, "seal-keys", "", "keys of sealed secrets, comma-separated ID:KEY, KEY 32 bytes in base64: the first seals, all open; without any, sealing and opening answer 501 (prefer the env)")
	fs.IntVar(&cfg.ChallengeMaxAttempts, "challenge-max-attempts", challenge.DefaultMaxAttempts, "wrong codes that kill a challenge")
	fs.IntVar(&cfg.ChallengeSubjectMaxFailures, "challenge-subject-max-failures", challenge.DefaultSubjectMaxFailures, "wrong codes for one subject and purpose within an hour, over all its challenges, before the subject is locked")
	fs.IntVar(&cfg.ChallengeMinDigits, "challenge-min-digits", challenge.DefaultMinDigits, "fewest digits a challenge may have, from "+strconv.Itoa(challenge.MinDigits))
	fs.StringVar(&r.recoveryKeys, "recovery-keys", "", "keys of recovery code hashes, comma-separated ID:KEY, KEY 32 bytes in base64: the first hashes, all check; default: derived from GUARD_KEY when set, else plain SHA-256 hashes (prefer the env)")
	d := &cfg.Delivery
	fs.StringVar(&d.SMTPURL, "smtp-url", "", "SMTP server that sends email codes: smtp://user:pass@host:587 (STARTTLS required), smtps://user:pass@host:465, or ?starttls=none for a local relay only; off when empty (prefer the env)")
	fs.StringVar(&d.EmailFrom, "email-from", "", "From address of email codes")
	fs.StringVar(&d.TwilioAccountSID, "twilio-account-sid", "", "Twilio account SID for SMS codes; SMS is off without it")
	fs.StringVar(&d.TwilioAuthToken, "twilio-auth-token", "", "Twilio auth token (prefer the env)")
	fs.StringVar(&d.TwilioFrom, "twilio-from", "", "the number SMS codes come from, or a messaging service SID (MG...)")
	fs.StringVar(&d.TwilioAPIURL, "twilio-api-url", delivery.TwilioAPI, "Twilio's API root, or a gateway that speaks its Messages API")
	fs.StringVar(&r.countries, "sms-countries", "", "comma-separated ISO 3166 regions SMS codes may go to, such as GB,DE; any when empty")
	fs.StringVar(&d.WebhookURL, "delivery-webhook-url", "", "gateway that receives codes as signed JSON (channel webhook); off when empty")
	fs.StringVar(&r.webhookSecret, "delivery-webhook-secret", "", "key of the webhook's HMAC-SHA256 signature, at least 16 bytes (prefer the env)")
	fs.DurationVar(&d.Timeout, "delivery-timeout", delivery.DefaultTimeout, "how long one delivery may take, retries included, before 503 delivery_unavailable")
	fs.StringVar(&d.TemplatesDir, "templates-dir", "", "directory of message templates (LOCALE/NAME.tmpl, LOCALE/PURPOSE/NAME.tmpl) over the embedded ones")
	fs.StringVar(&d.Issuer, "issuer", "TOTP service", "the service's name in the messages")
	fs.DurationVar(&cfg.ResendCooldown, "challenge-resend-cooldown", challenge.DefaultResendCooldown, "least time between two sends of one challenge")
	fs.IntVar(&cfg.MaxSends, "challenge-max-sends", challenge.DefaultMaxSends, "most codes one destination gets in 10 minutes, new challenges and resends alike")
	fs.StringVar(&r.trustKeys, "trust-keys", "", "keys of trusted-device tokens, comma-separated ID:KEY, KEY 32 bytes in base64: the first seals, all open; without any, /trust answers 501 (prefer the env)")
	fs.DurationVar(&cfg.TrustMaxAge, "trust-max-age", trust.DefaultMaxAge, "longest a trusted-device token slides from its first issue, after which the user passes the second factor again")
	fs.StringVar(&cfg.Events.URL, "events-webhook-url", "", "receiver of security events (locks, used recovery codes, a full store, bursts of wrong keys) as signed JSON; log lines only when empty")
	fs.StringVar(&r.eventsSecret, "events-webhook-secret", "", "key of the events' HMAC-SHA256 signature, at least 16 bytes (prefer the env)")
	fs.IntVar(&cfg.Events.Queue, "events-queue", events.DefaultQueue, "most events waiting for the receiver; past it the newest are dropped and counted")
	fs.StringVar(&cfg.PprofAddr, "pprof-addr", "", "serve net/http/pprof on this loopback address, e.g. 127.0.0.1:6060; off when empty")
}

// Parse reads flags, each falling back to its environment variable and
// then to its default, and checks what no single flag can.
func Parse(args []string, getenv func(string) string) (Config, error) {
	var (
		cfg Config
		r   raw
	)
	fs := flag.NewFlagSet("totp", flag.ContinueOnError)
	// -h prints the usage for a person; errors are returned, and logged.
	fs.SetOutput(io.Discard)
	define(fs, &cfg, &r, getenv)
	// The environment first, so a flag on the command line wins.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := EnvName(f.Name)
		if f.Name != "version" {
			f.Usage += " (env " + name + ")"
		}
		if v := getenv(name); v != "" && f.Name != "version" && envErr == nil {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s must be %s: %w", name, kinds[flagKind(f)], err)
			}
		}
	})
	if envErr != nil {
		return cfg, envErr
	}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(os.Stdout)
		fs.PrintDefaults()
		cfg.Help = true
		return cfg, nil
	} else if err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return cfg, cfg.finish(getenv, r)
}

// finish checks the settings against each other and fills those whose
// default depends on others.
func (cfg *Config) finish(getenv func(string) string, r raw) error {
	var err error
	switch cfg.RedisMode {
	case "single", "cluster", "sentinel":
	default:
		return fmt.Errorf("redis mode must be single, cluster or sentinel, not %q", cfg.RedisMode)
	}
	if strings.ContainsAny(cfg.RedisPrefix, "{}") {
		// The first {...} of a key is its hash tag, which the guard sets.
		return errors.New("REDIS_PREFIX must not contain { or }")
	}
	switch strings.ToLower(r.guardMode) {
	case "on", "true", "1":
		cfg.Guard = true
	case "off", "false", "0":
	default:
		return fmt.Errorf("guard must be on or off, not %q", r.guardMode)
	}
	if r.capacity != "" {
		if cfg.GuardCapacity, err = strconv.Atoi(r.capacity); err != nil || cfg.GuardCapacity < 1 {
			return fmt.Errorf("guard capacity must be a positive integer")
		}
		cfg.CapacityFrom = "GUARD_CAPACITY"
	} else {
		cfg.GuardCapacity, cfg.CapacityFrom = DefaultCapacity(MemoryLimit(getenv))
	}
	if !(cfg.KeyShare > 0 && cfg.KeyShare <= 1) {
		return fmt.Errorf("guard key share must be a fraction above 0 and at most 1, such as 0.5")
	}
	if cfg.MaxFailures < 1 {
		return fmt.Errorf("max failures must be a positive integer")
	}
	cfg.SecretMaxFailures = guard.SecretCeilingFactor * cfg.MaxFailures
	if r.secretMax != "" {
		if cfg.SecretMaxFailures, err = strconv.Atoi(r.secretMax); err != nil || cfg.SecretMaxFailures < cfg.MaxFailures {
			return fmt.Errorf("secret max failures must be an integer at least MAX_FAILURES (%d)", cfg.MaxFailures)
		}
	}
	if cfg.FailureWindow < time.Second {
		return fmt.Errorf("failure window must be a duration of at least 1s, such as 5m")
	}
	switch {
	case r.guardKey != "" && len(r.guardKey) < MinGuardKeyLen:
		return fmt.Errorf("GUARD_KEY must be at least %d bytes", MinGuardKeyLen)
	case r.guardKey != "":
		cfg.GuardKey, cfg.GuardKeySet = []byte(r.guardKey), true
	case cfg.Guard && cfg.RedisURL != "":
		return errors.New("REDIS_URL needs GUARD_KEY: instances with different fingerprint keys cannot see each other's used codes; set the same GUARD_KEY (at least 16 random bytes) on every instance")
	default:
		cfg.GuardKey = make([]byte, 32)
		if _, err := rand.Read(cfg.GuardKey); err != nil {
			return err
		}
	}
	if cfg.APIKeys, err = ReadAPIKeys(cfg.APIKeysList, cfg.APIKeysFile); err != nil {
		return err
	}
	if len(cfg.APIKeys) == 0 && !Loopback(cfg.Addr) && !cfg.AllowNoAuth {
		return fmt.Errorf("listening on %s, beyond loopback, needs API keys (API_KEYS or API_KEYS_FILE); set ALLOW_NO_AUTH=true to serve anyone who reaches the port", cfg.Addr)
	}
	switch r.sealMode {
	case "required":
	case "optional":
		cfg.SealContextOptional = true
	default:
		return fmt.Errorf("SEAL_CONTEXT must be required or optional, not %q", r.sealMode)
	}
	if cfg.PprofAddr != "" && !Loopback(cfg.PprofAddr) {
		return errors.New("PPROF_ADDR must be a loopback address such as 127.0.0.1:6060: profiles show the process's memory")
	}
	if cfg.ChallengeMaxAttempts < 1 {
		return errors.New("challenge max attempts must be a positive integer")
	}
	if cfg.ChallengeSubjectMaxFailures < 1 {
		return errors.New("challenge subject max failures must be a positive integer")
	}
	if cfg.ChallengeMinDigits < challenge.MinDigits || cfg.ChallengeMinDigits > challenge.MaxDigits {
		return fmt.Errorf("challenge min digits must be from %d to %d", challenge.MinDigits, challenge.MaxDigits)
	}
	if cfg.RecoveryKeys, err = seal.ParseKeys("RECOVERY_KEYS", r.recoveryKeys); err != nil {
		return err
	}
	if len(cfg.RecoveryKeys) == 0 && cfg.GuardKeySet {
		cfg.RecoveryKeys = []seal.Key{guardRecoveryKey(cfg.GuardKey)}
	}
	if cfg.ChallengeKeys, err = seal.ParseKeys("CHALLENGE_KEYS", r.challengeKeys); err != nil {
		return err
	}
	if cfg.SealKeys, err = seal.ParseKeys("SEAL_KEYS", r.sealKeys); err != nil {
		return err
	}
	if cfg.TrustKeys, err = seal.ParseKeys("TRUST_KEYS", r.trustKeys); err != nil {
		return err
	}
	cfg.Events.Secret = []byte(r.eventsSecret)
	if cfg.Events.URL != "" && len(cfg.Events.Secret) < delivery.MinWebhookSecretLen {
		return fmt.Errorf("EVENTS_WEBHOOK_URL needs EVENTS_WEBHOOK_SECRET of at least %d bytes", delivery.MinWebhookSecretLen)
	}
	if cfg.Events.Queue < 1 {
		return errors.New("EVENTS_QUEUE must be at least 1")
	}
	if cfg.TrustMaxAge < trust.MinTTL {
		return errors.New("TRUST_MAX_AGE must be at least 1h")
	}
	if r.countries != "" {
		cfg.Delivery.Countries = strings.Split(r.countries, ",")
	}
	cfg.Delivery.WebhookSecret = []byte(r.webhookSecret)
	if cfg.ResendCooldown < time.Second || cfg.MaxSends < 1 {
		return errors.New("CHALLENGE_RESEND_COOLDOWN must be at least 1s and CHALLENGE_MAX_SENDS at least 1")
	}
	cfg.OTLPEndpoint = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if cfg.OTLPEndpoint == "" {
		cfg.OTLPEndpoint = getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	return nil
}

// Markdown is the table of every setting, its flag, variable, default
// and meaning, as docs/configuration.md shows it.
func Markdown() string {
	fs := flag.NewFlagSet("totp", flag.ContinueOnError)
	define(fs, new(Config), new(raw), func(string) string { return "" })
	var b strings.Builder
	b.WriteString("| flag | env | default | meaning |\n|---|---|---|---|\n")
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "version" {
			return
		}
		def := "none"
		if f.DefValue != "" {
			def = "`" + f.DefValue + "`"
		}
		fmt.Fprintf(&b, "| `-%s` | `%s` | %s | %s |\n", f.Name, EnvName(f.Name), def, strings.ReplaceAll(f.Usage, "|", "\\|"))
	})
	return b.String()
}

// KeyShareRecords is how many guard records one API key may hold.
func (cfg Config) KeyShareRecords() int {
	return max(int(cfg.KeyShare*float64(cfg.GuardCapacity)), 1)
}

// LogValue is the effective configuration for the start-up line: every
// setting, and of each secret only whether it is set (or the names and
// IDs of keys, which are not secret).
func (cfg Config) LogValue() slog.Value {
	guardKey := "random per process"
	if cfg.GuardKeySet {
		guardKey = "set"
	}
	return slog.GroupValue(
		slog.String("addr", cfg.Addr), slog.String("log_level", cfg.LogLevel.String()), slog.String("shutdown_timeout", cfg.ShutdownTimeout.String()),
		slog.Bool("guard", cfg.Guard), slog.Int("guard_capacity", cfg.GuardCapacity), slog.String("guard_capacity_from", cfg.CapacityFrom),
		slog.Float64("guard_key_share", cfg.KeyShare), slog.Int("max_failures", cfg.MaxFailures), slog.Int("secret_max_failures", cfg.SecretMaxFailures),
		slog.String("failure_window", cfg.FailureWindow.String()), slog.String("guard_key", guardKey),
		slog.String("redis_url", RedactURL(cfg.RedisURL)), slog.String("redis_mode", cfg.RedisMode), slog.String("redis_prefix", cfg.RedisPrefix),
		slog.Any("api_keys", KeyNames(cfg.APIKeys)), slog.Bool("allow_no_auth", cfg.AllowNoAuth), slog.Bool("seal_context_optional", cfg.SealContextOptional),
		slog.Any("challenge_keys", keyIDs(cfg.ChallengeKeys)), slog.Any("seal_keys", keyIDs(cfg.SealKeys)),
		slog.Int("challenge_max_attempts", cfg.ChallengeMaxAttempts), slog.Int("challenge_subject_max_failures", cfg.ChallengeSubjectMaxFailures),
		slog.Int("challenge_min_digits", cfg.ChallengeMinDigits), slog.Any("trust_keys", keyIDs(cfg.TrustKeys)), slog.String("trust_max_age", cfg.TrustMaxAge.String()),
		slog.String("events_webhook_url", RedactURL(cfg.Events.URL)), slog.Bool("events_webhook_secret", len(cfg.Events.Secret) > 0), slog.Int("events_queue", cfg.Events.Queue), slog.Any("recovery_keys", keyIDs(cfg.RecoveryKeys)), slog.String("pprof_addr", cfg.PprofAddr),
		slog.String("otlp_endpoint", RedactURL(cfg.OTLPEndpoint)),
		slog.String("smtp_url", RedactURL(cfg.Delivery.SMTPURL)), slog.String("email_from", cfg.Delivery.EmailFrom),
		slog.String("twilio_account_sid", cfg.Delivery.TwilioAccountSID), slog.Bool("twilio_auth_token", cfg.Delivery.TwilioAuthToken != ""),
		slog.String("twilio_from", cfg.Delivery.TwilioFrom), slog.String("twilio_api_url", RedactURL(cfg.Delivery.TwilioAPIURL)),
		slog.Any("sms_countries", cfg.Delivery.Countries), slog.String("delivery_webhook_url", RedactURL(cfg.Delivery.WebhookURL)),
		slog.Bool("delivery_webhook_secret", len(cfg.Delivery.WebhookSecret) > 0), slog.String("delivery_timeout", cfg.Delivery.Timeout.String()),
		slog.String("templates_dir", cfg.Delivery.TemplatesDir), slog.String("issuer", cfg.Delivery.Issuer),
		slog.String("challenge_resend_cooldown", cfg.ResendCooldown.String()), slog.Int("challenge_max_sends", cfg.MaxSends),
	)
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

// KeyNames lists the keys' names for the log: names, never keys.
func KeyNames(keys []access.Key) []string {
	names := []string{}
	for _, k := range keys {
		names = append(names, k.Name)
	}
	return names
}

// RedactURL is u with every credential replaced: the userinfo's password,
// and any query parameter that names a password (go-redis reads
// password= and sentinel_password= from Sentinel URLs); a word for a URL
// that does not parse (which might be all password).
func RedactURL(u string) string {
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

// MemoryLimit is the process's memory limit: GOMEMLIMIT when set, else the
// cgroup's (a container's), else 0.
func MemoryLimit(getenv func(string) string) uint64 {
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

// DefaultCapacity sizes the memory store to half of limit, so the store
// refuses before the process is killed for its memory, and says where
// the figure came from.
func DefaultCapacity(limit uint64) (int, string) {
	if limit == 0 {
		return guard.DefaultCapacity, "default"
	}
	return max(int(limit/2/guard.RecordBytes), 1000), "memory limit"
}

// ReadAPIKeys gathers the keys from the list and the file; none when both
// are unset. A file that is set must hold keys: an empty one (a secret
// that was not mounted) is an error, never "no authentication".
func ReadAPIKeys(list, file string) ([]access.Key, error) {
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

// Loopback reports whether addr listens on loopback only.
func Loopback(addr string) bool {
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

// ReloadKeysOnHUP reads the keys again on every SIGHUP until ctx is done, and
// puts them in force; keys that do not read keep the old ones in force.
func (cfg Config) ReloadKeysOnHUP(ctx context.Context, ring *access.Ring, log *slog.Logger) {
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
			keys, err := ReadAPIKeys(cfg.APIKeysList, cfg.APIKeysFile)
			if err == nil && len(keys) == 0 {
				err = access.ErrNoKeys
			}
			if err != nil {
				log.Error("API keys not reloaded; the keys in force stay", "err", err.Error(), "api_keys", ring.Names())
				continue
			}
			ring.Replace(keys)
			log.Info("API keys reloaded", "api_keys", KeyNames(keys))
		}
	}()
}
