package cmdutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/profile"
)

func TestOpenOrgFindsTheProfileAndDefersTheKey(t *testing.T) {
	dir := t.TempDir()
	store := profile.Store{Dir: dir}
	missingKey := filepath.Join(dir, "missing.key")
	for _, p := range []*profile.Profile{
		{Alias: "acme", Username: "integration@acme.com", ClientID: "3MVG9a", KeyFile: missingKey, LoginURL: "https://acme.my.salesforce.com"},
		{Username: "dev@beta.com", ClientID: "3MVG9b", KeyFile: missingKey},
	} {
		if err := store.Save(p, false); err != nil {
			t.Fatal(err)
		}
	}
	env := profile.Env{Dir: dir}
	for target, want := range map[string]string{"": "integration@acme.com", "acme": "integration@acme.com", "dev@beta.com": "dev@beta.com"} {
		org, err := OpenOrg(env, Target{Org: target, APIVersion: "62.0"})
		if err != nil {
			t.Fatalf("OpenOrg(%q): %v", target, err)
		}
		if org.Profile.Username != want || org.Env.Dir != dir {
			t.Errorf("OpenOrg(%q) = %s in %s, want %s", target, org.Profile.Username, org.Env.Dir, want)
		}
		// Opening read no key: the doctor and logout work on a profile
		// whose key is gone. The key is read on the first Session.
		if _, err := org.Session(); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Session with a missing key = %v, want a not-exist error", err)
		}
		if _, err := org.Client(); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Client with a missing key = %v, want a not-exist error", err)
		}
		if err := org.Persist(); err != nil {
			t.Errorf("Persist without a session = %v, want nil", err)
		}
	}
	if _, err := OpenOrg(env, Target{Org: "nope"}); !errors.Is(err, profile.ErrNoProfile) {
		t.Errorf("OpenOrg(nope) = %v, want ErrNoProfile", err)
	}
}

func TestStaticOrgHasNoSession(t *testing.T) {
	org := StaticOrg(nil)
	if _, err := org.Session(); err == nil {
		t.Fatal("a static org opened a session")
	}
	if err := org.Persist(); err != nil {
		t.Errorf("Persist = %v", err)
	}
}

func TestSessionOfAStoppedDevOrgSaysToStartItAgain(t *testing.T) {
	dir := t.TempDir()
	info := filepath.Join(dir, "dev", "emulator", "info.json")
	p := &profile.Profile{Alias: "dev", Username: "integration@sfbridge.test", ClientID: "k", KeyFile: filepath.Join(dir, "missing.key"),
		DevInfoFile: info, DevCommand: "go run ./cmd/sfbridge serve --dev"}
	if err := (profile.Store{Dir: dir}).Save(p, true); err != nil {
		t.Fatal(err)
	}
	org, err := OpenOrg(profile.Env{Dir: dir}, Target{Org: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = org.Session()
	if got := exitcode.Of(err); got != exitcode.Unreachable {
		t.Errorf("exit code %d, want %d (%v)", got, exitcode.Unreachable, err)
	}
	if err == nil || !strings.Contains(err.Error(), "start it again in another terminal with `go run ./cmd/sfbridge serve --dev`") {
		t.Errorf("Session = %v, want the command that starts serve --dev again", err)
	}

	// While serve --dev runs (its info file exists) the session opens as
	// any other: here it fails on the missing key.
	if err := os.MkdirAll(filepath.Dir(info), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(info, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := org.Session(); !errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), "serve --dev") {
		t.Errorf("Session while running = %v, want the missing key's error", err)
	}
}
