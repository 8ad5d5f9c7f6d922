package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator/sfid"
	jwtsign "github.com/sfbridge/sfbridge/internal/assertion"
)

func mustGen(tb testing.TB) *sfid.Generator {
	tb.Helper()
	g, err := sfid.NewGenerator("xx", 1)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

type benchKey struct {
	key  *rsa.PrivateKey
	cert []byte
}

func newBenchKey(tb testing.TB) benchKey {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		tb.Fatal(err)
	}
	return benchKey{k, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// benchOrg returns an org with the default fixture, unlimited API
// requests and logins, a session of the integration user and the assertion
// that was granted it (valid for an hour, reusable).
func benchOrg(tb testing.TB) (o *Org, token, assertion string) {
	tb.Helper()
	bk := newBenchKey(tb)
	fx := DefaultFixture("3MVG9bench", bk.cert)
	fx.Org.DailyAPIRequests = 1 << 40
	o, err := New(Config{Fixture: fx, BaseURL: "http://127.0.0.1", LoginsPerHour: -1})
	if err != nil {
		tb.Fatal(err)
	}
	a, err := jwtsign.Sign(bk.key, jwtsign.Claims{Issuer: "3MVG9bench", Subject: UserIntegration, Audience: "http://127.0.0.1", Expiry: o.Now().Add(time.Hour)})
	if err != nil {
		tb.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/services/oauth2/token", strings.NewReader(url.Values{"grant_type": {jwtBearerGrant}, "assertion": {a}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _, _, e, why := o.grant(req, a)
	if e.Code != "" {
		tb.Fatalf("grant: %s (%s)", e.Description, why)
	}
	return o, resp.AccessToken, a
}
