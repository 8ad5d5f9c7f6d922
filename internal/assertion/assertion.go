// Package assertion signs JWT bearer assertions (RS256, compact JWS with
// unpadded base64url parts) for the emulator's tests, the sftest helpers and
// the load generator. It builds exactly what it is given, so tests can also
// produce the malformed and forged assertions the emulator must refuse.
package assertion

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// Claims are the claims of a typical assertion. Extra holds any additional
// or overriding claims (for example an exp given as a string).
type Claims struct {
	Issuer   string // iss: the app's consumer key
	Subject  string // sub: the username
	Audience string // aud
	Expiry   time.Time
	Extra    map[string]any
}

// Map returns the claims as a JSON object map with exp in seconds.
func (c Claims) Map() map[string]any {
	m := map[string]any{"iss": c.Issuer, "sub": c.Subject, "aud": c.Audience}
	if !c.Expiry.IsZero() {
		m["exp"] = c.Expiry.Unix()
	}
	for k, v := range c.Extra {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return m
}

// Sign returns an RS256 assertion with header {"alg":"RS256","typ":"JWT"}.
func Sign(key *rsa.PrivateKey, c Claims) (string, error) {
	return SignRaw(key, map[string]any{"alg": "RS256", "typ": "JWT"}, c.Map())
}

// SignRaw signs arbitrary header and claims objects with RS256 over
// key, whatever the header says.
func SignRaw(key *rsa.PrivateKey, header, claims any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("assertion: encode header: %w", err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("assertion: encode claims: %w", err)
	}
	input := Encode(h) + "." + Encode(p)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("assertion: sign: %w", err)
	}
	return input + "." + Encode(sig), nil
}

// Encode is unpadded base64url, the encoding of every JWS part.
func Encode(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
