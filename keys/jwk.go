package keys

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
)

// JWK is an RSA public key as a JSON Web Key (RFC 7517, RFC 7518 §6.3), the
// form Salesforce's Messaging for In-App and Web user verification takes.
type JWK struct {
	Kty     string   `json:"kty"`
	Use     string   `json:"use,omitempty"`
	Alg     string   `json:"alg,omitempty"`
	Kid     string   `json:"kid,omitempty"`
	N       string   `json:"n"`
	E       string   `json:"e"`
	X5c     []string `json:"x5c,omitempty"`
	X5tS256 string   `json:"x5t#S256,omitempty"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// NewJWK returns the JWK of pub for RS256 signatures ("use": "sig").
// kid is the Key ID registered in Salesforce; empty means the RFC 7638
// thumbprint. chain, when given, must start with a certificate for pub and
// fills "x5c" (standard base64 DER) and "x5t#S256".
func NewJWK(pub *rsa.PublicKey, kid string, chain []*x509.Certificate) (*JWK, error) {
	if pub == nil {
		return nil, &Error{Err: ErrInvalidParameter, Found: "no public key", Fix: "pass the RSA public key"}
	}
	if kid == "" {
		kid = Thumbprint(pub)
	}
	j := &JWK{Kty: "RSA", Use: "sig", Alg: "RS256", Kid: kid,
		N: b64(pub.N.Bytes()), E: b64(big.NewInt(int64(pub.E)).Bytes())}
	if len(chain) > 0 {
		if cp, ok := chain[0].PublicKey.(*rsa.PublicKey); !ok || !cp.Equal(pub) {
			kf, _ := Fingerprint(pub)
			return nil, &Error{Err: ErrKeyMismatch, Found: fmt.Sprintf("a certificate (subject %s) for a different key than %s", chain[0].Subject, kf),
				Fix: "give the certificate made with this key"}
		}
		for _, c := range chain {
			j.X5c = append(j.X5c, base64.StdEncoding.EncodeToString(c.Raw))
		}
		sum := sha256.Sum256(chain[0].Raw)
		j.X5tS256 = b64(sum[:])
	}
	return j, nil
}

// PublicKey returns the RSA public key the JWK describes.
func (j *JWK) PublicKey() (*rsa.PublicKey, error) {
	bad := func(what string) error {
		return &Error{Err: ErrUnrecognized, Found: "a JWK with " + what, Fix: `give an RSA JWK with base64url "n" and "e"`}
	}
	if j.Kty != "RSA" {
		return nil, bad(fmt.Sprintf("kty %q", j.Kty))
	}
	n, err := base64.RawURLEncoding.DecodeString(j.N)
	if err != nil || len(n) == 0 {
		return nil, bad(`an invalid "n"`)
	}
	e, err := base64.RawURLEncoding.DecodeString(j.E)
	if err != nil || len(e) == 0 || len(e) > 4 {
		return nil, bad(`an invalid "e"`)
	}
	exp := new(big.Int).SetBytes(e)
	if !exp.IsInt64() || exp.Int64() < 3 || exp.Int64() > 1<<31-1 || exp.Bit(0) == 0 {
		return nil, bad(`an unusable exponent "e"`)
	}
	mod := new(big.Int).SetBytes(n)
	if mod.BitLen() < 1024 {
		return nil, bad(fmt.Sprintf("a %d-bit modulus", mod.BitLen()))
	}
	return &rsa.PublicKey{N: mod, E: int(exp.Int64())}, nil
}

// ParseJWKS parses a JWK Set, or a single JWK as a set of one.
func ParseJWKS(data []byte) (*JWKS, error) {
	var set JWKS
	if err := json.Unmarshal(data, &set); err == nil && len(set.Keys) > 0 {
		return &set, nil
	}
	var one JWK
	if err := json.Unmarshal(data, &one); err != nil || one.Kty == "" {
		return nil, &Error{Err: ErrUnrecognized, Found: "JSON that is neither a JWK nor a JWK Set", Cause: err,
			Fix: `give {"keys": [...]} or a single {"kty": "RSA", ...}`}
	}
	return &JWKS{Keys: []JWK{one}}, nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint of pub (base64url SHA-256
// of the canonical {"e","kty","n"} JSON).
func Thumbprint(pub *rsa.PublicKey) string {
	canon := `{"e":"` + b64(big.NewInt(int64(pub.E)).Bytes()) + `","kty":"RSA","n":"` + b64(pub.N.Bytes()) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return b64(sum[:])
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
