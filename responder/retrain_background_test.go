package responder_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"citybot"
	"citybot/classifier"
	"citybot/responder"
	"citybot/store"
)

// gateStore holds a training where it reads the recent messages (after
// the cross-validation, before the urgency check) until release is
// closed; the first training to get there fails with fail, when set.
type gateStore struct {
	*store.DB
	entered chan struct{} // closed when a training first reaches the gate
	release chan struct{}
	once    sync.Once
	fail    error
}

func newGateStore(db *store.DB) *gateStore {
	return &gateStore{DB: db, entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gateStore) RecentMessageTexts(ctx context.Context, limit int) ([]string, error) {
	first := false
	g.once.Do(func() { first = true; close(g.entered) })
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if first && g.fail != nil {
		return nil, g.fail
	}
	return g.DB.RecentMessageTexts(ctx, limit)
}

func (f *retrainFixture) gatedRetrainer(g *gateStore, holder string) *responder.Retrainer {
	f.t.Helper()
	rt, err := responder.NewRetrainer(responder.RetrainerOptions{Store: g, Live: f.live, Base: f.base.Model(),
		Classifier: classifier.DefaultOptions(), Leases: f.db, Holder: holder})
	if err != nil {
		f.t.Fatal(err)
	}
	return rt
}

// waitStatus waits until the retrainer's status satisfies ok.
func waitStatus(t *testing.T, rt *responder.Retrainer, what string, ok func(citybot.ModelStatus) bool) citybot.ModelStatus {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute) // a loaded 2-core machine
	for {
		st := rt.Status()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 5 minutes: status %+v", what, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runRetrainer runs rt.Run until the returned stop, which waits for it.
func runRetrainer(t *testing.T, rt *responder.Retrainer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// A training started from the console runs in the background: Start
// returns at once, Status says since when and from how many corrections
// it runs, a second one is refused (in this process and, by the lease, in
// another one sharing the database), and its report is pending once done.
func TestRetrainStartRunsInBackground(t *testing.T) {
	ctx := context.Background()
	f := newRetrainFixture(t)
	for i := range 40 {
		f.label(graffiti(i), "waste", "")
	}
	g := newGateStore(f.db)
	rt := f.gatedRetrainer(g, "instance-a")
	other := f.gatedRetrainer(newGateStore(f.db), "instance-b")

	run, err := rt.Start(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	if run.By != "root" || run.Corrections != 40 || run.Since.IsZero() {
		t.Errorf("training started = %+v", run)
	}
	if st := rt.Status(); st.Training == nil || *st.Training != run || st.Pending != nil {
		t.Errorf("status while training = %+v", st)
	}
	if _, err := rt.Start(ctx, "olivia"); !errors.Is(err, citybot.ErrDuplicate) {
		t.Errorf("a second training here: %v, want ErrDuplicate", err)
	}
	if _, err := other.Retrain(ctx, "olivia"); !errors.Is(err, citybot.ErrDuplicate) || !strings.Contains(err.Error(), "another citybot process") {
		t.Errorf("a training in another process: %v, want ErrDuplicate", err)
	}
	if l, err := f.db.LeaseOf(ctx, responder.RetrainLease); err != nil || l.Holder != "instance-a" {
		t.Errorf("lease = %+v, %v; want held by instance-a", l, err)
	}

	runRetrainer(t, rt)
	<-g.entered
	if st := rt.Status(); st.Training == nil {
		t.Errorf("status in the middle of the training = %+v", st)
	}
	close(g.release)
	st := waitStatus(t, rt, "report", func(st citybot.ModelStatus) bool { return st.Training == nil })
	if st.Pending == nil || !st.Pending.Switchable || st.Pending.By != "root" || st.Pending.Corrections != 40 || st.Failed != nil {
		t.Fatalf("status after the training = %+v", st)
	}
	if _, err := f.db.LeaseOf(ctx, responder.RetrainLease); !errors.Is(err, citybot.ErrNotFound) {
		t.Errorf("the lease was not given back: %v", err)
	}
	if got := auditActions(t, f.db); got != "root:model.train" {
		t.Errorf("audit = %s", got)
	}
	if err := rt.Switch(ctx, "root"); err != nil {
		t.Errorf("switch to the background training's candidate: %v", err)
	}
}

// A background training that fails is said by Status (Failed) until the
// next one starts; one stopped by shutdown is dropped quietly, gives its
// lease back, and no training starts after Run has stopped.
func TestRetrainStartFailsAndStops(t *testing.T) {
	ctx := context.Background()
	f := newRetrainFixture(t)
	if _, err := f.gatedRetrainer(newGateStore(f.db), "instance-a").Start(ctx, "root"); !errors.Is(err, citybot.ErrInvalid) {
		t.Errorf("start without corrections: %v, want ErrInvalid", err)
	}
	for i := range 40 {
		f.label(graffiti(i), "waste", "")
	}
	g := newGateStore(f.db)
	g.fail = errors.New("disk on fire")
	rt := f.gatedRetrainer(g, "instance-a")
	stop := runRetrainer(t, rt)
	run, err := rt.Start(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	<-g.entered
	close(g.release)
	st := waitStatus(t, rt, "failure", func(st citybot.ModelStatus) bool { return st.Training == nil })
	if st.Failed == nil || *st.Failed != run || st.Pending != nil {
		t.Fatalf("status after a failed training = %+v", st)
	}
	if _, err := f.db.LeaseOf(ctx, responder.RetrainLease); !errors.Is(err, citybot.ErrNotFound) {
		t.Errorf("a failed training kept the lease: %v", err)
	}

	// The next one clears the failure.
	if _, err := rt.Start(ctx, "olivia"); err != nil {
		t.Fatal(err)
	}
	if st := rt.Status(); st.Failed != nil {
		t.Errorf("a new training still shows the failed one: %+v", st.Failed)
	}
	st = waitStatus(t, rt, "report", func(st citybot.ModelStatus) bool { return st.Training == nil })
	if st.Failed != nil || st.Pending == nil || st.Pending.By != "olivia" {
		t.Errorf("status after the next training = %+v", st)
	}
	stop()

	// Shutdown stops a training mid-way.
	g2 := newGateStore(f.db)
	rt2 := f.gatedRetrainer(g2, "instance-a")
	stop2 := runRetrainer(t, rt2)
	if _, err := rt2.Start(ctx, "olivia"); err != nil {
		t.Fatal(err)
	}
	<-g2.entered
	stop2()
	st = rt2.Status()
	if st.Training != nil || st.Failed != nil || st.Pending != nil {
		t.Errorf("status after a training stopped by shutdown = %+v", st)
	}
	if _, err := f.db.LeaseOf(ctx, responder.RetrainLease); !errors.Is(err, citybot.ErrNotFound) {
		t.Errorf("a training stopped by shutdown kept the lease: %v", err)
	}
	if _, err := rt2.Start(ctx, "olivia"); err == nil || errors.Is(err, citybot.ErrDuplicate) {
		t.Errorf("start after Run stopped: %v, want a refusal", err)
	}
	if st := rt2.Status(); st.Training != nil {
		t.Errorf("a refused start left a training: %+v", st)
	}
}
