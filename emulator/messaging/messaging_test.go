package messaging

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/keys"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testOrg = "00D000000000001EAA"

// memRecords keeps records in memory for assertions.
type memRecords struct {
	mu   sync.Mutex
	n    int
	recs map[string]map[string]any
	objs map[string]string
}

func (m *memRecords) Insert(object string, fields map[string]any) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n++
	id := fmt.Sprintf("%s%03d", object[:3], m.n)
	if m.recs == nil {
		m.recs, m.objs = map[string]map[string]any{}, map[string]string{}
	}
	m.recs[id] = map[string]any{}
	m.objs[id] = object
	for k, v := range fields {
		m.recs[id][k] = v
	}
	return id, nil
}

func (m *memRecords) Update(object, id string, fields map[string]any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objs[id] != object {
		return fmt.Errorf("no %s %s", object, id)
	}
	for k, v := range fields {
		m.recs[id][k] = v
	}
	return nil
}

func (m *memRecords) get(id string) map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]any{}
	for k, v := range m.recs[id] {
		out[k] = v
	}
	return out
}

type harness struct {
	t   *testing.T
	fc  *clock.Fake
	srv *Server
	hs  *httptest.Server
	rec *memRecords
}

func testSetup() Setup {
	return Setup{
		Deployments: []DeploymentSpec{{Name: "Bridge_API", PreChat: []PreChatField{{Name: "Topic"}, {Name: "UserId", Hidden: true}}},
			{Name: "Web_Widget", Type: "web"}, {Name: "Draft_API", Published: new(false)}},
		Channels: []ChannelSpec{{Name: "Bridge_Channel", UserVerification: true, Queue: "General"}},
		Queues:   []QueueSpec{{Name: "General"}, {Name: "Payroll"}},
		Rules:    []RuleSpec{{When: map[string]string{"Topic": "Payroll"}, Queue: "Payroll"}, {When: map[string]string{"Topic": "Broken"}, Fail: "RoutingError"}},
		Agents: []AgentSpec{
			{Name: "Ann", Queues: []string{"General"}, Presence: "Available"},
			{Name: "Pat", Queues: []string{"Payroll", "General"}, Presence: "Available", Capacity: 2},
		},
		Settings: SettingsSpec{TokenLifetime: Duration(time.Hour), GuestTokenLifetime: Duration(2 * time.Hour)},
	}
}

func newHarness(t *testing.T, su Setup) *harness {
	t.Helper()
	fc := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	rec := &memRecords{}
	srv, err := New(Config{OrgID: testOrg, Setup: su, Clock: fc, Records: rec})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close()
		hs.CloseClientConnections()
		hs.Close()
	})
	return &harness{t: t, fc: fc, srv: srv, hs: hs, rec: rec}
}

func (h *harness) client() *miawClient {
	return &miawClient{t: h.t, base: h.hs.URL, orgID: testOrg, dep: "Bridge_API", hc: h.hs.Client()}
}

// identity makes a key pair, its uploadable JWK file and a signer.
type identity struct {
	key  *rsa.PrivateKey
	kid  string
	file []byte
}

func newIdentity(tb testing.TB, kid string, now time.Time) identity {
	tb.Helper()
	pair, err := keys.NewPair(nil, keys.CertificateOptions{Subject: "CN=miaw", Days: 365, Now: now, Backdate: time.Hour})
	if err != nil {
		tb.Fatal(err)
	}
	j, err := keys.NewJWK(&pair.Key.PublicKey, kid, []*x509.Certificate{pair.Cert})
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := json.Marshal(j)
	return identity{key: pair.Key, kid: kid, file: b}
}

func (id identity) sign(tb testing.TB, alg string, claims map[string]any) string {
	tb.Helper()
	hb, _ := json.Marshal(map[string]string{"alg": alg, "kid": id.kid, "typ": "JWT"})
	cb, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	var sig []byte
	var err error
	if alg == "RS512" {
		d := sha512.Sum512([]byte(in))
		sig, err = rsa.SignPKCS1v15(rand.Reader, id.key, crypto.SHA512, d[:])
	} else {
		d := sha256.Sum256([]byte(in))
		sig, err = rsa.SignPKCS1v15(rand.Reader, id.key, crypto.SHA256, d[:])
	}
	if err != nil {
		tb.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestTokenRequestsAreValidated(t *testing.T) {
	h := newHarness(t, testSetup())
	c := h.client()
	path := "/iamessage/api/v2/authorization/unauthenticated/access-token"
	base := func() map[string]any {
		return map[string]any{"orgId": testOrg[:15], "esDeveloperName": "Bridge_API", "capabilitiesVersion": "1", "platform": "Web"}
	}
	cases := []struct {
		name   string
		change func(map[string]any)
		status int
		msg    string
	}{
		{"wrong org", func(m map[string]any) { m["orgId"] = "00D000000000002" }, 400, "doesn't match"},
		{"web deployment", func(m map[string]any) { m["esDeveloperName"] = "Web_Widget" }, 400, "Set the esDeveloperName to a deploymentType that's set to api"},
		{"unpublished", func(m map[string]any) { m["esDeveloperName"] = "Draft_API" }, 400, "isn't published"},
		{"unknown deployment", func(m map[string]any) { m["esDeveloperName"] = "Nope" }, 400, "No Embedded Service deployment"},
		{"platform", func(m map[string]any) { m["platform"] = "Desktop" }, 400, "platform"},
		{"no capabilities", func(m map[string]any) { delete(m, "capabilitiesVersion") }, 400, "capabilitiesVersion"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := base()
			tc.change(b)
			st, out := c.do("POST", path, b)
			if st != tc.status || !strings.Contains(string(out), tc.msg) {
				t.Fatalf("got %d %s, want %d containing %q", st, out, tc.status, tc.msg)
			}
		})
	}
	ta := c.guest()
	cfg := ta.Context.Configuration.EmbeddedServiceConfig
	if cfg.Name != "Bridge_API" || cfg.DeploymentType != "api" || cfg.Channel.AuthMode != "UnAuth" || !strings.HasPrefix(ta.Context.EndUser.Subject, "v2/iamessage/ANON/") {
		t.Fatalf("token answer: %+v", ta)
	}
	if len(cfg.Forms) != 1 || len(cfg.Forms[0].FormFields) != 2 || !cfg.Forms[0].FormFields[1].IsHidden {
		t.Fatalf("pre-chat form: %+v", cfg.Forms)
	}
	// The access token is a JWT whose payload carries the 15-char org id.
	parts := strings.Split(ta.AccessToken, ".")
	pb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	_ = json.Unmarshal(pb, &claims)
	if claims["orgId"] != testOrg[:15] {
		t.Fatalf("claims %v", claims)
	}
}
