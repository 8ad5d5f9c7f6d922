// Command gosalesforce-driver drives the unmodified go-salesforce v3 client
// against the sfbridge emulator for the interop suite.
//
// It lives in its own Go module so that sfbridge's main module never depends
// on go-salesforce. It logs in with the JWT bearer flow (salesforce.Init with
// ConsumerRSAPem), then, depending on -mode:
//
//	login  checks the session: the access token is used against the
//	       emulator's userinfo endpoint and the client's own DoRequest.
//	data   InsertOne a Case, Query it back, and DoRequest its describe.
//
// It prints one JSON object with what it observed on stdout; the interop suite
// compares those values with the emulator's info file. Any failure is printed
// on stderr and exits with status 1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	salesforce "github.com/k-capehart/go-salesforce/v3"
)

// caseRecord is the slice of a Case the driver writes and reads back.
type caseRecord struct {
	Id      string `json:"Id,omitempty"`
	Subject string `json:"Subject,omitempty"`
}

type options struct {
	mode     string
	loginURL string
	clientID string
	username string
	keyFile  string
	subject  string
	timeout  time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.mode, "mode", "login", "what to exercise: login, data or audit")
	flag.StringVar(&o.loginURL, "login-url", "", "the emulator's login URL (go-salesforce Creds.Domain)")
	flag.StringVar(&o.clientID, "client-id", "", "the connected app's consumer key")
	flag.StringVar(&o.username, "username", "", "the Salesforce username to log in as")
	flag.StringVar(&o.keyFile, "key-file", "", "PEM file of the RSA private key that signs the JWT")
	flag.StringVar(&o.subject, "subject", "", "Subject of the Case created in data mode")
	flag.DurationVar(&o.timeout, "timeout", 60*time.Second, "HTTP timeout for API calls")
	flag.Parse()

	out, err := run(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gosalesforce-driver:", err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "gosalesforce-driver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) (map[string]any, error) {
	if o.loginURL == "" || o.clientID == "" || o.username == "" || o.keyFile == "" {
		return nil, errors.New("-login-url, -client-id, -username and -key-file are required")
	}
	pem, err := os.ReadFile(o.keyFile)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	sf, err := salesforce.Init(salesforce.Creds{
		Domain:         o.loginURL,
		Username:       o.username,
		ConsumerKey:    o.clientID,
		ConsumerRSAPem: string(pem),
	}, salesforce.WithAPIVersion("v62.0"), salesforce.WithHTTPTimeout(o.timeout))
	if err != nil {
		return nil, fmt.Errorf("salesforce.Init (JWT): %w", err)
	}
	out := map[string]any{
		"auth_flow":    sf.GetAuthFlow().String(),
		"instance_url": sf.GetInstanceUrl(),
		"has_token":    sf.GetAccessToken() != "",
	}
	switch o.mode {
	case "login":
		return login(ctx, sf, o, out)
	case "data":
		return data(sf, o, out)
	case "audit":
		return audit(sf, out)
	default:
		return nil, fmt.Errorf("unknown -mode %q (want login, data or audit)", o.mode)
	}
}

// login proves the session go-salesforce obtained is real: the emulator's
// userinfo endpoint must know the token, and the client's own request path
// (DoRequest below /services/data/v62.0) must be authorized.
func login(ctx context.Context, sf *salesforce.Salesforce, o options, out map[string]any) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		strings.TrimSuffix(sf.GetInstanceUrl(), "/")+"/services/oauth2/userinfo", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+sf.GetAccessToken())
	resp, err := sf.GetHTTPClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	body, err := readAll(resp)
	if err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	var info map[string]any
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	out["userinfo"] = info

	resp, err = sf.DoRequest(http.MethodGet, "/limits", nil)
	if err != nil {
		return nil, fmt.Errorf("sf.DoRequest GET /limits: %w", err)
	}
	if _, err := readAll(resp); err != nil {
		return nil, fmt.Errorf("sf.DoRequest GET /limits: %w", err)
	}
	out["limits_status"] = resp.StatusCode
	return out, nil
}

// data exercises the data API: InsertOne, Query and a describe via DoRequest.
func data(sf *salesforce.Salesforce, o options, out map[string]any) (map[string]any, error) {
	if o.subject == "" {
		return nil, errors.New("-subject is required in data mode")
	}
	res, err := sf.InsertOne("Case", caseRecord{Subject: o.subject})
	if err != nil {
		return nil, fmt.Errorf("sf.InsertOne Case: %w", err)
	}
	if !res.Success || res.Id == "" {
		return nil, fmt.Errorf("sf.InsertOne Case: success=%v id=%q errors=%v", res.Success, res.Id, res.Errors)
	}
	out["created_id"] = res.Id

	var found []caseRecord
	soql := "SELECT Id, Subject FROM Case WHERE Subject = '" + strings.ReplaceAll(o.subject, "'", `\'`) + "'"
	if err := sf.Query(soql, &found); err != nil {
		return nil, fmt.Errorf("sf.Query %q: %w", soql, err)
	}
	out["queried"] = found

	resp, err := sf.DoRequest(http.MethodGet, "/sobjects/Case/describe", nil)
	if err != nil {
		return nil, fmt.Errorf("sf.DoRequest describe Case: %w", err)
	}
	body, err := readAll(resp)
	if err != nil {
		return nil, fmt.Errorf("sf.DoRequest describe Case: %w", err)
	}
	var describe struct {
		Name   string `json:"name"`
		Fields []struct {
			Name string `json:"name"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(body, &describe); err != nil {
		return nil, fmt.Errorf("describe Case: %w", err)
	}
	fields := make([]string, 0, len(describe.Fields))
	for _, f := range describe.Fields {
		fields = append(fields, f.Name)
	}
	out["describe_name"] = describe.Name
	out["describe_fields"] = fields
	return out, nil
}

type auditRow struct {
	Id          string
	Action      string
	Section     string
	Display     string
	CreatedDate string
	CreatedById string
}

// audit reads the Setup Audit Trail the way a SIEM collector does.
func audit(sf *salesforce.Salesforce, out map[string]any) (map[string]any, error) {
	var rows []auditRow
	soql := "SELECT Id, Action, Section, Display, CreatedDate, CreatedById FROM SetupAuditTrail WHERE CreatedDate > 2000-01-01T00:00:00Z ORDER BY CreatedDate ASC, Id ASC"
	if err := sf.Query(soql, &rows); err != nil {
		return nil, fmt.Errorf("sf.Query %q: %w", soql, err)
	}
	out["audit"] = rows
	return out, nil
}

// readAll reads and closes a response body and turns a non-2xx status into an
// error that carries the start of the body.
func readAll(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, body)
	}
	return body, nil
}
