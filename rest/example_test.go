package rest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/sftest"
)

// connect starts an emulated org and returns a REST client logged in as its
// integration user, and the func that stops the org. With a real org the
// Config names the connected app's consumer key, the user, the private key
// and the My Domain URL.
func connect() (*rest.Client, func()) {
	org, err := sftest.Start(sftest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	src, err := auth.NewTokenSource(auth.Config{ConsumerKey: org.ClientID, Username: "integration@sfbridge.test",
		PrivateKey: org.Key, LoginURL: org.URL})
	if err != nil {
		log.Fatal(err)
	}
	c, err := rest.New(src)
	if err != nil {
		log.Fatal(err)
	}
	return c, org.Close
}

// Create a record and read its id.
func ExampleSObjectsService_Create() {
	c, stop := connect()
	defer stop()

	res, err := c.SObjects.Create(context.Background(), "Case", map[string]any{"Subject": "Printer jammed", "Origin": "Web"})
	if err != nil {
		log.Fatal(err) // a *rest.APIError carries Salesforce's error codes
	}
	fmt.Println("created a Case:", res.Success, res.ID[:3])
	// Output: created a Case: true 500
}

// Query streams the records of every page, typed, and asks for the next
// page while the caller still works on this one.
func ExampleQuery() {
	c, stop := connect()
	defer stop()
	ctx := context.Background()
	for _, subject := range []string{"Printer jammed", "VPN down"} {
		if _, err := c.SObjects.Create(ctx, "Case", map[string]any{"Subject": subject, "Origin": "Web"}); err != nil {
			log.Fatal(err)
		}
	}

	type Case struct {
		Subject string
		Origin  string
	}
	soql := "SELECT Subject, Origin FROM Case WHERE Origin = " + rest.Quote("Web") + " ORDER BY Subject"
	for cs, err := range rest.Query[Case](ctx, c, soql, nil) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s (%s)\n", cs.Subject, cs.Origin)
	}
	// Output:
	// Printer jammed (Web)
	// VPN down (Web)
}

// Describe tells what the integration user may do with an object and which
// fields it sees.
func ExampleSObjectsService_Describe() {
	c, stop := connect()
	defer stop()

	d, err := c.SObjects.Describe(context.Background(), "Case")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s (key prefix %s): query %t, create %t, delete %t\n", d.Label, d.KeyPrefix, d.Queryable, d.Createable, d.Deletable)
	// Output: Case (key prefix 500): query true, create true, delete true
}
