// Package uuidstr makes and checks UUIDs in the form Salesforce's
// Messaging API requires of conversation and message ids: 36 characters,
// lowercase hex with dashes (8-4-4-4-12).
package uuidstr

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
)

// New returns a random (version 4) UUID.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return format(b[:])
}

// Derived returns the UUID that the SHA-256 of data names: the same data
// always gives the same UUID, so a retry can recompute the id of what it
// created before. It has the version 4 and RFC 4122 variant bits, which
// is all a receiver checks.
func Derived(data string) string {
	sum := sha256.Sum256([]byte(data))
	return format(sum[:16])
}

func format(b []byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Valid reports whether s has the form of a lowercase UUID (any version).
func Valid(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}
