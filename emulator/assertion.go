package emulator

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxAssertionLen bounds what the token endpoint will try to parse.
const maxAssertionLen = 16 << 10

// refusedHeaders are JOSE header parameters that would let the assertion
// carry, fetch or pin its own verification key (jku, jwk, x5u, x5c, x5t), demand
// processing the org does not do (crit), or make it something other than a
// plain signed JWT (zip, enc). Salesforce verifies against the certificates
// uploaded to the app and nothing else.
//
// kid and typ are not here. Salesforce documents the header as
// {"alg":"RS256"} and says nothing of other parameters; x/oauth2 sends kid
// when PrivateKeyID is set and most JWT libraries send typ. Both are ignored:
// the signature is checked against every certificate of the app, whatever
// kid says, and typ changes nothing.
var refusedHeaders = []string{"jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "crit", "zip", "enc"}

// assertion is a parsed, not yet verified, JWT bearer assertion.
type assertion struct {
	signingInput string
	signature    []byte

	Issuer   string
	Subject  string // sub, or prn when present (prn wins, as in Salesforce)
	Audience string
	Expiry   time.Time
}

// parseAssertion decodes a compact JWS and its claims. It checks the form
// only: alg must be RS256 and no key-carrying header may be present; the
// signature is checked by verify. Errors describe the defect for the
// emulator's login history; clients only ever see "invalid assertion".
func parseAssertion(s string) (*assertion, error) {
	if len(s) > maxAssertionLen {
		return nil, fmt.Errorf("assertion is %d bytes, more than %d", len(s), maxAssertionLen)
	}
	first := strings.IndexByte(s, '.')
	last := strings.LastIndexByte(s, '.')
	if first < 0 || first == last || strings.Count(s, ".") != 2 {
		return nil, errors.New("not a compact JWS: want three dot-separated parts")
	}
	hPart, pPart, sPart := s[:first], s[first+1:last], s[last+1:]
	if hPart == "" || pPart == "" {
		return nil, errors.New("empty header or payload")
	}
	if sPart == "" {
		return nil, errors.New("no signature")
	}
	hdr, err := decodePart(hPart)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	payload, err := decodePart(pPart)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	sig, err := decodePart(sPart)
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	if err := checkHeader(hdr); err != nil {
		return nil, err
	}
	a := &assertion{signingInput: s[:last], signature: sig}
	if err := a.readClaims(payload); err != nil {
		return nil, err
	}
	return a, nil
}

func decodePart(p string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil, errors.New("not unpadded base64url")
	}
	return b, nil
}

func checkHeader(b []byte) error {
	var h map[string]json.RawMessage
	if err := json.Unmarshal(b, &h); err != nil || h == nil {
		return errors.New("header is not a JSON object")
	}
	var alg string
	if err := json.Unmarshal(h["alg"], &alg); err != nil {
		return errors.New("header has no string alg")
	}
	if alg != "RS256" {
		return fmt.Errorf("alg %q is not RS256", alg)
	}
	for _, k := range refusedHeaders {
		if _, ok := h[k]; ok {
			return fmt.Errorf("header parameter %q is not accepted: the app's uploaded certificate is the only key", k)
		}
	}
	return nil
}

func (a *assertion) readClaims(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var c map[string]any
	if err := dec.Decode(&c); err != nil || c == nil {
		return errors.New("claims are not a JSON object")
	}
	if dec.More() {
		return errors.New("trailing data after the claims")
	}
	str := func(name string) (string, bool, error) {
		v, ok := c[name]
		if !ok {
			return "", false, nil
		}
		s, isStr := v.(string)
		if !isStr {
			return "", true, fmt.Errorf("claim %s is not a string", name)
		}
		return s, true, nil
	}
	var err error
	if a.Issuer, _, err = str("iss"); err != nil {
		return err
	}
	sub, _, err := str("sub")
	if err != nil {
		return err
	}
	prn, hasPrn, err := str("prn")
	if err != nil {
		return err
	}
	a.Subject = sub
	if hasPrn {
		a.Subject = prn
	}
	if v, ok := c["aud"]; ok {
		s, isStr := v.(string)
		if !isStr {
			return errors.New("claim aud is not a single string")
		}
		a.Audience = s
	}
	if v, ok := c["exp"]; ok {
		t, err := parseExp(v)
		if err != nil {
			return err
		}
		a.Expiry = t
	}
	return nil
}

// parseExp reads exp as Salesforce tolerates it: a JSON number or a numeric
// string, in seconds, or in milliseconds when larger than 1e11 (the sf CLI
// sends Date.now()+300).
func parseExp(v any) (time.Time, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = strings.TrimSpace(x)
	default:
		return time.Time{}, errors.New("claim exp is neither a number nor a numeric string")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > 1e16 {
		return time.Time{}, fmt.Errorf("claim exp %q is not a usable time", s)
	}
	if f > 1e11 {
		return time.UnixMilli(int64(f)), nil
	}
	return time.Unix(int64(f), 0), nil
}

// verify checks the RS256 signature against each key; one match suffices.
func (a *assertion) verify(keys []*rsa.PublicKey) bool {
	if len(keys) == 0 {
		return false
	}
	sum := sha256.Sum256([]byte(a.signingInput))
	for _, k := range keys {
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], a.signature) == nil {
			return true
		}
	}
	return false
}
