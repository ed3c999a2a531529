package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// batchedWriter gathers log lines and writes them in batches: one write
// system call per access line would cost more than the verification it
// records. Lines reach the underlying writer within flushEvery, when 64 KiB
// have gathered, and on Close.
type batchedWriter struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

func newBatchedWriter(w io.Writer, flushEvery time.Duration) *batchedWriter {
	b := &batchedWriter{buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		tick := time.NewTicker(flushEvery)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
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
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *batchedWriter) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.buf.Flush()
}

// Close stops the flusher and writes what is left.
func (b *batchedWriter) Close() error {
	close(b.stop)
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Flush()
}
