package keys

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Keys of algorithms Go cannot parse, written by OpenSSL 3, are "not an RSA
// key", never "truncated or damaged" (which sends the user to copy a good
// file again).
func TestOtherAlgorithmKeysAreNotRSANotDamaged(t *testing.T) {
	cases := []struct {
		file, passphrase, want string
	}{
		{"dsa-pkcs8.pem", "", "a DSA private key"},
		{"dsa-traditional.pem", "", "a DSA private key"},
		{"dsa-pkcs8.der", "", "a DSA private key"},
		{"dsa-pkcs8-encrypted-secret.pem", "secret", "a DSA private key"},
		{"x25519.pem", "", "an X25519 private key"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "otheralg", tc.file)
			_, err := LoadPrivateKeyFile(path, LoadOptions{Passphrase: []byte(tc.passphrase)})
			if !errors.Is(err, ErrNotRSA) {
				t.Fatalf("err = %v, want ErrNotRSA", err)
			}
			if errors.Is(err, ErrTruncated) || strings.Contains(err.Error(), "damaged") {
				t.Fatalf("misdiagnosed as damaged: %v", err)
			}
			for _, frag := range []string{tc.want, "needs an RSA key"} {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("error %q lacks %q", err, frag)
				}
			}
		})
	}
}

// A PKCS#8 wrapper whose inner RSA key is damaged is still damaged.
func TestDamagedRSAInsidePKCS8StaysDamaged(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "otheralg", "dsa-pkcs8.der"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := otherKeyAlgorithm(data, ""); !ok {
		t.Fatal("DSA DER not recognised")
	}
	rsaOID := pemOf("PRIVATE KEY", []byte{
		0x30, 0x14, 0x02, 0x01, 0x00,
		0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
		0x04, 0x02, 0x05, 0x00,
	})
	_, err = ParsePrivateKey(rsaOID, "bad.pem", LoadOptions{})
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("damaged RSA PKCS#8: err = %v, want ErrTruncated", err)
	}
}
