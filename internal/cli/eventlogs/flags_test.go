package eventlogs

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/cli/statearg"
	"github.com/sfbridge/sfbridge/internal/output"
)

func TestCollectFlags(t *testing.T) {
	def := CollectOptions{Since: "7d", Types: []string{"all"}, Interval: "auto", Sink: "-", Poll: 5 * time.Minute,
		Concurrency: 4, BatchEvents: 2000, MemoryLimit: 32 << 20, IdleTimeout: 2 * time.Minute, ESNamespace: "default"}
	with := func(f func(*CollectOptions)) CollectOptions { o := def; f(&o); return o }
	cmdutiltest.TestFlags(t, NewCollectCmd, []cmdutiltest.FlagCase[CollectOptions]{
		{Args: "", Want: def},
		{Args: "-o acme --type Login,API --interval hourly --objects SetupAuditTrail,LoginEvent --output ndjson:ev.ndjson --state sqlite:s.db --follow --poll 1m --json --concurrency 8",
			Want: with(func(o *CollectOptions) {
				o.Target, o.Types, o.Interval, o.Objects, o.Sink = cmdutil.Target{Org: "acme"}, []string{"Login", "API"}, "hourly", []string{"SetupAuditTrail", "LoginEvent"}, "ndjson:ev.ndjson"
				o.State, o.Follow, o.Poll, o.Output, o.Concurrency = statearg.Flag{URL: "sqlite:s.db"}, true, time.Minute, output.Flags{JSON: true}, 8
			})},
		{Args: "extra", WantErr: `unknown command "extra"`},
		{Args: "--poll soon", WantErr: `invalid argument "soon"`},
	}, cmpopts.IgnoreTypes(&factory.Factory{}))
}

func TestDownloadFlags(t *testing.T) {
	cmdutiltest.TestFlags(t, NewDownloadCmd, []cmdutiltest.FlagCase[DownloadOptions]{
		{Args: "0ATxx00000000lkGAA", Want: DownloadOptions{FileID: "0ATxx00000000lkGAA", Format: "csv"}},
		{Args: "0ATxx00000000lkGAA --format ndjson --out f.ndjson", Want: DownloadOptions{FileID: "0ATxx00000000lkGAA", Format: "ndjson", Out: "f.ndjson"}},
		{Args: "0ATxx00000000lkGAA --format xml", WantErr: `--format "xml" is not csv or ndjson`},
		{Args: "", WantErr: "accepts 1 arg"},
	})
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"7d":                   now.Add(-7 * 24 * time.Hour),
		"12h":                  now.Add(-12 * time.Hour),
		"2026-12-01T00:00:00Z": time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		"2026-11-30":           time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		"":                     {},
	} {
		got, err := parseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "-3d", "7x"} {
		if _, err := parseSince(bad, now); exitcode.Of(err) != exitcode.Usage {
			t.Errorf("parseSince(%q): %v, want a usage error", bad, err)
		}
	}
}
