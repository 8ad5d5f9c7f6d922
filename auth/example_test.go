package auth_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/sftest"
)

// A service logs in with the JWT bearer flow and calls Salesforce through
// the token source's HTTP client, whose auth.Transport adds the session and
// logs in again when Salesforce reports it expired. The emulated org stands
// in for https://acme.my.salesforce.com; its ClientID and Key are the
// connected app's consumer key and the private key whose certificate was
// uploaded to it (keys.LoadPrivateKeyFile reads one from a file).
func Example() {
	org, err := sftest.Start(sftest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer org.Close()
	ctx := context.Background()

	src, err := auth.NewTokenSource(auth.Config{
		ConsumerKey: org.ClientID,
		Username:    "integration@sfbridge.test",
		PrivateKey:  org.Key,
		LoginURL:    org.URL,
	})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := src.Token(ctx) // the first call logs in; later ones reuse the session
	if err != nil {
		log.Fatal(err) // an *auth.Error says why Salesforce refused and how to fix it
	}
	client := src.Client(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, tok.InstanceURL+"/services/data/v62.0/limits", nil)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("limits:", resp.Status)

	me, err := auth.FetchUserInfo(ctx, client, tok.InstanceURL)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("logged in as", me.PreferredUsername)
	// Output:
	// limits: 200 OK
	// logged in as integration@sfbridge.test
}
