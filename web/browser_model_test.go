package web

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"citybot"
)

// endingTrainer trains in the background until done is set; then its
// candidate is pending.
type endingTrainer struct {
	done atomic.Bool
	run  citybot.TrainingRun
	rep  citybot.RetrainReport
}

func (f *endingTrainer) Start(context.Context, string) (citybot.TrainingRun, error) {
	return f.run, nil
}
func (f *endingTrainer) Switch(context.Context, string) error           { return nil }
func (f *endingTrainer) Rollback(context.Context, string, string) error { return nil }
func (f *endingTrainer) Status() citybot.ModelStatus {
	st := citybot.ModelStatus{Live: "live-1", Base: "live-1", MinCorrections: 30, Folds: 5}
	if f.done.Load() {
		st.Pending = &f.rep
	} else {
		st.Training = &f.run
	}
	return st
}

// TestBrowserModelPageShowsTrainingResult opens the model page in
// headless Chromium while a model is trained in the background: it says
// so (axe-core finds no violation), and once the training ends the page
// shows the result by itself, without the admin reloading it.
func TestBrowserModelPageShowsTrainingResult(t *testing.T) {
	chromium, axePath := browserDeps(t)
	axeBytes, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	tr := &endingTrainer{
		run: citybot.TrainingRun{By: "root", Since: time.Now(), Corrections: 41},
		rep: citybot.RetrainReport{At: time.Now(), By: "root", Live: "live-1", Candidate: "cand-7", Corrections: 41, Folds: 5,
			Topic:   citybot.ModelScore{Trained: true, Adopted: true, HeldOut: 41, LiveAccuracy: 0.5, CandidateAccuracy: 0.9, DiffLow: 0.2, DiffHigh: 0.6},
			Urgency: citybot.ModelScore{HeldOut: 0, Reason: citybot.ModelReason{Key: "console.mod_why_few", N: 30, Args: map[string]string{"have": "0", "min": "30"}}},
			Check:   citybot.UrgencyCheck{Passed: true, Messages: 40, Source: "recent", TopLevel: "normal", TopShare: 0.5}, Switchable: true},
	}
	rg := newRig(t, Options{Trainer: tr, InsecureCookies: true})
	admin := rg.signIn(rg.account("root", citybot.RoleAdmin, "correct horse battery"))

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Flag("headless", "new"))...)
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	bctx, cancelTimeout := context.WithTimeout(bctx, 120*time.Second)
	defer cancelTimeout()
	base := strings.Replace(rg.ts.URL, "localhost", "127.0.0.1", 1)
	// The admin's session, opened in the store (sign-in has its own
	// browser tests).
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/static/style.css")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.cookie = %q; true`, admin.cookie.Name+"="+admin.cookie.Value+"; path=/"))); err != nil {
		t.Fatal(err)
	}
	octx, ocancel := context.WithTimeout(bctx, 20*time.Second)
	defer ocancel()
	if err := chromedp.Do(octx, chromedp.Navigate(base+"/admin/model?done=started"), chromedp.WaitVisible(chromedp.CSS(`p.training`))); err != nil {
		body, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.location.href + "\n" + document.body.innerText`))
		t.Fatalf("open the model page: %v\n%s", err, body)
	}
	axeStrict(t, bctx, string(axeBytes), "/admin/model while training")
	text, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
	if err != nil || !strings.Contains(text, "Training a new model since") || !strings.Contains(text, "Training has started.") ||
		strings.Contains(text, "Train a new model") {
		t.Fatalf("the page while training says (%v):\n%s", err, text)
	}
	// Mark the page: a reload by the page itself loses the mark.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.__before = true; true`)); err != nil {
		t.Fatal(err)
	}
	tr.done.Store(true)
	wctx, wcancel := context.WithTimeout(bctx, 60*time.Second)
	defer wcancel()
	if err := chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS(`#h-candidate`))); err != nil {
		t.Fatalf("the result did not show by itself once the training ended: %v", err)
	}
	text, err = chromedp.Run(bctx, chromedp.Evaluate[string](`(window.__before ? "not reloaded\n" : "") + document.querySelector("main").innerText`))
	if err != nil || strings.Contains(text, "not reloaded") || !strings.Contains(text, "Candidate cand-7") ||
		!strings.Contains(text, "A candidate model was trained.") || strings.Contains(text, "Training a new model since") {
		t.Errorf("the page after the training says (%v):\n%s", err, text)
	}
	axeStrict(t, bctx, string(axeBytes), "/admin/model with the result")
}
