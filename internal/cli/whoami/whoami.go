// Package whoami implements `sfbridge whoami`: it shows the identity of an
// org profile's user as Salesforce reports it (OpenID Connect userinfo).
package whoami

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
)

// Options holds the flags of `sfbridge whoami`.
type Options struct {
	IO     *iostreams.IOStreams
	Org    cmdutil.OrgFunc
	Output output.Flags
	Target cmdutil.Target
}

// NewCmd returns the whoami command. runF, when not nil, receives the
// parsed options instead of run (tests of the flags use it).
func NewCmd(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Org: f.Org}
	cmd := &cobra.Command{
		Use:   "whoami [-o ORG] [--json]",
		Short: "Show the user and org a profile logs in as",
		Long: `Show the user and org a profile logs in as, from Salesforce's userinfo
endpoint. The cached session is reused; if Salesforce reports it expired,
sfbridge logs in again once. The userinfo endpoint needs the app's openid
(or id) scope; without it only what the session itself says is shown.`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, run, nil),
	}
	cmdutil.AddTargetOrgFlag(cmd.Flags(), &opts.Target)
	output.AddJSONFlag(cmd.Flags(), &opts.Output)
	return cmd
}

// Result is what whoami prints with --json.
type Result struct {
	Username    string `json:"username"`
	Name        string `json:"name,omitempty"`
	Email       string `json:"email,omitempty"`
	UserID      string `json:"user_id"`
	OrgID       string `json:"org_id"`
	InstanceURL string `json:"instance_url"`
	Alias       string `json:"alias,omitempty"`
	UserType    string `json:"user_type,omitempty"`
	Locale      string `json:"locale,omitempty"`
	ZoneInfo    string `json:"zoneinfo,omitempty"`
	// Source is "userinfo" or, when the endpoint is not available, "session".
	Source string `json:"source"`
}

func run(ctx context.Context, opts *Options) error {
	org, tok, err := opts.Org.Token(ctx, opts.Target)
	if err != nil {
		return err
	}
	src, err := org.Source()
	if err != nil {
		return err
	}
	client := src.Client(org.Env.HTTPClient)
	ui, uiErr := auth.FetchUserInfo(ctx, client, tok.InstanceURL)
	if badOAuthToken(uiErr) {
		// The identity service reports an ended session as 403
		// Bad_OAuth_Token, not as the REST API's 401 INVALID_SESSION_ID on
		// which auth.Transport logs in again: do it here, once.
		src.Invalidate(tok)
		if tok, err = src.Token(ctx); err != nil {
			return err
		}
		ui, uiErr = auth.FetchUserInfo(ctx, client, tok.InstanceURL)
	}
	if err := org.Persist(); err != nil {
		return fmt.Errorf("saving the session: %w", err)
	}
	if cur := src.Cached(); cur != nil {
		tok = cur
	}
	res := Result{Username: org.Profile.Username, UserID: tok.UserID, OrgID: tok.OrgID, InstanceURL: tok.InstanceURL, Alias: org.Profile.Alias, Source: "session"}
	var apiErr *auth.StatusError
	switch {
	case uiErr == nil:
		res.Source = "userinfo"
		if ui.PreferredUsername != "" {
			res.Username = ui.PreferredUsername
		}
		if ui.UserID != "" {
			res.UserID = ui.UserID
		}
		if ui.OrganizationID != "" {
			res.OrgID = ui.OrganizationID
		}
		res.Name, res.Email, res.UserType, res.Locale, res.ZoneInfo = ui.Name, ui.Email, ui.UserType, ui.Locale, ui.ZoneInfo
	case errors.As(uiErr, &apiErr) && apiErr.StatusCode != http.StatusUnauthorized:
		fmt.Fprintf(opts.IO.ErrOut, "warning: userinfo unavailable (%d); showing what the session says. Add the openid scope to the app for more.\n", apiErr.StatusCode)
	default:
		return uiErr
	}
	if opts.Output.JSON {
		return output.WriteJSON(opts.IO.Out, res)
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Username:\t%s\n", res.Username)
	if res.Name != "" {
		fmt.Fprintf(tw, "Name:\t%s\n", res.Name)
	}
	if res.Email != "" {
		fmt.Fprintf(tw, "Email:\t%s\n", res.Email)
	}
	fmt.Fprintf(tw, "User ID:\t%s\n", res.UserID)
	fmt.Fprintf(tw, "Org ID:\t%s\n", res.OrgID)
	fmt.Fprintf(tw, "Instance URL:\t%s\n", res.InstanceURL)
	if res.Alias != "" {
		fmt.Fprintf(tw, "Alias:\t%s\n", res.Alias)
	}
	return tw.Flush()
}

// badOAuthToken reports whether err is the identity service's answer to a
// session that has ended.
func badOAuthToken(err error) bool {
	var se *auth.StatusError
	return errors.As(err, &se) && se.StatusCode == http.StatusForbidden && strings.TrimSpace(string(se.Body)) == "Bad_OAuth_Token"
}
