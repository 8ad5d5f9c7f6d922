// Package oauth2adapter lets libraries that take a golang.org/x/oauth2
// TokenSource use sfbridge's Salesforce sessions. It is a package of its own
// so that users of auth and rest do not link x/oauth2.
package oauth2adapter

import (
	"context"

	"golang.org/x/oauth2"

	"github.com/sfbridge/sfbridge/auth"
)

// TokenSource adapts src to golang.org/x/oauth2's TokenSource.
//
// oauth2.TokenSource.Token has no context parameter, so ctx is used for
// every login the adapter causes; pass a context that lives as long as the
// adapter. The returned tokens have no Expiry (Salesforce does not say when a
// session ends), which oauth2 treats as never expiring: pair the adapter
// with [auth.Transport], or call src.Invalidate, to re-authenticate on 401
// INVALID_SESSION_ID. Extra("instance_url") and Extra("id") carry the
// instance and identity URLs.
func TokenSource(ctx context.Context, src auth.Source) oauth2.TokenSource {
	return &adapter{ctx: ctx, src: src}
}

type adapter struct {
	ctx context.Context
	src auth.Source
}

func (a *adapter) Token() (*oauth2.Token, error) {
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
