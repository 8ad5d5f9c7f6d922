package sfid

import (
	"errors"
	"testing"
)

// Known pairs from Salesforce documentation and orgs.
var known = []struct{ short, long string }{
	{"00D000000000062", "00D000000000062EAA"},
	{"001A000000xjYzB", "001A000000xjYzBIAU"},
	{"005xx0000000001", "005xx0000000001AAA"},
	{"00Dxx0000000001", "00Dxx0000000001EAA"},
}

func TestChecksumMatchesKnownIDs(t *testing.T) {
	for _, k := range known {
		id, err := Parse(k.short)
		if err != nil || id.String() != k.long {
			t.Errorf("Parse(%q) = %q, %v; want %q", k.short, id, err, k.long)
		}
		id, err = Parse(k.long)
		if err != nil || id.Short() != k.short {
			t.Errorf("Parse(%q).Short() = %q, %v; want %q", k.long, id.Short(), err, k.short)
		}
	}
}

func TestParseRepairsCaseOfLongID(t *testing.T) {
	id, err := Parse("001a000000XJyZbIAU")
	if err != nil || id != "001A000000xjYzBIAU" {
		t.Fatalf("got %q, %v", id, err)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, s := range []string{"", "001", "001A000000xjYzB!", "001A000000xjYzBIA9x", "001000000000000BAA", "001A000000xjYzB-AU"} {
		if _, err := Parse(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) err = %v, want ErrInvalid", s, err)
		}
	}
}

func TestGeneratorIsUniqueAndValid(t *testing.T) {
	g, err := NewGenerator("xx", 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[ID]bool{}
	for i := 0; i < 1000; i++ {
		id := g.New("500")
		if seen[id] || id.Prefix() != "500" {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
		if back, err := Parse(id.Short()); err != nil || back != id {
			t.Fatalf("round trip %q -> %q, %v", id, back, err)
		}
	}
	if _, err := NewGenerator("x", 0); err == nil {
		t.Fatal("one-character pod accepted")
	}
}

func FuzzParse(f *testing.F) {
	for _, k := range known {
		f.Add(k.short)
		f.Add(k.long)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Parse(s)
		if err != nil {
			return
		}
		if len(id) != 18 {
			t.Fatalf("Parse(%q) = %q, not 18 characters", s, id)
		}
		again, err := Parse(id.String())
		if err != nil || again != id {
			t.Fatalf("Parse is not idempotent on %q: %q, %v", id, again, err)
		}
	})
}
