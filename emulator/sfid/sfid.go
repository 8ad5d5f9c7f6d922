// Package sfid makes and checks Salesforce record ids: 15-character
// case-sensitive ids, their 18-character case-insensitive form with the
// three-character checksum suffix, and the three-character key prefixes
// that name an object type (001 Account, 003 Contact, 500 Case, …).
package sfid

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// checksumAlphabet maps a 5-bit value to the suffix character.
const checksumAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

// ErrInvalid is wrapped by every error Parse returns.
var ErrInvalid = errors.New("invalid Salesforce id")

// ID is an 18-character Salesforce id.
type ID string

// Checksum returns the three-character suffix that turns the 15-character
// id into its 18-character form: one character per five-character chunk,
// whose bits say which characters of the chunk are upper-case letters.
func Checksum(id15 string) string {
	var b [3]byte
	for chunk := 0; chunk < 3; chunk++ {
		v := 0
		for i := 0; i < 5; i++ {
			c := id15[chunk*5+i]
			if c >= 'A' && c <= 'Z' {
				v |= 1 << i
			}
		}
		b[chunk] = checksumAlphabet[v]
	}
	return string(b[:])
}

// Parse accepts a 15- or 18-character id and returns its 18-character form.
// An 18-character id whose suffix does not match is refused, and so is one
// whose suffix is right but whose case was changed (the suffix restores the
// case, so a lower-cased id is accepted and its case repaired).
func Parse(s string) (ID, error) {
	switch len(s) {
	case 15:
		if !isBase62(s) {
			return "", fmt.Errorf("%w %q: only letters and digits are allowed", ErrInvalid, s)
		}
		return ID(s + Checksum(s)), nil
	case 18:
		if !isBase62(s) {
			return "", fmt.Errorf("%w %q: only letters and digits are allowed", ErrInvalid, s)
		}
		suffix := strings.ToUpper(s[15:])
		fixed := []byte(s[:15])
		for chunk := 0; chunk < 3; chunk++ {
			v := strings.IndexByte(checksumAlphabet, suffix[chunk])
			if v < 0 {
				return "", fmt.Errorf("%w %q: bad checksum character %q", ErrInvalid, s, s[15+chunk])
			}
			for i := 0; i < 5; i++ {
				c := fixed[chunk*5+i]
				isLetter := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
				upper := v&(1<<i) != 0
				switch {
				case upper && !isLetter:
					return "", fmt.Errorf("%w %q: checksum does not match", ErrInvalid, s)
				case upper:
					fixed[chunk*5+i] = toUpper(c)
				case isLetter:
					fixed[chunk*5+i] = toLower(c)
				}
			}
		}
		return ID(string(fixed) + suffix), nil
	default:
		return "", fmt.Errorf("%w %q: want 15 or 18 characters, got %d", ErrInvalid, s, len(s))
	}
}

// String returns the 18-character form.
func (id ID) String() string { return string(id) }

// Short returns the 15-character, case-sensitive form.
func (id ID) Short() string {
	if len(id) < 15 {
		return string(id)
	}
	return string(id[:15])
}

// Prefix returns the three-character key prefix naming the object type.
func (id ID) Prefix() string {
	if len(id) < 3 {
		return ""
	}
	return string(id[:3])
}

// Generator hands out unique ids. It is safe for concurrent use.
type Generator struct {
	pod  string // two characters after the key prefix (instance), e.g. "5g"
	next atomic.Uint64
}

// NewGenerator returns a generator whose ids carry pod after the key
// prefix (two base62 characters; "xx" for an emulated org as in
// Salesforce's own documentation examples) and count up from start.
func NewGenerator(pod string, start uint64) (*Generator, error) {
	if len(pod) != 2 || !isBase62(pod) {
		return nil, fmt.Errorf("sfid: pod must be two letters or digits, got %q", pod)
	}
	g := &Generator{pod: pod}
	g.next.Store(start)
	return g, nil
}

// New returns the next id for the object with the given key prefix.
func (g *Generator) New(prefix string) ID {
	n := g.next.Add(1)
	return Make(prefix, g.pod, n)
}

// Make builds the 18-character id for key prefix, pod and sequence number n.
// The ten characters after the prefix and pod hold n in base 62.
func Make(prefix, pod string, n uint64) ID {
	var b [15]byte
	copy(b[:3], prefix)
	copy(b[3:5], pod)
	for i := 14; i >= 5; i-- {
		b[i] = base62[n%62]
		n /= 62
	}
	s := string(b[:])
	return ID(s + Checksum(s))
}

func isBase62(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(base62, s[i]) < 0 {
			return false
		}
	}
	return true
}

func toUpper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func toLower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c - 'A' + 'a'
	}
	return c
}
