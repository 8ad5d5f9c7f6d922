package webhook

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
)

// MinSecretLen is the shortest secret LoadSecret accepts.
const MinSecretLen = 16

// SecretFileError says why a secret file cannot be used, and how to fix it.
type SecretFileError struct {
	Path   string
	Reason string
	Fix    string
}

func (e *SecretFileError) Error() string {
	return fmt.Sprintf("webhook: cannot use the secret file %s: %s; %s", e.Path, e.Reason, e.Fix)
}

// LoadSecret reads the webhook signing secret from path (the daemon
// config's webhooks.secret_file). It refuses a file that its group or
// others may read (outside Windows), trims one trailing newline (\n or
// \r\n, as editors and `echo` leave), and requires at least MinSecretLen
// bytes. The error never contains the secret.
func LoadSecret(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, &SecretFileError{Path: path, Reason: err.Error(), Fix: "create it with `umask 077; openssl rand -hex 32 > FILE` and name it in webhooks.secret_file"}
	}
	if !fi.Mode().IsRegular() {
		return nil, &SecretFileError{Path: path, Reason: "it is not a regular file", Fix: "point webhooks.secret_file at a file that holds the secret"}
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, &SecretFileError{Path: path, Reason: fmt.Sprintf("its mode %04o lets its group or others read or write it", fi.Mode().Perm()),
			Fix: "run `chmod 600 " + path + "` (only the daemon's user should read it)"}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &SecretFileError{Path: path, Reason: err.Error(), Fix: "make it readable by the daemon's user"}
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) < MinSecretLen {
		return nil, &SecretFileError{Path: path, Reason: fmt.Sprintf("the secret is %d bytes, fewer than %d", len(b), MinSecretLen),
			Fix: "write a longer random secret, for example `openssl rand -hex 32`"}
	}
	return b, nil
}
