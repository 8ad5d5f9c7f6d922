package messaging

import (
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/msgprofile"
)

func TestLoginFlags(t *testing.T) {
	all := "--scrt-url https://acme.my.salesforce-scrt.com --org-id 00D5g000004AbCd --deployment Acme_API --jwt-key-file k.pem --kid acme-1 --issuer https://bot.acme --alias acme"
	cmdutiltest.TestFlags(t, NewLoginCmd, []cmdutiltest.FlagCase[LoginOptions]{
		{Args: all, Want: LoginOptions{Profile: msgprofile.Profile{Alias: "acme", SCRTURL: "https://acme.my.salesforce-scrt.com", OrgID: "00D5g000004AbCd",
			Deployment: "Acme_API", KeyFile: "k.pem", KeyID: "acme-1", Issuer: "https://bot.acme"}}},
		{Args: all + " --check-user emp-1 --audience aud", Want: LoginOptions{CheckUser: "emp-1", Profile: msgprofile.Profile{Alias: "acme", SCRTURL: "https://acme.my.salesforce-scrt.com",
			OrgID: "00D5g000004AbCd", Deployment: "Acme_API", KeyFile: "k.pem", KeyID: "acme-1", Issuer: "https://bot.acme", Audience: "aud"}}},
		{Args: "--scrt-url x", WantErr: "missing --org-id, --deployment, --jwt-key-file, --kid, --issuer, --alias"},
	})
}

func TestTokenFlags(t *testing.T) {
	cmdutiltest.TestFlags(t, NewTokenCmd, []cmdutiltest.FlagCase[TokenOptions]{
		{Args: "-o dev --user emp-1", Want: TokenOptions{Alias: "dev", User: "emp-1"}},
		{Args: "-o dev --user emp-1 --json --show-token", Want: TokenOptions{Alias: "dev", User: "emp-1", JSON: true, ShowToken: true}},
		{Args: "-o dev", WantErr: "missing --user"},
	})
}

func TestChatFlags(t *testing.T) {
	cmdutiltest.TestFlags(t, NewChatCmd, []cmdutiltest.FlagCase[ChatOptions]{
		{Args: "-o dev --user emp-1 --routing Topic=Payroll --routing UserId=emp-1 --message a --message b --json --exit-after 2",
			Want: ChatOptions{Alias: "dev", User: "emp-1", Routing: map[string]string{"Topic": "Payroll", "UserId": "emp-1"}, Messages: []string{"a", "b"}, JSON: true, ExitAfter: 2}},
		{Args: "-o dev --user emp-1", Want: ChatOptions{Alias: "dev", User: "emp-1"}},
		{Args: "--user emp-1", WantErr: "missing --target"},
	})
}
