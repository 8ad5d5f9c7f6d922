package keys

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"testing"
	"time"
)

// fuzzSeeds are small inputs of each format's outer structure. They are
// made without RSA operations: key generation and signing run orders of
// magnitude slower under the fuzzer's coverage instrumentation and would
// stall every worker before it fuzzes. Real keys are covered by the unit
// tests; the fuzzer reaches the parsers from these shapes.
func fuzzSeeds(f *testing.F) {
	f.Helper()
	encInfo, _ := asn1.Marshal(encryptedPrivateKeyInfo{
		Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: mustDER(pbes2Params{
			KeyDerivationFunc: pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: mustDER(pbkdf2Params{Salt: []byte("saltsalt"), IterationCount: 1})}},
			EncryptionScheme:  pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: mustDER(make([]byte, 16))}},
		})}},
		EncryptedData: make([]byte, 32),
	})
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: encInfo}))
	f.Add(encInfo)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x00}}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x00}}))
	f.Add([]byte("LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSQotLS0tLUVORCBQUklWQVRFIEtFWS0tLS0tCg=="))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00112233445566778899AABBCCDDEEFF"}, Bytes: make([]byte, 32)}))
	f.Add([]byte{0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 'X', '.', '5', '0', '9', 0, 0, 0, 1, 0x30})
	f.Add([]byte{0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03, 0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01})
	f.Add([]byte(`"-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----"`))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY----- MIIB -----END RSA PRIVATE KEY-----"))
	f.Add([]byte(""))
}

func mustDER(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func fuzzOpts(pass string) loadOpts {
	return loadOpts{LoadOptions: LoadOptions{Passphrase: []byte(pass)}, maxIter: 1000}
}

// FuzzParsePrivateKey: any input yields a key or a *Error, never a panic.
func FuzzParsePrivateKey(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, pass := range []string{"", "fuzz"} {
			// ParsePrivateKey with a low PBKDF2 bound, so that mutated
			// iteration counts cost microseconds, not seconds.
			k, err := parsePrivateKey(data, "fuzz.key", fuzzOpts(pass))
			if err == nil && k == nil {
				t.Fatal("nil key without error")
			}
			var ke *Error
			if err != nil && !errors.As(err, &ke) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
		}
	})
}

// FuzzParseCertificates: the certificate loader and Inspect never panic.
func FuzzParseCertificates(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := parseCertificates(data, "fuzz.crt", fuzzOpts("fuzz"))
		if err == nil && len(certs) == 0 {
			t.Fatal("no certificates without error")
		}
		_, _ = inspect(data, "fuzz", fuzzOpts(""), time.Now())
	})
}

// FuzzParseJWKS: JWK parsing and conversion never panic.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB"}]}`))
	f.Add([]byte(`{"kty":"RSA","n":"AQAB","e":"AAAAAAE"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := ParseJWKS(data)
		if err != nil {
			return
		}
		for _, k := range set.Keys {
			if pub, err := k.PublicKey(); err == nil && pub.N.BitLen() < 1024 {
				t.Fatalf("accepted a %d-bit modulus", pub.N.BitLen())
			}
		}
	})
}
