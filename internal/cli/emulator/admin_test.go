package emulator

import (
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
)

// The admin subcommands turn flags into the admin API's documented bodies.
func TestAdminCmdRequests(t *testing.T) {
	for _, tt := range []struct {
		args, method, path, body, err string
	}{
		{args: "apps update sfbridge --permitted-users AllSelfAuthorized --approved-user a@x.test,b@x.test --jwt-enabled false",
			method: "PATCH", path: "apps/sfbridge", body: `{"jwt_enabled":false,"permitted_users":"AllSelfAuthorized","approved_users":["a@x.test","b@x.test"]}`},
		{args: "apps update sfbridge", err: "nothing to change"},
		{args: "apps create My_App --permission-set P --callback-url https://cb.example/x",
			method: "POST", path: "apps", body: `{"name":"My_App","consumer_key":"","permission_sets":["P"],"callback_urls":["https://cb.example/x"]}`},
		{args: "permsets create EL --label EventLogs --permission ViewEventLogFiles --object EventLogFile=read",
			method: "POST", path: "permission-sets", body: `{"name":"EL","label":"EventLogs","permissions":["ViewEventLogFiles"],"objects":{"EventLogFile":["read"]}}`},
		{args: "permsets create EL --object EventLogFile", err: "want Object=read"},
		{args: "users create mw@acme.test --profile P --permission-set A",
			method: "POST", path: "users", body: `{"username":"mw@acme.test","email":"mw@acme.test","last_name":"mw","active":true,"profile":"P","permission_sets":["A"]}`},
		{args: "users create mw@acme.test", err: "--profile"},
		{args: "users revoke-sessions a@b.test", method: "POST", path: "users/a@b.test/revoke-sessions"},
		{args: "faults add --path /services/data/** --action rate_limit --rate-per-second 1 --burst 2",
			method: "POST", path: "faults", body: `{"path":"/services/data/**","action":"rate_limit","rate_per_second":1,"burst":2}`},
		{args: "faults remove f1", method: "DELETE", path: "faults/f1"},
		{args: "records create Case --data [{\"Subject\":\"x\"}]", method: "POST", path: "records/Case", body: `[{"Subject":"x"}]`},
		{args: "records create Case", err: "--data or --file"},
		{args: "clock advance 90s", method: "POST", path: "clock", body: `{"advance":"90s"}`},
		{args: "clock set 2026-12-01T09:00:00Z", method: "POST", path: "clock", body: `{"set":"2026-12-01T09:00:00Z"}`},
		{args: "org", method: "GET", path: "org"},
	} {
		t.Run(tt.args, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := factory.New(ios, func(string) string { return "" }, "test")
			var got *AdminOptions
			root := &cobra.Command{Use: "emulator"}
			root.AddCommand(newAdminCmds(f, func(o *AdminOptions) error { got = o; return nil })...)
			root.SetArgs(strings.Fields(tt.args))
			root.SetOut(ios.ErrOut)
			root.SetErr(ios.ErrOut)
			err := root.Execute()
			if tt.err != "" {
				var ee *exitcode.ExitError
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.As(err, &ee) || ee.Code != exitcode.Usage {
					t.Fatalf("error %v, want a usage error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Method != tt.method || got.Path != tt.path || string(got.Body) != tt.body {
				t.Errorf("got %s %s %s\nwant %s %s %s", got.Method, got.Path, got.Body, tt.method, tt.path, tt.body)
			}
		})
	}
}
