// Package profile keeps the CLI's org profiles and their encrypted token
// cache in the configuration directory.
//
// A profile records how to log in to one org (consumer key, username, the
// path of the key file, the login URL and audience that worked), never the
// key or a secret. The token cache holds the last session per profile,
// encrypted with AES-256-GCM under a key derived (HKDF-SHA-256) from the
// signing key, so the cache file is useless without the key file. Sessions
// are reused until Salesforce refuses them, which keeps the CLI well under
// Salesforce's 3,600 logins per user per hour.
package profile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sfbridge/sfbridge/internal/jsonfile"
)

// Profile describes how to log in to one org as one user.
type Profile struct {
	Alias    string `json:"alias,omitempty"`
	Username string `json:"username"`
	ClientID string `json:"client_id"`
	// KeyFile is the absolute path of the private key or keystore.
	KeyFile              string `json:"jwt_key_file"`
	KeystoreAlias        string `json:"keystore_alias,omitempty"`
	KeystorePasswordFile string `json:"keystore_password_file,omitempty"`
	// KeyPasswordFile holds a JKS entry's key password when it differs
	// from the store password.
	KeyPasswordFile string `json:"key_password_file,omitempty"`
	// LoginURL and Audience are the pair that worked at login.
	LoginURL    string `json:"login_url"`
	Audience    string `json:"audience"`
	InstanceURL string `json:"instance_url"`
	OrgID       string `json:"org_id"`
	UserID      string `json:"user_id"`
	// DevInfoFile is set on the profile `sfbridge serve --dev` stores: the
	// info file of its emulated org, which exists only while that process
	// runs. DevCommand is the command that started it, to start it again.
	DevInfoFile string `json:"dev_info_file,omitempty"`
	DevCommand  string `json:"dev_command,omitempty"`
}

// Name is the alias if set, else the username.
func (p *Profile) Name() string {
	if p.Alias != "" {
		return p.Alias
	}
	return p.Username
}

// file is the on-disk form of profiles.json.
type file struct {
	Default  string     `json:"default,omitempty"` // username of the default profile
	Profiles []*Profile `json:"profiles"`
}

// Store reads and writes the profiles under Dir.
type Store struct {
	Dir string
}

const profilesFile = "profiles.json"

// ErrNoProfile means no profile matched; the message says how to add one.
var ErrNoProfile = errors.New("no such org profile")

func (s Store) path() string { return filepath.Join(s.Dir, profilesFile) }

func (s Store) read() (*file, error) {
	var f file
	if _, err := jsonfile.Read(s.path(), &f, "log in again"); err != nil {
		return nil, err
	}
	return &f, nil
}

func (s Store) write(f *file) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	return jsonfile.Write(s.path(), f, 0o600)
}

// List returns every profile and the username of the default one.
func (s Store) List() (profiles []*Profile, defaultUser string, err error) {
	f, err := s.read()
	if err != nil {
		return nil, "", err
	}
	return f.Profiles, f.Default, nil
}

// Find returns the profile whose alias or username is name; an empty name
// means the default profile.
func (s Store) Find(name string) (*Profile, error) {
	f, err := s.read()
	if err != nil {
		return nil, err
	}
	want := name
	if want == "" {
		want = f.Default
		if want == "" {
			return nil, fmt.Errorf("%w: no default org; log in with `sfbridge login --set-default` or name one with -o", ErrNoProfile)
		}
	}
	for _, p := range f.Profiles {
		if p.Alias == want || p.Username == want {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%w: %q is neither an alias nor a username of a logged-in org; see `sfbridge org list`", ErrNoProfile, want)
}

// Save adds or replaces the profile with p's username. The alias moves to
// p if another profile had it. setDefault makes p the default; the first
// profile saved becomes the default anyway.
func (s Store) Save(p *Profile, setDefault bool) error {
	f, err := s.read()
	if err != nil {
		return err
	}
	f.Profiles = slices.DeleteFunc(f.Profiles, func(q *Profile) bool { return q.Username == p.Username })
	for _, q := range f.Profiles {
		if p.Alias != "" && q.Alias == p.Alias {
			q.Alias = ""
		}
	}
	f.Profiles = append(f.Profiles, p)
	slices.SortFunc(f.Profiles, func(a, b *Profile) int { return strings.Compare(a.Name(), b.Name()) })
	if setDefault || f.Default == "" {
		f.Default = p.Username
	}
	return s.write(f)
}

// Remove drops the profile with username.
func (s Store) Remove(username string) error {
	f, err := s.read()
	if err != nil {
		return err
	}
	f.Profiles = slices.DeleteFunc(f.Profiles, func(q *Profile) bool { return q.Username == username })
	if f.Default == username {
		f.Default = ""
	}
	return s.write(f)
}
