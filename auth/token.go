package auth

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Token is one Salesforce session obtained with the JWT bearer flow.
//
// Salesforce does not say when a session expires; it is valid until the
// session timeout of the app or profile passes without activity, and a call
// with an expired session fails with 401 INVALID_SESSION_ID.
//
// Token's String, GoString and LogValue methods redact the access token, so a
// Token can be logged or printed without leaking it.
type Token struct {
	AccessToken string
	// InstanceURL is the base URL for API calls (often the My Domain URL).
	InstanceURL string
	// IdentityURL is the "id" field: https://host/id/<org id>/<user id>.
	IdentityURL string
	// OrgID and UserID are parsed from IdentityURL's last two path segments.
	OrgID, UserID string
	Scope         string
	TokenType     string
	// Signature is Salesforce's HMAC over IdentityURL and IssuedAt, when sent.
	Signature string
	// IssuedAt is when Salesforce issued the token (zero when not sent).
	IssuedAt time.Time
}

// String describes the session without its access token. It has a value
// receiver so that a Token value, not only a *Token, is redacted when
// printed; fmt prints a nil *Token as <nil>.
func (t Token) String() string {
	return fmt.Sprintf("auth.Token{org=%s user=%s instance=%s access_token=REDACTED}", t.OrgID, t.UserID, t.InstanceURL)
}

// GoString is used by %#v; it redacts the access token like String.
func (t Token) GoString() string { return t.String() }

// LogValue implements [slog.LogValuer] without the access token.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("org_id", t.OrgID),
		slog.String("user_id", t.UserID),
		slog.String("instance_url", t.InstanceURL),
	)
}

// ParseIdentityURL returns the org id and user id from a Salesforce identity
// URL such as https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS.
// Both ids must be 15 or 18 alphanumeric characters.
func ParseIdentityURL(raw string) (orgID, userID string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("auth: identity URL %q: %w", raw, err)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 2 {
		return "", "", fmt.Errorf("auth: identity URL %q: want a path ending in /<org id>/<user id>", raw)
	}
	orgID, userID = parts[len(parts)-2], parts[len(parts)-1]
	if !isSalesforceID(orgID) || !isSalesforceID(userID) {
		return "", "", fmt.Errorf("auth: identity URL %q: last two path segments are not Salesforce ids", raw)
	}
	return orgID, userID, nil
}

func isSalesforceID(s string) bool {
	if len(s) != 15 && len(s) != 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		default:
			return false
		}
	}
	return true
}
