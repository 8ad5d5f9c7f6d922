package eventlog

import (
	"net/netip"
	"testing"
)

func TestIsIPAgreesWithNetip(t *testing.T) {
	for _, s := range []string{"1.2.3.4", "255.255.255.255", "256.1.1.1", "01.2.3.4", "0.0.0.0", "1.2.3", "1.2.3.4.5",
		"1..2.3", "::1", "2001:db8::1", "fe80::1%eth0", "Salesforce.com IP", "", "1.2.3.4 ", "10.0.0.010"} {
		_, err := netip.ParseAddr(s)
		if got := isIP([]byte(s)); got != (err == nil) {
			t.Errorf("isIP(%q) = %v, netip says %v", s, got, err == nil)
		}
	}
}

func FuzzIsIP(f *testing.F) {
	f.Add("1.2.3.4")
	f.Add("::ffff:1.2.3.4")
	f.Fuzz(func(t *testing.T, s string) {
		_, err := netip.ParseAddr(s)
		want := err == nil && len(s) >= 2 && len(s) <= 45
		if got := isIP([]byte(s)); got != want {
			t.Fatalf("isIP(%q) = %v, netip says %v", s, got, want)
		}
	})
}
