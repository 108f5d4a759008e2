package main

// The harness of TestClusterFailover (cluster_test.go): the load balancer
// in front of the instances' Telegram webhook routes, a tap between each
// instance and the Telegram emulator that can hold one answer (to kill
// the instance whose send is in flight), and what the test reads of the
// instances (leader, logs).

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// clusterProxy is the single address Telegram posts its webhook to: a
// round robin over the instances' [http] addr. As a real load balancer
// does with passive health checks (nginx's proxy_next_upstream error), a
// backend that refuses or breaks the connection is marked down and the
// request is tried on the next one, so a dead instance costs the webhook
// one failed attempt, not a third of its deliveries. A request the dead
// instance may have taken in before dying is thus delivered twice:
// citybot must store it once.
type clusterProxy struct {
	srv    *httptest.Server
	client *http.Client

	mu       sync.Mutex
	backends []string // host:port of each instance
	down     []bool
	next     int
	served   []time.Time     // when each 2xx answer was relayed
	took     []time.Duration // how long the instance took to give it
	failover int             // attempts that found a backend dead
}

// newClusterProxy starts the proxy with no backends yet (it answers 502
// until setBackends, and Telegram retries), closed at the end of the test.
func newClusterProxy(t *testing.T) *clusterProxy {
	t.Helper()
	p := &clusterProxy{client: &http.Client{Timeout: 30 * time.Second}}
	p.srv = httptest.NewServer(p)
	t.Cleanup(p.srv.Close)
	return p
}

// setBackends sets the instances' addresses, all up.
func (p *clusterProxy) setBackends(addrs []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends = append([]string(nil), addrs...)
	p.down = make([]bool, len(addrs))
}

// pick returns the next live backend in turn, or false when none is.
func (p *clusterProxy) pick() (int, string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range len(p.backends) {
		i := p.next % len(p.backends)
		p.next++
		if !p.down[i] {
			return i, p.backends[i], true
		}
	}
	return 0, "", false
}

func (p *clusterProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<20))
	if err != nil {
		http.Error(w, "bad request body", http.StatusBadRequest)
		return
	}
	for {
		i, addr, ok := p.pick()
		if !ok {
			http.Error(w, "no instance is up", http.StatusBadGateway)
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+addr+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		req.Header = r.Header.Clone()
		asked := time.Now()
		resp, err := p.client.Do(req)
		if err != nil {
			if r.Context().Err() != nil {
				return // Telegram gave up on this delivery; it retries
			}
			p.mu.Lock()
			p.down[i] = true
			p.failover++
			p.mu.Unlock()
			continue
		}
		answer, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			http.Error(w, "instance broke the answer", http.StatusBadGateway)
			return
		}
		if resp.StatusCode/100 == 2 {
			p.mu.Lock()
			p.served = append(p.served, time.Now())
			p.took = append(p.took, time.Since(asked))
			p.mu.Unlock()
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(answer)
		return
	}
}

// url is the webhook URL on the proxy for path.
func (p *clusterProxy) url(path string) string { return p.srv.URL + path }

// stats returns the 2xx deliveries relayed from start to until, their
// rate, the longest pause between two of them (or the kill and the
// first) from kill to until, and how often a dead backend was skipped.
func (p *clusterProxy) stats(start, kill, until time.Time) (n int, perSecond float64, longestGapAfterKill time.Duration, failover int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var last time.Time
	prev := kill
	for _, at := range p.served {
		if at.Before(start) || at.After(until) {
			continue
		}
		n++
		last = at
		if !at.Before(kill) {
			longestGapAfterKill = max(longestGapAfterKill, at.Sub(prev))
			prev = at
		}
	}
	if n > 0 {
		perSecond = float64(n) / last.Sub(start).Seconds()
	}
	return n, perSecond, longestGapAfterKill, p.failover
}

// answerTimes returns the median and the 99th percentile of the time an
// instance took to answer a webhook update (2xx): one at a time, as
// Telegram delivers them, the webhook takes at most 1/median a second.
func (p *clusterProxy) answerTimes() (median, p99 time.Duration) {
	p.mu.Lock()
	ds := append([]time.Duration(nil), p.took...)
	p.mu.Unlock()
	return percentile(ds, 50), percentile(ds, 99)
}

// tgHold withholds one answer of the Telegram emulator at a time from
// the instance that asked: once armed, the first send of the armed
// instance (or of any) whose request body holds the match. The test
// learns which instance sent it (held) and kills it before freeing the
// answer, so that the platform took the message and the sender never
// heard back.
type tgHold struct {
	mu      sync.Mutex
	match   []byte // armed while non-nil
	inst    int    // the instance whose send is held; -1: any
	release chan struct{}
	held    chan int
}

func newTGHold() *tgHold { return &tgHold{held: make(chan int, 1)} }

// arm makes the next send holding s by instance inst (-1: any) be held.
func (h *tgHold) arm(s string, inst int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.match, h.inst, h.release = []byte(s), inst, make(chan struct{})
}

// take reports whether body, sent by inst, is the armed send, disarming
// it; release is closed when the answer may go.
func (h *tgHold) take(body []byte, inst int) (release <-chan struct{}, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.match == nil || (h.inst >= 0 && h.inst != inst) || !bytes.Contains(body, h.match) {
		return nil, false
	}
	h.match = nil
	return h.release, true
}

// free lets the held answer go (to a process that is gone by then), and
// disarms a hold that held nothing.
func (h *tgHold) free() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.match = nil
	if h.release != nil {
		close(h.release)
		h.release = nil
	}
}

// newTGTap starts, for instance inst, a reverse proxy to the Telegram
// emulator at base (its URL()), and returns the api_endpoint to configure.
// A send that hold matches reaches the emulator (which records it) but
// its answer waits until hold is freed or the instance hangs up.
func newTGTap(t *testing.T, base string, inst int, hold *tgHold) string {
	t.Helper()
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "bad request body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		isSend := strings.HasSuffix(r.URL.Path, "/sendMessage") || strings.HasSuffix(r.URL.Path, "/sendPhoto")
		var release <-chan struct{}
		held := false
		if isSend {
			release, held = hold.take(body, inst)
		}
		if !held {
			rp.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r)
		hold.held <- inst
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(func() {
		hold.free()
		srv.Close()
	})
	return srv.URL + "/bot%s/%s"
}

// clusterNode is one of the citybot processes.
type clusterNode struct {
	*acceptProc
	idx    int
	killed bool
}

// logCount counts the log lines of the live instances (or all of them)
// holding s.
func logCount(nodes []*clusterNode, liveOnly bool, s string) int {
	n := 0
	for _, c := range nodes {
		if liveOnly && c.killed {
			continue
		}
		n += strings.Count(c.stderr.String(), s)
	}
	return n
}
