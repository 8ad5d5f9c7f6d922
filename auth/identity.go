package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// UserInfo is the OpenID Connect userinfo of a session's user.
type UserInfo struct {
	Subject           string `json:"sub"` // the identity URL
	UserID            string `json:"user_id"`
	OrganizationID    string `json:"organization_id"`
	PreferredUsername string `json:"preferred_username"`
	Name              string `json:"name"`
	Email             string `json:"email"`
	ZoneInfo          string `json:"zoneinfo"`
	Locale            string `json:"locale"`
	UserType          string `json:"user_type"`
	Active            *bool  `json:"active,omitempty"`
}

// StatusError is a non-success HTTP status from an identity, userinfo or
// revocation endpoint (the token endpoint's refusals are [Error]).
type StatusError struct {
	Op         string
	StatusCode int
	Body       []byte // cut at 4 KiB
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("auth: %s: Salesforce answered %d %s: %s", e.Op, e.StatusCode, http.StatusText(e.StatusCode), strings.TrimSpace(string(e.Body)))
}

func statusError(op string, resp *http.Response) *StatusError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &StatusError{Op: op, StatusCode: resp.StatusCode, Body: b}
}

// FetchUserInfo reads the userinfo of the session's user from
// <instance URL>/services/oauth2/userinfo. client must authenticate the
// request, typically with a [Transport] (see [TokenSource.Client]). The app
// needs the openid (or id) scope.
func FetchUserInfo(ctx context.Context, client *http.Client, instanceURL string) (*UserInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(instanceURL, "/")+"/services/oauth2/userinfo", nil)
	if err != nil {
		return nil, fmt.Errorf("auth: userinfo: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, asNetworkError(req.URL.String(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusError("userinfo", resp)
	}
	var ui UserInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxTokenBody)).Decode(&ui); err != nil {
		return nil, fmt.Errorf("auth: userinfo: unreadable answer: %w", err)
	}
	return &ui, nil
}

// Revoke ends the session tok at <instance URL>/services/oauth2/revoke.
// client needs no authentication; nil means [http.DefaultClient].
func Revoke(ctx context.Context, client *http.Client, tok *Token) error {
	if client == nil {
		client = http.DefaultClient
	}
	form := url.Values{"token": {tok.AccessToken}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tok.InstanceURL+"/services/oauth2/revoke", strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("auth: revoke: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return asNetworkError(req.URL.String(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusError("revoke", resp)
	}
	return nil
}

// asNetworkError wraps a transport failure, leaving errors that carry
// their own meaning (a refused re-authentication, a cancelled context)
// as they are.
func asNetworkError(u string, err error) error {
	var ae *Error
	var ne *NetworkError
	if errors.As(err, &ae) || errors.As(err, &ne) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &NetworkError{URL: u, Err: unwrapURLError(err)}
}
