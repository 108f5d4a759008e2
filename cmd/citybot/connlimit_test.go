package main

import (
	"net"
	"os"
	"testing"
	"time"
)

func openFiles(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(es)
}

// steadyOpenFiles is the fewest descriptors open over a few readings a
// tenth of a second apart: serve's own clients (the emulators' long polls,
// the database) open and close descriptors all the time, and a count
// caught mid-request would blame the listener for them.
func steadyOpenFiles(t *testing.T) int {
	t.Helper()
	least := openFiles(t)
	for range 9 {
		time.Sleep(100 * time.Millisecond)
		least = min(least, openFiles(t))
	}
	return least
}

// Idle connections cannot take every descriptor: past [http]
// max_connections, further connections wait in the kernel's queue and
// cost the process nothing, and a freed slot serves the next one.
func TestServeIdleConnectionsBounded(t *testing.T) {
	s := startServe(t, nil, "[http]\naddr = \"127.0.0.1:0\"\nmax_connections = 8\n")
	before := steadyOpenFiles(t)
	const n = 120
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := net.DialTimeout("tcp", s.ready.HTTPAddr, 2*time.Second)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		conns = append(conns, c)
	}
	// Give the server time to accept what it will.
	time.Sleep(500 * time.Millisecond)
	// n descriptors are this test's own (the client ends); the rest are
	// the server's.
	server := steadyOpenFiles(t) - before - n
	if server > 8+4 {
		t.Errorf("%d idle connections made the server open %d descriptors, want at most the limit of 8 (+4)", n, server)
	}
	// Closing the idle ones lets a real request through.
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	code, _ := httpGet(t, "http://"+s.ready.HTTPAddr+"/healthz")
	if code != 200 {
		t.Errorf("healthz after the idle connections closed: %d", code)
	}
}
