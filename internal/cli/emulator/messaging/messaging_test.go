package messaging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/sftest"
)

func testFactory(out *bytes.Buffer) *factory.Factory {
	ios := &iostreams.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: out}
	return factory.New(ios, func(string) string { return "" }, "test")
}

// TestFlagsBecomeAdminCalls checks what each subcommand asks of the admin API.
func TestFlagsBecomeAdminCalls(t *testing.T) {
	cases := []struct {
		args         []string
		method, path string
		body         string
	}{
		{[]string{"presence", "Alex Agent", "Busy"}, "POST", "agents/Alex%20Agent/presence", `{"presence":"Busy"}`},
		{[]string{"send", "c1", "hello there", "--agent", "Alex"}, "POST", "conversations/c1/messages", `{"agent":"Alex","text":"hello there"}`},
		{[]string{"typing", "c1", "--stop"}, "POST", "conversations/c1/typing", `{"agent":"","typing":false}`},
		{[]string{"transfer", "c1", "--queue", "Payroll"}, "POST", "conversations/c1/transfer", `{"agent":"","queue":"Payroll"}`},
		{[]string{"work", "--agent", "Alex", "--all"}, "GET", "work?agent=Alex&all=true", `null`},
		{[]string{"sse-fault", "delay", "--delay", "2s", "--event", "CONVERSATION_MESSAGE"}, "POST", "sse-faults", `{"action":"delay","count":1,"delay":"2s","event":"CONVERSATION_MESSAGE"}`},
		{[]string{"sse-fault", "clear"}, "DELETE", "sse-faults", `null`},
		{[]string{"fail-routing", "--count", "3"}, "POST", "routing/fail", `{"count":3,"failure_type":"RoutingError","reason":""}`},
		{[]string{"deployment", "X_API", "--pre-chat", "Topic,UserId:hidden", "--unpublished"}, "POST", "deployments",
			`{"channel":"","name":"X_API","pre_chat":[{"hidden":false,"name":"Topic"},{"hidden":true,"name":"UserId"}],"published":false,"type":"api"}`},
	}
	for _, tc := range cases {
		var got *Options
		cmd := NewCmd(testFactory(&bytes.Buffer{}), func(_ context.Context, o *Options) error { got = o; return nil })
		cmd.SetArgs(tc.args)
		cmd.SetOut(&bytes.Buffer{})
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		body, _ := json.Marshal(got.Body)
		if got.Method != tc.method || got.Path != tc.path || string(body) != tc.body {
			t.Errorf("%v: %s %s %s, want %s %s %s", tc.args, got.Method, got.Path, body, tc.method, tc.path, tc.body)
		}
	}
	cmd := NewCmd(testFactory(&bytes.Buffer{}), func(context.Context, *Options) error { return nil })
	cmd.SetArgs([]string{"sse-fault", "explode"})
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "not drop, duplicate, delay") {
		t.Fatalf("bad action: %v", err)
	}
}

// TestRunAgainstTheEmulator runs the real requests against an in-process
// org found through an info file, and checks what is printed.
func TestRunAgainstTheEmulator(t *testing.T) {
	s := sftest.NewServer(t)
	info := filepath.Join(t.TempDir(), "info.json")
	b, _ := json.Marshal(map[string]string{"base_url": s.URL, "admin_token": s.AdminToken})
	if err := os.WriteFile(info, b, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		cmd := NewCmd(testFactory(&out), nil)
		cmd.SetArgs(append([]string{"--info-file", info}, args...))
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		err := cmd.Execute()
		return out.String(), err
	}
	out, err := run("agents")
	if err != nil || !strings.Contains(out, "Emma Bot") || !strings.Contains(out, "0/50") {
		t.Fatalf("agents: %v\n%s", err, out)
	}
	out, err = run("presence", "Emma Bot", "Offline")
	if err != nil || strings.TrimSpace(out) != "Emma Bot is Offline (0 of 50 conversations)" {
		t.Fatalf("presence: %v\n%s", err, out)
	}
	_, err = run("end", "11111111-2222-4333-8444-555555555555")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("end of an unknown conversation: %v", err)
	}
	out, err = run("work")
	if err != nil || strings.TrimSpace(out) != "no conversations" {
		t.Fatalf("work: %v\n%s", err, out)
	}
}
