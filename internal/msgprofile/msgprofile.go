// Package msgprofile keeps the CLI's messaging profiles (Messaging for In-App
// and Web deployments and their User Verification keys) in messaging.json
// beside the org profiles. A profile records the path of the signing key,
// never the key.
package msgprofile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/sfbridge/sfbridge/internal/jsonfile"
)

// Profile is one deployment and the key that signs its identity tokens.
type Profile struct {
	Alias      string `json:"alias"`
	SCRTURL    string `json:"scrt_url"`
	OrgID      string `json:"org_id"`
	Deployment string `json:"deployment"`
	// KeyFile is the absolute path of the signing key.
	KeyFile  string `json:"jwt_key_file"`
	KeyID    string `json:"kid"`
	Issuer   string `json:"issuer"`
	Audience string `json:"audience,omitempty"`
}

// Store reads and writes messaging.json under Dir.
type Store struct {
	Dir string
}

// ErrNoProfile means no messaging profile has the alias.
var ErrNoProfile = errors.New("no such messaging profile")

const fileName = "messaging.json"

type file struct {
	Profiles []*Profile `json:"profiles"`
}

func (s Store) path() string { return filepath.Join(s.Dir, fileName) }

func (s Store) read() (*file, error) {
	var f file
	if _, err := jsonfile.Read(s.path(), &f, "run `sfbridge messaging login` again"); err != nil {
		return nil, err
	}
	return &f, nil
}

// Find returns the profile with the alias.
func (s Store) Find(alias string) (*Profile, error) {
	f, err := s.read()
	if err != nil {
		return nil, err
	}
	for _, p := range f.Profiles {
		if p.Alias == alias {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%w %q: store one with `sfbridge messaging login --alias %s …` (serve --dev stores \"dev\")", ErrNoProfile, alias, alias)
}

// List returns every profile.
func (s Store) List() ([]*Profile, error) {
	f, err := s.read()
	if err != nil {
		return nil, err
	}
	return f.Profiles, nil
}

// Save adds or replaces the profile with p's alias.
func (s Store) Save(p *Profile) error {
	if p.Alias == "" {
		return errors.New("a messaging profile needs an alias")
	}
	f, err := s.read()
	if err != nil {
		return err
	}
	f.Profiles = slices.DeleteFunc(f.Profiles, func(q *Profile) bool { return q.Alias == p.Alias })
	f.Profiles = append(f.Profiles, p)
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	return jsonfile.Write(s.path(), f, 0o600)
}
