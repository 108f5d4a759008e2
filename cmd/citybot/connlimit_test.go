package main

import (
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listenerSockets reads the kernel's TCP tables (/proc/self/net/tcp and
// tcp6) for the listener bound at addr: accepted is how many of its
// connections this process holds open (an accepted socket is one of our
// descriptors), queued how many wait in its accept queue. Counting by the
// listener's address, not every open descriptor, leaves out what serve's
// other parts open at their own pace: in sandbox mode the Discord
// adapter's gateway and REST connections reach the emulator in this same
// process a moment after the ready file (two descriptors each), the
// database's read pool opens lazily, and tests running beside this one
// open their own.
func listenerSockets(t *testing.T, addr string) (accepted, queued int) {
	t.Helper()
	want, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatalf("listener address %q: %v", addr, err)
	}
	ours := map[string]bool{} // socket inodes among this process's descriptors
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	for _, e := range es {
		link, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // closed since the listing
		}
		if inode, ok := strings.CutPrefix(link, "socket:["); ok {
			ours[strings.TrimSuffix(inode, "]")] = true
		}
	}
	for _, table := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		data, err := os.ReadFile(table)
		if err != nil {
			t.Skipf("no TCP table: %v", err)
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			// sl local_address rem_address st tx_queue:rx_queue tr:when retrnsmt uid timeout inode
			f := strings.Fields(line)
			if len(f) < 10 {
				continue
			}
			if local, ok := procAddr(f[1]); !ok || local != want {
				continue
			}
			switch {
			case f[3] == "0A": // LISTEN: rx_queue is the accept queue's length
				_, rx, _ := strings.Cut(f[4], ":")
				n, err := strconv.ParseInt(rx, 16, 64)
				if err != nil {
					t.Fatalf("%s: queue %q: %v", table, f[4], err)
				}
				queued += int(n)
			case f[9] != "0" && ours[f[9]]:
				accepted++
			}
		}
	}
	return accepted, queued
}

// procAddr decodes an address of /proc/net/tcp{,6}: the IP as 32-bit
// words in the machine's byte order (little-endian on every platform Go
// runs this test on), a colon, the port in hex.
func procAddr(s string) (netip.AddrPort, bool) {
	ipHex, portHex, ok := strings.Cut(s, ":")
	raw, err := hex.DecodeString(ipHex)
	port, perr := strconv.ParseUint(portHex, 16, 16)
	if !ok || err != nil || perr != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	ip, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), true
}

// Idle connections cannot take every descriptor: past [http]
// max_connections, further connections wait in the kernel's queue and
// cost the process nothing, and a freed slot serves the next one.
func TestServeIdleConnectionsBounded(t *testing.T) {
	const limit, n = 8, 120
	s := startServe(t, nil, "[http]\naddr = \"127.0.0.1:0\"\nmax_connections = 8\n")
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
	// Wait until the server holds as many as it may while others wait in
	// the kernel's queue (not for all n of them: past [http]'s 10s read
	// header timeout the server closes the first ones and takes the
	// next). A server that held every connection would pass the limit on
	// its way there.
	var accepted, queued int
	for deadline := time.Now().Add(30 * time.Second); ; {
		accepted, queued = listenerSockets(t, s.ready.HTTPAddr)
		if accepted > limit {
			t.Fatalf("%d idle connections: the server holds %d of them open, want at most the limit of %d", n, accepted, limit)
		}
		if accepted == limit && queued > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d idle connections: after 30s the server holds %d and %d wait in the queue, want %d and some waiting",
				n, accepted, queued, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// And it takes no more while they stay idle.
	for range 10 {
		time.Sleep(100 * time.Millisecond)
		if accepted, _ = listenerSockets(t, s.ready.HTTPAddr); accepted > limit {
			t.Fatalf("%d idle connections: the server holds %d of them open, want at most the limit of %d", n, accepted, limit)
		}
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
