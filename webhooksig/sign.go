// Package webhooksig signs and verifies sfbridge's webhook deliveries: the
// Sfbridge-Signature header is "t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<raw body>" keyed with the shared secret>", with one v1 entry per
// secret while a secret is being rotated. Receivers call [Verify] on the raw
// body; docs/webhooks.md describes the protocol.
package webhooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of a delivery.
const (
	HeaderEventID   = "Sfbridge-Event-Id"
	HeaderEventType = "Sfbridge-Event-Type"
	HeaderSignature = "Sfbridge-Signature"
)

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// maxHeaderLen bounds what Verify parses: a header with a timestamp and a
// handful of signatures is well under a kilobyte.
const maxHeaderLen = 8 << 10

// Errors of Verify, matched with errors.Is. Each returned error is a
// *VerifyError that says more.
var (
	// ErrMalformedHeader: the Sfbridge-Signature header is missing or not
	// "t=<unix seconds>,v1=<hex>[,v1=<hex>…]".
	ErrMalformedHeader = errors.New("webhook: malformed Sfbridge-Signature header")
	// ErrNoMatchingSignature: no v1 entry is the HMAC of this body under
	// this secret (wrong secret, or a body changed on the way).
	ErrNoMatchingSignature = errors.New("webhook: no matching signature")
	// ErrTimestampOutsideTolerance: the signature is valid but its
	// timestamp is too far from now (a replayed or delayed request, or a
	// clock out of sync).
	ErrTimestampOutsideTolerance = errors.New("webhook: signature timestamp outside tolerance")
)

// VerifyError is what Verify returns: Kind is one of the Err… values above
// and Detail says what exactly was wrong.
type VerifyError struct {
	Kind   error
	Detail string
}

func (e *VerifyError) Error() string { return e.Kind.Error() + ": " + e.Detail }

// Is makes errors.Is(err, e.Kind) true.
func (e *VerifyError) Is(target error) bool { return target == e.Kind }

// Signature computes the hex HMAC-SHA256 of "<t>.<body>" keyed with secret,
// t being Unix seconds.
func Signature(secret []byte, t int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(t, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// SignatureHeader builds the Sfbridge-Signature value for body signed at
// t with each of secrets (one v1 entry per secret, in order), for example
// "t=1700000000,v1=5257a8…". Deliverers sign with one secret; several
// serve receivers' tests of a secret rotation.
func SignatureHeader(t time.Time, body []byte, secrets ...[]byte) string {
	ts := t.Unix()
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(strconv.FormatInt(ts, 10))
	for _, s := range secrets {
		b.WriteString(",v1=")
		b.WriteString(Signature(s, ts, body))
	}
	return b.String()
}

// parsedHeader is a Sfbridge-Signature header taken apart.
type parsedHeader struct {
	t  int64
	v1 [][]byte
}

// parseHeader reads "t=<unix>,v1=<hex>,…". Entries of other schemes (v0=,
// a future v2=) are skipped; v1 values that are not 64 hex digits are
// refused, as is a header without t or without any v1.
func parseHeader(h string) (parsedHeader, error) {
	var p parsedHeader
	bad := func(detail string) (parsedHeader, error) {
		return parsedHeader{}, &VerifyError{Kind: ErrMalformedHeader, Detail: detail}
	}
	if h == "" {
		return bad("the header is empty (is Sfbridge-Signature missing?)")
	}
	if len(h) > maxHeaderLen {
		return bad(fmt.Sprintf("the header is %d bytes, more than %d", len(h), maxHeaderLen))
	}
	seenT := false
	for part := range strings.SplitSeq(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return bad(fmt.Sprintf("entry %q is not key=value", truncate(part, 40)))
		}
		switch k {
		case "t":
			if seenT {
				return bad("t appears twice")
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return bad(fmt.Sprintf("t=%q is not Unix seconds", truncate(v, 40)))
			}
			p.t, seenT = n, true
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return bad(fmt.Sprintf("v1=%q is not 64 hex digits", truncate(v, 80)))
			}
			p.v1 = append(p.v1, sig)
		default:
			// Another scheme; receivers verify v1 only.
		}
	}
	switch {
	case !seenT:
		return bad("there is no t= entry")
	case len(p.v1) == 0:
		return bad("there is no v1= entry")
	}
	return p, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Verify checks a delivery on the receiving side: header is the
// Sfbridge-Signature value, body the raw request body (before any JSON
// decoding), secret the shared secret. It succeeds when any v1 entry
// matches (so a receiver may be sent several during a secret rotation)
// and the timestamp is within tolerance of now (DefaultTolerance when
// tolerance <= 0). Errors are *VerifyError matching ErrMalformedHeader,
// ErrNoMatchingSignature or ErrTimestampOutsideTolerance.
func Verify(secret []byte, header string, body []byte, tolerance time.Duration, now time.Time) error {
	p, err := parseHeader(header)
	if err != nil {
		return err
	}
	want, _ := hex.DecodeString(Signature(secret, p.t, body))
	match := false
	for _, sig := range p.v1 {
		if hmac.Equal(sig, want) {
			match = true
		}
	}
	if !match {
		return &VerifyError{Kind: ErrNoMatchingSignature, Detail: fmt.Sprintf(
			"none of %d v1 signature(s) is the HMAC-SHA256 of this body under this secret; check the secret, and verify the raw body before parsing it", len(p.v1))}
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	signed := time.Unix(p.t, 0)
	if d := now.Sub(signed).Abs(); d > tolerance {
		return &VerifyError{Kind: ErrTimestampOutsideTolerance, Detail: fmt.Sprintf(
			"signed at %s, %s from now, more than %s: a replayed request, or a clock out of sync (run NTP)",
			signed.UTC().Format(time.RFC3339), d.Round(time.Second), tolerance)}
	}
	return nil
}
