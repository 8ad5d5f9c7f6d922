package keys

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/output"
	libkeys "github.com/sfbridge/sfbridge/keys"
)

// InspectOptions are the flags of `sfbridge keys inspect` and what it reads
// besides them.
type InspectOptions struct {
	Env
	File string
	Load loadFlags
	Out  output.Flags
}

func newInspectCmd(f *factory.Factory, runF func(*InspectOptions) error) *cobra.Command {
	opts := &InspectOptions{Env: envOf(f)}
	cmd := &cobra.Command{
		Use:   "inspect [FILE]",
		Short: "Show what a key, certificate or keystore holds, with warnings",
		Long: `Show a key, certificate or keystore: its format, the key's algorithm, size and
public-key SHA-256, each certificate's subject, issuer, serial and validity,
and whether key and certificate match.

Warnings: an expired certificate, one expiring within 30 days, an RSA key
below 2048 bits, a key that is not RSA, and a key file readable by group or
others. Warnings do not change the exit status.

Without FILE, the key in SFBRIDGE_JWT_KEY is inspected.`,
		Example: `  sfbridge keys inspect salesforce.key
  sfbridge keys inspect salesforce.jks --alias salesforce_cert --password-file store-password.txt
  sfbridge keys inspect salesforce.crt --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: cmdutil.RunE(opts, runF, runInspect, func(_ *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.File = args[0]
			}
			return nil
		}),
	}
	opts.Load.register(cmd)
	output.AddJSONFlag(cmd.Flags(), &opts.Out)
	return cmd
}

func runInspect(_ context.Context, opts *InspectOptions) error {
	f := opts.Env
	lo, err := opts.Load.options(f)
	if err != nil {
		return err
	}
	data, name, err := keySource(f, opts.File, "FILE")
	if err != nil {
		return err
	}
	var r *libkeys.Report
	if data == nil {
		r, err = libkeys.InspectFile(name, lo, f.Now())
	} else {
		r, err = libkeys.Inspect(data, name, lo, f.Now())
	}
	if err != nil {
		return withHint(err)
	}
	if opts.Out.JSON {
		return output.WriteJSON(f.IO.Out, r)
	}
	_, err = fmt.Fprint(f.IO.Out, renderReport(r, f))
	return err
}

func renderReport(r *libkeys.Report, f Env) string {
	cs := f.IO.Colors()
	var b strings.Builder
	row := func(k, v string) { fmt.Fprintf(&b, "%-12s %s\n", k+":", v) }
	row("File", r.File)
	format := r.Format
	if r.KeyForm != "" {
		format += " (" + r.KeyForm + ")"
	}
	row("Format", format)
	row("Kind", r.Kind)
	row("Encrypted", yesNo(r.Encrypted))
	if len(r.Aliases) > 0 {
		row("Aliases", strings.Join(r.Aliases, ", "))
	}
	if r.Alias != "" {
		row("Alias", r.Alias)
	}
	if k := r.Key; k != nil {
		what := "public"
		if k.Private {
			what = "private"
		}
		alg := k.Algorithm
		if k.Bits > 0 {
			alg = fmt.Sprintf("%s %d bits", alg, k.Bits)
		}
		row("Key", fmt.Sprintf("%s (%s)", alg, what))
		row("Key SHA-256", k.Fingerprint)
	}
	for i, c := range r.Certs {
		label := "Certificate"
		if i > 0 {
			label = fmt.Sprintf("Chain[%d]", i)
		}
		row(label, c.Subject)
		row("  Issuer", c.Issuer+selfSigned(c.SelfSigned))
		row("  Serial", c.Serial)
		row("  Valid", fmt.Sprintf("%s to %s (%s)", c.NotBefore.Format(time.DateOnly), c.NotAfter.Format(time.DateOnly), daysText(c.DaysLeft)))
		alg := c.Algorithm
		if c.Bits > 0 {
			alg = fmt.Sprintf("%s %d bits", alg, c.Bits)
		}
		row("  Key", alg)
		row("  SHA-256", c.Fingerprint)
	}
	if r.Matches != nil {
		m := cs.Green("yes")
		if !*r.Matches {
			m = cs.Red("no")
		}
		row("Key matches", m)
	}
	if len(r.Warnings) > 0 {
		b.WriteString("Warnings:\n")
		for _, w := range r.Warnings {
			fmt.Fprintf(&b, "  %s %s: %s\n", cs.Yellow("!"), w.Code, w.Message)
		}
	}
	return b.String()
}

func selfSigned(b bool) string {
	if b {
		return " (self-signed)"
	}
	return ""
}

func daysText(d int) string {
	switch {
	case d < 0:
		return fmt.Sprintf("expired %d days ago", -d)
	case d == 1:
		return "1 day left"
	}
	return fmt.Sprintf("%d days left", d)
}
