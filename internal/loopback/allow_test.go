package loopback

import (
	"strings"
	"testing"
)

func TestAllowlist(t *testing.T) {
	a, err := NewAllowlist([]string{"rr-gateway:7000", "eda-gateway", " 10.96.0.10:7000 "})
	if err != nil {
		t.Fatal(err)
	}
	for addr, ok := range map[string]bool{
		"rr-gateway:7000": true, "RR-Gateway:7000": true, "rr-gateway:7001": false,
		"eda-gateway:1": true, "eda-gateway.other:1": false, "10.96.0.10:7000": true, "10.96.0.11:7000": false,
		"127.0.0.1:9": true, "example.com:80": false, "rr-gateway": false,
	} {
		err := a.Check(addr)
		if (err == nil) != ok {
			t.Errorf("Check(%q) = %v, want ok=%v", addr, err, ok)
		}
		if err != nil && strings.Contains(addr, ":") && !strings.Contains(err.Error(), "--allow") {
			t.Errorf("Check(%q): %v does not say how to allow it", addr, err)
		}
	}
	var none *Allowlist
	if none.Check("10.0.0.1:80") == nil || none.Check("127.0.0.1:80") != nil {
		t.Error("a nil allowlist is not the loopback rule")
	}
	for _, bad := range [][]string{nil, {""}, {"*"}, {"0.0.0.0:80"}, {"a/b"}} {
		if _, err := NewAllowlist(bad); err == nil {
			t.Errorf("NewAllowlist(%q) accepted", bad)
		}
	}
	if a, err := ParseAllowlist(" "); a != nil || err != nil {
		t.Errorf("ParseAllowlist(blank) = %v, %v; want nil (loopback only)", a, err)
	}
}
