package oauth2adapter_test

import (
	"errors"
	"testing"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/auth/oauth2adapter"
	"github.com/sfbridge/sfbridge/sftest"
)

func TestTokenSourceAgainstTheEmulator(t *testing.T) {
	s := sftest.NewServer(t)
	src, err := auth.NewTokenSource(s.AuthConfig(s.Username("integration")))
	if err != nil {
		t.Fatal(err)
	}
	ot, err := oauth2adapter.TokenSource(t.Context(), src).Token()
	if err != nil {
		t.Fatal(err)
	}
	cached := src.Cached()
	if cached == nil || ot.AccessToken != cached.AccessToken || ot.TokenType != "Bearer" || !ot.Valid() {
		t.Errorf("oauth2 token = %+v, session %v", ot, cached)
	}
	if ot.Extra("instance_url") != s.URL || ot.Extra("id") != cached.IdentityURL || cached.IdentityURL == "" {
		t.Errorf("extras: instance_url %v, id %v; want %s, %s", ot.Extra("instance_url"), ot.Extra("id"), s.URL, cached.IdentityURL)
	}

	// A refused login reaches the oauth2 caller as the *auth.Error.
	bad, err := auth.NewTokenSource(s.AuthConfig(s.Username("not-preauthorized")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = oauth2adapter.TokenSource(t.Context(), bad).Token()
	var ae *auth.Error
	if !errors.As(err, &ae) || !ae.Refused() {
		t.Fatalf("refused login through the adapter = %v, want *auth.Error", err)
	}
}
