package auth

import (
	"testing"
	"time"
)

func TestDescribeClockSkew(t *testing.T) {
	for skew, want := range map[time.Duration]string{
		0:                                       "this machine's clock is in step with Salesforce's",
		400 * time.Millisecond:                  "this machine's clock is in step with Salesforce's",
		2 * time.Minute:                         "this machine's clock is 2m0s behind Salesforce's",
		-(3*time.Minute + 600*time.Millisecond): "this machine's clock is 3m1s ahead of Salesforce's",
	} {
		if got := DescribeClockSkew(skew); got != want {
			t.Errorf("DescribeClockSkew(%v) = %q, want %q", skew, got, want)
		}
	}
}
