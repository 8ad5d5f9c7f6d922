package keys_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/keys"
)

// A key pasted into a CI secret often arrives with its line breaks as
// literal `\n`; ParsePrivateKey repairs that, and matches it against the
// certificate uploaded to the connected app.
func ExampleParsePrivateKey() {
	key, _ := keys.GenerateKey(2048)
	cert, _ := keys.NewSelfSignedCertificate(key, keys.CertificateOptions{Subject: "CN=integration", Days: keys.DefaultDays, Now: time.Now()})
	pemKey, _ := keys.MarshalPrivateKeyPEM(key, keys.WriteOptions{})
	pasted := strings.ReplaceAll(string(pemKey), "\n", `\n`)

	loaded, err := keys.ParsePrivateKey([]byte(pasted), "environment variable SALESFORCE_KEY", keys.LoadOptions{})
	fmt.Println(err, loaded.Equal(key), keys.Match(loaded, cert))

	_, err = keys.ParsePrivateKey(keys.MarshalCertificatesPEM(cert), "salesforce.crt", keys.LoadOptions{})
	fmt.Println(err != nil && strings.HasPrefix(err.Error(), "salesforce.crt: no private key found: found a certificate (subject CN=integration)"))
	// Output:
	// <nil> true <nil>
	// true
}

// The JWK registered for Messaging user verification.
func ExampleNewJWK() {
	key, _ := keys.GenerateKey(2048)
	jwk, _ := keys.NewJWK(&key.PublicKey, "messaging-key-1", nil)
	fmt.Println(jwk.Kty, jwk.Alg, jwk.Use, jwk.Kid, jwk.E, len(jwk.N))
	// Output: RSA RS256 sig messaging-key-1 AQAB 342
}
