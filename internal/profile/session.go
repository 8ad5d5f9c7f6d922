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
}

// KeySpec names p's signing key.
func (p *Profile) KeySpec() KeySpec {
	return KeySpec{File: p.KeyFile, Alias: p.KeystoreAlias, PasswordFile: p.KeystorePasswordFile}
}

// maxPasswordFile bounds a password file: a password is short, and a larger
// file is the wrong one.
const maxPasswordFile = 64 << 10

// LoadOptions returns the options that open the key, reading the password
// file (its trailing line break dropped).
func (k KeySpec) LoadOptions() (keys.LoadOptions, error) {
	opts := keys.LoadOptions{Alias: k.Alias}
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
	key, err := p.KeySpec().Load()
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

// OpenTarget finds the profile named by alias or username (empty: the
// default) and opens it.
func OpenTarget(env Env, name string) (*Session, error) {
	p, err := Store{Dir: env.Dir}.Find(name)
	if err != nil {
		return nil, err
	}
	return Open(env, p)
}
