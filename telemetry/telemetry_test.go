package telemetry_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/telemetry"
)

// writes counts the writes it is given, and keeps what they held.
type writes struct {
	mu  sync.Mutex
	n   int
	buf bytes.Buffer
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	return w.buf.Write(p)
}

func (w *writes) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Split(strings.TrimSpace(w.buf.String()), "\n")
}

// TestBufferedLogger: info lines share writes; a warning is written at
// once, after every line before it; stop writes the rest; every line is
// one JSON object, in order.
func TestBufferedLogger(t *testing.T) {
	w := new(writes)
	log, stop := telemetry.NewBufferedLogger(w, slog.LevelInfo)
	for i := range 1000 {
		log.Info("request", "i", i)
	}
	w.mu.Lock()
	assert.Less(t, w.n, 100, "a thousand info lines in a few writes, not one each")
	w.mu.Unlock()

	log.Warn("guard store full")
	lines := w.lines()
	require.Len(t, lines, 1001, "the warning is out at once, with all before it")
	assert.Contains(t, lines[1000], `"level":"WARN"`)

	log.Info("shutting down")
	require.NoError(t, stop())
	lines = w.lines()
	require.Len(t, lines, 1002, "stop writes what is left")
	for i, line := range lines {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &v), "line %d", i)
		if i < 1000 {
			assert.EqualValues(t, i, v["i"], "in order")
		}
	}
}
