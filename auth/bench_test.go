package auth

import (
	"context"
	"testing"
)

// BenchmarkTokenWarm measures Token on a warm cache: the cost every API call
// pays. Target: ≤ 50 ns and 0 allocations.
func BenchmarkTokenWarm(b *testing.B) {
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

// BenchmarkConcurrentExpiry runs 1,000 concurrent calls through Transport
// while the session has expired and fails unless exactly one token request
// was made and no call failed.
func BenchmarkConcurrentExpiry(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		runConcurrentExpiry(b, 1000)
	}
}
