package serve

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sfbridge/sfbridge/doctor"
	"github.com/sfbridge/sfbridge/emulator/localorg"
	clmessaging "github.com/sfbridge/sfbridge/internal/cli/messaging"
	"github.com/sfbridge/sfbridge/internal/config"
)

// devConfigFile is where `serve --dev` writes the configuration it runs,
// inside its state directory: the same file format as `serve --config`, so
// a newcomer can read what each pipeline is given and start from it.
const devConfigFile = "serve-dev.yaml"

// devEventLogFile is the NDJSON file the dev org's event logs go to,
// relative to the state directory.
var devEventLogFile = filepath.Join("eventlogs", "dev.ndjson")

// devConfig is the configuration of the one org "dev" against the emulated
// org, with every pipeline: cases, knowledge, employees, event logs into an
// NDJSON file in stateDir, and live-agent handoffs over the emulator's
// Messaging deployment. It is YAML, parsed by the same code as a user's
// file, so the dev daemon gets the same defaults and checks.
func devConfig(stateDir string, emu localorg.Info, webhookURL, webhookSecretFile string) (string, error) {
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return "", err
	}
	keyFile, err := filepath.Abs(emu.KeyFile)
	if err != nil {
		return "", err
	}
	q := strconv.Quote
	var b strings.Builder
	fmt.Fprintf(&b, `# The configuration sfbridge serve --dev runs: one org, "dev", the emulated org,
# with every pipeline. Written anew on every start; copy it to begin a real one.
listen: %s
state_dir: %s
# The checks run every minute against an org that only this developer uses:
# half its allocation keeps them going all day.
doctor_interval: 1m
checks_api_budget: 50%%
orgs:
  - alias: dev
    client_id: %s
    username: %s
    login_url: %s
    audience: %s
    key:
      file: %s
    require: [%s]
    cases:
      poll: 10s
    knowledge:
      languages: [en_US, de]
      interval: 1m
    employees:
      interval: 10m
    eventlogs:
      types: [all]
      since: 3d
      poll: 1m
      output:
        ndjson: %s
    messaging:
      scrt_url: %s
      org_id: %s
      deployment: sfbridge_api
      key_file: %s
      key_id: %s
      issuer: %s
`, q(config.DefaultListen), q(abs), q(emu.ClientID), q(emu.Users["integration"]), q(emu.LoginURL), q(emu.LoginURL), q(keyFile),
		strings.Join(doctor.Groups(), ", "), q(filepath.Join(abs, devEventLogFile)),
		q(emu.SCRTURL), q(emu.OrgID), q(keyFile), q(clmessaging.DevKeyID), q(clmessaging.DevIssuer))
	if webhookURL != "" {
		secret, err := filepath.Abs(webhookSecretFile)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "webhooks:\n  url: %s\n  secret_file: %s\n", q(webhookURL), q(secret))
	}
	return b.String(), nil
}
