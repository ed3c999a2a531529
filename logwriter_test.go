package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lockedBuffer is a bytes.Buffer written by the flusher and read by the test.
type lockedBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestBatchedWriterKeepsEveryLineWhole(t *testing.T) {
	tests := []struct {
		name    string
		writers int
		lines   int
		size    int // bytes per line
	}{
		{"one writer", 1, 1000, 100},
		{"many writers", 16, 500, 200},
		{"past the pending limit", 4, 600, 1 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out lockedBuffer
			w := newBatchedWriter(&out, time.Hour)
			var wg sync.WaitGroup
			for g := range tt.writers {
				wg.Go(func() {
					for i := range tt.lines {
						prefix := fmt.Sprintf("%d %d ", g, i)
						line := prefix + strings.Repeat("x", tt.size-len(prefix)-1) + "\n"
						n, err := w.Write([]byte(line))
						assert.NoError(t, err)
						assert.Equal(t, len(line), n)
					}
				})
			}
			wg.Wait()
			require.NoError(t, w.Close())

			got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			require.Len(t, got, tt.writers*tt.lines)
			next := make([]int, tt.writers)
			for _, line := range got {
				var g, i int
				_, err := fmt.Sscanf(line, "%d %d ", &g, &i)
				require.NoError(t, err)
				require.Len(t, line, tt.size-1, "line %q was torn", line[:20])
				require.Equal(t, next[g], i, "writer %d's lines out of order", g)
				next[g]++
			}
		})
	}
}

func TestBatchedWriterFlushes(t *testing.T) {
	t.Run("on the tick", func(t *testing.T) {
		var out lockedBuffer
		w := newBatchedWriter(&out, time.Millisecond)
		defer w.Close()
		_, _ = w.Write([]byte("one line\n"))
		require.Eventually(t, func() bool { return out.String() == "one line\n" }, 5*time.Second, time.Millisecond)
	})
	t.Run("when a batch is full, before the tick", func(t *testing.T) {
		var out lockedBuffer
		w := newBatchedWriter(&out, time.Hour)
		defer w.Close()
		line := []byte(strings.Repeat("x", 1023) + "\n")
		for range batchSize / len(line) {
			_, _ = w.Write(line)
		}
		require.Eventually(t, func() bool { return len(out.String()) == batchSize }, 5*time.Second, time.Millisecond)
		out.mu.Lock()
		defer out.mu.Unlock()
		assert.Equal(t, 1, out.writes, "one batch, one write")
	})
}

// gatedWriter holds every write until its gate opens, as a stuck stdout.
type gatedWriter struct {
	gate chan struct{}
	lockedBuffer
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	<-g.gate
	return g.lockedBuffer.Write(p)
}

// TestBatchedWriterStuckOutput: with the output stuck, pending lines stop
// at maxPending and writers wait; once it moves, every line arrives in order.
func TestBatchedWriterStuckOutput(t *testing.T) {
	out := &gatedWriter{gate: make(chan struct{})}
	w := newBatchedWriter(out, time.Millisecond)
	line := []byte(strings.Repeat("x", 1023) + "\n")
	lines := 2 * maxPending / len(line)
	wrote := make(chan int)
	go func() {
		n := 0
		for range lines {
			m, _ := w.Write(line)
			n += m
		}
		wrote <- n
	}()
	require.Eventually(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.pending) > maxPending-len(line)
	}, 5*time.Second, time.Millisecond, "pending lines should fill up to the limit")
	w.mu.Lock()
	assert.LessOrEqual(t, len(w.pending), maxPending)
	w.mu.Unlock()
	select {
	case <-wrote:
		t.Fatal("writes went on while the output was stuck and the pending limit reached")
	default:
	}
	close(out.gate)
	assert.Equal(t, lines*len(line), <-wrote)
	require.NoError(t, w.Close())
	assert.Len(t, out.String(), lines*len(line))
}
