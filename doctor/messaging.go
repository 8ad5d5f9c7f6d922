package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/keys"
	"github.com/sfbridge/sfbridge/messaging"
)

// Messaging is the check group of a Messaging for In-App and Web (Enhanced
// Chat) Custom Client deployment, as sfbridge's live-agent handoff needs it.
const Messaging = "messaging"

// MessagingOptions say which deployment the messaging group checks.
type MessagingOptions struct {
	// Profile names the messaging profile in messages (optional).
	Profile string
	// Config is the deployment; Config.Key may be nil, then KeyFile is
	// loaded with KeyOptions.
	Config     messaging.Config
	KeyFile    string
	KeyOptions keys.LoadOptions
	// User is the end user the checks mint tokens for; default
	// "sfbridge-doctor".
	User string
	// Conversation also creates a conversation (with Routing) and closes
	// it: an agent's queue sees it come and go.
	Conversation bool
	Routing      map[string]string
}

// DefaultMessagingUser is the end user the messaging checks act as.
const DefaultMessagingUser = "sfbridge-doctor"

// messagingOnly: the org connection is not checked when only the messaging
// group is required and no org login is given (a Custom Client deployment
// does not use the org's JWT bearer connection).
func (r *runner) messagingOnly() bool {
	o := r.opts
	return o.Messaging != nil && len(o.Require) == 1 && o.Require[0] == Messaging &&
		o.KeyFile == "" && o.Auth.PrivateKey == nil && o.Source == nil && o.Auth.ConsumerKey == ""
}

// checkMessaging follows the Custom Client setup in order; a step whose
// predecessor failed is skipped.
func (r *runner) checkMessaging(ctx context.Context) {
	const (
		idProfile = Messaging + ".profile"
		idSCRT    = Messaging + ".scrt"
		idDeploy  = Messaging + ".deployment"
		idVerify  = Messaging + ".verification"
		idToken   = Messaging + ".token"
		idStream  = Messaging + ".stream"
		idConv    = Messaging + ".conversation"
	)
	titles := map[string]string{
		idProfile: "Messaging profile is complete (SCRT URL, org id, deployment, key, key id, issuer)",
		idSCRT:    "SCRT host is reachable",
		idDeploy:  "Embedded Service deployment exists and is a Custom Client (api)",
		idVerify:  "User Verification accepts the identity token (keyset issuer, key id, signature)",
		idToken:   "A verified access token is issued",
		idStream:  "The end user's event stream (SSE) opens",
		idConv:    "A conversation can be created and closed",
	}
	order := []string{idProfile, idSCRT, idDeploy, idVerify, idToken, idStream, idConv}
	mo := r.opts.Messaging
	skipRest := func(from string, because string) {
		for i, id := range order {
			if id != from {
				continue
			}
			for _, rest := range order[i:] {
				if rest == idConv && !mo.Conversation {
					continue
				}
				r.skip(rest, titles[rest], because, true)
			}
			return
		}
	}
	if mo == nil {
		r.add(Result{ID: idProfile, Title: titles[idProfile], Status: Fail, Required: true, Detail: "no messaging profile given",
			Fix: "Store one with `sfbridge messaging login --alias A …` and name it (--messaging-profile A)."})
		return
	}
	user := mo.User
	if user == "" {
		user = DefaultMessagingUser
	}
	cfg := mo.Config
	if cfg.HTTPClient == nil {
		// The messaging client's own default suits its long-lived stream
		// (r.hc may carry a whole-request timeout).
		cfg.HTTPClient = r.opts.Auth.HTTPClient
	}
	if cfg.Clock == nil && r.opts.Auth.Clock != nil {
		cfg.Clock = r.opts.Auth.Clock
	}

	// 1. The profile.
	if cfg.Key == nil && mo.KeyFile != "" {
		key, err := keys.LoadPrivateKeyFile(mo.KeyFile, mo.KeyOptions)
		if err != nil {
			r.add(Result{ID: idProfile, Title: titles[idProfile], Status: Fail, Required: true, Detail: err.Error(), Fix: fixFromKeyError(err)})
			skipRest(idSCRT, "the profile is incomplete")
			return
		}
		cfg.Key = key
	}
	client, err := messaging.New(cfg)
	if err != nil {
		r.add(messagingFailure(idProfile, titles[idProfile], err, "Store the profile again: sfbridge messaging login --alias A --scrt-url … --org-id … --deployment … --jwt-key-file … --kid … --issuer …"))
		skipRest(idSCRT, "the profile is incomplete")
		return
	}
	defer client.Close()
	name := ""
	if mo.Profile != "" {
		name = "profile " + mo.Profile + ": "
	}
	r.add(Result{ID: idProfile, Title: titles[idProfile], Status: Pass, Required: true,
		Detail: fmt.Sprintf("%sdeployment %s of org %s, key id %s, issuer %s", name, cfg.DeploymentName, cfg.OrgID, cfg.KeyID, cfg.Issuer)})

	// 2. The SCRT host.
	if !r.checkSCRT(ctx, idSCRT, titles[idSCRT], cfg) {
		skipRest(idDeploy, "the SCRT host is unreachable")
		return
	}

	// 3–5. One token request answers for the deployment, the keyset and
	// the token.
	info, err := client.Check(ctx, user)
	var me *messaging.Error
	errors.As(err, &me)
	step := ""
	if me != nil {
		step = me.Step
	}
	switch {
	case err == nil:
		r.add(Result{ID: idDeploy, Title: titles[idDeploy], Status: Pass, Required: true, Detail: "deployment type " + orUnknown(info.DeploymentType)})
	case step == "Embedded Service Deployment" || step == "Company Information":
		r.add(messagingFailure(idDeploy, titles[idDeploy], err, ""))
		skipRest(idVerify, "the deployment was refused")
		return
	case me == nil || (step == "" && !errors.Is(err, messaging.ErrAnonymousToken)):
		// Not a setup step: the request failed on the way.
		r.add(messagingFailure(idDeploy, titles[idDeploy], err, "The token request did not get an answer: check the SCRT URL and the network path."))
		skipRest(idVerify, "the token request failed")
		return
	default:
		r.add(Result{ID: idDeploy, Title: titles[idDeploy], Status: Pass, Required: true, Detail: "the deployment was accepted; the refusal is about User Verification"})
	}
	if err != nil {
		r.add(messagingFailure(idVerify, titles[idVerify], err, ""))
		skipRest(idToken, "the identity token was not accepted")
		return
	}
	r.add(Result{ID: idVerify, Title: titles[idVerify], Status: Pass, Required: true, Detail: fmt.Sprintf("key id %s, issuer %s", cfg.KeyID, cfg.Issuer)})
	detail := fmt.Sprintf("subject %s, auth mode %s", info.Subject, info.AuthMode)
	if !info.Expires.IsZero() {
		detail += fmt.Sprintf(", valid for %s", info.Expires.Sub(r.now()).Round(time.Minute))
	}
	r.add(Result{ID: idToken, Title: titles[idToken], Status: Pass, Required: true, Detail: detail})

	// 6. The stream.
	if err := client.CheckStream(ctx, user); err != nil {
		r.add(messagingFailure(idStream, titles[idStream], err, ""))
		skipRest(idConv, "the event stream does not open")
		return
	}
	r.add(Result{ID: idStream, Title: titles[idStream], Status: Pass, Required: true, Detail: "HTTP 200, text/event-stream"})

	// 7. A conversation, when asked.
	if mo.Conversation {
		r.checkConversation(ctx, client, user, idConv, titles[idConv], mo.Routing)
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "not stated"
	}
	return s
}

// messagingFailure turns a messaging error into a failed check with its
// fix (or fallback when it has none).
func messagingFailure(id, title string, err error, fallback string) Result {
	res := Result{ID: id, Title: title, Status: Fail, Required: true, Detail: err.Error(), Fix: fallback}
	var me *messaging.Error
	if errors.As(err, &me) {
		res.Detail = me.Problem
		if me.Step != "" {
			res.Detail = me.Step + ": " + res.Detail
		}
		var ae *messaging.APIError
		if errors.As(err, &ae) {
			res.Detail += fmt.Sprintf(" (HTTP %d: %s)", ae.Status, ae.Message)
		} else if me.Err != nil {
			res.Detail += " (" + me.Err.Error() + ")"
		}
		if me.Fix != "" && me.Fix != "see the cause" {
			res.Fix = me.Fix
		}
	}
	if res.Fix == "" {
		res.Fix = "See docs/messaging.md, section 1, for the setup step."
	}
	return res
}

// checkSCRT resolves and contacts the SCRT host: any HTTP answer proves it
// reachable.
func (r *runner) checkSCRT(ctx context.Context, id, title string, cfg messaging.Config) bool {
	u, err := url.Parse(cfg.SCRTURL)
	if err != nil {
		r.add(Result{ID: id, Title: title, Status: Fail, Required: true, Detail: err.Error()})
		return false
	}
	fix := "Copy the SCRT URL from the Custom Client deployment's Code Snippet panel (https://<my domain>.my.salesforce-scrt.com) and check the network path (firewall, HTTPS_PROXY/NO_PROXY)."
	host := u.Hostname()
	if net.ParseIP(host) == nil && host != "localhost" {
		if _, err := net.DefaultResolver.LookupHost(ctx, host); err != nil {
			r.add(Result{ID: id, Title: title, Status: Fail, Required: true, Detail: fmt.Sprintf("cannot resolve %s: %v", host, err), Fix: fix})
			return false
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, strings.TrimRight(cfg.SCRTURL, "/")+"/iamessage/api/v2/", nil)
	if err != nil {
		r.add(Result{ID: id, Title: title, Status: Fail, Required: true, Detail: err.Error(), Fix: fix})
		return false
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	sent := r.now()
	resp, err := hc.Do(req)
	if err != nil {
		r.add(Result{ID: id, Title: title, Status: Fail, Required: true, Detail: fmt.Sprintf("cannot reach %s: %v", u.Host, err), Fix: fix})
		return false
	}
	resp.Body.Close()
	r.add(Result{ID: id, Title: title, Status: Pass, Required: true, Detail: fmt.Sprintf("%s answered HTTP %d in %s", u.Host, resp.StatusCode, r.now().Sub(sent).Round(time.Millisecond))})
	return true
}

// checkConversation creates a conversation, closes it and waits for its
// closed event.
func (r *runner) checkConversation(ctx context.Context, c *messaging.Client, user, id, title string, routing map[string]string) {
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cv, err := c.Open(cctx, messaging.ConversationOptions{UserID: user, Routing: routing})
	if err != nil {
		r.add(messagingFailure(id, title, err, "Check the routing attributes against the deployment's pre-chat fields (--messaging-routing KEY=VALUE)."))
		return
	}
	defer cv.Close()
	if err := cv.End(cctx); err != nil {
		r.add(messagingFailure(id, title, err, "The conversation was created but could not be closed: close it from the agent console."))
		return
	}
	var seen []string
	for ev := range cv.Events() {
		seen = append(seen, string(ev.Kind))
		switch ev.Kind {
		case messaging.KindClosed:
			r.add(Result{ID: id, Title: title, Status: Pass, Required: true, Detail: fmt.Sprintf("conversation %s: %s", cv.ID(), strings.Join(seen, ", "))})
			return
		case messaging.KindError:
			r.add(messagingFailure(id, title, ev.Err, ""))
			return
		}
	}
	r.add(Result{ID: id, Title: title, Status: Fail, Required: true, Detail: fmt.Sprintf("conversation %s was closed but no closed event arrived within a minute (saw: %s)", cv.ID(), strings.Join(seen, ", ")),
		Fix: "Check that the SSE stream stays open (a proxy may buffer it)."})
}
