package main

import (
	"io"
	"sync"
	"time"
)

// batchedWriter gathers log lines and writes them in batches: one write
// system call per access line would cost more than the verification it
// records. Lines reach the underlying writer within flushEvery, sooner
// when batchSize bytes are pending, and on Close. Writes to it never wait for the underlying writer, unless
// maxPending bytes are already waiting: then the line is written at once,
// so a stuck stdout slows requests down rather than grow memory.
type batchedWriter struct {
	w io.Writer

	mu      sync.Mutex
	pending []byte // lines not yet handed to w
	spare   []byte // the last batch's buffer, reused

	writing sync.Mutex    // one write to w at a time, in order
	full    chan struct{} // asks for a flush before the tick
	stop    chan struct{}
	done    chan struct{}
}

const (
	batchSize  = 64 << 10
	maxPending = 1 << 20
)

func newBatchedWriter(w io.Writer, flushEvery time.Duration) *batchedWriter {
	b := &batchedWriter{
		w:       w,
		pending: make([]byte, 0, batchSize),
		full:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go func() {
		defer close(b.done)
		tick := time.NewTicker(flushEvery)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				b.flush()
			case <-b.full:
				b.flush()
			case <-b.stop:
				return
			}
		}
	}()
	return b
}

// Write implements io.Writer; p is one whole log line.
func (b *batchedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	if len(b.pending)+len(p) <= maxPending {
		b.pending = append(b.pending, p...)
		full := len(b.pending) >= batchSize
		b.mu.Unlock()
		if full {
			select {
			case b.full <- struct{}{}:
			default:
			}
		}
		return len(p), nil
	}
	b.mu.Unlock()
	b.flush()
	b.writing.Lock()
	defer b.writing.Unlock()
	return b.w.Write(p)
}

// flush hands what is pending to w, holding the lock only to swap buffers.
func (b *batchedWriter) flush() {
	b.writing.Lock()
	defer b.writing.Unlock()
	b.mu.Lock()
	batch := b.pending
	b.pending, b.spare = b.spare[:0], nil
	b.mu.Unlock()
	if len(batch) > 0 {
		_, _ = b.w.Write(batch)
	}
	b.mu.Lock()
	b.spare = batch
	b.mu.Unlock()
}

// Close stops the flusher and writes what is left.
func (b *batchedWriter) Close() error {
	close(b.stop)
	<-b.done
	b.flush()
	return nil
}
