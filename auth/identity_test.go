package auth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFetchUserInfoAndRevoke(t *testing.T) {
	var revoked string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/services/oauth2/userinfo":
			if r.Header.Get("Authorization") != "Bearer good" {
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, `{"error":"insufficient_scope"}`)
				return
			}
			io.WriteString(w, `{"sub":"https://l/id/`+testOrg+`/`+testUser+`","user_id":"`+testUser+`","organization_id":"`+testOrg+`","preferred_username":"u@x","name":"U X","active":true,"extra":1}`)
		case "/services/oauth2/revoke":
			if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
				t.Errorf("revoke: %s %s", r.Method, r.Header.Get("Content-Type"))
			}
			revoked = r.PostFormValue("token")
			if revoked != "good" {
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"error":"invalid_token"}`)
			}
		}
	}))
	defer srv.Close()
	client := func(tok string) *http.Client {
		return &http.Client{Transport: &Transport{Source: NewCachedSource(func(context.Context) (*Token, error) { return &Token{AccessToken: tok}, nil })}}
	}
	ui, err := FetchUserInfo(t.Context(), client("good"), srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if ui.UserID != testUser || ui.OrganizationID != testOrg || ui.PreferredUsername != "u@x" || ui.Active == nil || !*ui.Active {
		t.Errorf("userinfo = %+v", ui)
	}
	_, err = FetchUserInfo(t.Context(), client("bad"), srv.URL)
	var apiErr *StatusError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden || !strings.Contains(err.Error(), "insufficient_scope") {
		t.Errorf("err = %v", err)
	}
	if err := Revoke(t.Context(), nil, &Token{AccessToken: "good", InstanceURL: srv.URL}); err != nil || revoked != "good" {
		t.Errorf("Revoke: %v, server saw %q", err, revoked)
	}
	if err := Revoke(t.Context(), nil, &Token{AccessToken: "bad", InstanceURL: srv.URL}); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		t.Errorf("Revoke(bad) = %v", err)
	}
	srv.Close()
	err = Revoke(t.Context(), nil, &Token{AccessToken: "good", InstanceURL: srv.URL})
	var ne *NetworkError
	if !errors.As(err, &ne) || ne.URL == "" {
		t.Errorf("Revoke on a closed server = %v", err)
	}
}
