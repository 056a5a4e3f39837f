package smpp

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkSubmitLoopback measures submit_sm round trips from a Client to
// a Server over loopback TCP, with as many submitters as window slots so
// the window stays full. It reports messages a second.
func BenchmarkSubmitLoopback(b *testing.B) {
	for _, window := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("window=%d", window), func(b *testing.B) {
			benchmarkSubmit(b, window)
		})
	}
}

func benchmarkSubmit(b *testing.B, window int) {
	srv := &Server{
		Authenticator: testAuthenticator,
		Handler:       okHandler,
		InboundWindow: window,
	}
	addr := startServer(b, srv)
	cfg := testClientConfig(addr)
	cfg.WindowSize = window
	c, err := Dial(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range window {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if _, err := c.Submit(context.Background(), testSubmit("benchmark message")); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
}
