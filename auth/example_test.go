package auth_test

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net/http"

	"github.com/sfbridge/sfbridge/auth"
)

// A service logs in once and calls the REST API through auth.Transport,
// which re-authenticates when Salesforce reports the session expired.
func Example() {
	var key *rsa.PrivateKey // from keys.LoadPrivateKeyFile
	src, err := auth.NewTokenSource(auth.Config{
		ConsumerKey: "3MVG9...",
		Username:    "integration@acme.com",
		PrivateKey:  key,
		LoginURL:    "https://acme.my.salesforce.com",
	})
	if err != nil {
		fmt.Println(err) // the key is missing in this example
		return
	}
	client := src.Client(nil)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet,
		"https://acme.my.salesforce.com/services/data/v62.0/limits", nil)
	resp, err := client.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	// Output: auth: invalid config: PrivateKey: missing
}
