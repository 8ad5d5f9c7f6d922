package keys

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
)

// Encrypted PKCS#8 (RFC 5958 EncryptedPrivateKeyInfo) with PBES2 (RFC 8018):
// PBKDF2 with an HMAC-SHA PRF and AES-CBC or 3DES-CBC, which is what
// `openssl pkcs8 -topk8 -v2 aes256`, `openssl genpkey -aes256` and OpenSSL 3's
// defaults produce.

// DefaultKDFIterations is the PBKDF2-HMAC-SHA256 iteration count used when
// writing an encrypted key (the OWASP 2023 recommendation).
const DefaultKDFIterations = 600_000

// maxKDFIterations bounds the work a crafted file can demand.
const maxKDFIterations = 10_000_000

var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidScrypt     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
)

type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

// errDecrypt means the decrypted bytes are not a key: in practice a wrong
// passphrase.
var errDecrypt = errors.New("decryption produced no valid key")

// unsupportedPKCS8 is returned for encryption schemes this package does not
// read, with the openssl command that rewrites the key in one it does.
func unsupportedPKCS8(what string) error {
	return &Error{Err: ErrUnsupported, Found: "an encrypted PKCS#8 key using " + what,
		Fix: "re-encrypt it with `openssl pkcs8 -topk8 -v2 aes256 -in OLD.key -out NEW.key` (PBES2 with PBKDF2 and AES-256-CBC)"}
}

// decryptPKCS8 decrypts an EncryptedPrivateKeyInfo and returns the inner
// PKCS#8 PrivateKeyInfo DER. A wrong passphrase returns errDecrypt.
func decryptPKCS8(der, passphrase []byte, maxIter int) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	rest, err := asn1.Unmarshal(der, &info)
	if err != nil || len(rest) != 0 {
		return nil, &Error{Err: ErrTruncated, Found: "an ENCRYPTED PRIVATE KEY whose structure does not parse", Cause: err}
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, unsupportedPKCS8("the legacy PBES1/PKCS#12 scheme " + info.Algorithm.Algorithm.String())
	}
	var params pbes2Params
	if rest, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil || len(rest) != 0 {
		return nil, &Error{Err: ErrTruncated, Found: "PBES2 parameters that do not parse", Cause: err}
	}
	if params.KeyDerivationFunc.Algorithm.Equal(oidScrypt) {
		return nil, unsupportedPKCS8("scrypt")
	}
	if !params.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, unsupportedPKCS8("the key derivation function " + params.KeyDerivationFunc.Algorithm.String())
	}
	var kdf pbkdf2Params
	if rest, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil || len(rest) != 0 {
		return nil, &Error{Err: ErrTruncated, Found: "PBKDF2 parameters that do not parse", Cause: err}
	}
	if kdf.IterationCount < 1 || kdf.IterationCount > maxIter {
		return nil, &Error{Err: ErrUnsupported, Found: fmt.Sprintf("a PBKDF2 iteration count of %d", kdf.IterationCount),
			Fix: fmt.Sprintf("re-encrypt the key with between 1 and %d iterations", maxIter)}
	}
	prf, prfName := prfFor(kdf.PRF.Algorithm)
	if prf == nil {
		return nil, unsupportedPKCS8("the PBKDF2 PRF " + prfName)
	}
	block, keyLen, ivParams, name := cipherFor(params.EncryptionScheme)
	if block == nil {
		return nil, unsupportedPKCS8("the cipher " + name)
	}
	var iv []byte
	if rest, err := asn1.Unmarshal(ivParams, &iv); err != nil || len(rest) != 0 {
		return nil, &Error{Err: ErrTruncated, Found: "a cipher IV that does not parse", Cause: err}
	}
	if kdf.KeyLength != 0 && kdf.KeyLength != keyLen {
		return nil, &Error{Err: ErrTruncated, Found: fmt.Sprintf("a PBKDF2 key length of %d for %s", kdf.KeyLength, name)}
	}
	key, err := pbkdf2.Key(prf, string(passphrase), kdf.Salt, kdf.IterationCount, keyLen)
	if err != nil {
		return nil, &Error{Err: ErrUnsupported, Found: "PBKDF2 parameters the runtime refuses", Cause: err}
	}
	c, err := block(key)
	if err != nil {
		return nil, &Error{Err: ErrUnsupported, Found: "cipher parameters the runtime refuses", Cause: err}
	}
	if len(iv) != c.BlockSize() {
		return nil, &Error{Err: ErrTruncated, Found: fmt.Sprintf("a %d-byte IV for %s", len(iv), name)}
	}
	data := info.EncryptedData
	if len(data) == 0 || len(data)%c.BlockSize() != 0 {
		return nil, &Error{Err: ErrTruncated, Found: "encrypted data that is not a whole number of cipher blocks"}
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(c, iv).CryptBlocks(plain, data)
	plain, ok := unpad(plain, c.BlockSize())
	if !ok {
		return nil, errDecrypt
	}
	return plain, nil
}

func unpad(b []byte, size int) ([]byte, bool) {
	n := int(b[len(b)-1])
	if n == 0 || n > size || n > len(b) {
		return nil, false
	}
	if !bytes.Equal(b[len(b)-n:], bytes.Repeat([]byte{byte(n)}, n)) {
		return nil, false
	}
	return b[:len(b)-n], true
}

func prfFor(oid asn1.ObjectIdentifier) (func() hash.Hash, string) {
	switch {
	case len(oid) == 0 || oid.Equal(oidHMACSHA1):
		return sha1.New, "hmacWithSHA1"
	case oid.Equal(oidHMACSHA224):
		return sha256.New224, "hmacWithSHA224"
	case oid.Equal(oidHMACSHA256):
		return sha256.New, "hmacWithSHA256"
	case oid.Equal(oidHMACSHA384):
		return sha512.New384, "hmacWithSHA384"
	case oid.Equal(oidHMACSHA512):
		return sha512.New, "hmacWithSHA512"
	}
	return nil, oid.String()
}

func cipherFor(alg pkix.AlgorithmIdentifier) (block func([]byte) (cipher.Block, error), keyLen int, ivParams []byte, name string) {
	p := alg.Parameters.FullBytes
	switch {
	case alg.Algorithm.Equal(oidAES128CBC):
		return aes.NewCipher, 16, p, "AES-128-CBC"
	case alg.Algorithm.Equal(oidAES192CBC):
		return aes.NewCipher, 24, p, "AES-192-CBC"
	case alg.Algorithm.Equal(oidAES256CBC):
		return aes.NewCipher, 32, p, "AES-256-CBC"
	case alg.Algorithm.Equal(oidDESEDE3CBC):
		return des.NewTripleDESCipher, 24, p, "DES-EDE3-CBC"
	}
	return nil, 0, nil, alg.Algorithm.String()
}

// encryptPKCS8 encrypts a PKCS#8 PrivateKeyInfo DER with PBES2:
// PBKDF2-HMAC-SHA256 (16-byte salt) and AES-256-CBC.
func encryptPKCS8(plain, passphrase []byte, iterations int) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, &Error{Err: ErrInvalidParameter, Found: "an empty passphrase", Fix: "give a non-empty passphrase, or none to write the key unencrypted"}
	}
	if iterations <= 0 {
		iterations = DefaultKDFIterations
	}
	salt := make([]byte, 16)
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	key, err := pbkdf2.Key(sha256.New, string(passphrase), salt, iterations, 32)
	if err != nil {
		return nil, err
	}
	c, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	n := aes.BlockSize - len(plain)%aes.BlockSize
	padded := append(bytes.Clone(plain), bytes.Repeat([]byte{byte(n)}, n)...)
	enc := make([]byte, len(padded))
	cipher.NewCBCEncrypter(c, iv).CryptBlocks(enc, padded)
	clear(padded)

	kdfParams, err := asn1.Marshal(pbkdf2Params{Salt: salt, IterationCount: iterations,
		PRF: pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue}})
	if err != nil {
		return nil, err
	}
	ivDER, err := asn1.Marshal(iv)
	if err != nil {
		return nil, err
	}
	pbes, err := asn1.Marshal(pbes2Params{
		KeyDerivationFunc: pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdfParams}},
		EncryptionScheme:  pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivDER}},
	})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(encryptedPrivateKeyInfo{
		Algorithm:     pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: pbes}},
		EncryptedData: enc,
	})
}
