package profile

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/internal/atomicfile"
)

// cacheMagic starts every token cache file (format version 1).
const cacheMagic = "SFBT1\n"

const cacheInfo = "sfbridge token cache v1"

// TokenCache stores the session of one profile, encrypted with a key
// derived from the profile's signing key.
type TokenCache struct {
	path string
	aad  []byte
	aead cipher.AEAD
}

// cachedToken is the plaintext form.
type cachedToken struct {
	AccessToken string    `json:"access_token"`
	InstanceURL string    `json:"instance_url"`
	IdentityURL string    `json:"id"`
	Scope       string    `json:"scope,omitempty"`
	TokenType   string    `json:"token_type,omitempty"`
	Signature   string    `json:"signature,omitempty"`
	IssuedAt    time.Time `json:"issued_at"`
}

// NewTokenCache returns the cache of p under dir, keyed by key.
func NewTokenCache(dir string, p *Profile, key *rsa.PrivateKey) (*TokenCache, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	k, err := hkdf.Key(sha256.New, der, nil, cacheInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &TokenCache{
		path: cachePath(dir, p),
		aad:  []byte(p.Username + "\x00" + p.ClientID),
		aead: aead,
	}, nil
}

func cachePath(dir string, p *Profile) string {
	id := sha256.Sum256([]byte(p.Username + "\x00" + p.ClientID))
	return filepath.Join(dir, "tokens", hex.EncodeToString(id[:16]))
}

// ClearCache removes p's token cache without needing its key.
func ClearCache(dir string, p *Profile) error {
	err := os.Remove(cachePath(dir, p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Path is the cache file.
func (c *TokenCache) Path() string { return c.path }

// Load returns the cached session, or nil when there is none or it cannot
// be decrypted (another key, a damaged file): the caller then logs in.
func (c *TokenCache) Load() *auth.Token {
	b, err := os.ReadFile(c.path)
	if err != nil {
		return nil
	}
	tok, err := c.open(b)
	if err != nil {
		return nil
	}
	return tok
}

func (c *TokenCache) open(b []byte) (*auth.Token, error) {
	rest, ok := bytes.CutPrefix(b, []byte(cacheMagic))
	ns := c.aead.NonceSize()
	if !ok || len(rest) < ns {
		return nil, errors.New("not a token cache file")
	}
	plain, err := c.aead.Open(nil, rest[:ns], rest[ns:], c.aad)
	if err != nil {
		return nil, err
	}
	var ct cachedToken
	if err := json.Unmarshal(plain, &ct); err != nil {
		return nil, err
	}
	org, user, err := auth.ParseIdentityURL(ct.IdentityURL)
	if err != nil || ct.AccessToken == "" || ct.InstanceURL == "" {
		return nil, fmt.Errorf("incomplete cached session")
	}
	return &auth.Token{
		AccessToken: ct.AccessToken, InstanceURL: ct.InstanceURL, IdentityURL: ct.IdentityURL,
		OrgID: org, UserID: user, Scope: ct.Scope, TokenType: ct.TokenType, Signature: ct.Signature,
		IssuedAt: ct.IssuedAt,
	}, nil
}

// Save writes tok with mode 0600.
func (c *TokenCache) Save(tok *auth.Token) error {
	plain, err := json.Marshal(cachedToken{
		AccessToken: tok.AccessToken, InstanceURL: tok.InstanceURL, IdentityURL: tok.IdentityURL,
		Scope: tok.Scope, TokenType: tok.TokenType, Signature: tok.Signature, IssuedAt: tok.IssuedAt,
	})
	if err != nil {
		return err
	}
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	out := append([]byte(cacheMagic), nonce...)
	out = c.aead.Seal(out, nonce, plain, c.aad)
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(c.path, out, 0o600)
}

// Clear removes the cache file; a missing file is not an error.
func (c *TokenCache) Clear() error {
	err := os.Remove(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
