package keys

import (
	"crypto/tls"
	"testing"
	"time"
)

func TestNewPairForTLSHosts(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	p, err := NewPair(nil, CertificateOptions{Subject: "CN=127.0.0.1", Days: 10, Now: now, Backdate: time.Hour,
		Hosts: []string{"127.0.0.1", "localhost", "::1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"127.0.0.1", "localhost", "::1"} {
		if err := p.Cert.VerifyHostname(h); err != nil {
			t.Errorf("certificate does not cover %s: %v", h, err)
		}
	}
	if err := p.Cert.VerifyHostname("example.com"); err == nil {
		t.Error("certificate covers a host it was not made for")
	}
	if !p.Cert.NotBefore.Equal(now.Add(-time.Hour)) || !p.Cert.NotAfter.Equal(now.AddDate(0, 0, 10)) {
		t.Errorf("validity %s – %s", p.Cert.NotBefore, p.Cert.NotAfter)
	}
	// The PEM encodings load back and form a usable TLS pair.
	if _, err := tls.X509KeyPair(p.CertPEM, p.KeyPEM); err != nil {
		t.Fatalf("PEMs do not form a TLS key pair: %v", err)
	}
	if err := Match(p.Key, p.Cert); err != nil {
		t.Fatal(err)
	}
	// Without hosts it is the plain certificate for a connected app.
	q, err := NewPair(p.Key, CertificateOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Cert.DNSNames)+len(q.Cert.IPAddresses) != 0 || !q.Cert.NotBefore.Equal(now) || q.Cert.Subject.CommonName != "sfbridge" {
		t.Errorf("plain certificate: %+v", q.Cert.Subject)
	}
}
