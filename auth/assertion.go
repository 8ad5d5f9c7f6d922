package auth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"
)

// AssertionLifetime is how far ahead of now an assertion's exp lies.
// Salesforce documents "within 3 minutes".
const AssertionLifetime = 3 * time.Minute

// assertionHeader is the JOSE header, base64url-encoded once:
// {"alg":"RS256","typ":"JWT"}.
const assertionHeader = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"

type claims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Aud string `json:"aud"` // one string: an array is refused
	Exp int64  `json:"exp"` // seconds, not milliseconds
}

// SignAssertion returns the compact JWS of the JWT bearer assertion for
// consumerKey (iss), username (sub) and audience (aud), expiring
// AssertionLifetime after now, signed RS256 with key.
func SignAssertion(key *rsa.PrivateKey, consumerKey, username, audience string, now time.Time) (string, error) {
	payload, err := json.Marshal(claims{
		Iss: consumerKey,
		Sub: username,
		Aud: audience,
		Exp: now.Add(AssertionLifetime).Unix(),
	})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := assertionHeader + "." + enc.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + enc.EncodeToString(sig), nil
}
