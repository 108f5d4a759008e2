package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"citybot"
)

// signinLimits are the sign-in limits, kept by the store so that every
// citybot process sharing the database counts the same attempts (a
// client spreading its guesses over the instances behind a load balancer
// meets one limit, not one per instance):
//
//   - a token bucket per client address: burst attempts at once, then one
//     per interval, whatever the account;
//   - back-off keys, each counting failed sign-ins: after free failures
//     every further attempt must wait a delay that doubles with each
//     failure, from base up to a ceiling. The keys are the client address
//     (ceiling maxDelay), the account name as typed from browsers that
//     never signed in to it (ceiling maxAccount, short: strangers can slow
//     the owner on a new browser by that much at most) and, from a browser
//     that signed in to the account before, that browser's own key
//     (ceiling maxDelay; strangers never touch it). A success clears the
//     keys it used; a key is forgotten twice its ceiling after its last
//     failure.
//
// Nothing locks an account: that let any stranger shut an admin out with
// a few requests.
type signinLimits struct {
	store      Store
	log        *slog.Logger
	now        func() time.Time
	burst      int
	every      time.Duration
	free       int
	base       time.Duration
	maxDelay   time.Duration
	maxAccount time.Duration
	// nextPrune is when (Unix milliseconds) this process next deletes the
	// rows that say nothing any more; one request at a time does it.
	nextPrune atomic.Int64
	// local is this process's own copy of the buckets: an address that
	// emptied it here has emptied the shared one too (which counts these
	// attempts and more), so it is refused without a database write. A
	// flood from one address therefore costs the database its burst and
	// rate per instance, not one write per request.
	localMu sync.Mutex
	local   map[string]*rate.Limiter
}

// maxLocalBuckets bounds the local buckets' memory; when full, the full
// ones are dropped, and if none is, the attempt goes to the database.
const maxLocalBuckets = 10000

// allowLocal takes a token from key's local bucket and returns its
// reservation (nil when the buckets are too many to keep one more), to
// be cancelled when the shared bucket refuses the attempt (it did not
// count it either); false means the shared bucket is empty too.
func (l *signinLimits) allowLocal(key string, now time.Time) (*rate.Reservation, bool) {
	l.localMu.Lock()
	defer l.localMu.Unlock()
	b := l.local[key]
	if b == nil {
		if len(l.local) >= maxLocalBuckets {
			for k, ob := range l.local {
				if ob.TokensAt(now) >= float64(l.burst) {
					delete(l.local, k)
				}
			}
			if len(l.local) >= maxLocalBuckets {
				return nil, true
			}
		}
		if l.local == nil {
			l.local = map[string]*rate.Limiter{}
		}
		b = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.local[key] = b
	}
	r := b.ReserveN(now, 1)
	if !r.OK() || r.DelayFrom(now) > 0 {
		r.CancelAt(now)
		return nil, false
	}
	return r, true
}

// pruneEvery is how often a process prunes the sign-in limits' rows.
const pruneEvery = time.Minute

// addrKey is the key a client address is limited under: the address, or
// for IPv6 its /64, which one client usually holds whole.
func addrKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return "addr:" + ip
	}
	p, _ := a.WithZone("").Prefix(64)
	return "addr:" + p.String()
}

// allow spends one attempt of the client address's bucket. When refused,
// it returns how long until the next attempt may be made.
func (l *signinLimits) allow(ctx context.Context, ip string) (bool, time.Duration, error) {
	key := addrKey(ip)
	now := l.now()
	res, ok := l.allowLocal(key, now)
	if !ok {
		return false, l.every, nil
	}
	l.prune(ctx)
	ok, wait, err := l.store.TakeRateToken(ctx, key, l.burst, l.every)
	if err != nil || !ok {
		if res != nil {
			res.CancelAt(now)
		}
	}
	if err != nil {
		return false, 0, fmt.Errorf("web: sign-in limit: %w", err)
	}
	return ok, wait, nil
}

// prune deletes full buckets and forgotten counts, at most once per
// pruneEvery per process. A failure is logged: the limits still hold.
func (l *signinLimits) prune(ctx context.Context) {
	now := l.now().UnixMilli()
	next := l.nextPrune.Load()
	if now < next || !l.nextPrune.CompareAndSwap(next, now+pruneEvery.Milliseconds()) {
		return
	}
	if _, err := l.store.PruneSigninLimits(ctx); err != nil {
		l.log.Error("sign-in limits: prune failed", "err", err)
	}
}

func (l *signinLimits) ceiling(key string) time.Duration {
	if strings.HasPrefix(key, "account:") {
		return l.maxAccount
	}
	return l.maxDelay
}

// delay is how long after its last failure a key with n failures holds
// the next attempt back.
func (l *signinLimits) delay(key string, n int) time.Duration {
	if n < l.free {
		return 0
	}
	d, ceil := l.base, l.ceiling(key)
	for i := l.free; i < n && d < ceil; i++ {
		d *= 2
	}
	return min(d, ceil)
}

// wait returns how long the attempt must still wait for the slowest of
// keys; 0 means it may go ahead.
func (l *signinLimits) wait(ctx context.Context, keys []string) (time.Duration, error) {
	st, err := l.store.SigninStrikes(ctx, keys)
	if err != nil {
		return 0, fmt.Errorf("web: sign-in back-off: %w", err)
	}
	now := l.now()
	var longest time.Duration
	for _, k := range keys {
		s, ok := st[k]
		if !ok {
			continue
		}
		if w := s.Last.Add(l.delay(k, s.Failures)).Sub(now); w > longest {
			longest = w
		}
	}
	return longest, nil
}

// fail records a failed attempt under every key and, when account names
// an existing account, for its owner's notice.
func (l *signinLimits) fail(ctx context.Context, account string, keys []string) error {
	sk := make([]citybot.SigninKey, len(keys))
	for i, k := range keys {
		sk[i] = citybot.SigninKey{Key: k, Keep: 2 * l.ceiling(k)}
	}
	if err := l.store.RecordSigninFailure(ctx, account, sk); err != nil {
		return fmt.Errorf("web: sign-in back-off: %w", err)
	}
	return nil
}

// reset forgets keys after a successful sign-in.
func (l *signinLimits) reset(ctx context.Context, keys []string) error {
	if err := l.store.ClearSigninStrikes(ctx, keys); err != nil {
		return fmt.Errorf("web: sign-in back-off: %w", err)
	}
	return nil
}

// cookieKey is the key that signs the browser and code-step cookies:
// the store's shared secret, so that a cookie set by one process is good
// on every other and after a restart. It is read once per process.
type cookieKey struct {
	store Store
	mu    sync.Mutex
	key   []byte
}

// cookieSecretName names the shared secret in the store.
const cookieSecretName = "console-cookies"

func (c *cookieKey) get(ctx context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.key != nil {
		return c.key, nil
	}
	k, err := c.store.WebSecret(ctx, cookieSecretName)
	if err != nil {
		return nil, fmt.Errorf("web: cookie key: %w", err)
	}
	c.key = k
	return k, nil
}
