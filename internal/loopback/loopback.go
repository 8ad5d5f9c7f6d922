// Package loopback tells whether a host names this machine only, the one
// test behind every "plain HTTP or an open listener is fine here" decision.
package loopback

import (
	"net"
	"strings"
)

// IsHost reports whether host (a name or an IP address, IPv6 with or
// without brackets, no port) is localhost or a loopback address.
func IsHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}
