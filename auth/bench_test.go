package auth

import (
	"context"
	"testing"
)

// BenchmarkTokenWarm measures Token on a warm cache: the cost every API call
// pays. Target: ≤ 50 ns and 0 allocations.
func BenchmarkTokenWarm(b *testing.B) {
	ts := newTokenServer(b, func(tokenRequest, int64) (int, string) { return 200, okBody("sess") })
	s, err := NewTokenSource(testConfig(ts))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Token(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenWarmParallel is BenchmarkTokenWarm from all CPUs at once.
func BenchmarkTokenWarmParallel(b *testing.B) {
	s := NewCachedSource(func(context.Context) (*Token, error) { return &Token{AccessToken: "a"}, nil })
	ctx := context.Background()
	if _, err := s.Token(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Token(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTokenSourceConcurrentExpiry is BenchmarkConcurrentExpiry with the
// real JWT bearer exchange against a fake token endpoint.
func BenchmarkTokenSourceConcurrentExpiry(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		runTokenSourceExpiry(b, 1000)
	}
}

// BenchmarkConcurrentExpiry runs 1,000 concurrent calls through Transport
// while the session has expired and fails unless exactly one token request
// was made and no call failed.
func BenchmarkConcurrentExpiry(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		runConcurrentExpiry(b, 1000)
	}
}

// TestTokenWarmDoesNotAllocate holds the 0-allocation half of the warm
// Token target, which the benchmark only reports.
func TestTokenWarmDoesNotAllocate(t *testing.T) {
	ts := newTokenServer(t, func(tokenRequest, int64) (int, string) { return 200, okBody("sess") })
	s, err := NewTokenSource(testConfig(ts))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { _, _ = s.Token(ctx) }); n != 0 {
		t.Fatalf("a warm Token call allocates %v times, want 0", n)
	}
}
