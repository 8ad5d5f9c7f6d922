package emulator_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
	sfclock "github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/keys"
)

// The latency fault waits on the org's clock, so a test moves it forward
// instead of sleeping, and a client that gives up is let go at once.
func TestLatencyFaultWaitsOnTheClock(t *testing.T) {
	clk := sfclock.NewFake(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	pair, err := keys.NewPair(sharedKey(), keys.CertificateOptions{Subject: "CN=clock", Days: 1})
	if err != nil {
		t.Fatal(err)
	}
	o, err := emulator.New(emulator.Config{Fixture: emulator.DefaultFixture("key", pair.CertPEM), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.AddFault(emulator.FaultSpec{Path: "/services/data/**", Action: emulator.FaultLatency, Latency: "2s"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		rec := httptest.NewRecorder()
		o.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/services/data/", nil))
		done <- rec.Code
	}()
	if err := clk.BlockUntil(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(1999 * time.Millisecond)
	select {
	case code := <-done:
		t.Fatalf("answered %d before the latency passed", code)
	default:
	}
	clk.Advance(time.Millisecond)
	if code := <-done; code != http.StatusOK {
		t.Errorf("status %d after the latency", code)
	}
	if got := o.Requests(1); len(got) != 1 || got[0].DurationMS != 2000 {
		t.Errorf("request log %+v, want one entry of 2000 ms on the org's clock", got)
	}
	if got := o.Now(); !got.Equal(clk.Now()) {
		t.Errorf("org time %v, want the clock's %v", got, clk.Now())
	}
}
