package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunInProcess(t *testing.T) {
	if err := run(t.Context(), "both", 300*time.Millisecond, 4, ""); err != nil {
		t.Fatal(err)
	}
}

func TestRunRefusesUnboundedOrRemote(t *testing.T) {
	if err := run(t.Context(), "rest", 2*time.Minute, 4, ""); err == nil {
		t.Error("a two-minute run was accepted")
	}
	if err := run(t.Context(), "rest", time.Second, 0, ""); err == nil {
		t.Error("zero connections were accepted")
	}
	info := filepath.Join(t.TempDir(), "info.json")
	if err := os.WriteFile(info, []byte(`{"base_url":"http://10.1.2.3:8484","key_file":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), "rest", time.Second, 1, info); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("a remote target: %v", err)
	}
}

func TestMeasureCountsOKAndErrors(t *testing.T) {
	i := 0
	r := measure(t.Context(), 50*time.Millisecond, 1, 0, func(context.Context) error {
		i++
		if i%2 == 0 {
			return errors.New("boom")
		}
		return nil
	})
	if r.n == 0 || r.errs == 0 || r.firstErr == nil || r.n+r.errs < 2 {
		t.Errorf("result n=%d errs=%d first=%v", r.n, r.errs, r.firstErr)
	}
}
