package emulator

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sfemu "github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/internal/assertion"
	"github.com/sfbridge/sfbridge/keys"
)

func start(t *testing.T, opts *Options) (Info, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	opts.Out, opts.ErrOut = &out, io.Discard
	opts.Addr = "127.0.0.1:0"
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	ready := make(chan Info, 1)
	opts.ready = func(i Info) { ready <- i }
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case i := <-ready:
		return i, &out
	case err := <-done:
		t.Fatalf("run ended early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("emulator did not start")
	}
	return Info{}, nil
}

func login(t *testing.T, client *http.Client, info Info, username string) (int, string) {
	t.Helper()
	keyPEM, err := os.ReadFile(info.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := keys.ParsePrivateKey(keyPEM, "server.key", keys.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := assertion.Sign(key, assertion.Claims{Issuer: info.ClientID, Subject: username, Audience: info.LoginURL + "/", Expiry: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, info.TokenURL, strings.NewReader(url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {a}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeDefaultOrg(t *testing.T) {
	infoFile := filepath.Join(t.TempDir(), "info.json")
	state := t.TempDir()
	info, out := start(t, &Options{InfoFile: infoFile, StateDir: state})

	b, err := os.ReadFile(infoFile)
	if err != nil {
		t.Fatal(err)
	}
	var onDisk map[string]any
	if err := json.Unmarshal(b, &onDisk); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"base_url", "login_url", "instance_url", "token_url", "org_id", "client_id", "key_file", "cert_file", "admin_token", "users"} {
		if onDisk[k] == nil || onDisk[k] == "" {
			t.Errorf("info file lacks %s", k)
		}
	}
	if st, _ := os.Stat(infoFile); st.Mode().Perm() != 0o600 {
		t.Errorf("info file mode %v", st.Mode().Perm())
	}
	if info.Users["not-preauthorized"] != sfemu.UserNotPreauthorized || !strings.HasPrefix(info.BaseURL, "http://127.0.0.1:") {
		t.Errorf("info %+v", info)
	}
	if st, _ := os.Stat(info.KeyFile); st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", st.Mode().Perm())
	}
	for _, want := range []string{
		"sf org login jwt --instance-url " + info.BaseURL + " --client-id " + info.ClientID + " --jwt-key-file " + info.KeyFile + " --username integration@sfbridge.test",
		"sfbridge login --instance-url " + info.BaseURL,
		info.AdminToken,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	if code, body := login(t, http.DefaultClient, info, sfemu.UserIntegration); code != 200 || !strings.Contains(body, `"instance_url":"`+info.InstanceURL+`"`) {
		t.Errorf("login: %d %s", code, body)
	}
	if code, body := login(t, http.DefaultClient, info, sfemu.UserNotPreauthorized); code != 400 || !strings.Contains(body, "invalid_app_access") {
		t.Errorf("not pre-authorized: %d %s", code, body)
	}
}

func TestServeTLS(t *testing.T) {
	info, _ := start(t, &Options{TLS: true})
	if !strings.HasPrefix(info.BaseURL, "https://127.0.0.1:") || info.TLSCertFile == "" {
		t.Fatalf("info %+v", info)
	}
	pemData, err := os.ReadFile(info.TLSCertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		t.Fatal("tls.crt holds no certificate")
	}
	certs, _ := keys.ParseCertificates(pemData, "cert", keys.LoadOptions{})
	cert := certs[0]
	if err := cert.VerifyHostname("localhost"); err != nil {
		t.Errorf("certificate does not cover localhost: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if code, body := login(t, client, info, sfemu.UserIntegration); code != 200 {
		t.Errorf("login over TLS: %d %s", code, body)
	}
	if _, err := http.DefaultClient.Get(info.BaseURL + "/services/data"); err == nil {
		t.Error("a client without the certificate connected")
	}
}

func TestServeSampleData(t *testing.T) {
	now := time.Date(2026, 12, 4, 14, 30, 0, 0, time.UTC)
	info, _ := start(t, &Options{SampleData: true, Now: func() time.Time { return now }})
	code, body := login(t, http.DefaultClient, info, sfemu.UserIntegration)
	if code != 200 {
		t.Fatalf("login: %d %s", code, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &tok); err != nil {
		t.Fatal(err)
	}
	count := func(where string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, info.InstanceURL+"/services/data/v62.0/query?q="+
			url.QueryEscape("SELECT COUNT() FROM EventLogFile WHERE "+where), nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res struct {
			TotalSize int `json:"totalSize"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("count %s: %d %v", where, resp.StatusCode, err)
		}
		return res.TotalSize
	}
	// Three whole days before today: their daily files exist for every type
	// (the third day's was created today at about 03:00).
	if n := count("Interval = 'Daily' AND EventType = 'Login'"); n != 3 {
		t.Errorf("%d daily Login files, want 3", n)
	}
	if n := count("Interval = 'Daily'"); n != 3*19 {
		t.Errorf("%d daily files, want %d", n, 3*19)
	}
	// Hourly files up to 3-6 hours before now, three days back.
	if n := count("Interval = 'Hourly' AND EventType = 'URI' AND Sequence = 1"); n < 3*24+3 || n > 3*24+10 {
		t.Errorf("%d hourly URI files", n)
	}
}
