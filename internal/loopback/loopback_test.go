package loopback

import "testing"

func TestCheck(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:80": true, "127.9.9.9:1": true, "[::1]:5672": true, "localhost:7000": true,
		"10.0.0.1:80": false, "192.168.1.1:80": false, "0.0.0.0:80": false, "example.com:80": false,
		"127.0.0.1": false, "": false,
	} {
		if err := Check(addr); (err == nil) != ok {
			t.Errorf("Check(%q) = %v, want ok=%v", addr, err, ok)
		}
	}
}
