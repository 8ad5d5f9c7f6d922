package doctor_test

import (
	"context"
	"fmt"
	"log"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/doctor"
	"github.com/sfbridge/sfbridge/sftest"
)

// Run checks a connection in order, from the key to the user's access, and
// says for each problem how to fix it. Here the emulated org's integration
// user has what a service-desk integration needs.
func ExampleRun() {
	org, err := sftest.Start(sftest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer org.Close()

	report := doctor.Run(context.Background(), doctor.Options{
		KeyFile:  org.KeyFile,
		CertFile: org.CertFile,
		Auth:     auth.Config{ConsumerKey: org.ClientID, Username: "integration@sfbridge.test", LoginURL: org.URL},
		Require:  []string{doctor.ServiceDesk},
	})
	for _, c := range report.Checks {
		fmt.Printf("%-5s %s\n", c.Status, c.Title)
		if c.Status == doctor.Fail {
			fmt.Println("      fix:", c.Fix)
		}
	}
	fmt.Println("ready:", report.OK())
	// Output:
	// pass  Private key loads and is RSA ≥ 2048 bits
	// pass  Certificate matches the key and is valid
	// pass  Login host is reachable
	// pass  Clock agrees with Salesforce
	// pass  Salesforce grants a token (JWT bearer flow)
	// pass  Integration user is active
	// pass  API access (API Enabled) and instance URL
	// pass  Contact: Read
	// pass  Knowledge__kav: Read
	// pass  Case: Read, Create, Edit
	// pass  CaseComment: Read, Create
	// pass  Daily API usage
	// ready: true
}
