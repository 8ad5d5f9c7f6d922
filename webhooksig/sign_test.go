package webhooksig

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	testSecret = []byte("whsec-test-0123456789abcdef")
	signedAt   = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func TestSignatureHeaderShape(t *testing.T) {
	body := []byte(`{"id":"evt1","type":"case.created"}`)
	h := SignatureHeader(signedAt, body, testSecret)
	want := "t=1772366400,v1=" + Signature(testSecret, 1772366400, body)
	if h != want {
		t.Fatalf("SignatureHeader = %q; want %q", h, want)
	}
	// The HMAC covers "<t>.<body>": recomputing it by hand gives the same.
	if got := Signature(testSecret, signedAt.Unix(), body); len(got) != 64 || strings.ToLower(got) != got {
		t.Fatalf("Signature = %q; want 64 lowercase hex digits", got)
	}
}

// A known answer, computed with `printf '%s' '1772366400.{"a":1}' | openssl dgst -sha256 -hmac 'whsec-test-0123456789abcdef'`,
// so that receivers in other languages can check their code against it.
func TestSignatureKnownAnswer(t *testing.T) {
	const want = "fb14f7004c8f1ff0aa82f13164e4caa41fbdddc57c0bb945e6d68527ffb62853"
	if got := Signature(testSecret, 1772366400, []byte(`{"a":1}`)); got != want {
		t.Fatalf("Signature = %s; want %s", got, want)
	}
}

func TestVerifyRoundTrip(t *testing.T) {
	body := []byte(`{"id":"evt1","type":"case.created","subject":"Printer on fire"}`)
	h := SignatureHeader(signedAt, body, testSecret)
	for _, now := range []time.Time{signedAt, signedAt.Add(4 * time.Minute), signedAt.Add(-4 * time.Minute)} {
		if err := Verify(testSecret, h, body, 0, now); err != nil {
			t.Errorf("Verify at %s: %v", now, err)
		}
	}
}

func TestVerifyRotation(t *testing.T) {
	old, cur := []byte("old-secret-0123456789"), []byte("new-secret-0123456789")
	body := []byte(`{"id":"e"}`)
	h := SignatureHeader(signedAt, body, old, cur)
	for _, s := range [][]byte{old, cur} {
		if err := Verify(s, h, body, time.Minute, signedAt); err != nil {
			t.Errorf("Verify with %s: %v", s, err)
		}
	}
	if err := Verify(testSecret, h, body, time.Minute, signedAt); !errors.Is(err, ErrNoMatchingSignature) {
		t.Errorf("Verify with a third secret: %v; want ErrNoMatchingSignature", err)
	}
}

func TestVerifyFailures(t *testing.T) {
	body := []byte(`{"id":"evt1"}`)
	good := SignatureHeader(signedAt, body, testSecret)
	sig := Signature(testSecret, signedAt.Unix(), body)
	tests := []struct {
		name   string
		secret []byte
		header string
		body   string
		tol    time.Duration
		now    time.Time
		want   error
	}{
		{"empty header", testSecret, "", string(body), 0, signedAt, ErrMalformedHeader},
		{"no t", testSecret, "v1=" + sig, string(body), 0, signedAt, ErrMalformedHeader},
		{"no v1", testSecret, "t=1772366400", string(body), 0, signedAt, ErrMalformedHeader},
		{"only v0", testSecret, "t=1772366400,v0=" + sig, string(body), 0, signedAt, ErrMalformedHeader},
		{"t not a number", testSecret, "t=soon,v1=" + sig, string(body), 0, signedAt, ErrMalformedHeader},
		{"negative t", testSecret, "t=-5,v1=" + sig, string(body), 0, signedAt, ErrMalformedHeader},
		{"t twice", testSecret, good + ",t=1772366400", string(body), 0, signedAt, ErrMalformedHeader},
		{"v1 not hex", testSecret, "t=1772366400,v1=zz" + sig[2:], string(body), 0, signedAt, ErrMalformedHeader},
		{"v1 too short", testSecret, "t=1772366400,v1=" + sig[:62], string(body), 0, signedAt, ErrMalformedHeader},
		{"entry without =", testSecret, good + ",garbage", string(body), 0, signedAt, ErrMalformedHeader},
		{"too long", testSecret, good + strings.Repeat(",x=y", 3000), string(body), 0, signedAt, ErrMalformedHeader},
		{"wrong secret", []byte("another-secret-0123"), good, string(body), 0, signedAt, ErrNoMatchingSignature},
		{"body changed", testSecret, good, `{"id":"evt2"}`, 0, signedAt, ErrNoMatchingSignature},
		{"body re-encoded", testSecret, good, `{ "id": "evt1" }`, 0, signedAt, ErrNoMatchingSignature},
		{"timestamp changed", testSecret, "t=1772366401,v1=" + sig, string(body), 0, signedAt, ErrNoMatchingSignature},
		{"too old", testSecret, good, string(body), 0, signedAt.Add(6 * time.Minute), ErrTimestampOutsideTolerance},
		{"too far ahead", testSecret, good, string(body), time.Minute, signedAt.Add(-2 * time.Minute), ErrTimestampOutsideTolerance},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.header, []byte(tt.body), tt.tol, tt.now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v; want %v", err, tt.want)
			}
			var ve *VerifyError
			if !errors.As(err, &ve) || ve.Detail == "" {
				t.Fatalf("Verify returned %T without detail; want *VerifyError", err)
			}
			if strings.Contains(err.Error(), string(tt.secret)) {
				t.Fatalf("the error names the secret: %v", err)
			}
		})
	}
}

func TestVerifyIgnoresOtherSchemesAndSpaces(t *testing.T) {
	body := []byte(`{}`)
	sig := Signature(testSecret, signedAt.Unix(), body)
	h := "t=1772366400, v0=abc, v1=" + strings.Repeat("0", 64) + ", v1=" + sig
	if err := Verify(testSecret, h, body, 0, signedAt); err != nil {
		t.Fatalf("Verify(%q): %v", h, err)
	}
}

func FuzzParseHeader(f *testing.F) {
	body := []byte(`{"id":"evt1"}`)
	f.Add(SignatureHeader(signedAt, body, testSecret))
	f.Add(SignatureHeader(signedAt, body, testSecret, []byte("second-secret-0123")))
	f.Add("t=1,v1=00")
	f.Add("t=,v1=")
	f.Add(",,,")
	f.Add("t=99999999999999999999,v1=" + strings.Repeat("a", 64))
	f.Add("v0=1,t=2,v1=" + strings.Repeat("A", 64) + ",x")
	f.Fuzz(func(t *testing.T, h string) {
		p, err := parseHeader(h)
		if err != nil {
			if !errors.Is(err, ErrMalformedHeader) {
				t.Fatalf("parseHeader(%q) = %v; want ErrMalformedHeader", h, err)
			}
			return
		}
		if p.t < 0 || len(p.v1) == 0 {
			t.Fatalf("parseHeader(%q) accepted t=%d with %d v1 entries", h, p.t, len(p.v1))
		}
		for _, s := range p.v1 {
			if len(s) != 32 {
				t.Fatalf("parseHeader(%q) accepted a %d-byte v1", h, len(s))
			}
		}
		// Verify agrees with the parser and never panics.
		err = Verify(testSecret, h, body, time.Hour, time.Unix(p.t, 0))
		if err != nil && !errors.Is(err, ErrNoMatchingSignature) {
			t.Fatalf("Verify(%q) = %v after the header parsed", h, err)
		}
	})
}

func FuzzVerifyRoundTrip(f *testing.F) {
	f.Add([]byte(`{"id":"evt1"}`), []byte("0123456789abcdef"), int64(1772366400))
	f.Add([]byte{}, []byte("k"), int64(0))
	f.Fuzz(func(t *testing.T, body, secret []byte, ts int64) {
		if ts < 0 || ts > 1<<40 {
			return
		}
		at := time.Unix(ts, 0)
		if err := Verify(secret, SignatureHeader(at, body, secret), body, time.Second, at); err != nil {
			t.Fatalf("a fresh signature does not verify: %v", err)
		}
		if len(body) > 0 {
			changed := append([]byte{body[0] ^ 1}, body[1:]...)
			if err := Verify(secret, SignatureHeader(at, body, secret), changed, time.Second, at); !errors.Is(err, ErrNoMatchingSignature) {
				t.Fatalf("a changed body verifies: %v", err)
			}
		}
	})
}
