// Package keys loads, generates, inspects, matches and converts the RSA
// credentials of Salesforce's OAuth 2.0 JWT bearer flow: the private key
// that signs the assertion and the certificate uploaded to the connected
// app (or the JWK registered for Messaging user verification).
//
// It reads every form vendors' setup guides produce — PEM PKCS#1 and
// PKCS#8, encrypted PKCS#8 (PBES2), legacy Proc-Type encrypted PEM, DER,
// Java KeyStores (JKS) and PKCS#12 — and the forms keys take in transit: base64
// of any of them, and PEM whose line breaks were pasted as literal `\n`.
// Every failure is an [*Error] that names the input, says what was found
// and how to fix it, and never contains key material or a passphrase.
//
// The package reads no environment variables by itself: [LoadPrivateKeyEnv]
// takes the lookup function from its caller.
package keys
