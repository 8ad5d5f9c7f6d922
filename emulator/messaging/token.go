package messaging

import (
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// accessToken is an access token the SCRT host issued. The token itself is
// an HS256 JWT; this is its server-side state (for revoke and expiry).
type accessToken struct {
	jti     string
	subj    *subject
	dep     *deployment
	depName string // the esDeveloperName it was issued for
	auth    bool
	exp     time.Time
	revoked bool
	expired bool // expired by the admin API
	streams map[*stream]struct{}
}

// validLocked reports why tok is no longer usable, or "".
func (t *accessToken) invalidLocked(now time.Time) string {
	switch {
	case t.revoked:
		return "The access token was revoked."
	case t.expired || !now.Before(t.exp):
		return "Jwt is expired"
	}
	return ""
}

type tokenRequest struct {
	OrgID                 string          `json:"orgId"`
	ESDeveloperName       string          `json:"esDeveloperName"`
	CapabilitiesVersion   json.RawMessage `json:"capabilitiesVersion"`
	Platform              string          `json:"platform"`
	DeviceID              string          `json:"deviceId"`
	AuthorizationType     string          `json:"authorizationType"`
	CustomerIdentityToken string          `json:"customerIdentityToken"`
	Context               json.RawMessage `json:"context"`
}

// tokenResponse is the access-token answer.
type tokenResponse struct {
	AccessToken string       `json:"accessToken"`
	LastEventID string       `json:"lastEventId"`
	Context     tokenContext `json:"context"`
}

type tokenContext struct {
	DeviceID      string         `json:"deviceId"`
	EndUser       map[string]any `json:"endUser"`
	Configuration map[string]any `json:"configuration"`
}

func (s *Server) handleUnauthToken(w http.ResponseWriter, r *http.Request) {
	s.issue(w, r, false)
}

func (s *Server) handleAuthToken(w http.ResponseWriter, r *http.Request) {
	s.issue(w, r, true)
}

// checkTokenRequest validates the common fields; it returns the deployment.
func (s *Server) checkTokenRequest(req *tokenRequest) (*deployment, *APIError) {
	switch {
	case req.OrgID == "":
		return nil, apiErr(http.StatusBadRequest, "Specify the orgId.")
	case !strings.HasPrefix(req.OrgID, "00D") || len(req.OrgID) != 15 && len(req.OrgID) != 18:
		return nil, apiErr(http.StatusBadRequest, "The orgId %q isn't a valid organization ID.", req.OrgID)
	case req.OrgID[:15] != s.orgID15:
		return nil, apiErr(http.StatusBadRequest, "The orgId %q doesn't match this Salesforce org.", req.OrgID)
	case req.ESDeveloperName == "":
		return nil, apiErr(http.StatusBadRequest, "Specify the esDeveloperName.")
	}
	cv := strings.Trim(string(req.CapabilitiesVersion), `"`)
	if cv == "" {
		return nil, apiErr(http.StatusBadRequest, "Specify the capabilitiesVersion.")
	}
	if _, err := strconv.Atoi(cv); err != nil {
		return nil, apiErr(http.StatusBadRequest, "The capabilitiesVersion %q isn't valid.", cv)
	}
	if req.Platform != "Web" && req.Platform != "Mobile" {
		return nil, apiErr(http.StatusBadRequest, "The platform %q isn't valid. Specify Web or Mobile.", req.Platform)
	}
	s.mu.Lock()
	dep := s.deployments[strings.ToLower(req.ESDeveloperName)]
	var spec DeploymentSpec
	if dep != nil {
		spec = dep.spec
	}
	s.mu.Unlock()
	if dep == nil {
		return nil, apiErr(http.StatusBadRequest, "No Embedded Service deployment named %s was found in this org.", req.ESDeveloperName)
	}
	if spec.Type != "api" {
		return nil, apiErr(http.StatusBadRequest, "Set the esDeveloperName to a deploymentType that's set to api")
	}
	if spec.Published != nil && !*spec.Published {
		return nil, apiErr(http.StatusBadRequest, "The Embedded Service deployment %s isn't published.", req.ESDeveloperName)
	}
	return dep, nil
}

func (s *Server) issue(w http.ResponseWriter, r *http.Request, authenticated bool) {
	var req tokenRequest
	if e := decodeBody(r, 64<<10, &req); e != nil {
		writeErr(w, r, e)
		return
	}
	dep, e := s.checkTokenRequest(&req)
	if e != nil {
		writeErr(w, r, e)
		return
	}
	var keysetName, sub string
	if authenticated {
		s.mu.Lock()
		uv := dep.channel.spec.UserVerification
		mode := s.settings.VerificationFailure
		s.mu.Unlock()
		if !uv {
			writeErr(w, r, apiErr(http.StatusBadRequest, "User Verification isn't enabled on the messaging channel of %s.", req.ESDeveloperName))
			return
		}
		if req.AuthorizationType != "JWT" {
			writeErr(w, r, apiErr(http.StatusBadRequest, "Specify the authorizationType JWT."))
			return
		}
		var err error
		keysetName, sub, err = s.verifyIdentity(r, req.CustomerIdentityToken)
		if err != nil {
			if mode != "anonymous" {
				writeErr(w, r, apiErr(http.StatusUnauthorized, "Failed to verify the customer identity token: %v", err))
				return
			}
			authenticated = false // the "silent anonymous token" some orgs answer with
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := "v2/iamessage/ANON/" + newUUID()
	if authenticated {
		key = "v2/iamessage/AUTH/" + keysetName + "/uid:" + sub
	}
	subj := s.subjectLocked(key, authenticated)
	life := s.settings.GuestTokenLifetime.D()
	if authenticated {
		life = s.settings.TokenLifetime.D()
	}
	tok := &accessToken{jti: newUUID(), subj: subj, dep: dep, depName: dep.spec.Name, auth: authenticated, exp: s.now().Add(life), streams: map[*stream]struct{}{}}
	s.tokens[tok.jti] = tok
	deviceID := req.DeviceID
	if deviceID == "" {
		deviceID = newUUID()
	}
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: s.signToken(tok), LastEventID: strconv.FormatInt(s.seq, 10),
		Context: tokenContext{DeviceID: deviceID, EndUser: map[string]any{"subject": key}, Configuration: s.configLocked(dep, authenticated)}})
}

func (s *Server) configLocked(dep *deployment, auth bool) map[string]any {
	mode := "UnAuth"
	if auth {
		mode = "Auth"
	}
	fields := []map[string]any{}
	for i, f := range dep.spec.PreChat {
		typ := f.Type
		if typ == "" {
			typ = "Text"
		}
		ml := f.MaxLength
		if ml == 0 {
			ml = 255
		}
		fields = append(fields, map[string]any{"name": f.Name, "order": i + 1, "type": typ, "required": f.Required,
			"maxLength": ml, "isHidden": f.Hidden, "choiceListId": nil, "labels": []any{}})
	}
	forms := []any{}
	if len(fields) > 0 {
		forms = append(forms, map[string]any{"formType": "PreChat", "displayContext": dep.spec.PreChatContext, "formFields": fields})
	}
	return map[string]any{"embeddedServiceConfig": map[string]any{
		"name":           dep.spec.Name,
		"deploymentType": dep.spec.Type,
		"embeddedServiceMessagingChannel": map[string]any{
			"channelAddressIdentifier": dep.channel.id, "authMode": mode,
		},
		"forms":            forms,
		"choiceListConfig": map[string]any{"choiceList": []any{}},
		"attachments":      map[string]any{"endUserToAgent": true, "maxFileSize": 5},
		"transcriptConfig": map[string]any{"allowTranscriptDownload": false},
	}}
}

type accessClaims struct {
	Iss             string `json:"iss"`
	Sub             string `json:"sub"`
	OrgID           string `json:"orgId"`
	ESDeveloperName string `json:"esDeveloperName"`
	AuthMode        string `json:"authMode"`
	ClientID        string `json:"clientId"`
	Iat             int64  `json:"iat"`
	Exp             int64  `json:"exp"`
	Jti             string `json:"jti"`
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (s *Server) signToken(t *accessToken) string {
	mode := "UnAuth"
	if t.auth {
		mode = "Auth"
	}
	claims, _ := json.Marshal(accessClaims{Iss: "scrt2-emulator", Sub: t.subj.key, OrgID: s.orgID15, ESDeveloperName: t.dep.spec.Name,
		AuthMode: mode, ClientID: t.jti, Iat: s.now().Unix(), Exp: t.exp.Unix(), Jti: t.jti})
	head := b64([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + b64(claims)
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte(head))
	return head + "." + b64(mac.Sum(nil))
}

// tokenFromRequest checks the bearer token; it returns the token or the
// 401 to answer.
func (s *Server) tokenFromRequest(r *http.Request) (*accessToken, *APIError) {
	h := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || raw == "" {
		return nil, apiErr(http.StatusUnauthorized, "Specify an access token in the Authorization header (Bearer).")
	}
	parts := strings.Split(strings.TrimSpace(raw), ".")
	if len(parts) != 3 {
		return nil, apiErr(http.StatusUnauthorized, "The access token is malformed.")
	}
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return nil, apiErr(http.StatusUnauthorized, "The access token is invalid.")
	}
	cb, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c accessClaims
	if err != nil || json.Unmarshal(cb, &c) != nil {
		return nil, apiErr(http.StatusUnauthorized, "The access token is malformed.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := s.tokens[c.Jti]
	if tok == nil {
		return nil, apiErr(http.StatusUnauthorized, "The access token is invalid.")
	}
	if why := tok.invalidLocked(s.now()); why != "" {
		return nil, apiErr(http.StatusUnauthorized, "%s", why)
	}
	return tok, nil
}

func (s *Server) handleContinuation(w http.ResponseWriter, r *http.Request) {
	tok, e := s.tokenFromRequest(r)
	if e != nil {
		writeErr(w, r, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Same subject, a new client id, and no longer a lifetime.
	nt := &accessToken{jti: newUUID(), subj: tok.subj, dep: tok.dep, depName: tok.depName, auth: tok.auth, exp: tok.exp, streams: map[*stream]struct{}{}}
	s.tokens[nt.jti] = nt
	writeJSON(w, http.StatusOK, map[string]string{"accessToken": s.signToken(nt), "lastEventId": strconv.FormatInt(s.seq, 10)})
}

func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	tok, e := s.tokenFromRequest(r)
	if e != nil {
		writeErr(w, r, e)
		return
	}
	s.mu.Lock()
	tok.revoked = true
	for st := range tok.streams {
		st.kill(killExpired)
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// ExpireTokens ends access tokens as if their lifetime had passed: those
// of the end user with the given subject, or all when subject is empty.
// Their streams close with the expiry body. It returns how many.
func (s *Server) ExpireTokens(subject string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.tokens {
		if subject != "" && t.subj.key != subject || t.expired {
			continue
		}
		t.expired = true
		n++
		for st := range t.streams {
			st.signal()
		}
	}
	return n
}

// identityHeader and identityClaims are the parts of the customer identity
// JWT that matter.
type identityHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

type identityClaims struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Exp json.RawMessage `json:"exp"`
}

// verifyIdentity verifies the customer identity token: RS256 or RS512, the
// keyset by iss, the key by kid, the signature and exp on the org's clock.
func (s *Server) verifyIdentity(r *http.Request, token string) (keyset, sub string, err error) {
	if token == "" {
		return "", "", errors.New("customerIdentityToken is empty")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", "", errors.New("the token is not a compact JWS (three base64url parts)")
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return "", "", errors.New("the token is not base64url without padding")
	}
	var h identityHeader
	var c identityClaims
	if json.Unmarshal(hb, &h) != nil || json.Unmarshal(cb, &c) != nil {
		return "", "", errors.New("the token's header or claims are not JSON objects")
	}
	var hash crypto.Hash
	var sum []byte
	switch h.Alg {
	case "RS256":
		d := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		hash, sum = crypto.SHA256, d[:]
	case "RS512":
		d := sha512.Sum512([]byte(parts[0] + "." + parts[1]))
		hash, sum = crypto.SHA512, d[:]
	default:
		return "", "", fmt.Errorf("alg %q is not supported; sign with RS256 or RS512", h.Alg)
	}
	if c.Iss == "" {
		return "", "", errors.New("the token has no iss claim")
	}
	name, keys, err := s.keysFor(r.Context(), c.Iss)
	if err != nil {
		return "", "", err
	}
	var key *verifyKey
	for _, k := range keys {
		if k.Kid == h.Kid {
			key = k
			break
		}
	}
	if key == nil {
		return "", "", fmt.Errorf("keyset %s has no key with kid %q", name, h.Kid)
	}
	if rsa.VerifyPKCS1v15(key.Key, hash, sum, sig) != nil {
		return "", "", fmt.Errorf("the signature does not verify with key %q of keyset %s", h.Kid, name)
	}
	exp, err := strconv.ParseFloat(strings.Trim(string(c.Exp), `"`), 64)
	if err != nil {
		return "", "", errors.New("the token has no numeric exp claim")
	}
	if !s.now().Before(time.Unix(int64(exp), 0)) {
		return "", "", errors.New("the token is expired (exp)")
	}
	if c.Sub == "" {
		return "", "", errors.New("the token has no sub claim")
	}
	return name, c.Sub, nil
}
