package profile

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/auth"
)

var testKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var ks [2]*rsa.PrivateKey
	for i := range ks {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		ks[i] = k
	}
	return ks
})

func sampleToken() *auth.Token {
	return &auth.Token{
		AccessToken: "00Dxx!secret", InstanceURL: "https://acme.my.salesforce.com",
		IdentityURL: "https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS",
		OrgID:       "00Dxx0000001gPLEAY", UserID: "005xx000001SwiUAAS", Scope: "api", TokenType: "Bearer",
		IssuedAt: time.UnixMilli(1700000000000).UTC(),
	}
}

func TestTokenCacheRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := &Profile{Username: "u@x", ClientID: "k"}
	c, err := NewTokenCache(dir, p, testKeys()[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.Load() != nil {
		t.Fatal("empty cache loaded a token")
	}
	want := sampleToken()
	if err := c.Save(want); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(c.Path())
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode().Perm(), err)
	}
	got := c.Load()
	if got == nil || *got != *want {
		t.Fatalf("Load = %+v, want %+v", got, want)
	}
	// Another key cannot read it.
	other, _ := NewTokenCache(dir, p, testKeys()[1])
	if other.Load() != nil {
		t.Fatal("a different key decrypted the cache")
	}
	// Nor can the same key for another profile moved onto the file.
	q := &Profile{Username: "v@x", ClientID: "k"}
	c2, _ := NewTokenCache(dir, q, testKeys()[0])
	raw, _ := os.ReadFile(c.Path())
	os.MkdirAll(filepath.Dir(c2.Path()), 0o700)
	os.WriteFile(c2.Path(), raw, 0o600)
	if c2.Load() != nil {
		t.Fatal("a cache file of another profile was accepted")
	}
	// A damaged file is ignored.
	raw[len(raw)-1] ^= 1
	os.WriteFile(c.Path(), raw, 0o600)
	if c.Load() != nil {
		t.Fatal("a tampered cache was accepted")
	}
	if err := ClearCache(dir, p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("ClearCache left the file")
	}
	if err := c.Clear(); err != nil {
		t.Fatalf("Clear on a missing file: %v", err)
	}
}

func FuzzTokenCacheOpen(f *testing.F) {
	c, err := NewTokenCache(f.TempDir(), &Profile{Username: "u", ClientID: "k"}, testKeys()[0])
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(cacheMagic + "0123456789ab"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if tok, err := c.open(b); err == nil {
			t.Fatalf("forged cache accepted: %v", tok)
		}
	})
}

func TestStore(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "cfg")}
	if _, err := s.Find(""); !errors.Is(err, ErrNoProfile) {
		t.Fatalf("Find on empty store: %v", err)
	}
	a := &Profile{Alias: "acme", Username: "a@x", ClientID: "k"}
	b := &Profile{Username: "b@x", ClientID: "k"}
	if err := s.Save(a, false); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(b, false); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Find(""); err != nil || p.Username != "a@x" {
		t.Fatalf("default = %v, %v; want the first saved", p, err)
	}
	if p, err := s.Find("acme"); err != nil || p.Username != "a@x" {
		t.Fatalf("Find(alias) = %v, %v", p, err)
	}
	if p, err := s.Find("b@x"); err != nil || p.Username != "b@x" {
		t.Fatalf("Find(username) = %v, %v", p, err)
	}
	// The alias moves to the profile that claims it; --set-default moves the default.
	if err := s.Save(&Profile{Alias: "acme", Username: "b@x", ClientID: "k"}, true); err != nil {
		t.Fatal(err)
	}
	list, def, _ := s.List()
	if len(list) != 2 || def != "b@x" {
		t.Fatalf("list = %v, default %q", list, def)
	}
	if p, _ := s.Find("acme"); p.Username != "b@x" {
		t.Fatalf("alias did not move: %v", p.Username)
	}
	if err := s.Remove("b@x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Find(""); !errors.Is(err, ErrNoProfile) {
		t.Fatalf("default after removing it: %v", err)
	}
	st, _ := os.Stat(filepath.Join(s.Dir, profilesFile))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("profiles.json mode %v", st.Mode().Perm())
	}
	os.WriteFile(filepath.Join(s.Dir, profilesFile), []byte("{"), 0o600)
	if _, _, err := s.List(); err == nil {
		t.Fatal("a damaged profiles.json was read")
	}
}
