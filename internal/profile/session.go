package profile

import (
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/internal/inputfile"
	"github.com/sfbridge/sfbridge/keys"
)

// KeySpec names a signing key: a file in any format the keys package reads,
// and for keystores or encrypted keys the entry alias and a file holding
// the password.
type KeySpec struct {
	File         string
	Alias        string
	PasswordFile string
	// KeyPasswordFile holds a JKS entry's own password when it differs from
	// the store password; optional.
	KeyPasswordFile string
	// Passphrase and KeyPassword are used when the matching file is not
	// named: the CLI fills them from SFBRIDGE_KEY_PASSWORD and
	// SFBRIDGE_KEY_ENTRY_PASSWORD ([Env.KeyPasswords]).
	Passphrase, KeyPassword []byte
}

// KeySpec names p's signing key, with env's passwords for the files the
// profile does not name.
func (p *Profile) KeySpec() KeySpec {
	return KeySpec{File: p.KeyFile, Alias: p.KeystoreAlias, PasswordFile: p.KeystorePasswordFile, KeyPasswordFile: p.KeyPasswordFile}
}

// WithPasswords returns k with the passwords of env for the files k does
// not name.
func (k KeySpec) WithPasswords(env Env) KeySpec {
	if k.PasswordFile == "" {
		k.Passphrase = env.KeyPassphrase
	}
	if k.KeyPasswordFile == "" {
		k.KeyPassword = env.KeyPassword
	}
	return k
}

// maxPasswordFile bounds a password file: a password is short, and a larger
// file is the wrong one.
const maxPasswordFile = 64 << 10

// LoadOptions returns the options that open the key, reading the password
// file (its trailing line break dropped).
func (k KeySpec) LoadOptions() (keys.LoadOptions, error) {
	opts := keys.LoadOptions{Alias: k.Alias, Passphrase: k.Passphrase, KeyPassword: k.KeyPassword}
	if k.PasswordFile != "" {
		b, err := inputfile.Read(k.PasswordFile, maxPasswordFile)
		if err != nil {
			return opts, fmt.Errorf("reading the keystore password file: %w", err)
		}
		opts.Passphrase = []byte(strings.TrimRight(string(b), "\r\n"))
	}
	if k.KeyPasswordFile != "" {
		b, err := inputfile.Read(k.KeyPasswordFile, maxPasswordFile)
		if err != nil {
			return opts, fmt.Errorf("reading the key password file: %w", err)
		}
		opts.KeyPassword = []byte(strings.TrimRight(string(b), "\r\n"))
	}
	return opts, nil
}

// Load reads the key.
func (k KeySpec) Load() (*rsa.PrivateKey, error) {
	opts, err := k.LoadOptions()
	if err != nil {
		return nil, err
	}
	return keys.LoadPrivateKeyFile(k.File, opts)
}

// Env is what opening a session needs from the command's surroundings.
type Env struct {
	Dir        string       // configuration directory
	HTTPClient *http.Client // nil: auth's default (honours HTTPS_PROXY/NO_PROXY)
	Now        func() time.Time
	Logger     *slog.Logger
	// KeyPassphrase and KeyPassword open a profile's key when it names no
	// password file: the values of SFBRIDGE_KEY_PASSWORD and
	// SFBRIDGE_KEY_ENTRY_PASSWORD, which the CLI reads.
	KeyPassphrase, KeyPassword []byte
}

// AuthConfig is the JWT bearer configuration of p, signed with key, in
// env's surroundings. An empty p.Audience lets auth discover the pair.
func AuthConfig(env Env, p *Profile, key *rsa.PrivateKey) auth.Config {
	return auth.Config{
		ConsumerKey: p.ClientID,
		Username:    p.Username,
		PrivateKey:  key,
		LoginURL:    p.LoginURL,
		Audience:    p.Audience,
		HTTPClient:  env.HTTPClient,
		Now:         env.Now,
		Logger:      env.Logger,
	}
}

// Session is an opened profile: its token source, seeded from the token
// cache, and the cache to write back to.
type Session struct {
	Profile *Profile
	Source  *auth.TokenSource
	Cache   *TokenCache
	loaded  *auth.Token
}

// Open loads p's key and returns its session. No request is made.
func Open(env Env, p *Profile) (*Session, error) {
	key, err := p.KeySpec().WithPasswords(env).Load()
	if err != nil {
		return nil, err
	}
	src, err := auth.NewTokenSource(AuthConfig(env, p, key))
	if err != nil {
		return nil, err
	}
	cache, err := NewTokenCache(env.Dir, p, key)
	if err != nil {
		return nil, err
	}
	s := &Session{Profile: p, Source: src, Cache: cache}
	if tok := cache.Load(); tok != nil {
		src.SetToken(tok)
		s.loaded = tok
	}
	return s, nil
}

// FromCache reports whether the current session came from the disk cache.
func (s *Session) FromCache() bool {
	c := s.Source.Cached()
	return c != nil && c == s.loaded
}

// Persist writes the current session to the cache if it changed since
// Open, and clears the cache if the session was invalidated.
func (s *Session) Persist() error {
	cur := s.Source.Cached()
	switch cur {
	case s.loaded:
		return nil
	case nil:
		return s.Cache.Clear()
	default:
		s.loaded = cur
		return s.Cache.Save(cur)
	}
}
