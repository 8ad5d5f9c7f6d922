package state

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, MasterKeySize) }

func TestSealBindsOrgAndKind(t *testing.T) {
	kr, err := NewKeyring(key(7))
	if err != nil {
		t.Fatal(err)
	}
	s, err := kr.Seal("acme", "private-key", []byte("secret"), "fp")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(s.Ciphertext, []byte("secret")) || bytes.Contains(s.WrappedKey, key(7)) {
		t.Fatal("sealed record contains the plaintext or the master key")
	}
	for _, moved := range []SealedSecret{
		func() SealedSecret { m := s; m.Org = "other"; return m }(),
		func() SealedSecret { m := s; m.Kind = "passphrase"; return m }(),
		func() SealedSecret {
			m := s
			m.Ciphertext = bytes.Clone(s.Ciphertext)
			m.Ciphertext[len(m.Ciphertext)-1] ^= 1
			return m
		}(),
	} {
		var se *SealError
		if _, err := kr.Open(moved); !errors.As(err, &se) {
			t.Errorf("open of %s/%s altered record: err = %v, want SealError", moved.Org, moved.Kind, err)
		}
	}
	other, _ := NewKeyring(key(8))
	_, err = other.Open(s)
	if err == nil || !strings.Contains(err.Error(), "not given") || strings.Contains(err.Error(), string(key(7))) {
		t.Fatalf("open with the wrong master key: %v", err)
	}
	// Two seals of the same plaintext differ (fresh data key and nonces).
	s2, _ := kr.Seal("acme", "private-key", []byte("secret"), "fp")
	if bytes.Equal(s.Ciphertext, s2.Ciphertext) || bytes.Equal(s.WrappedKey, s2.WrappedKey) {
		t.Fatal("sealing twice gave the same bytes")
	}
}

func TestResealKeepsCiphertext(t *testing.T) {
	old, _ := NewKeyring(key(1))
	s, _ := old.Seal("acme", "private-key", []byte("secret"), "fp")
	both, _ := NewKeyring(key(2), key(1))
	r, err := both.Reseal(s)
	if err != nil {
		t.Fatal(err)
	}
	if r.KeyID != MasterKeyID(key(2)) || !bytes.Equal(r.Ciphertext, s.Ciphertext) {
		t.Fatalf("reseal = key %s, ciphertext changed %v", r.KeyID, !bytes.Equal(r.Ciphertext, s.Ciphertext))
	}
	onlyNew, _ := NewKeyring(key(2))
	if p, err := onlyNew.Open(r); err != nil || string(p) != "secret" {
		t.Fatalf("open resealed = %q, %v", p, err)
	}
}

func TestParseMasterKey(t *testing.T) {
	k := key(9)
	for _, in := range [][]byte{
		[]byte(base64.StdEncoding.EncodeToString(k) + "\n"),
		[]byte(base64.RawURLEncoding.EncodeToString(k)),
		[]byte(hex.EncodeToString(k)),
		k,
	} {
		got, err := ParseMasterKey(in)
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("ParseMasterKey(%d bytes) = %v", len(in), err)
		}
	}
	if _, err := ParseMasterKey([]byte("short")); err == nil || strings.Contains(err.Error(), "short") {
		t.Fatalf("short key: err = %v, want an error that does not echo the input", err)
	}
	if _, err := NewKeyring(key(1)[:16]); err == nil {
		t.Fatal("a 16-byte master key was accepted")
	}
}

func FuzzParseMasterKey(f *testing.F) {
	f.Add([]byte(base64.StdEncoding.EncodeToString(key(3))))
	f.Add([]byte(hex.EncodeToString(key(4)) + "\n"))
	f.Add(key(5))
	f.Add([]byte("not a key"))
	f.Fuzz(func(t *testing.T, in []byte) {
		k, err := ParseMasterKey(in)
		if err != nil {
			// The message carries nothing of the key but its length: it
			// is the same for any other bytes of that length that are no
			// key ('!' is neither base64 nor hex). A substring check
			// failed on inputs such as "0 by", found in "30 bytes".
			_, other := ParseMasterKey(bytes.Repeat([]byte{'!'}, len(in)))
			if other == nil || err.Error() != other.Error() {
				t.Fatalf("the error depends on the input's bytes, not only its length: %v (for %d bytes of '!': %v)", err, len(in), other)
			}
			return
		}
		if len(k) != MasterKeySize {
			t.Fatalf("ParseMasterKey returned %d bytes", len(k))
		}
		if _, err := NewKeyring(k); err != nil {
			t.Fatalf("a parsed key makes no keyring: %v", err)
		}
	})
}
