package emulator

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// newConsumerKey returns a consumer key in Salesforce's shape ("3MVG9" and
// 80 letters, digits, '.' and '_') that no app in taken uses. Salesforce
// generates one for every new app; so does the emulator when none is given.
func newConsumerKey(taken map[string]*app) string {
	for {
		k := "3MVG9" + strings.ReplaceAll(randomString(60), "z", ".")[:80]
		if _, ok := taken[k]; !ok {
			return k
		}
	}
}

// newConsumerSecret returns a consumer secret shaped like Salesforce's: 64
// upper-case hexadecimal digits.
func newConsumerSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("emulator: crypto/rand failed: " + err.Error())
	}
	return strings.ToUpper(hex.EncodeToString(b))
}

// App returns the app with the given name (any case) as the admin API
// lists it, with its consumer key but without its secret.
func (o *Org) App(name string) (AppSpec, bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	a, ok := o.m.appNames[strings.ToLower(name)]
	if !ok {
		return AppSpec{}, false
	}
	return a.spec(), true
}
