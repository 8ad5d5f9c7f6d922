package uuidstr

import "testing"

func TestNewIsValidAndRandom(t *testing.T) {
	a, b := New(), New()
	if !Valid(a) || !Valid(b) || a == b {
		t.Fatalf("New gave %q and %q", a, b)
	}
	if a[14] != '4' || (a[19] != '8' && a[19] != '9' && a[19] != 'a' && a[19] != 'b') {
		t.Fatalf("%q lacks the version 4 and RFC 4122 variant bits", a)
	}
}

func TestDerivedIsStable(t *testing.T) {
	// Ids derived before this package existed must not change: stored
	// handoffs and message ids are looked up by them.
	if got, want := Derived("h\x00k"), Derived("h\x00k"); got != want || !Valid(got) {
		t.Fatalf("Derived: %q then %q", got, want)
	}
	if Derived("a") == Derived("b") {
		t.Fatal("different data gave one id")
	}
	if got := Derived(""); got != "e3b0c442-98fc-4c14-9afb-f4c8996fb924" {
		t.Fatalf("Derived(\"\") = %q", got)
	}
}

func TestValid(t *testing.T) {
	for s, want := range map[string]bool{
		"6f1c2a3b-4d5e-4f60-8a7b-1c2d3e4f5a6b":  true,
		"6F1C2A3B-4D5E-4F60-8A7B-1C2D3E4F5A6B":  false,
		"6f1c2a3b4d5e4f608a7b1c2d3e4f5a6b":      false,
		"6f1c2a3b-4d5e-4f60-8a7b-1c2d3e4f5a6":   false,
		"6f1c2a3b-4d5e-4f60-8a7b_1c2d3e4f5a6b":  false,
		"6f1c2a3b-4d5e-4f60-8a7b-1c2d3e4f5a6bb": false,
	} {
		if Valid(s) != want {
			t.Errorf("Valid(%q) = %v, want %v", s, !want, want)
		}
	}
}

func FuzzValid(f *testing.F) {
	f.Add("6f1c2a3b-4d5e-4f60-8a7b-1c2d3e4f5a6b")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if Valid(s) && (len(s) != 36 || Derived(s) == s) {
			t.Fatalf("Valid(%q) with length %d", s, len(s))
		}
	})
}
