package messaging

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/keys"
)

func TestAuthenticatedTokens(t *testing.T) {
	h := newHarness(t, testSetup())
	now := h.fc.Now()
	id := newIdentity(t, "key-1", now)
	if err := h.srv.PutKeyset(KeysetSpec{Name: "Bridge_Keys", Issuer: "https://bridge.example", Keys: []json.RawMessage{id.file}}); err != nil {
		t.Fatal(err)
	}
	claims := func(mod func(map[string]any)) map[string]any {
		m := map[string]any{"iss": "https://bridge.example", "sub": "emp-42", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
		if mod != nil {
			mod(m)
		}
		return m
	}
	c := h.client()
	for _, alg := range []string{"RS256", "RS512"} {
		st, out := c.verified(id.sign(t, alg, claims(nil)))
		if st != 200 {
			t.Fatalf("%s: %d %s", alg, st, out)
		}
		ta := c.adopt(out)
		if ta.Context.EndUser.Subject != "v2/iamessage/AUTH/Bridge_Keys/uid:emp-42" || ta.Context.Configuration.EmbeddedServiceConfig.Channel.AuthMode != "Auth" {
			t.Fatalf("%s answer %+v", alg, ta)
		}
	}
	// The same sub continues the same end user and its conversations.
	conv := newUUID()
	c.create(conv, nil)
	c2 := h.client()
	_, out := c2.verified(id.sign(t, "RS256", claims(nil)))
	c2.adopt(out)
	if st, _ := c2.send(conv, "still me"); st != 202 {
		t.Fatalf("same subject, new token: %d", st)
	}

	other := newIdentity(t, "key-1", now) // same kid, different key
	bad := []struct {
		name, tok, msg string
	}{
		{"unknown issuer", id.sign(t, "RS256", claims(func(m map[string]any) { m["iss"] = "https://evil.example" })), "no keyset has the issuer"},
		{"unknown kid", newIdentity(t, "key-2", now).sign(t, "RS256", claims(nil)), `no key with kid "key-2"`},
		{"wrong key", other.sign(t, "RS256", claims(nil)), "signature does not verify"},
		{"expired", id.sign(t, "RS256", claims(func(m map[string]any) { m["exp"] = now.Add(-time.Minute).Unix() })), "expired"},
		{"no exp", id.sign(t, "RS256", claims(func(m map[string]any) { delete(m, "exp") })), "exp"},
		{"not a JWT", "abc", "compact JWS"},
		{"HS256", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", `alg "HS256"`},
	}
	for _, b := range bad {
		st, out := c.verified(b.tok)
		var e APIError
		_ = json.Unmarshal(out, &e)
		if st != 401 || !strings.Contains(e.Message, b.msg) {
			t.Errorf("%s: %d %s, want 401 with %q", b.name, st, out, b.msg)
		}
	}
	// The "silent anonymous token" behaviour.
	if err := h.srv.PatchSettings(SettingsSpec{VerificationFailure: "anonymous"}); err != nil {
		t.Fatal(err)
	}
	st, out := c.verified(bad[2].tok)
	if st != 200 {
		t.Fatalf("anonymous mode: %d %s", st, out)
	}
	if ta := c.adopt(out); !strings.HasPrefix(ta.Context.EndUser.Subject, "v2/iamessage/ANON/") || ta.Context.Configuration.EmbeddedServiceConfig.Channel.AuthMode != "UnAuth" {
		t.Fatalf("anonymous mode answer %+v", ta)
	}
	// Without User Verification on the channel, no authenticated tokens.
	if err := h.srv.PutChannel(ChannelSpec{Name: "Bridge_Channel", Queue: "General"}); err != nil {
		t.Fatal(err)
	}
	if st, out := c.verified(id.sign(t, "RS256", claims(nil))); st != 400 || !strings.Contains(string(out), "User Verification") {
		t.Fatalf("no UV: %d %s", st, out)
	}
}

func TestTokenLifetimeContinuationAndRevoke(t *testing.T) {
	h := newHarness(t, testSetup())
	now := h.fc.Now()
	id := newIdentity(t, "k", now)
	if err := h.srv.PutKeyset(KeysetSpec{Name: "Keys", Issuer: "iss"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.UploadKey("Keys", id.file); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.PatchSettings(SettingsSpec{TokenLifetime: Duration(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	c := h.client()
	_, out := c.verified(id.sign(t, "RS256", map[string]any{"iss": "iss", "sub": "u1", "exp": now.Add(time.Minute).Unix()}))
	first := c.adopt(out)
	expOf := func(tok string) int64 {
		var cl struct {
			Exp int64 `json:"exp"`
		}
		b, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
		_ = json.Unmarshal(b, &cl)
		return cl.Exp
	}
	if got := expOf(first.AccessToken); got != now.Add(10*time.Minute).Unix() {
		t.Fatalf("exp %d, want the org's 10 minutes", got)
	}
	h.fc.Advance(5 * time.Minute)
	var cont struct {
		AccessToken string `json:"accessToken"`
		LastEventID string `json:"lastEventId"`
	}
	_ = json.Unmarshal(c.mustDo(200, "GET", "/iamessage/api/v2/authorization/continuation-access-token", nil), &cont)
	if cont.AccessToken == "" || cont.AccessToken == first.AccessToken || cont.LastEventID == "" || expOf(cont.AccessToken) != expOf(first.AccessToken) {
		t.Fatalf("continuation %+v", cont)
	}
	c.token = cont.AccessToken
	c.mustDo(200, "GET", "/iamessage/api/v2/conversation/list", nil)
	c.mustDo(204, "DELETE", "/iamessage/api/v2/authorization/authenticated/access-token", nil)
	if st, out := c.do("GET", "/iamessage/api/v2/conversation/list", nil); st != 401 || !strings.Contains(string(out), "revoked") {
		t.Fatalf("after revoke: %d %s", st, out)
	}
	c.token = first.AccessToken
	c.mustDo(200, "GET", "/iamessage/api/v2/conversation/list", nil)
	h.fc.Advance(5 * time.Minute)
	if st, out := c.do("GET", "/iamessage/api/v2/conversation/list", nil); st != 401 || !strings.Contains(string(out), "Jwt is expired") {
		t.Fatalf("after the lifetime: %d %s", st, out)
	}
	c.token = first.AccessToken[:len(first.AccessToken)-2] + "xx"
	if st, _ := c.do("GET", "/iamessage/api/v2/conversation/list", nil); st != 401 {
		t.Fatalf("forged token: %d", st)
	}
}

func TestJWKSURLKeyset(t *testing.T) {
	h := newHarness(t, testSetup())
	now := h.fc.Now()
	id := newIdentity(t, "jwks-1", now)
	var j keys.JWK
	_ = json.Unmarshal(id.file, &j)
	j.X5c, j.X5tS256 = nil, ""
	set, _ := json.Marshal(keys.JWKS{Keys: []keys.JWK{j}})
	js := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(set) }))
	defer js.Close()
	if err := h.srv.PutKeyset(KeysetSpec{Name: "Remote", Issuer: "remote", JWKSURL: js.URL}); err != nil {
		t.Fatal(err)
	}
	c := h.client()
	st, out := c.verified(id.sign(t, "RS512", map[string]any{"iss": "remote", "sub": "u9", "exp": now.Add(time.Minute).Unix()}))
	if st != 200 || !strings.Contains(string(out), "AUTH/Remote/uid:u9") {
		t.Fatalf("JWKS keyset: %d %s", st, out)
	}
	if _, err := h.srv.UploadKey("Remote", id.file); err == nil {
		t.Fatal("uploaded a key to a JWKS keyset")
	}
}

func TestJWKUploadChecks(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	id := newIdentity(t, "k1", now)
	var m map[string]any
	_ = json.Unmarshal(id.file, &m)
	mod := func(f func(map[string]any)) []byte {
		c := map[string]any{}
		for k, v := range m {
			c[k] = v
		}
		f(c)
		b, _ := json.Marshal(c)
		return b
	}
	if k, err := ParseUploadedJWK(id.file, now); err != nil || k.Kid != "k1" {
		t.Fatalf("good JWK: %v", err)
	}
	short, _ := keys.NewPair(nil, keys.CertificateOptions{Subject: "CN=short", Days: 5, Now: now})
	sj, _ := keys.NewJWK(&short.Key.PublicKey, "s", []*x509.Certificate{short.Cert})
	shortFile, _ := json.Marshal(sj)
	cases := map[string]struct {
		file []byte
		msg  string
	}{
		"no kty":     {mod(func(c map[string]any) { delete(c, "kty") }), `"kty" is missing`},
		"no kid":     {mod(func(c map[string]any) { delete(c, "kid") }), `"kid" is missing`},
		"no alg":     {mod(func(c map[string]any) { delete(c, "alg") }), `"alg" is missing`},
		"no x5c":     {mod(func(c map[string]any) { delete(c, "x5c") }), `"x5c" is missing`},
		"bad base64": {mod(func(c map[string]any) { c["x5c"] = []string{"%%%"} }), "not valid base64"},
		"array":      {[]byte("[" + string(id.file) + "]"), "array"},
		"set":        {[]byte(`{"keys":[` + string(id.file) + `]}`), "JWK Set"},
		"EC":         {mod(func(c map[string]any) { c["kty"] = "EC" }), "only RSA"},
		"ES256":      {mod(func(c map[string]any) { c["alg"] = "ES256" }), "RS256 or RS512"},
		"n mismatch": {mod(func(c map[string]any) { c["n"] = newIdentityN(t, now) }), "do not match"},
		"short cert": {shortFile, "at least 10 more days"},
	}
	for name, tc := range cases {
		_, err := ParseUploadedJWK(tc.file, now)
		var je *JWKError
		if !errors.As(err, &je) || !strings.Contains(je.Reason, tc.msg) {
			t.Errorf("%s: %v, want %q", name, err, tc.msg)
		}
	}
}

func newIdentityN(t *testing.T, now time.Time) string {
	t.Helper()
	var m map[string]any
	_ = json.Unmarshal(newIdentity(t, "x", now).file, &m)
	return m["n"].(string)
}

func FuzzParseUploadedJWK(f *testing.F) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f.Add(newIdentity(f, "k", now).file)
	f.Add([]byte(`{"kty":"RSA","kid":"k","alg":"RS256","x5c":["AAAA"]}`))
	f.Add([]byte(`[{}]`))
	f.Add([]byte(`{"keys":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseUploadedJWK(data, now)
		if err == nil && (k.Key == nil || k.Kid == "" || (k.Alg != "RS256" && k.Alg != "RS512")) {
			t.Fatalf("accepted an unusable key: %+v", k)
		}
	})
}

func FuzzVerifyIdentity(f *testing.F) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	id := newIdentity(f, "k1", now)
	good := id.sign(f, "RS256", map[string]any{"iss": "iss", "sub": "u", "exp": now.Add(time.Minute).Unix()})
	f.Add(good)
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJpc3MifQ.")
	srv, err := New(Config{OrgID: testOrg, Setup: Setup{Keysets: []KeysetSpec{{Name: "K", Issuer: "iss", Keys: []json.RawMessage{id.file}}}},
		Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	f.Fuzz(func(t *testing.T, tok string) {
		ks, sub, err := srv.verifyIdentity(req, tok)
		if err == nil && (ks != "K" || sub == "") {
			t.Fatalf("verified %q as %s/%s", tok, ks, sub)
		}
		if err == nil && tok != good {
			// Only a token signed by the key verifies; any other accepted
			// input must be the same signed content.
			if strings.Split(tok, ".")[2] != strings.Split(good, ".")[2] {
				t.Fatalf("accepted a token with another signature: %q", tok)
			}
		}
	})
}
