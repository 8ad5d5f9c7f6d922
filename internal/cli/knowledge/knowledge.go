// Package knowledge implements `sfbridge knowledge`: keep a local,
// searchable copy of the org's published Knowledge articles.
package knowledge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	htmlpkg "html"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/atomicfile"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/cli/statearg"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/servicedesk"
	"github.com/sfbridge/sfbridge/state"
)

// Options holds the flags of `sfbridge knowledge sync|search|get`.
type Options struct {
	IO        *iostreams.IOStreams
	Factory   *factory.Factory
	Org       cmdutil.OrgFunc
	Target    cmdutil.Target
	State     statearg.Flag
	Output    output.Flags
	Op        string
	Languages []string
	Query     string
	Limit     int
	Format    string
	Out       string
}

// NewCmd returns the knowledge command and its subcommands.
func NewCmd(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "knowledge <command>",
		Short: "Sync published Knowledge articles into the state store and search them locally",
	}
	sub := func(op, use, short, long string, args cobra.PositionalArgs, setup func(*cobra.Command, *Options)) *cobra.Command {
		opts := &Options{IO: f.IOStreams, Factory: f, Org: f.Org, Op: op}
		c := &cobra.Command{Use: use, Short: short, Long: long, Args: args,
			RunE: cmdutil.RunE(opts, runF, run, func(_ *cobra.Command, args []string) error {
				if len(args) > 0 {
					opts.Query = args[0]
				}
				return nil
			})}
		cmdutil.AddTargetFlags(c.Flags(), &opts.Target)
		opts.State.Register(c)
		setup(c, opts)
		return c
	}
	cmd.AddCommand(
		sub("sync", "sync [--language en_US,de] [--state URL] [--out DIR|-] [-o ORG] [--json]", "Bring the local copy of published articles up to date",
			`Bring the local copy of the org's published (Online) Knowledge articles up to
date, in the languages given or all the org's languages. Each query names one
PublishStatus and one Language, as Salesforce requires. Per language, the
published versions are listed (one query), only new or changed versions are
fetched, and articles no longer published (archived, deleted) are removed. The
body fields are the article type's rich-text fields, found by describe; each
article is kept as HTML and as plain text and indexed for search.

--out - then prints every synced article as NDJSON; --out DIR writes
DIR/<language>/<UrlName>.json and .html, and removes the files an earlier run
wrote there for articles no longer published (listed in
DIR/.sfbridge-knowledge.json; no other file is touched).`,
			cobra.NoArgs, func(c *cobra.Command, o *Options) {
				c.Flags().StringSliceVar(&o.Languages, "language", nil, "Languages to sync, e.g. en_US,de (default: all of the org's)")
				c.Flags().StringVar(&o.Out, "out", "", "After syncing, export the articles: - (NDJSON on stdout) or a directory")
				output.AddJSONFlag(c.Flags(), &o.Output)
			}),
		sub("search", "search QUERY [--language en_US] [--limit 10] [-o ORG] [--json]", "Search the local copy by full text, best match first",
			"Search the synced articles' titles and bodies; every word must match. No API call is made.",
			cobra.ExactArgs(1), func(c *cobra.Command, o *Options) {
				c.Flags().StringSliceVar(&o.Languages, "language", nil, "Only this language, e.g. en_US")
				c.Flags().IntVar(&o.Limit, "limit", 10, "At most this many results")
				output.AddJSONFlag(c.Flags(), &o.Output)
			}),
		sub("get", "get ID|URLNAME [--language de] [--format text|html|json] [-o ORG]", "Print a synced article",
			"Print a synced article found by version Id (ka0…), KnowledgeArticleId (kA0…) or UrlName. No API call is made.",
			cobra.ExactArgs(1), func(c *cobra.Command, o *Options) {
				c.Flags().StringSliceVar(&o.Languages, "language", nil, "Which translation, e.g. de (default: the first synced language that has it)")
				c.Flags().StringVar(&o.Format, "format", "text", "text, html or json")
			}),
	)
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	if opts.Op == "get" && !slices.Contains([]string{"text", "html", "json"}, opts.Format) {
		return exitcode.UsageErrorf("--format %q: use text, html or json", opts.Format)
	}
	if opts.Op != "sync" && len(opts.Languages) > 1 {
		return exitcode.UsageErrorf("--language takes one language here")
	}
	org, err := opts.Org(ctx, opts.Target)
	if err != nil {
		return err
	}
	orgKey := opts.Target.Org
	if org.Profile != nil && org.Profile.OrgID != "" {
		orgKey = org.Profile.OrgID
	}
	if orgKey == "" {
		orgKey = "default"
	}
	store, err := opts.State.Open(ctx, opts.Factory, state.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	k := &servicedesk.Knowledge{Store: store, Org: orgKey}
	lang := ""
	if len(opts.Languages) == 1 {
		lang = opts.Languages[0]
	}
	out := opts.IO.Out
	switch opts.Op {
	case "sync":
		c, err := org.Client()
		if err != nil {
			return err
		}
		defer func() { _ = org.Persist() }()
		k.Client = c
		// --json prints every change; the text summary needs only counts.
		k.KeepChanges = opts.Output.JSON
		st, err := k.Sync(ctx, opts.Languages)
		if err != nil {
			return usageIfInvalid(err)
		}
		if opts.Out != "" {
			if err := export(ctx, k, opts); err != nil {
				return err
			}
			if opts.Out == "-" {
				return nil
			}
		}
		if opts.Output.JSON {
			return output.WriteJSON(out, st)
		}
		fmt.Fprintf(out, "%d published articles in %s: %d fetched, %d removed (%d API calls; body fields %s)\n",
			st.Published, strings.Join(st.Languages, ", "), st.Fetched, st.Removed, st.Calls, strings.Join(st.BodyFields, ", "))
		return nil
	case "search":
		hits, err := k.Search(ctx, opts.Query, lang, opts.Limit)
		if err != nil {
			return usageIfInvalid(err)
		}
		if opts.Output.JSON {
			return output.WriteJSON(out, hits)
		}
		for _, h := range hits {
			fmt.Fprintf(out, "%s  %-6s %s  %s\n", h.ArticleNumber, h.Language, h.URLName, h.Title)
		}
		if len(hits) == 0 {
			fmt.Fprintln(opts.IO.ErrOut, "no article matches (run `sfbridge knowledge sync` first?)")
			return &exitcode.Silent{Code: exitcode.Error}
		}
		return nil
	case "get":
		a, err := k.Get(ctx, opts.Query, lang)
		if err != nil {
			return err
		}
		switch opts.Format {
		case "json":
			return output.WriteJSON(out, a)
		case "html":
			keys := make([]string, 0, len(a.HTML))
			for f := range a.HTML {
				keys = append(keys, f)
			}
			slices.Sort(keys)
			for _, f := range keys {
				fmt.Fprintln(out, a.HTML[f])
			}
			return nil
		}
		fmt.Fprintf(out, "%s\n\n%s\n", a.Title, a.Text)
		return nil
	}
	return fmt.Errorf("knowledge: unknown operation %q", opts.Op)
}

func usageIfInvalid(err error) error {
	var ve *servicedesk.ValidationError
	if errors.As(err, &ve) {
		return exitcode.With(exitcode.Usage, err)
	}
	return err
}

// export writes the synced articles to stdout (NDJSON) or a directory.
func export(ctx context.Context, k *servicedesk.Knowledge, opts *Options) error {
	if opts.Out == "-" {
		enc := json.NewEncoder(opts.IO.Out)
		return k.Each(ctx, func(a *servicedesk.Article) error { return enc.Encode(a) })
	}
	keep := map[string]bool{}
	err := k.Each(ctx, func(a *servicedesk.Article) error {
		name := safeName(a.URLName)
		if name == "" {
			name = a.KnowledgeArticleID
		}
		dir := filepath.Join(opts.Out, safeName(a.Language))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("knowledge: --out: %w", err)
		}
		b, err := json.MarshalIndent(a, "", "  ")
		if err != nil {
			return err
		}
		var html strings.Builder
		fmt.Fprintf(&html, "<h1>%s</h1>\n", htmlpkg.EscapeString(a.Title))
		keys := make([]string, 0, len(a.HTML))
		for f := range a.HTML {
			keys = append(keys, f)
		}
		slices.Sort(keys)
		for _, f := range keys {
			html.WriteString(a.HTML[f] + "\n")
		}
		for path, data := range map[string][]byte{filepath.Join(dir, name+".json"): append(b, '\n'), filepath.Join(dir, name+".html"): []byte(html.String())} {
			if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
				return fmt.Errorf("knowledge: --out: %w", err)
			}
			keep[path] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Files this command wrote before for articles no longer published go;
	// a manifest says which, so no other file in DIR is touched.
	manifest := filepath.Join(opts.Out, ".sfbridge-knowledge.json")
	var before []string
	if b, err := os.ReadFile(manifest); err == nil {
		if err := json.Unmarshal(b, &before); err != nil {
			return fmt.Errorf("knowledge: --out: %s is unreadable (%w); remove it to start over", manifest, err)
		}
	}
	for _, rel := range before {
		path := filepath.Join(opts.Out, filepath.FromSlash(rel))
		if !keep[path] {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("knowledge: --out: %w", err)
			}
		}
	}
	var now []string
	for path := range keep {
		rel, err := filepath.Rel(opts.Out, path)
		if err != nil {
			return err
		}
		now = append(now, filepath.ToSlash(rel))
	}
	slices.Sort(now)
	b, _ := json.MarshalIndent(now, "", "  ")
	return atomicfile.WriteFile(manifest, append(b, '\n'), 0o644)
}

// safeName keeps a URL name or language usable as a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return -1
	}, s)
}
