// Package org implements `sfbridge org`, whose `list` subcommand shows the
// org profiles stored by `sfbridge login`.
package org

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/internal/profile"
)

// NewCmd returns the org command group. runF, when not nil, receives the
// parsed options of `org list` instead of runList (tests of the flags use
// it).
func NewCmd(f *factory.Factory, runF func(*ListOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "org <command>",
		Short: "Manage the orgs sfbridge has logged in to",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newListCmd(f, runF))
	return cmd
}

// ListOptions holds the flags of `sfbridge org list`.
type ListOptions struct {
	IO *iostreams.IOStreams
	// ConfigDir is where the profiles are stored.
	ConfigDir func() (string, error)
	Output    output.Flags
}

func newListCmd(f *factory.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams, ConfigDir: f.ConfigDir}
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the org profiles",
		Args:  cobra.NoArgs,
		RunE:  cmdutil.RunE(opts, runF, runList, nil),
	}
	output.AddFlags(cmd.Flags(), &opts.Output)
	return cmd
}

// Entry is one org in `org list --json`.
type Entry struct {
	Alias       string `json:"alias,omitempty"`
	Username    string `json:"username"`
	OrgID       string `json:"org_id"`
	UserID      string `json:"user_id"`
	InstanceURL string `json:"instance_url"`
	LoginURL    string `json:"login_url"`
	Audience    string `json:"audience"`
	ClientID    string `json:"client_id"`
	KeyFile     string `json:"jwt_key_file"`
	Default     bool   `json:"default"`
}

func runList(_ context.Context, opts *ListOptions) error {
	format, err := opts.Output.Resolve(opts.IO)
	if err != nil {
		return err
	}
	dir, err := opts.ConfigDir()
	if err != nil {
		return err
	}
	profiles, def, err := profile.Store{Dir: dir}.List()
	if err != nil {
		return err
	}
	entries := make([]Entry, 0, len(profiles))
	for _, p := range profiles {
		entries = append(entries, Entry{
			Alias: p.Alias, Username: p.Username, OrgID: p.OrgID, UserID: p.UserID,
			InstanceURL: p.InstanceURL, LoginURL: p.LoginURL, Audience: p.Audience,
			ClientID: p.ClientID, KeyFile: p.KeyFile, Default: p.Username == def,
		})
	}
	if format == output.JSON {
		return output.WriteJSON(opts.IO.Out, entries)
	}
	if len(entries) == 0 && format == output.Table {
		fmt.Fprintln(opts.IO.ErrOut, "No orgs yet; log in with `sfbridge login`.")
		return nil
	}
	rw, err := output.NewRowWriter(opts.IO, format, "DEFAULT", "ALIAS", "USERNAME", "ORG ID", "INSTANCE URL")
	if err != nil {
		return err
	}
	for _, e := range entries {
		mark := ""
		if e.Default {
			mark = "*"
		}
		if err := rw.Write(mark, e.Alias, e.Username, e.OrgID, e.InstanceURL); err != nil {
			return err
		}
	}
	return rw.Flush()
}
