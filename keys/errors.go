package keys

import (
	"errors"
	"strings"
)

// The problems a load, match or write can report. Every error this package
// returns is an [*Error] wrapping one of these, so callers can branch with
// errors.Is and still print a message that names the file and the fix.
var (
	ErrEmpty              = errors.New("the input is empty")
	ErrTruncated          = errors.New("the input is truncated or damaged")
	ErrUnrecognized       = errors.New("the input is not a key, certificate or keystore")
	ErrUnsupported        = errors.New("the format is not supported")
	ErrNoPrivateKey       = errors.New("no private key found")
	ErrNotRSA             = errors.New("the key is not an RSA key")
	ErrPassphraseRequired = errors.New("the input is encrypted and needs a passphrase")
	ErrWrongPassphrase    = errors.New("the passphrase is wrong")
	ErrUnknownAlias       = errors.New("no private key entry with that alias")
	ErrAliasRequired      = errors.New("several private keys: an alias must choose one")
	ErrNoCertificate      = errors.New("no certificate found")
	ErrKeyMismatch        = errors.New("the private key does not match the certificate")
	ErrInvalidParameter   = errors.New("invalid parameter")
	ErrExists             = errors.New("the file already exists")
)

// Error describes a problem with one input (a file, an environment variable
// or a byte slice given a name). It never holds key material, passphrases or
// the input's contents.
type Error struct {
	// Name is the file path or a description of the source, such as
	// "environment variable SFBRIDGE_JWT_KEY". It may be empty.
	Name string
	// Err is one of the package's sentinel errors (ErrWrongPassphrase, ...).
	Err error
	// Found says what was found instead of what was needed.
	Found string
	// Fix says how to fix it.
	Fix string
	// Aliases lists the keystore's entries for ErrUnknownAlias and
	// ErrAliasRequired.
	Aliases []string
	// Cause is the underlying parser error, if any.
	Cause error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Name != "" {
		b.WriteString(e.Name)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	if e.Found != "" {
		b.WriteString(": found ")
		b.WriteString(e.Found)
	}
	if len(e.Aliases) > 0 {
		b.WriteString(" (aliases: ")
		b.WriteString(strings.Join(e.Aliases, ", "))
		b.WriteString(")")
	}
	if e.Cause != nil {
		b.WriteString(" (")
		b.WriteString(e.Cause.Error())
		b.WriteString(")")
	}
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// Unwrap returns the sentinel error and the cause, for errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

// withName returns err with its Name set when it is an *Error without one.
func withName(err error, name string) error {
	var ke *Error
	if errors.As(err, &ke) && ke.Name == "" {
		c := *ke
		c.Name = name
		return &c
	}
	return err
}

const fixNeedRSA = "Salesforce's JWT bearer flow needs an RSA key: create one with `sfbridge keys generate` " +
	"(or `openssl req -x509 -sha256 -nodes -days 36500 -newkey rsa:2048 -keyout salesforce.key -out salesforce.crt`) " +
	"and upload the new certificate to the connected app"
