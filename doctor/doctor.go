package doctor

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/keys"
	"github.com/sfbridge/sfbridge/rest"
)

// The optional groups of checks a caller can require.
const (
	ServiceDesk = "servicedesk" // seed 000: read Contact and Knowledge__kav, read/write Case and CaseComment
	EventLogs   = "eventlogs"   // seed 003: API Enabled, View Event Log Files, View All Data
)

// Groups lists the check groups that are checked through the org's
// session. Options.Require accepts them and Messaging, which needs
// Options.Messaging instead (AllGroups lists both).
func Groups() []string { return []string{ServiceDesk, EventLogs} }

// AllGroups lists every check group Options.Require accepts.
func AllGroups() []string { return append(Groups(), Messaging) }

// Thresholds for warnings.
const (
	ExpiryWarning   = 30 * 24 * time.Hour
	SkewWarning     = 30 * time.Second
	SkewFailure     = 2 * time.Minute // the assertion lives 3 minutes
	UsageWarningPct = 80
)

// Options say what to check.
type Options struct {
	// KeyFile is the signing key (PEM, encrypted PEM, DER, JKS, PKCS#12);
	// KeyOptions opens it.
	KeyFile    string
	KeyOptions keys.LoadOptions
	// CertFile is the certificate uploaded to the app; optional. Without it
	// the certificate stored with the key (a JKS or PKCS#12 entry's chain,
	// or a PEM file that holds both) is checked instead, when there is one.
	CertFile string
	// Auth is the login configuration. PrivateKey may be nil: Run loads it
	// from KeyFile. HTTPClient is also used for the other checks.
	Auth auth.Config
	// Source, when set, provides the session instead of a fresh login, so a
	// daemon's periodic checks reuse its session.
	Source *auth.TokenSource
	// Require names the groups of checks that must pass: ServiceDesk,
	// EventLogs, Messaging.
	Require []string
	// Messaging is the deployment the Messaging group checks. When
	// Messaging is the only group required and no org login is given
	// (KeyFile, Auth.PrivateKey, Auth.ConsumerKey and Source all empty), only
	// the messaging checks run.
	Messaging *MessagingOptions
	// RESTOptions are passed to the REST client.
	RESTOptions []rest.Option
}

// Run performs the checks in order and returns the report. A check that
// depends on one that failed is reported as skipped. Run never returns an
// error: every problem is a failed check.
func Run(ctx context.Context, opts Options) *Report {
	r := &runner{opts: opts, now: clock.FuncNow(opts.Auth.Now, opts.Auth.Clock), log: opts.Auth.Logger, report: &Report{}}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.hc = opts.Auth.HTTPClient
	if r.hc == nil {
		r.hc = &http.Client{Timeout: 30 * time.Second}
	}
	r.run(ctx)
	return r.report
}

type runner struct {
	opts   Options
	now    func() time.Time
	log    *slog.Logger
	hc     *http.Client
	report *Report

	key      *rsa.PrivateKey
	src      *auth.TokenSource
	client   *rest.Client
	perms    map[string]bool
	keyCerts []*x509.Certificate // certificates stored in the key file
}

func (r *runner) add(res Result) Result {
	r.report.Checks = append(r.report.Checks, res)
	return res
}

func (r *runner) skip(id, title, because string, required bool) {
	r.add(Result{ID: id, Title: title, Status: Skip, Detail: "not checked: " + because, Required: required})
}

func (r *runner) requires(group string) bool { return slices.Contains(r.opts.Require, group) }

func (r *runner) run(ctx context.Context) {
	if r.messagingOnly() {
		r.checkMessaging(ctx)
		return
	}
	r.runOrg(ctx)
	if r.requires(Messaging) {
		r.checkMessaging(ctx)
	}
}

// runOrg checks the org connection and the groups that need its session.
func (r *runner) runOrg(ctx context.Context) {
	keyOK := r.checkKey()
	r.checkCertificate()
	if r.opts.Auth.LoginURL == "" {
		r.opts.Auth.LoginURL = auth.ProductionURL
	}
	reachable := r.checkLoginHost(ctx)
	tokenOK := false
	switch {
	case !keyOK:
		r.skip("token", "Salesforce grants a token", "the key could not be used", true)
	case !reachable:
		r.skip("token", "Salesforce grants a token", "the login host is unreachable", true)
	default:
		tokenOK = r.checkToken(ctx)
	}
	if !tokenOK {
		r.skip("identity", "Integration user is active", "no session", true)
		r.skip("api", "API access (API Enabled) and instance URL", "no session", true)
		for _, g := range r.opts.Require {
			if g != Messaging {
				r.skip(g, "Access required for "+g, "no session", true)
			}
		}
		return
	}
	r.checkIdentity(ctx)
	apiOK := r.checkAPI(ctx)
	if r.requires(ServiceDesk) {
		if apiOK {
			r.checkServiceDesk(ctx)
		} else {
			r.skip(ServiceDesk, "Service desk object access", "the API is not available to the user", true)
		}
	}
	if r.requires(EventLogs) {
		if apiOK {
			r.checkEventLogs(ctx)
		} else {
			r.skip(EventLogs, "Event Monitoring access", "the API is not available to the user", true)
		}
	}
	r.checkUsage()
}

// checkKey loads the key and judges it.
func (r *runner) checkKey() bool {
	const title = "Private key loads and is RSA ≥ 2048 bits"
	if r.opts.Source != nil && r.opts.KeyFile == "" {
		r.add(Result{ID: "key", Title: title, Status: Pass, Detail: "the session's key is managed by the caller", Required: true})
		return true
	}
	if r.opts.KeyFile == "" && r.opts.Auth.PrivateKey == nil {
		r.add(Result{ID: "key", Title: title, Status: Fail, Required: true, Detail: "no key given",
			Fix: "Pass the private key whose certificate is uploaded to the connected app (--jwt-key-file)."})
		return false
	}
	key := r.opts.Auth.PrivateKey
	if key == nil {
		// Decrypting a key can take half a second (PBKDF2): load it once.
		var err error
		if key, r.keyCerts, err = keys.LoadPrivateKeyWithCertificatesFile(r.opts.KeyFile, r.opts.KeyOptions); err != nil {
			r.add(Result{ID: "key", Title: title, Status: Fail, Required: true, Detail: err.Error(), Fix: fixFromKeyError(err)})
			return false
		}
		if w := keys.CheckFilePermissions(r.opts.KeyFile); w != nil {
			r.add(Result{ID: "key.permissions", Title: "Private key file is private", Status: Warn, Detail: w.Message,
				Fix: "chmod 600 " + r.opts.KeyFile})
		}
	}
	bits := key.N.BitLen()
	if bits < 2048 {
		r.add(Result{ID: "key", Title: title, Status: Fail, Required: true,
			Detail: fmt.Sprintf("the RSA key has %d bits", bits),
			Fix:    "Create a 2048-bit pair (sfbridge keys generate, or openssl req -x509 -sha256 -nodes -days 36500 -newkey rsa:2048 ...) and upload the new certificate to the connected app."})
		return false
	}
	r.key = key
	fp, _ := keys.Fingerprint(&key.PublicKey)
	r.add(Result{ID: "key", Title: title, Status: Pass, Required: true, Detail: fmt.Sprintf("RSA %d bits, public key SHA-256 %s", bits, fp)})
	return true
}

func fixFromKeyError(err error) string {
	var ke *keys.Error
	if errors.As(err, &ke) && ke.Fix != "" {
		return ke.Fix
	}
	return "Check the key file path and format; `sfbridge keys inspect FILE` says what the file holds."
}

// checkCertificate matches the key against the certificate and checks its
// dates.
func (r *runner) checkCertificate() {
	title := "Certificate matches the key and is valid"
	var cert *x509.Certificate
	switch {
	case r.opts.CertFile != "":
		certs, err := keys.LoadCertificatesFile(r.opts.CertFile, keys.LoadOptions{})
		if err != nil {
			r.add(Result{ID: "certificate", Title: title, Status: Fail, Required: true, Detail: err.Error(), Fix: fixFromKeyError(err)})
			return
		}
		cert = certs[0]
	case r.key != nil:
		// No certificate named: judge the one stored with the key (keytool
		// makes it valid for 90 days by default), if any belongs to it.
		for _, c := range r.keyCerts {
			if keys.Match(r.key, c) == nil {
				cert = c
				break
			}
		}
		if cert == nil {
			return
		}
		title = "Certificate stored with the key is valid"
	default:
		return
	}
	if r.opts.CertFile != "" && r.key != nil {
		if err := keys.Match(r.key, cert); err != nil {
			r.add(Result{ID: "certificate", Title: title, Status: Fail, Required: true,
				Detail: fmt.Sprintf("%s does not belong to the private key", r.opts.CertFile),
				Fix:    "Salesforce will refuse every assertion with \"invalid assertion\". Upload the certificate made together with this key (Use digital signatures in the connected app), or use the key that belongs to the uploaded certificate."})
			return
		}
	}
	left := cert.NotAfter.Sub(r.now())
	switch {
	case left <= 0:
		r.add(Result{ID: "certificate", Title: title, Status: Fail, Required: true,
			Detail: fmt.Sprintf("the certificate expired on %s", cert.NotAfter.Format(time.DateOnly)),
			Fix:    "Create a new key pair, upload the new certificate to the connected app and switch the integration to the new key."})
	case left < ExpiryWarning:
		r.add(Result{ID: "certificate", Title: title, Status: Warn, Required: true,
			Detail: fmt.Sprintf("the certificate expires in %d days (%s)", int(left.Hours()/24), cert.NotAfter.Format(time.DateOnly)),
			Fix:    "Create a new key pair and upload its certificate to the connected app before the old one expires."})
	default:
		r.add(Result{ID: "certificate", Title: title, Status: Pass, Required: true,
			Detail: fmt.Sprintf("matches the key; valid until %s (%d days)", cert.NotAfter.Format(time.DateOnly), int(left.Hours()/24))})
	}
}

// checkLoginHost resolves and contacts the login host and compares clocks.
func (r *runner) checkLoginHost(ctx context.Context) bool {
	const title = "Login host is reachable"
	u, err := url.Parse(r.opts.Auth.LoginURL)
	if err != nil || u.Host == "" {
		r.add(Result{ID: "login", Title: title, Status: Fail, Required: true, Detail: fmt.Sprintf("%q is not a URL", r.opts.Auth.LoginURL),
			Fix: "Use https://login.salesforce.com (production), https://test.salesforce.com (sandbox) or your My Domain URL."})
		return false
	}
	host := u.Hostname()
	if net.ParseIP(host) == nil {
		if _, err := net.DefaultResolver.LookupHost(ctx, host); err != nil {
			r.add(Result{ID: "login", Title: title, Status: Fail, Required: true, Detail: fmt.Sprintf("cannot resolve %s: %v", host, err),
				Fix: "Check the login URL for typos and that this machine's DNS resolves it."})
			return false
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.Scheme+"://"+u.Host+"/services/data/", nil)
	if err != nil {
		r.add(Result{ID: "login", Title: title, Status: Fail, Required: true, Detail: err.Error()})
		return false
	}
	hc := *r.hc
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	sent := r.now()
	resp, err := hc.Do(req)
	if err != nil {
		r.add(Result{ID: "login", Title: title, Status: Fail, Required: true, Detail: fmt.Sprintf("cannot reach %s: %v", u.Host, err),
			Fix: "Check the login URL, the network path (firewall, HTTPS_PROXY/NO_PROXY) and, for TLS errors, the trusted CA certificates."})
		return false
	}
	resp.Body.Close()
	received := r.now()
	r.add(Result{ID: "login", Title: title, Status: Pass, Required: true, Detail: fmt.Sprintf("%s answered HTTP %d in %s", u.Host, resp.StatusCode, received.Sub(sent).Round(time.Millisecond))})
	r.checkClock(resp.Header.Get("Date"), sent.Add(received.Sub(sent)/2))
	return true
}

func (r *runner) checkClock(date string, local time.Time) {
	const title = "Clock agrees with Salesforce"
	server, err := http.ParseTime(date)
	if err != nil {
		r.add(Result{ID: "clock", Title: title, Status: Warn, Detail: "the login host sent no usable Date header; clock not compared"})
		return
	}
	skew := server.Sub(local.Truncate(time.Second)).Round(time.Second)
	abs := skew.Abs()
	detail := auth.DescribeClockSkew(skew)
	fix := "Synchronise this machine's clock (NTP, e.g. systemd-timesyncd or chrony): a JWT assertion is valid for only 3 minutes."
	switch {
	case abs >= SkewFailure:
		r.add(Result{ID: "clock", Title: title, Status: Fail, Required: true, Detail: detail, Fix: fix})
	case abs >= SkewWarning:
		r.add(Result{ID: "clock", Title: title, Status: Warn, Detail: detail, Fix: fix})
	default:
		r.add(Result{ID: "clock", Title: title, Status: Pass, Detail: detail})
	}
}

// checkToken logs in (or asks the given source) and explains a refusal.
func (r *runner) checkToken(ctx context.Context) bool {
	const title = "Salesforce grants a token (JWT bearer flow)"
	src := r.opts.Source
	var tok *auth.Token
	var err error
	if src != nil {
		tok, err = src.Token(ctx)
	} else {
		cfg := r.opts.Auth
		cfg.PrivateKey = r.key
		if cfg.HTTPClient == nil {
			cfg.HTTPClient = r.hc
		}
		if src, err = auth.NewTokenSource(cfg); err == nil {
			tok, err = src.Login(ctx)
		}
	}
	if err != nil {
		res := Result{ID: "token", Title: title, Status: Fail, Required: true, Detail: err.Error()}
		var ae *auth.Error
		var ne *auth.NetworkError
		var ce *auth.ConfigError
		switch {
		case errors.As(err, &ae):
			res.Detail = strings.TrimSpace(ae.Code + ": " + ae.Description)
			if ae.Diagnosis.Cause != "" {
				res.Detail += " — " + ae.Diagnosis.Cause
			}
			res.Fix = ae.Diagnosis.Fix
		case errors.As(err, &ne):
			res.Fix = "Salesforce could not be reached for the token request: check the network path and the login URL."
		case errors.As(err, &ce):
			res.Fix = "Correct the login settings: " + ce.Reason
		}
		r.add(res)
		return false
	}
	r.src = src
	var opts []rest.Option
	if r.hc.Transport != nil {
		opts = append(opts, rest.WithTransport(r.hc.Transport))
	}
	opts = append(opts, r.opts.RESTOptions...)
	if r.client, err = rest.New(src, opts...); err != nil {
		r.add(Result{ID: "token", Title: title, Status: Fail, Required: true, Detail: err.Error()})
		return false
	}
	detail := fmt.Sprintf("session for org %s, user %s, instance %s", tok.OrgID, tok.UserID, tok.InstanceURL)
	if ep, ok := src.Endpoint(); ok && r.opts.Auth.Audience == "" {
		detail += fmt.Sprintf(" (audience %s)", ep.Audience)
	}
	r.add(Result{ID: "token", Title: title, Status: Pass, Required: true, Detail: detail})
	return true
}

func (r *runner) checkIdentity(ctx context.Context) {
	const title = "Integration user is active"
	id, err := r.client.Identity.Get(ctx)
	if err != nil {
		r.add(Result{ID: "identity", Title: title, Status: Fail, Required: true, Detail: err.Error(),
			Fix: "The identity service must answer for the session user; check that the instance URL is reachable from here."})
		return
	}
	if !id.Active {
		r.add(Result{ID: "identity", Title: title, Status: Fail, Required: true, Detail: id.Username + " is inactive",
			Fix: "Activate the integration user (Setup > Users) or give the vendor an active user."})
		return
	}
	r.add(Result{ID: "identity", Title: title, Status: Pass, Required: true,
		Detail: fmt.Sprintf("%s (user %s) in org %s", id.Username, id.UserID, id.OrganizationID)})
}

// checkAPI proves API access by reading the user's own permissions.
func (r *runner) checkAPI(ctx context.Context) bool {
	const title = "API access (API Enabled) and instance URL"
	var perms map[string]bool
	for rec, err := range r.client.Query.Records(ctx, "SELECT PermissionsApiEnabled, PermissionsViewAllData, PermissionsViewEventLogFiles, PermissionsViewSetup FROM UserPermissionAccess", nil) {
		if err != nil {
			res := Result{ID: "api", Title: title, Status: Fail, Required: true, Detail: err.Error()}
			var te *rest.TransportError
			var ae *rest.APIError
			switch {
			case errors.As(err, &te):
				res.Fix = "The instance URL from the token response is not reachable from here: check DNS, firewall and proxy for it."
			case errors.As(err, &ae) && (ae.HasCode("API_DISABLED_FOR_ORG") || ae.HasCode("API_CURRENTLY_DISABLED")):
				res.Fix = "Enable \"API Enabled\" in the System Permissions of the integration user's permission set (or profile)."
			default:
				res.Fix = "The integration user needs \"API Enabled\" and must be able to read its own permissions."
			}
			r.add(res)
			return false
		}
		perms = map[string]bool{}
		for _, p := range []string{"PermissionsApiEnabled", "PermissionsViewAllData", "PermissionsViewEventLogFiles", "PermissionsViewSetup"} {
			v, _ := rec.Field(p)
			perms[p] = v == true
		}
	}
	if perms == nil {
		r.add(Result{ID: "api", Title: title, Status: Fail, Required: true, Detail: "UserPermissionAccess returned no row for the session user"})
		return false
	}
	r.perms = perms
	if !perms["PermissionsApiEnabled"] {
		r.add(Result{ID: "api", Title: title, Status: Fail, Required: true, Detail: "the user lacks API Enabled",
			Fix: "Enable \"API Enabled\" in the System Permissions of the integration user's permission set (or profile)."})
		return false
	}
	v, _ := r.client.APIVersion(ctx)
	r.add(Result{ID: "api", Title: title, Status: Pass, Required: true, Detail: "API Enabled; REST API v" + v + " answers at the instance URL"})
	return true
}

type objectNeed struct {
	object                   string
	read, create, edit       bool
	optionalWhenNotAvailable bool
	// fix replaces the "Object Settings > object" advice for objects that
	// have no Object Settings entry of their own.
	fix string
}

func (r *runner) checkServiceDesk(ctx context.Context) {
	for _, n := range []objectNeed{
		{object: "Contact", read: true},
		{object: "Knowledge__kav", read: true, optionalWhenNotAvailable: true},
		{object: "Case", read: true, create: true, edit: true},
		{object: "CaseComment", read: true, create: true},
	} {
		r.checkObject(ctx, ServiceDesk, n)
	}
}

func (r *runner) checkObject(ctx context.Context, group string, n objectNeed) {
	var want []string
	if n.read {
		want = append(want, "Read")
	}
	if n.create {
		want = append(want, "Create")
	}
	if n.edit {
		want = append(want, "Edit")
	}
	id := group + "." + strings.ToLower(strings.TrimSuffix(n.object, "__kav"))
	title := fmt.Sprintf("%s: %s", n.object, strings.Join(want, ", "))
	fix := n.fix
	if fix == "" {
		fix = fmt.Sprintf("In the integration user's permission set, Object Settings > %s: grant %s.", n.object, strings.Join(want, ", "))
	}
	d, err := r.client.SObjects.Describe(ctx, n.object)
	if err != nil {
		var ae *rest.APIError
		notAvailable := errors.As(err, &ae) && (ae.HasCode("NOT_FOUND") || ae.HasCode("INVALID_TYPE"))
		res := Result{ID: id, Title: title, Status: Fail, Required: true, Detail: err.Error(), Fix: fix}
		if notAvailable {
			res.Detail = n.object + " is not visible to the user"
			if n.optionalWhenNotAvailable {
				res.Status, res.Required = Warn, false
				res.Detail += " (needed only if your org uses Salesforce Knowledge)"
				res.Fix = "If you use Knowledge, grant Read on Knowledge (Knowledge__kav) in the permission set; otherwise ignore this."
			}
		}
		r.add(res)
		return
	}
	var missing []string
	if n.read && !d.Queryable {
		missing = append(missing, "Read")
	}
	if n.create && !d.Createable {
		missing = append(missing, "Create")
	}
	if n.edit && !d.Updateable {
		missing = append(missing, "Edit")
	}
	if len(missing) > 0 {
		missingFix := n.fix
		if missingFix == "" {
			missingFix = fmt.Sprintf("In the integration user's permission set, Object Settings > %s: grant %s.", n.object, strings.Join(missing, ", "))
		}
		r.add(Result{ID: id, Title: title, Status: Fail, Required: true, Detail: "missing: " + strings.Join(missing, ", "), Fix: missingFix})
		return
	}
	r.add(Result{ID: id, Title: title, Status: Pass, Required: true, Detail: "granted"})
}

func (r *runner) checkEventLogs(ctx context.Context) {
	if r.perms["PermissionsViewEventLogFiles"] {
		r.add(Result{ID: "eventlogs.permission", Title: "View Event Log Files", Status: Pass, Required: true, Detail: "granted"})
	} else {
		r.add(Result{ID: "eventlogs.permission", Title: "View Event Log Files", Status: Fail, Required: true, Detail: "the user lacks View Event Log Files",
			Fix: "sfbridge eventlogs collect needs API Enabled and View Event Log Files: Permission set > System Permissions: enable both (and View All Data), and assign the set to the integration user."})
	}
	if r.perms["PermissionsViewAllData"] {
		r.add(Result{ID: "eventlogs.viewalldata", Title: "View All Data", Status: Pass, Detail: "granted"})
	} else {
		r.add(Result{ID: "eventlogs.viewalldata", Title: "View All Data", Status: Warn, Detail: "not granted: some log rows and the records they name may not be readable",
			Fix: "Permission set > System Permissions: enable View All Data, as the log collector's setup guide asks."})
	}
	r.checkObject(ctx, EventLogs, objectNeed{object: "EventLogFile", read: true,
		fix: "EventLogFile has no Object Settings entry: read access comes from the View Event Log Files system permission. " +
			"Permission set > System Permissions: enable View Event Log Files (and API Enabled), and assign the set to the integration user; " +
			"if it is enabled, check that Event Monitoring (or the free event-log subset) is available in the org."})
	// The audit objects are optional (collect --objects): a warning each.
	r.checkAuditObject(ctx, "SetupAuditTrail", "View Setup and Configuration")
	r.checkAuditObject(ctx, "LoginHistory", "Manage Users")
}

// checkAuditObject warns when an object `sfbridge eventlogs collect
// --objects` can read is not readable by the user.
func (r *runner) checkAuditObject(ctx context.Context, object, perm string) {
	id := "eventlogs." + strings.ToLower(object)
	title := object + " readable (collect --objects " + object + ")"
	fix := fmt.Sprintf("Needed only to collect %s: Permission set > System Permissions: enable %s (or View All Data), and assign the set to the integration user.", object, perm)
	d, err := r.client.SObjects.Describe(ctx, object)
	switch {
	case err != nil:
		r.add(Result{ID: id, Title: title, Status: Warn, Detail: object + " is not visible to the user", Fix: fix})
	case !d.Queryable:
		r.add(Result{ID: id, Title: title, Status: Warn, Detail: object + " cannot be queried by the user", Fix: fix})
	default:
		r.add(Result{ID: id, Title: title, Status: Pass, Detail: "readable"})
	}
}

func (r *runner) checkUsage() {
	const title = "Daily API usage"
	li, ok := r.client.APIUsage()
	if !ok || li.Max == 0 {
		r.add(Result{ID: "api.usage", Title: title, Status: Warn, Detail: "Salesforce sent no Sforce-Limit-Info header"})
		return
	}
	pct := li.Used * 100 / li.Max
	detail := fmt.Sprintf("%d of %d requests used in the last 24 hours (%d%%)", li.Used, li.Max, pct)
	if pct >= UsageWarningPct {
		r.add(Result{ID: "api.usage", Title: title, Status: Warn, Detail: detail,
			Fix: "Close to the org's daily API limit: requests will fail with REQUEST_LIMIT_EXCEEDED. Reduce polling or raise the limit."})
		return
	}
	r.add(Result{ID: "api.usage", Title: title, Status: Pass, Detail: detail})
}
