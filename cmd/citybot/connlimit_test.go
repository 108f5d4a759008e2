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

// Idle connections cannot take every descriptor: past [http]
// max_connections, further connections wait in the kernel's queue and
// cost the process nothing, and a freed slot serves the next one.
func TestServeIdleConnectionsBounded(t *testing.T) {
	s := startServe(t, nil, "[http]\naddr = \"127.0.0.1:0\"\nmax_connections = 8\n")
	before := openFiles(t)
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
	server := openFiles(t) - before - n
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
