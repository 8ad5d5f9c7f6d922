// Package adminapi is the one client of a running emulator's admin API
// (under /_emulator/) that the `sfbridge emulator` subcommands share: which
// emulator (its info file, or URL and admin token), one request, and the
// emulator's refusals as a typed error.
package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	sfemu "github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/emulator/localorg"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
)

// maxAnswer bounds an admin API answer.
const maxAnswer = 64 << 20

// Target names a running emulator.
type Target struct {
	// InfoFile is the file `sfbridge emulator --info-file` (or serve --dev)
	// wrote; it gives URL and AdminToken unless they are set.
	InfoFile string
	// URL and AdminToken name the emulator directly.
	URL, AdminToken string
	// DefaultInfoFile, when set, names the info file to read when neither
	// InfoFile nor URL is given (the one serve --dev writes).
	DefaultInfoFile func() (string, error)
}

// Resolve returns the emulator's base URL (without a trailing slash) and
// its admin token.
func (t Target) Resolve() (base, token string, err error) {
	base, token = t.URL, t.AdminToken
	file := t.InfoFile
	if file == "" && base == "" && token == "" && t.DefaultInfoFile != nil {
		if file, err = t.DefaultInfoFile(); err != nil {
			return "", "", fmt.Errorf("find the serve --dev info file: %w (pass --info-file)", err)
		}
	}
	if file != "" && (base == "" || token == "") {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", "", fmt.Errorf("read the emulator's info file: %w (start `sfbridge serve --dev`, or `sfbridge emulator --info-file F` and pass --info-file F)", err)
		}
		var info localorg.Info
		if err := json.Unmarshal(b, &info); err != nil {
			return "", "", fmt.Errorf("%s: not an emulator info file: %w", file, err)
		}
		if base == "" {
			base = info.BaseURL
		}
		if token == "" {
			token = info.AdminToken
		}
	}
	if base == "" || token == "" {
		return "", "", exitcode.UsageErrorf("which emulator? give --info-file (written by 'sfbridge emulator --info-file F'), or --url and --admin-token")
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", exitcode.UsageErrorf("--url %q is not an http(s) URL such as http://127.0.0.1:8484", base)
	}
	return strings.TrimRight(base, "/"), token, nil
}

// Request is one admin API call.
type Request struct {
	Method string
	// Path is below /_emulator/, such as "clock" or "messaging/agents".
	Path string
	// Body is sent as is, with ContentType (default application/json).
	Body        []byte
	ContentType string
}

// Error is the emulator's refusal of an admin API call.
type Error struct {
	Method, Path string
	Status       int
	// Message is the emulator's {"error": …}, or its plain answer.
	Message string
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Status == http.StatusUnauthorized {
		msg += " (the admin token does not match this emulator: use its own --info-file)"
	}
	return fmt.Sprintf("emulator: %s %s: %d %s: %s", e.Method, sfemu.AdminPrefix+e.Path, e.Status, http.StatusText(e.Status), msg)
}

// Do resolves t, sends r and returns the answer's body. client nil means a
// client with a 30 s timeout. An emulator that cannot be reached is exit
// code 4 (unreachable); a refusal is an *Error.
func Do(ctx context.Context, client *http.Client, t Target, r Request) ([]byte, error) {
	base, token, err := t.Resolve()
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, base+sfemu.AdminPrefix+r.Path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set(sfemu.AdminTokenHeader, token)
	if r.Body != nil {
		ct := r.ContentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, exitcode.With(exitcode.Unreachable, fmt.Errorf("cannot reach the emulator at %s: %w (is it running? check --info-file or --url)", base, err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("read the emulator's answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return nil, &Error{Method: r.Method, Path: r.Path, Status: resp.StatusCode, Message: msg}
	}
	return b, nil
}

// WriteJSON writes an answer indented, or as it is when it is not JSON. An
// empty answer writes nothing.
func WriteJSON(w io.Writer, body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "", "  ") != nil {
		_, err := w.Write(body)
		return err
	}
	pretty.WriteByte('\n')
	_, err := w.Write(pretty.Bytes())
	return err
}
