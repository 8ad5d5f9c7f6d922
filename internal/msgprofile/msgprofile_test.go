package msgprofile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSaveFindReplace(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "cfg")}
	if _, err := s.Find("acme"); !errors.Is(err, ErrNoProfile) {
		t.Fatalf("empty store: %v", err)
	}
	p := &Profile{Alias: "acme", SCRTURL: "https://acme.my.salesforce-scrt.com", OrgID: "00D5g000004AbCd", Deployment: "Acme_API", KeyFile: "/keys/acme.pem", KeyID: "k1", Issuer: "https://bot"}
	if err := s.Save(p); err != nil {
		t.Fatal(err)
	}
	q := *p
	q.KeyID = "k2"
	if err := s.Save(&q); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(&Profile{Alias: "other", KeyID: "x"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Find("acme")
	if err != nil || got.KeyID != "k2" {
		t.Fatalf("find: %+v %v", got, err)
	}
	all, _ := s.List()
	if len(all) != 2 {
		t.Fatalf("%d profiles", len(all))
	}
	fi, err := os.Stat(filepath.Join(s.Dir, "messaging.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode: %v %v", fi, err)
	}
	if err := s.Save(&Profile{}); err == nil {
		t.Fatal("a profile without an alias was saved")
	}
}
