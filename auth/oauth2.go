package auth

import (
	"context"

	"golang.org/x/oauth2"
)

// OAuth2TokenSource adapts src to golang.org/x/oauth2's TokenSource, for
// libraries that take one.
//
// oauth2.TokenSource.Token has no context parameter, so ctx is used for
// every login the adapter causes; pass a context that lives as long as the
// adapter. The returned tokens have no Expiry (Salesforce does not say when a
// session ends), which oauth2 treats as never expiring: pair the adapter
// with [Transport], or call src.Invalidate, to re-authenticate on 401
// INVALID_SESSION_ID. Extra("instance_url") and Extra("id") carry the
// instance and identity URLs.
func OAuth2TokenSource(ctx context.Context, src Source) oauth2.TokenSource {
	return &oauth2Adapter{ctx: ctx, src: src}
}

type oauth2Adapter struct {
	ctx context.Context
	src Source
}

func (a *oauth2Adapter) Token() (*oauth2.Token, error) {
	tok, err := a.src.Token(a.ctx)
	if err != nil {
		return nil, err
	}
	typ := tok.TokenType
	if typ == "" {
		typ = "Bearer"
	}
	t := &oauth2.Token{AccessToken: tok.AccessToken, TokenType: typ}
	return t.WithExtra(map[string]any{
		"instance_url": tok.InstanceURL,
		"id":           tok.IdentityURL,
		"scope":        tok.Scope,
	}), nil
}
