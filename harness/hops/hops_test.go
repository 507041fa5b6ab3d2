package hops

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// echo serves line echo on loopback until the test ends.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends one line and waits for it back, within a deadline.
func roundTrip(c net.Conn, r *bufio.Reader, deadline time.Duration) (time.Duration, error) {
	c.SetDeadline(time.Now().Add(deadline))
	t0 := time.Now()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return 0, err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	if line != "ping\n" {
		return 0, errors.New("echo garbled: " + line)
	}
	return time.Since(t0), nil
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func newSet(t *testing.T) (*Set, string) {
	t.Helper()
	s := New(nil)
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	addr, err := s.Add("payment", echo(t))
	if err != nil {
		t.Fatal(err)
	}
	return s, addr
}

func TestDegradeAndUndo(t *testing.T) {
	tests := []struct {
		name  string
		d     Degradation
		check func(t *testing.T, addr string, old net.Conn, oldR *bufio.Reader)
	}{
		{"latency", Degradation{Latency: 40 * time.Millisecond}, func(t *testing.T, addr string, old net.Conn, oldR *bufio.Reader) {
			// Each way, on a connection opened before the fault too.
			d, err := roundTrip(old, oldR, 5*time.Second)
			if err != nil || d < 80*time.Millisecond {
				t.Fatalf("round trip %v, %v: want at least 2 × 40 ms", d, err)
			}
		}},
		{"cut reset", Degradation{Cut: Reset}, func(t *testing.T, addr string, old net.Conn, oldR *bufio.Reader) {
			if _, err := roundTrip(old, oldR, 5*time.Second); err == nil {
				t.Fatal("a connection open before the cut still works")
			}
			c, r := dial(t, addr)
			_, err := roundTrip(c, r, 5*time.Second)
			if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) && !errors.Is(err, syscall.EPIPE) {
				t.Fatalf("new connection: %v, want a reset", err)
			}
		}},
		{"cut timeout", Degradation{Cut: Blackhole}, func(t *testing.T, addr string, old net.Conn, oldR *bufio.Reader) {
			_, err := roundTrip(old, oldR, 300*time.Millisecond)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("old connection: %v, want no data until the deadline", err)
			}
		}},
		{"bandwidth", Degradation{RateKBps: 64}, func(t *testing.T, addr string, old net.Conn, oldR *bufio.Reader) {
			// 64 KB at 64 KB/s: far above loopback's microseconds.
			msg := strings.Repeat("x", 64<<10) + "\n"
			old.SetDeadline(time.Now().Add(10 * time.Second))
			t0 := time.Now()
			go old.Write([]byte(msg))
			got, err := oldR.ReadString('\n')
			if err != nil || len(got) != len(msg) {
				t.Fatalf("read %d bytes, %v", len(got), err)
			}
			if d := time.Since(t0); d < 500*time.Millisecond {
				t.Fatalf("64 KB through a 64 KB/s hop took %v", d)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, addr := newSet(t)
			old, oldR := dial(t, addr)
			if _, err := roundTrip(old, oldR, 5*time.Second); err != nil {
				t.Fatalf("before the fault: %v", err)
			}
			undo, err := s.Degrade(context.Background(), "payment", tt.d)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, addr, old, oldR)
			if err := undo(context.Background()); err != nil {
				t.Fatalf("undo: %v", err)
			}
			if left := s.Toxics(); len(left) > 0 {
				t.Fatalf("toxics left after undo: %v", left)
			}
			c, r := dial(t, addr)
			if _, err := roundTrip(c, r, 5*time.Second); err != nil {
				t.Fatalf("after undo, a new connection: %v", err)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	s, _ := newSet(t)
	if _, err := s.Degrade(context.Background(), "shipping", Degradation{Latency: time.Millisecond}); err == nil || !strings.Contains(err.Error(), "hops with a proxy: payment") {
		t.Fatalf("unknown hop: %v", err)
	}
	if _, err := s.Degrade(context.Background(), "payment", Degradation{}); err == nil {
		t.Fatal("an empty degradation was accepted")
	}
	if _, err := s.Add("x", "192.0.2.1:80"); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("non-loopback upstream: %v", err)
	}
	if _, err := ParseCutMode("drop"); err == nil || !strings.Contains(err.Error(), "want reset") {
		t.Fatalf("bad cut mode: %v", err)
	}
}
