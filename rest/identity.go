package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// IdentityService reads who the session belongs to.
type IdentityService service

// Identity is the session's user, from the identity URL of the token (or
// /services/oauth2/userinfo when the token has none).
type Identity struct {
	ID             string            `json:"id,omitempty"`
	UserID         string            `json:"user_id"`
	OrganizationID string            `json:"organization_id"`
	Username       string            `json:"username"`
	DisplayName    string            `json:"display_name,omitempty"`
	Email          string            `json:"email,omitempty"`
	Active         bool              `json:"active"`
	UserType       string            `json:"user_type,omitempty"`
	Language       string            `json:"language,omitempty"`
	Locale         string            `json:"locale,omitempty"`
	URLs           map[string]string `json:"urls,omitempty"`
}

// Get returns the session user's identity.
func (s *IdentityService) Get(ctx context.Context) (*Identity, error) {
	tok, err := s.c.src.Token(ctx)
	if err != nil {
		return nil, err
	}
	if tok.IdentityURL == "" {
		return s.userinfo(ctx)
	}
	if !strings.HasPrefix(tok.IdentityURL, "https://") && !strings.HasPrefix(tok.IdentityURL, "http://") {
		return nil, fmt.Errorf("rest: the session's identity URL %q is not absolute", tok.IdentityURL)
	}
	var id Identity
	if err := s.c.doJSON(ctx, &request{method: http.MethodGet, path: tok.IdentityURL, unversioned: true}, &id); err != nil {
		return nil, err
	}
	return &id, nil
}

func (s *IdentityService) userinfo(ctx context.Context) (*Identity, error) {
	var ui struct {
		Sub            string            `json:"sub"`
		UserID         string            `json:"user_id"`
		OrganizationID string            `json:"organization_id"`
		Username       string            `json:"preferred_username"`
		Name           string            `json:"name"`
		Email          string            `json:"email"`
		Active         bool              `json:"active"`
		UserType       string            `json:"user_type"`
		Language       string            `json:"language"`
		Locale         string            `json:"locale"`
		URLs           map[string]string `json:"urls"`
	}
	if err := s.c.doJSON(ctx, &request{method: http.MethodGet, path: "/services/oauth2/userinfo", unversioned: true}, &ui); err != nil {
		return nil, err
	}
	if ui.UserID == "" {
		return nil, errors.New("rest: userinfo response has no user_id")
	}
	return &Identity{ID: ui.Sub, UserID: ui.UserID, OrganizationID: ui.OrganizationID, Username: ui.Username,
		DisplayName: ui.Name, Email: ui.Email, Active: ui.Active, UserType: ui.UserType, Language: ui.Language, Locale: ui.Locale, URLs: ui.URLs}, nil
}
