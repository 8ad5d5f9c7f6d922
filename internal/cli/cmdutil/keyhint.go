package cmdutil

import (
	"errors"
	"fmt"

	"github.com/sfbridge/sfbridge/keys"
)

// KeyHint adds to a key that could not be opened the flags and environment
// variables of the commands that log in (login, doctor) that give its
// passwords; other errors pass unchanged.
func KeyHint(err error) error {
	var hint string
	switch {
	case errors.Is(err, keys.ErrPassphraseRequired), errors.Is(err, keys.ErrWrongPassphrase):
		hint = "give the passphrase of an encrypted key, or a keystore's store password, with --keystore-password-file FILE " +
			"or SFBRIDGE_KEY_PASSWORD; a JKS entry's key password that differs from the store password with " +
			"--key-password-file FILE or SFBRIDGE_KEY_ENTRY_PASSWORD"
	case errors.Is(err, keys.ErrUnknownAlias), errors.Is(err, keys.ErrAliasRequired):
		hint = "choose the entry with --keystore-alias NAME"
	}
	if hint == "" {
		return err
	}
	return fmt.Errorf("%w\nhint: %s", err, hint)
}
