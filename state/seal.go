package state

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// MasterKeySize is the size of a master key: AES-256.
const MasterKeySize = 32

// Keyring seals secrets with envelope encryption: every secret gets its own
// random AES-256-GCM data key, and the data key is sealed by the current
// master key. The organisation and kind are bound in as additional data,
// so a sealed record copied to another org or kind does not open. A keyring
// also holds previous master keys, so during a rotation records sealed
// under either key open (see [RotateSecrets]).
//
// A Keyring never exposes its keys and is safe for concurrent use.
type Keyring struct {
	keys []masterKey // keys[0] is current
}

type masterKey struct {
	id   string
	aead cipher.AEAD
}

// SealError says a sealed secret cannot be opened or sealed.
type SealError struct {
	Org, Kind, KeyID string
	Reason           string
}

func (e *SealError) Error() string {
	return fmt.Sprintf("state: sealed secret %s/%s (master key %s): %s", e.Org, e.Kind, e.KeyID, e.Reason)
}

// MasterKeyID names a master key without revealing it: a truncated hash.
func MasterKeyID(key []byte) string {
	h := sha256.Sum256(append([]byte("sfbridge master key id\x00"), key...))
	return "mk-" + hex.EncodeToString(h[:8])
}

// NewKeyring returns a keyring that seals under current and also opens
// records sealed under any of previous. Each key is 32 bytes.
func NewKeyring(current []byte, previous ...[]byte) (*Keyring, error) {
	k := &Keyring{}
	for i, key := range append([][]byte{current}, previous...) {
		if len(key) != MasterKeySize {
			return nil, &InvalidError{What: "master key", Reason: fmt.Sprintf("key %d is %d bytes, want %d (generate one with: head -c 32 /dev/urandom | base64)", i+1, len(key), MasterKeySize)}
		}
		aead, err := newGCM(key)
		if err != nil {
			return nil, err
		}
		k.keys = append(k.keys, masterKey{id: MasterKeyID(key), aead: aead})
	}
	return k, nil
}

// ParseMasterKey decodes a master key as kept in a file or an environment
// variable: base64 (standard or URL alphabet, padded or not) or hex of 32
// bytes, or exactly 32 raw bytes. Surrounding whitespace is ignored.
func ParseMasterKey(b []byte) ([]byte, error) {
	s := bytes.TrimSpace(b)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(string(s)); err == nil && len(k) == MasterKeySize {
			return k, nil
		}
	}
	if k, err := hex.DecodeString(string(s)); err == nil && len(k) == MasterKeySize {
		return k, nil
	}
	if len(b) == MasterKeySize {
		return bytes.Clone(b), nil
	}
	return nil, &InvalidError{What: "master key", Reason: fmt.Sprintf("want 32 bytes as base64 or hex (or 32 raw bytes), got %d bytes that decode to neither (generate one with: head -c 32 /dev/urandom | base64)", len(b))}
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// CurrentID is the id of the key new records are sealed under.
func (k *Keyring) CurrentID() string { return k.keys[0].id }

// IDs lists the ids of every key the keyring opens, current first.
func (k *Keyring) IDs() []string {
	out := make([]string, len(k.keys))
	for i, m := range k.keys {
		out[i] = m.id
	}
	return out
}

func (k *Keyring) key(id string) (masterKey, bool) {
	for _, m := range k.keys {
		if m.id == id {
			return m, true
		}
	}
	return masterKey{}, false
}

// additionalData binds a record to its org and kind (and, for the wrapped
// data key, to the master key id), length-prefixed so no two differ only
// in where one field ends.
func additionalData(purpose string, fields ...string) []byte {
	ad := []byte("sfbridge-state-v1 " + purpose)
	for _, f := range fields {
		ad = binary.AppendUvarint(ad, uint64(len(f)))
		ad = append(ad, f...)
	}
	return ad
}

func seal(aead cipher.AEAD, plaintext, ad []byte) ([]byte, error) {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plaintext, ad), nil
}

func open(aead cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return nil, fmt.Errorf("too short")
	}
	return aead.Open(nil, sealed[:n], sealed[n:], ad)
}

// Seal encrypts plaintext for (org, kind) under a new data key. The
// fingerprint is stored beside it in the clear: make it something that
// identifies the secret without revealing it (a public key's hash).
func (k *Keyring) Seal(org, kind string, plaintext []byte, fingerprint string) (SealedSecret, error) {
	if org == "" || kind == "" {
		return SealedSecret{}, &InvalidError{What: "sealed secret", Reason: "org and kind must both be set"}
	}
	dataKey := make([]byte, 32)
	if _, err := rand.Read(dataKey); err != nil {
		return SealedSecret{}, err
	}
	defer clear(dataKey)
	dataAEAD, err := newGCM(dataKey)
	if err != nil {
		return SealedSecret{}, err
	}
	ct, err := seal(dataAEAD, plaintext, additionalData("data", org, kind))
	if err != nil {
		return SealedSecret{}, err
	}
	cur := k.keys[0]
	wrapped, err := seal(cur.aead, dataKey, additionalData("wrap", cur.id, org, kind))
	if err != nil {
		return SealedSecret{}, err
	}
	return SealedSecret{Org: org, Kind: kind, KeyID: cur.id, WrappedKey: wrapped, Ciphertext: ct, Fingerprint: fingerprint}, nil
}

func (k *Keyring) unwrap(s SealedSecret) ([]byte, error) {
	m, ok := k.key(s.KeyID)
	if !ok {
		return nil, &SealError{Org: s.Org, Kind: s.Kind, KeyID: s.KeyID, Reason: fmt.Sprintf("it is sealed under a master key this process was not given (it has %v); supply that key, as the previous master key while a rotation is in progress", k.IDs())}
	}
	dataKey, err := open(m.aead, s.WrappedKey, additionalData("wrap", s.KeyID, s.Org, s.Kind))
	if err != nil {
		return nil, &SealError{Org: s.Org, Kind: s.Kind, KeyID: s.KeyID, Reason: "its data key does not authenticate: the record was altered or moved to another org or kind; import the secret again"}
	}
	return dataKey, nil
}

// Open decrypts a sealed secret.
func (k *Keyring) Open(s SealedSecret) ([]byte, error) {
	dataKey, err := k.unwrap(s)
	if err != nil {
		return nil, err
	}
	defer clear(dataKey)
	dataAEAD, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	plain, err := open(dataAEAD, s.Ciphertext, additionalData("data", s.Org, s.Kind))
	if err != nil {
		return nil, &SealError{Org: s.Org, Kind: s.Kind, KeyID: s.KeyID, Reason: "the ciphertext does not authenticate: the record was altered or moved to another org or kind; import the secret again"}
	}
	return plain, nil
}

// Reseal re-wraps a record's data key under the current master key. The
// ciphertext is unchanged: rotation never decrypts the secret itself.
func (k *Keyring) Reseal(s SealedSecret) (SealedSecret, error) {
	dataKey, err := k.unwrap(s)
	if err != nil {
		return SealedSecret{}, err
	}
	defer clear(dataKey)
	cur := k.keys[0]
	wrapped, err := seal(cur.aead, dataKey, additionalData("wrap", cur.id, s.Org, s.Kind))
	if err != nil {
		return SealedSecret{}, err
	}
	out := s
	out.KeyID = cur.id
	out.WrappedKey = wrapped
	return out, nil
}

// RotateSecrets re-seals every record not yet under the keyring's current
// key and reports how many it re-sealed. Give it a keyring with the new key
// current and the old key previous; processes that hold both keys keep
// opening every record throughout, so nothing needs to stop. Each record is
// replaced only if it still has the key id it was read with, so a secret
// imported meanwhile is never overwritten.
func RotateSecrets(ctx context.Context, st Store, k *Keyring) (int, error) {
	all, err := st.Secrets(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range all {
		if s.KeyID == k.CurrentID() {
			continue
		}
		next, err := k.Reseal(s)
		if err != nil {
			return n, err
		}
		ok, err := st.ResealSecret(ctx, s.KeyID, next)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// OpenSecret reads the sealed secret for (org, kind) from st and opens it
// with k.
func OpenSecret(ctx context.Context, st Store, k *Keyring, org, kind string) ([]byte, error) {
	s, err := st.Secret(ctx, org, kind)
	if err != nil {
		return nil, err
	}
	return k.Open(s)
}
