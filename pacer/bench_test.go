package pacer

import (
	"context"
	"testing"
	"time"

	"github.com/rolesweep/rolesweep/management"
)

// BenchmarkPacerOverhead measures what a Call costs beyond its attempt when
// nothing limits it: a tenant that sends no rate-limit headers.
func BenchmarkPacerOverhead(b *testing.B) {
	p := New(Config{Seed: 1})
	attempt := func(context.Context) (management.Response, error) {
		return management.Response{StatusCode: 204}, nil
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if out := p.Call(ctx, attempt); out.Err != nil {
			b.Fatal(out.Err)
		}
	}
}

// BenchmarkPacerOverheadParallel is the same from many goroutines at once:
// the cost of sharing one Pacer.
func BenchmarkPacerOverheadParallel(b *testing.B) {
	p := New(Config{Seed: 1})
	attempt := func(context.Context) (management.Response, error) {
		return management.Response{StatusCode: 204}, nil
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if out := p.Call(ctx, attempt); out.Err != nil {
				b.Error(out.Err)
				return
			}
		}
	})
}

// BenchmarkPacerOverheadWithHeaders adds the model's bookkeeping: every
// answer carries rate-limit headers of a bucket too big to ever hold a
// request back.
func BenchmarkPacerOverheadWithHeaders(b *testing.B) {
	p := New(Config{Seed: 1})
	reset := time.Now().Add(time.Second)
	attempt := func(context.Context) (management.Response, error) {
		return management.Response{StatusCode: 204, RateLimit: management.RateLimit{
			Present: true, Limit: 1 << 30, Remaining: 1<<30 - 1, Reset: reset,
		}}, nil
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if out := p.Call(ctx, attempt); out.Err != nil {
			b.Fatal(out.Err)
		}
	}
}
