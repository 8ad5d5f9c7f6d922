package doctor_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/doctor"
	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/keys"
	"github.com/sfbridge/sfbridge/sftest"
)

func options(s *sftest.Server, role string, require ...string) doctor.Options {
	return doctor.Options{
		KeyFile:  s.KeyFile,
		CertFile: s.CertFile,
		Auth:     auth.Config{ConsumerKey: s.ClientID, Username: s.Username(role), LoginURL: s.URL, HTTPClient: s.Client()},
		Require:  require,
	}
}

// byID indexes a report's checks.
func byID(t *testing.T, r *doctor.Report) map[string]doctor.Result {
	t.Helper()
	m := map[string]doctor.Result{}
	for _, c := range r.Checks {
		if _, dup := m[c.ID]; dup {
			t.Fatalf("check %s reported twice", c.ID)
		}
		m[c.ID] = c
	}
	return m
}

func expect(t *testing.T, got map[string]doctor.Result, id string, status doctor.Status, fixHas string) {
	t.Helper()
	c, ok := got[id]
	if !ok {
		t.Errorf("no check %q; have %v", id, keysOf(got))
		return
	}
	if c.Status != status {
		t.Errorf("%s = %s (%s), want %s", id, c.Status, c.Detail, status)
	}
	if fixHas != "" && !strings.Contains(c.Fix, fixHas) {
		t.Errorf("%s fix = %q, want it to mention %q", id, c.Fix, fixHas)
	}
}

func keysOf(m map[string]doctor.Result) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestEverythingPassesForTheIntegrationUser(t *testing.T) {
	s := sftest.NewServer(t)
	r := doctor.Run(context.Background(), options(s, "integration", doctor.ServiceDesk, doctor.EventLogs))
	got := byID(t, r)
	for _, id := range []string{"key", "certificate", "login", "clock", "token", "identity", "api",
		"servicedesk.contact", "servicedesk.knowledge", "servicedesk.case", "servicedesk.casecomment",
		"eventlogs.permission", "eventlogs.viewalldata", "eventlogs.eventlogfile", "eventlogs.setupaudittrail", "eventlogs.loginhistory", "api.usage"} {
		expect(t, got, id, doctor.Pass, "")
	}
	if !r.OK() {
		t.Fatalf("report not OK: %+v", r.Failed())
	}
	if !strings.Contains(got["token"].Detail, string(s.Org.OrgID())) {
		t.Errorf("token detail lacks the org id: %s", got["token"].Detail)
	}
	if !strings.Contains(got["api.usage"].Detail, "requests used") {
		t.Errorf("usage detail = %s", got["api.usage"].Detail)
	}
}

func TestUserWithoutEventLogsAndReadOnlyCase(t *testing.T) {
	s := sftest.NewServer(t)
	r := doctor.Run(context.Background(), options(s, "no-eventlogs", doctor.ServiceDesk, doctor.EventLogs))
	got := byID(t, r)
	expect(t, got, "token", doctor.Pass, "")
	expect(t, got, "servicedesk.case", doctor.Fail, "Case: grant Create, Edit")
	expect(t, got, "servicedesk.contact", doctor.Fail, "Contact: grant Read")
	expect(t, got, "servicedesk.knowledge", doctor.Warn, "Knowledge")
	expect(t, got, "eventlogs.permission", doctor.Fail, "View Event Log Files")
	if fix := got["eventlogs.permission"].Fix; !strings.Contains(fix, "API Enabled") || !strings.Contains(fix, "eventlogs collect") {
		t.Errorf("eventlogs.permission fix does not name what the collector needs: %s", fix)
	}
	expect(t, got, "eventlogs.viewalldata", doctor.Warn, "View All Data")
	expect(t, got, "eventlogs.setupaudittrail", doctor.Warn, "View Setup and Configuration")
	expect(t, got, "eventlogs.loginhistory", doctor.Warn, "Manage Users")
	expect(t, got, "eventlogs.eventlogfile", doctor.Fail, "EventLogFile")
	if r.OK() {
		t.Fatal("report OK despite failures")
	}
	// Without the groups required, the same user passes.
	if r := doctor.Run(context.Background(), options(s, "no-eventlogs")); !r.OK() {
		t.Fatalf("basic checks failed: %+v", r.Failed())
	}
}

func TestRefusedLoginsCarryTheDiagnosis(t *testing.T) {
	s := sftest.NewServer(t)
	for _, c := range []struct{ role, fix string }{
		{"not-preauthorized", "permission set"},
		{"inactive", "ctive"},
	} {
		t.Run(c.role, func(t *testing.T) {
			r := doctor.Run(context.Background(), options(s, c.role, doctor.ServiceDesk))
			got := byID(t, r)
			expect(t, got, "token", doctor.Fail, c.fix)
			expect(t, got, "identity", doctor.Skip, "")
			expect(t, got, doctor.ServiceDesk, doctor.Skip, "")
			if r.OK() {
				t.Fatal("report OK")
			}
		})
	}
}

func TestUntrustedKeyAndMismatchedCertificate(t *testing.T) {
	s := sftest.NewServer(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyPath, _, err := keys.WriteKeyPair(dir, "other", other, nil, keys.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	o := options(s, "integration")
	o.KeyFile = keyPath // the app trusts s.CertFile, which belongs to another key
	got := byID(t, doctor.Run(context.Background(), o))
	expect(t, got, "certificate", doctor.Fail, "Upload the certificate made together with this key")
	expect(t, got, "token", doctor.Fail, "certificate")
}

func TestCertificateDates(t *testing.T) {
	s := sftest.NewServer(t)
	dir := t.TempDir()
	write := func(name string, notAfter time.Time) string {
		cert, err := keys.NewSelfSignedCertificate(s.Key, keys.CertificateOptions{Subject: "CN=sfbridge", Days: 1, Now: notAfter.Add(-24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, keys.MarshalCertificatesPEM(cert), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	o := options(s, "integration")
	o.CertFile = write("expired.crt", time.Now().Add(-48*time.Hour))
	expect(t, byID(t, doctor.Run(context.Background(), o)), "certificate", doctor.Fail, "new key pair")
	o.CertFile = write("soon.crt", time.Now().Add(10*24*time.Hour))
	r := doctor.Run(context.Background(), o)
	expect(t, byID(t, r), "certificate", doctor.Warn, "before the old one expires")
	if !r.OK() {
		t.Fatal("a warning failed the report")
	}
}

func TestWeakAndMissingKeys(t *testing.T) {
	s := sftest.NewServer(t)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	o := options(s, "integration")
	o.KeyFile, o.CertFile = "", ""
	o.Auth.PrivateKey = weak
	got := byID(t, doctor.Run(context.Background(), o))
	expect(t, got, "key", doctor.Fail, "2048-bit")
	expect(t, got, "token", doctor.Skip, "")

	o = options(s, "integration")
	o.KeyFile = filepath.Join(t.TempDir(), "absent.key")
	expect(t, byID(t, doctor.Run(context.Background(), o)), "key", doctor.Fail, "")
}

func TestUnreachableLoginHost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	s := sftest.NewServer(t)
	o := options(s, "integration")
	o.Auth.LoginURL = "http://" + addr
	got := byID(t, doctor.Run(context.Background(), o))
	expect(t, got, "login", doctor.Fail, "network path")
	expect(t, got, "token", doctor.Skip, "")
}

func TestClockSkew(t *testing.T) {
	s := sftest.NewServer(t)
	s.Org.Advance(5 * time.Minute)
	got := byID(t, doctor.Run(context.Background(), options(s, "integration")))
	expect(t, got, "clock", doctor.Fail, "NTP")
	// Date has whole seconds and the request takes time: within a second.
	if !regexp.MustCompile(`(4m59s|5m0s|5m1s) behind`).MatchString(got["clock"].Detail) {
		t.Errorf("clock detail = %q", got["clock"].Detail)
	}
}

func TestHighAPIUsageWarns(t *testing.T) {
	s := sftest.NewServer(t)
	limit := 1 // the run makes one counted call without check groups
	if err := s.Org.SetLimits(emulator.OrgLimits{DailyAPIRequests: &limit}); err != nil {
		t.Fatal(err)
	}
	r := doctor.Run(context.Background(), options(s, "integration"))
	expect(t, byID(t, r), "api.usage", doctor.Warn, "REQUEST_LIMIT_EXCEEDED")
}

func TestUserWhoCannotSeeCases(t *testing.T) {
	s := sftest.NewServer(t)
	err := s.Org.PutPermissionSet(emulator.PermissionSetSpec{Name: "Contacts_Only", Permissions: []string{"ApiEnabled"},
		Objects: map[string][]string{"Contact": {"Read"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Org.AddUser(emulator.UserSpec{Username: "contacts-only@sfbridge.test", LastName: "Only",
		Profile: "Minimum Access - API Only Integrations", PermissionSets: []string{"Contacts_Only", "sfbridge_App_Access"}}); err != nil {
		t.Fatal(err)
	}
	o := options(s, "integration", doctor.ServiceDesk)
	o.Auth.Username = "contacts-only@sfbridge.test"
	got := byID(t, doctor.Run(context.Background(), o))
	expect(t, got, "servicedesk.contact", doctor.Pass, "")
	expect(t, got, "servicedesk.case", doctor.Fail, "Case: grant Read, Create, Edit")
	expect(t, got, "servicedesk.casecomment", doctor.Fail, "CaseComment")
}

func TestKeyFileReadableByOthersWarns(t *testing.T) {
	s := sftest.NewServer(t)
	o := options(s, "integration")
	got := byID(t, doctor.Run(context.Background(), o))
	if _, ok := got["key.permissions"]; ok {
		t.Fatalf("a private key file (0600) was reported: %+v", got["key.permissions"])
	}
	pem, err := os.ReadFile(s.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	o.KeyFile = filepath.Join(t.TempDir(), "open.key")
	if err := os.WriteFile(o.KeyFile, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(o.KeyFile, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	got = byID(t, doctor.Run(context.Background(), o))
	expect(t, got, "key", doctor.Pass, "")
	expect(t, got, "key.permissions", doctor.Warn, "chmod 600 "+o.KeyFile)
}

// Without --cert-file, the certificate inside a keystore is judged: keytool
// makes it valid for 90 days by default, and an expired one stops every
// login once Salesforce's copy expires too (issue 12).
func TestKeystoreCertificateDatesWithoutCertFile(t *testing.T) {
	s := sftest.NewServer(t)
	dir := t.TempDir()
	store := func(name string, notAfter time.Time) string {
		cert, err := keys.NewSelfSignedCertificate(s.Key, keys.CertificateOptions{Subject: "CN=sfbridge", Days: 1, Now: notAfter.Add(-24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		der, err := keys.MarshalPKCS12(s.Key, []*x509.Certificate{cert}, []byte("store-pass"))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, der, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	o := options(s, "integration")
	o.CertFile = ""
	o.KeyOptions = keys.LoadOptions{Passphrase: []byte("store-pass")}

	o.KeyFile = store("expired.p12", time.Now().Add(-48*time.Hour))
	got := byID(t, doctor.Run(context.Background(), o))
	expect(t, got, "certificate", doctor.Fail, "new key pair")
	if !strings.Contains(got["certificate"].Title, "stored with the key") {
		t.Errorf("title = %q, want it to say the keystore's certificate was checked", got["certificate"].Title)
	}

	o.KeyFile = store("soon.p12", time.Now().Add(10*24*time.Hour))
	expect(t, byID(t, doctor.Run(context.Background(), o)), "certificate", doctor.Warn, "before the old one expires")

	// A plain PEM key carries no certificate: nothing to judge, no check.
	o.KeyFile = s.KeyFile
	o.KeyOptions = keys.LoadOptions{}
	if _, ok := byID(t, doctor.Run(context.Background(), o))["certificate"]; ok {
		t.Error("a certificate check appeared for a key file without one")
	}
}

// EventLogFile has no Object Settings entry in Salesforce; the fix must
// name the permission that grants it.
func TestEventLogFileFixNamesThePermission(t *testing.T) {
	s := sftest.NewServer(t)
	got := byID(t, doctor.Run(context.Background(), options(s, "no-eventlogs", doctor.EventLogs)))
	c := got["eventlogs.eventlogfile"]
	if c.Status != doctor.Fail {
		t.Fatalf("eventlogs.eventlogfile = %s for a user without View Event Log Files", c.Status)
	}
	if strings.Contains(c.Fix, "Object Settings > EventLogFile") || !strings.Contains(c.Fix, "View Event Log Files") {
		t.Fatalf("fix = %q", c.Fix)
	}
}
