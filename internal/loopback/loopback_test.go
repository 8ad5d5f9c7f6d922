package loopback

import "testing"

func TestIsHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.8.9.10": true, "::1": true, "[::1]": true,
		"": false, "0.0.0.0": false, "10.0.0.1": false, "::": false, "localhost.example.com": false, "acme.my.salesforce.com": false,
	} {
		if got := IsHost(host); got != want {
			t.Errorf("IsHost(%q) = %t, want %t", host, got, want)
		}
	}
}
