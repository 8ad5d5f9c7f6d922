package doctor_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/doctor"
	emsg "github.com/sfbridge/sfbridge/emulator/messaging"
	"github.com/sfbridge/sfbridge/keys"
	"github.com/sfbridge/sfbridge/messaging"
	"github.com/sfbridge/sfbridge/sftest"
)

const (
	msgIssuer = "https://bot.example"
	msgKid    = "bot-key-1"
)

// msgOptions is an emulated org whose User Verification keyset holds the
// test key, and doctor options that require only the messaging group.
func msgOptions(t *testing.T) (*sftest.Server, doctor.Options) {
	t.Helper()
	s := sftest.NewServer(t)
	certs, err := keys.ParseCertificates(s.CertPEM, "cert", keys.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := keys.NewJWK(&s.Key.PublicKey, msgKid, certs)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(jwk)
	if err := s.Org.Messaging().PutKeyset(emsg.KeysetSpec{Name: "Bot_Keys", Issuer: msgIssuer, Keys: []json.RawMessage{raw}}); err != nil {
		t.Fatal(err)
	}
	hc := s.SCRTClient()
	t.Cleanup(hc.CloseIdleConnections)
	return s, doctor.Options{Require: []string{doctor.Messaging}, Messaging: &doctor.MessagingOptions{
		Profile: "test", KeyFile: s.KeyFile,
		Config: messaging.Config{SCRTURL: s.SCRTURL, OrgID: string(s.Org.OrgID()), DeploymentName: "sfbridge_api", KeyID: msgKid, Issuer: msgIssuer, HTTPClient: hc},
	}}
}

var msgSteps = []string{"messaging.profile", "messaging.scrt", "messaging.deployment", "messaging.verification", "messaging.token", "messaging.stream"}

// expectSteps asserts the steps before failed passed, failed failed with
// a fix mentioning fixHas, and the later ones were skipped.
func expectSteps(t *testing.T, r *doctor.Report, failed, fixHas string) {
	t.Helper()
	got := byID(t, r)
	status := doctor.Pass
	for _, id := range msgSteps {
		if id == failed {
			expect(t, got, id, doctor.Fail, fixHas)
			status = doctor.Skip
			continue
		}
		expect(t, got, id, status, "")
	}
	if failed != "" && r.OK() {
		t.Fatal("a failed required step left the report OK")
	}
	if _, ok := got["token"]; ok {
		t.Fatal("the org connection was checked although only messaging was required")
	}
}

func TestMessagingPasses(t *testing.T) {
	s, opts := msgOptions(t)
	opts.Messaging.Conversation = true
	opts.Messaging.Routing = map[string]string{"Topic": "Payroll"}
	r := doctor.Run(t.Context(), opts)
	expectSteps(t, r, "", "")
	got := byID(t, r)
	expect(t, got, "messaging.conversation", doctor.Pass, "")
	if !r.OK() {
		t.Fatalf("not OK: %+v", r.Failed())
	}
	if d := got["messaging.token"].Detail; !strings.Contains(d, "/AUTH/") || !strings.Contains(d, doctor.DefaultMessagingUser) {
		t.Fatalf("token detail %q", d)
	}
	// The conversation was closed on the server.
	id, _, _ := strings.Cut(strings.TrimPrefix(got["messaging.conversation"].Detail, "conversation "), ":")
	if w, err := s.Org.Messaging().Conversation(id); err != nil || w.Status != "Closed" {
		t.Fatalf("conversation %s: %+v, %v", id, w, err)
	}
}

func TestMessagingIncompleteProfile(t *testing.T) {
	_, opts := msgOptions(t)
	opts.Messaging.Config.KeyID = ""
	expectSteps(t, doctor.Run(t.Context(), opts), "messaging.profile", "Key ID")
}

func TestMessagingUnreachableSCRTHost(t *testing.T) {
	_, opts := msgOptions(t)
	opts.Messaging.Config.SCRTURL = "http://127.0.0.1:1"
	expectSteps(t, doctor.Run(t.Context(), opts), "messaging.scrt", "Code Snippet")
}

func TestMessagingWebDeployment(t *testing.T) {
	s, opts := msgOptions(t)
	if err := s.Org.Messaging().PutDeployment(emsg.DeploymentSpec{Name: "sfbridge_api", Type: "web", Channel: "sfbridge_channel"}); err != nil {
		t.Fatal(err)
	}
	expectSteps(t, doctor.Run(t.Context(), opts), "messaging.deployment", "deployment type must be api")
}

func TestMessagingUnknownDeployment(t *testing.T) {
	_, opts := msgOptions(t)
	opts.Messaging.Config.DeploymentName = "No_Such_API"
	expectSteps(t, doctor.Run(t.Context(), opts), "messaging.deployment", "deployment")
}

func TestMessagingKeysetMismatches(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mod    func(*messaging.Config)
		fixHas string
	}{
		{"issuer", func(c *messaging.Config) { c.Issuer = "https://other.example" }, "keyset issuer must match"},
		{"kid", func(c *messaging.Config) { c.KeyID = "unregistered" }, "key id must be registered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, opts := msgOptions(t)
			tc.mod(&opts.Messaging.Config)
			expectSteps(t, doctor.Run(t.Context(), opts), "messaging.verification", tc.fixHas)
		})
	}
}

func TestMessagingSilentGuestToken(t *testing.T) {
	s, opts := msgOptions(t)
	if err := s.Org.Messaging().PatchSettings(emsg.SettingsSpec{VerificationFailure: "anonymous"}); err != nil {
		t.Fatal(err)
	}
	opts.Messaging.Config.Issuer = "https://other.example"
	expectSteps(t, doctor.Run(t.Context(), opts), "messaging.verification", "guest token")
}

func TestMessagingChannelWithoutUserVerification(t *testing.T) {
	s, opts := msgOptions(t)
	if err := s.Org.Messaging().PutChannel(emsg.ChannelSpec{Name: "sfbridge_channel", UserVerification: false, Queue: "General"}); err != nil {
		t.Fatal(err)
	}
	expectSteps(t, doctor.Run(t.Context(), opts), "messaging.verification", "User Verification")
}

// refuse answers status for requests whose "METHOD path" starts with
// prefix, as a proxy in the way would, and passes the rest on.
type refuse struct {
	next   http.RoundTripper
	prefix string
	status int
}

func (f refuse) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.Method+" "+r.URL.Path, f.prefix) {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return &http.Response{StatusCode: f.status, Header: http.Header{"Content-Type": {"application/json"}}, Request: r,
			Body: http.NoBody}, nil
	}
	return f.next.RoundTrip(r)
}

func withFault(opts doctor.Options, prefix string, status int) {
	hc := *opts.Messaging.Config.HTTPClient
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = refuse{next: next, prefix: prefix, status: status}
	opts.Messaging.Config.HTTPClient = &hc
}

func TestMessagingStreamRefused(t *testing.T) {
	_, opts := msgOptions(t)
	withFault(opts, "GET "+emsg.SSEPath, http.StatusForbidden)
	expectSteps(t, doctor.Run(t.Context(), opts), "messaging.stream", "proxy")
}

func TestMessagingConversationRefused(t *testing.T) {
	_, opts := msgOptions(t)
	opts.Messaging.Conversation = true
	withFault(opts, "POST "+emsg.APIPrefix+"/conversation", http.StatusBadRequest)
	r := doctor.Run(t.Context(), opts)
	expectSteps(t, r, "", "")
	expect(t, byID(t, r), "messaging.conversation", doctor.Fail, "routing attribute")
	if r.OK() {
		t.Fatal("report OK although the conversation failed")
	}
}

func TestMessagingWithTheOrgChecks(t *testing.T) {
	s, opts := msgOptions(t)
	org := options(s, "integration", doctor.Messaging)
	org.Messaging = opts.Messaging
	r := doctor.Run(context.Background(), org)
	got := byID(t, r)
	expect(t, got, "token", doctor.Pass, "")
	expect(t, got, "messaging.stream", doctor.Pass, "")
	// Without a profile the group fails with the way to store one.
	org.Messaging = nil
	expect(t, byID(t, doctor.Run(context.Background(), org)), "messaging.profile", doctor.Fail, "sfbridge messaging login")
}
