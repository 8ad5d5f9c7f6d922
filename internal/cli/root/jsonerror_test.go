package root

import (
	"encoding/json"
	"strings"
	"testing"
)

// failJSON runs a command with --json that must fail with code, and
// decodes the error it prints on stdout; stderr must stay empty.
func (e *cliEnv) failJSON(code int, args ...string) (ErrorJSON, string) {
	e.t.Helper()
	got, out, errOut := e.run(args...)
	if got != code {
		e.t.Fatalf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", args, got, code, out, errOut)
	}
	if errOut != "" {
		e.t.Errorf("%v: stderr %q, want the failure on stdout only", args, errOut)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		e.t.Fatalf("%v: stdout is not JSON: %v\n%s", args, err, out)
	}
	// The sf CLI's keys, with its types.
	for key, kind := range map[string]string{"status": "float64", "name": "string", "message": "string", "exitCode": "float64",
		"context": "string", "stack": "string", "warnings": "[]interface {}", "code": "string", "commandName": "string"} {
		if v, ok := raw[key]; !ok || typeName(v) != kind {
			e.t.Errorf("%v: key %q = %#v, want a %s", args, key, raw[key], kind)
		}
	}
	var ej ErrorJSON
	if err := json.Unmarshal([]byte(out), &ej); err != nil {
		e.t.Fatal(err)
	}
	if ej.Status != code || ej.ExitCode != code {
		e.t.Errorf("%v: status %d, exitCode %d, want %d", args, ej.Status, ej.ExitCode, code)
	}
	return ej, out
}

func typeName(v any) string {
	switch v.(type) {
	case float64:
		return "float64"
	case string:
		return "string"
	case []any:
		return "[]interface {}"
	}
	return "other"
}

// Under --json every failure is the sf CLI's JSON error on stdout, with the
// same exit code as without, and no secret in it.
func TestJSONFailuresFollowTheSfShape(t *testing.T) {
	o := newOrg(t)
	e := newCLIEnv(t, o)

	ej, _ := e.failJSON(3, "login", "--json", "--client-id", "3MVG9unknown", "--jwt-key-file", e.writeKey("server.key", nil),
		"--username", integration, "--instance-url", o.URL)
	if ej.Name != "AuthRefusedError" || ej.Code != "invalid_client_id" || ej.Context != "login" || !strings.Contains(ej.Message, "client identifier invalid") ||
		len(ej.Warnings) != 0 || !strings.Contains(ej.Stack, "*auth.Error") {
		t.Errorf("refused login: %+v", ej)
	}

	// A wrong passphrase from the environment: exit 1, the hint in the
	// actions, and neither the passphrase nor the key in the output.
	key := e.writeKey("enc.key", []byte("right-passphrase"))
	e.env = map[string]string{"SFBRIDGE_KEY_PASSWORD": "wrong-passphrase-1234"}
	ej, out := e.failJSON(1, "login", "--json", "--client-id", o.ClientID, "--jwt-key-file", key, "--username", integration, "--instance-url", o.URL)
	if ej.Name != "SfbridgeError" || len(ej.Actions) == 0 || !strings.Contains(ej.Actions[0], "--keystore-password-file") {
		t.Errorf("wrong passphrase: %+v", ej)
	}
	for _, secret := range []string{"wrong-passphrase-1234", "right-passphrase", "PRIVATE KEY", "MII"} {
		if strings.Contains(out, secret) {
			t.Errorf("the JSON error shows %q:\n%s", secret, out)
		}
	}
	e.env = nil

	// Usage errors: a missing required flag, a bad API version.
	ej, _ = e.failJSON(2, "login", "--json", "--client-id", o.ClientID)
	if ej.Name != "UsageError" || !strings.Contains(ej.Message, "--jwt-key-file is required") {
		t.Errorf("missing flag: %+v", ej)
	}
	ej, _ = e.failJSON(2, "login", "--bogus", "--json")
	if ej.Name != "UsageError" || !strings.Contains(ej.Message, "unknown flag: --bogus") {
		t.Errorf("unknown flag before --json: %+v", ej)
	}
	ej, _ = e.failJSON(2, "query", "SELECT Id FROM Case", "--json", "--api-version", "abc")
	if ej.Name != "UsageError" || ej.Context != "query" {
		t.Errorf("bad API version: %+v", ej)
	}

	// A REST failure after a good login: Salesforce's code, and no token.
	if code, _, errOut := e.login(""); code != 0 {
		t.Fatal(errOut)
	}
	_, tok, _ := e.token()
	ej, out = e.failJSON(1, "query", "SELECT Bogus__c FROM Case", "--json")
	if ej.Code != "INVALID_FIELD" || !strings.Contains(ej.Stack, "*rest.APIError") {
		t.Errorf("bad field: %+v", ej)
	}
	if tok.AccessToken == "" || strings.Contains(out, tok.AccessToken) {
		t.Errorf("the JSON error shows the access token (or none was issued):\n%s", out)
	}
}
