// Package messaging implements `sfbridge messaging`: login stores a
// messaging profile (a Messaging for In-App and Web deployment and its User
// Verification key), token mints a verified access token, chat hands a
// conversation to an agent and chats in the terminal or as NDJSON.
package messaging

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/emulator/localorg"
	emsg "github.com/sfbridge/sfbridge/emulator/messaging"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/msgprofile"
	"github.com/sfbridge/sfbridge/keys"
	"github.com/sfbridge/sfbridge/messaging"
)

// NewCmd returns `sfbridge messaging` and its sub-commands.
func NewCmd(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "messaging",
		Short: "Hand conversations to Salesforce agents (Messaging for In-App and Web)",
		Long: `Talk to a Messaging for In-App and Web (Enhanced Chat) Custom Client deployment
as a verified end user: store the deployment and its User Verification key
(login), mint an access token (token), or hand a conversation to an agent and
chat with them (chat). See docs/messaging.md.`,
	}
	cmd.AddCommand(NewLoginCmd(f, nil), NewTokenCmd(f, nil), NewChatCmd(f, nil))
	return cmd
}

// openClient builds a client from the stored profile alias.
func openClient(configDir func() (string, error), alias string, mod func(*messaging.Config)) (*messaging.Client, *msgprofile.Profile, error) {
	dir, err := configDir()
	if err != nil {
		return nil, nil, err
	}
	p, err := msgprofile.Store{Dir: dir}.Find(alias)
	if err != nil {
		return nil, nil, err
	}
	key, err := keys.LoadPrivateKeyFile(p.KeyFile, keys.LoadOptions{})
	if err != nil {
		return nil, nil, err
	}
	cfg := messaging.Config{SCRTURL: p.SCRTURL, OrgID: p.OrgID, DeploymentName: p.Deployment, Key: key, KeyID: p.KeyID, Issuer: p.Issuer, Audience: p.Audience}
	if mod != nil {
		mod(&cfg)
	}
	c, err := messaging.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	return c, p, nil
}

// Dev keyset of the emulated org `serve --dev` runs.
const (
	DevKeyset = "sfbridge_dev_keys"
	DevIssuer = "https://sfbridge.dev"
	DevKeyID  = "sfbridge-dev"
)

// SetUpDev registers the emulated org's key (the one its connected app
// trusts) as a User Verification keyset of its Messaging side and stores
// the messaging profile "dev" for it, so that `sfbridge messaging chat -o
// dev` works while `serve --dev` runs.
func SetUpDev(_ context.Context, configDir string, emu *localorg.Org) error {
	key, err := keys.LoadPrivateKeyFile(emu.Info.KeyFile, keys.LoadOptions{})
	if err != nil {
		return err
	}
	certs, err := keys.LoadCertificatesFile(emu.Info.CertFile, keys.LoadOptions{})
	if err != nil {
		return err
	}
	jwk, err := keys.NewJWK(&key.PublicKey, DevKeyID, []*x509.Certificate{certs[0]})
	if err != nil {
		return err
	}
	raw, err := json.Marshal(jwk)
	if err != nil {
		return err
	}
	if err := emu.Org.Messaging().PutKeyset(emsg.KeysetSpec{Name: DevKeyset, Issuer: DevIssuer, Keys: []json.RawMessage{raw}}); err != nil {
		return fmt.Errorf("registering the dev messaging keyset: %w", err)
	}
	abs, err := filepath.Abs(emu.Info.KeyFile)
	if err != nil {
		return err
	}
	return msgprofile.Store{Dir: configDir}.Save(&msgprofile.Profile{Alias: "dev", SCRTURL: emu.Info.SCRTURL, OrgID: emu.Info.OrgID,
		Deployment: "sfbridge_api", KeyFile: abs, KeyID: DevKeyID, Issuer: DevIssuer})
}
