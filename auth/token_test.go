package auth

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestParseIdentityURL(t *testing.T) {
	cases := []struct {
		in        string
		org, user string
		wantErr   bool
	}{
		{"https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS", "00Dxx0000001gPLEAY", "005xx000001SwiUAAS", false},
		{"https://acme.my.salesforce.com/id/00Dxx0000001gPL/005xx000001SwiU", "00Dxx0000001gPL", "005xx000001SwiU", false},
		{"https://test.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS/", "00Dxx0000001gPLEAY", "005xx000001SwiUAAS", false},
		{"https://login.salesforce.com/id/00Dxx0000001gPLEAY", "", "", true},
		{"https://login.salesforce.com/id/00D-x0000001gPLEAY/005xx000001SwiUAAS", "", "", true},
		{"", "", "", true},
		{"://bad", "", "", true},
	}
	for _, c := range cases {
		org, user, err := ParseIdentityURL(c.in)
		if (err != nil) != c.wantErr {
			t.Errorf("ParseIdentityURL(%q) err = %v, wantErr %v", c.in, err, c.wantErr)
			continue
		}
		if org != c.org || user != c.user {
			t.Errorf("ParseIdentityURL(%q) = %q, %q; want %q, %q", c.in, org, user, c.org, c.user)
		}
	}
}

func FuzzParseIdentityURL(f *testing.F) {
	f.Add("https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS")
	f.Add("https://x/id//")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, s string) {
		org, user, err := ParseIdentityURL(s)
		if err != nil {
			return
		}
		if !isSalesforceID(org) || !isSalesforceID(user) || !strings.Contains(s, org) || !strings.Contains(s, user) {
			t.Fatalf("ParseIdentityURL(%q) = %q, %q", s, org, user)
		}
	})
}

func TestTokenRedactsAccessToken(t *testing.T) {
	const secret = "00Dxx!AQ4AQSECRETSECRET"
	tok := &Token{AccessToken: secret, OrgID: "00Dxx0000001gPLEAY", InstanceURL: "https://acme.my.salesforce.com"}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("login", "token", tok, "value", *tok)
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %+v %#v %s", tok, tok, tok, tok),
		fmt.Sprintf("%v %+v %#v %s", *tok, *tok, *tok, *tok), fmt.Sprint([]Token{*tok}), buf.String()} {
		if strings.Contains(s, secret) {
			t.Errorf("output leaks the access token: %s", s)
		}
		if !strings.Contains(s, "00Dxx0000001gPLEAY") {
			t.Errorf("output lacks the org id: %s", s)
		}
	}
	var none *Token
	if got := fmt.Sprint(none); got != "<nil>" {
		t.Errorf("a nil *Token prints %q", got)
	}
}
