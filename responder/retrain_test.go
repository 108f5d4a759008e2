package responder_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"citybot"
	"citybot/classifier"
	"citybot/internal/storetest"
	"citybot/responder"
	"citybot/store"
)

// sharedClassifier is built once: prose's models take a while to load.
var sharedClassifier = sync.OnceValues(func() (*classifier.Classifier, error) {
	return classifier.New(classifier.DefaultOptions())
})

type retrainFixture struct {
	t    *testing.T
	db   *store.DB
	base *classifier.Classifier
	live *responder.LiveClassifier
	n    int
}

func newRetrainFixture(t *testing.T) *retrainFixture {
	t.Helper()
	db := storetest.SQLite(t, store.Options{})
	base, err := sharedClassifier()
	if err != nil {
		t.Fatal(err)
	}
	return &retrainFixture{t: t, db: db, base: base, live: responder.NewLiveClassifier(base)}
}

// label stores a citizen message classified by the live model as a case,
// and an officer's correction of it (topic and/or urgency; "" keeps it).
func (f *retrainFixture) label(text, topic string, u citybot.Urgency) {
	f.t.Helper()
	ctx := context.Background()
	f.n++
	m := citybot.Message{Platform: citybot.Telegram, Chat: citybot.ChatID(fmt.Sprint("c", f.n)), ChatKind: citybot.ChatPrivate,
		ID: "1", Sender: citybot.Sender{ID: citybot.UserID(fmt.Sprint("u", f.n))}, Text: text}
	cls := f.live.Classify(text, "")
	res, err := f.db.Ingest(ctx, citybot.Intake{Message: m, Classification: &cls, Mode: citybot.CaseJoinOrOpen, Window: time.Minute}, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if topic == "" && u == "" {
		return
	}
	if _, err := f.db.CorrectCase(ctx, res.Case.ID, topic, u, "olivia"); err != nil {
		f.t.Fatal(err)
	}
}

func (f *retrainFixture) retrainer(files responder.ModelFiles) *responder.Retrainer {
	f.t.Helper()
	rt, err := responder.NewRetrainer(responder.RetrainerOptions{Store: f.db, Live: f.live, Base: f.base.Model(),
		Classifier: classifier.DefaultOptions(), Files: files})
	if err != nil {
		f.t.Fatal(err)
	}
	return rt
}

// graffiti is a report the shipped model does not file under waste,
// which is where this city's officers put it (the cleaning teams).
func graffiti(i int) string {
	places := []string{"the library", "the old station", "Kings Road underpass", "the school gate", "the post office", "Elm Street", "the town hall annex"}
	verbs := []string{"Someone sprayed graffiti on", "New tags all over", "Graffiti again on", "Spray paint scrawled across"}
	return fmt.Sprintf("%s %s wall, number %d", verbs[i%len(verbs)], places[(i/len(verbs))%len(places)], i)
}

func auditActions(t *testing.T, db *store.DB) string {
	t.Helper()
	es, err := db.Audit(context.Background(), "model")
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, e := range es {
		acts = append(acts, e.Actor+":"+e.Action)
	}
	return strings.Join(acts, ",")
}

func TestRetrainRefusesTooFewCorrections(t *testing.T) {
	ctx := context.Background()
	f := newRetrainFixture(t)
	rt := f.retrainer(responder.ModelFiles{})
	if _, err := rt.Retrain(ctx, "root"); !errors.Is(err, citybot.ErrInvalid) {
		t.Fatalf("retrain with no correction: %v, want ErrInvalid", err)
	}
	if err := rt.Switch(ctx, "root"); !errors.Is(err, citybot.ErrNotFound) {
		t.Fatalf("switch before training: %v, want ErrNotFound", err)
	}
	// A handful of wrong corrections: potholes called noise, critical.
	for i := range 8 {
		f.label(fmt.Sprintf("Huge pothole on Main Street near number %d", i), "noise", citybot.UrgencyCritical)
	}
	rep, err := rt.Retrain(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Switchable || rep.Topic.Trained || rep.Urgency.Trained || rep.Topic.HeldOut != 8 || rep.Topic.NeedMore != 22 {
		t.Errorf("report = %+v", rep)
	}
	if rep.Refused != citybot.RefusedNoBetter {
		t.Errorf("refusal %q, want %q", rep.Refused, citybot.RefusedNoBetter)
	}
	for _, s := range []citybot.ModelScore{rep.Topic, rep.Urgency} {
		if why := s.Reason; why.Key != "console.mod_why_few" || why.N != 22 || why.Args["min"] != "30" || why.Args["have"] != "8" {
			t.Errorf("reason %+v does not say how many corrections are needed", why)
		}
	}
	err = rt.Switch(ctx, "root")
	if !errors.Is(err, responder.ErrRefused) || !errors.Is(err, citybot.ErrInvalid) || !strings.Contains(err.Error(), "no better") {
		t.Fatalf("switch to a refused candidate: %v", err)
	}
	if got := f.live.Current(); got != f.base {
		t.Errorf("the live model changed")
	}
	if st := rt.Status(); st.Pending == nil || st.Pending.Switchable || st.Live != classifier.DefaultModelName {
		t.Errorf("status = %+v", st)
	}
}

func TestRetrainRefusesWrongCorrections(t *testing.T) {
	ctx := context.Background()
	f := newRetrainFixture(t)
	rt := f.retrainer(responder.ModelFiles{})
	// Forty corrections that make no sense: labels dealt in turn,
	// regardless of what the message says.
	topics := []string{"noise", "parks", "taxes_budget", "transport"}
	urg := classifier.UrgencyLabels()
	texts := []string{"Huge pothole on Main Street near number %d", "The street light at pole %d is out",
		"Bins not collected in Rose Lane for %d days", "Water pipe burst outside house %d"}
	for i := range 40 {
		// Each text gets every topic and every urgency in turn, so
		// neither can be learnt from the text.
		f.label(fmt.Sprintf(texts[i%len(texts)], i), topics[(i/len(texts))%len(topics)], citybot.Urgency(urg[(i/len(texts)+1)%len(urg)]))
	}
	rep, err := rt.Retrain(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Switchable || !rep.Topic.Trained || rep.Topic.Adopted || rep.Urgency.Adopted || rep.Topic.HeldOut != 40 {
		t.Fatalf("report = %+v", rep)
	}
	if rep.Topic.DiffLow > 0 || rep.Topic.DiffLow > rep.Topic.DiffHigh {
		t.Errorf("topic interval [%v, %v]", rep.Topic.DiffLow, rep.Topic.DiffHigh)
	}
	if rep.Refused != citybot.RefusedNoBetter {
		t.Errorf("refusal %q, want %q", rep.Refused, citybot.RefusedNoBetter)
	}
	if k := rep.Topic.Reason.Key; k != "console.mod_why_no_help" && k != "console.mod_why_more" {
		t.Errorf("topic reason %+v, want not better", rep.Topic.Reason)
	}
	if err := rt.Switch(ctx, "root"); !errors.Is(err, responder.ErrRefused) {
		t.Fatalf("switch: %v, want refused", err)
	}
}

func TestRetrainSwitchPersistAndRollBack(t *testing.T) {
	ctx := context.Background()
	f := newRetrainFixture(t)
	files := responder.ModelDir(filepath.Join(t.TempDir(), "citybot-model"))
	rt := f.retrainer(files)
	// Ordinary traffic for the urgency check.
	for i := range 30 {
		f.label(fmt.Sprintf("The bus on line %d was late again this morning", i), "", "")
	}
	for i := range 45 {
		f.label(graffiti(i), "waste", "")
	}
	probe := graffiti(1000)
	if got := f.live.Classify(probe, "").Topic.Label; got == "waste" {
		t.Fatalf("the shipped model already files graffiti under waste: the test proves nothing")
	}
	rep, err := rt.Retrain(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Switchable || !rep.Topic.Adopted || rep.Urgency.Trained || rep.Topic.HeldOut != 45 || rep.Urgency.NeedMore != 30 {
		t.Fatalf("report = %+v", rep)
	}
	if rep.Topic.DiffLow <= 0 || rep.Topic.CandidateAccuracy < 0.6 || rep.Topic.CandidateMacroF1 <= rep.Topic.LiveMacroF1 {
		t.Errorf("topic score = %+v", rep.Topic)
	}
	if !rep.Check.Passed || rep.Check.Messages != 30 || rep.Check.Changed != 0 {
		t.Errorf("urgency check = %+v (the urgency head is kept: nothing may change)", rep.Check)
	}
	// Nothing changes until asked.
	if f.live.Current() != f.base {
		t.Fatal("the live model changed before the switch")
	}
	if err := rt.Switch(ctx, "root"); err != nil {
		t.Fatal(err)
	}
	if c := f.live.Classify(probe, ""); c.Model != rep.Candidate || c.Topic.Label != "waste" {
		t.Errorf("after switch: model %s, topic %s", c.Model, c.Topic.Label)
	}
	if st := rt.Status(); st.Live != rep.Candidate || st.Previous != classifier.DefaultModelName || st.Pending != nil || st.Kept != files.Current {
		t.Errorf("status after switch = %+v", st)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(files.Current), rep.Candidate+".model")); err != nil {
		t.Errorf("the switched model is not kept by name: %v", err)
	}
	if _, err := os.Stat(files.Current + ".next"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a temporary model file was left: %v", err)
	}

	// A restart: the files give the switched model back.
	m, err := files.Load()
	if err != nil || m == nil || m.Name() != rep.Candidate {
		t.Fatalf("load after switch: %v, %v", m, err)
	}
	restarted, err := classifier.NewWithModel(classifier.DefaultOptions(), m)
	if err != nil {
		t.Fatal(err)
	}
	f2 := &retrainFixture{t: t, db: f.db, base: f.base, live: responder.NewLiveClassifier(restarted)}
	rt2 := f2.retrainer(files)
	if st := rt2.Status(); st.Live != rep.Candidate || st.Previous != classifier.DefaultModelName {
		t.Errorf("status after restart = %+v", st)
	}
	if got := f2.live.Classify(probe, "").Topic.Label; got != "waste" {
		t.Errorf("after restart: topic %s", got)
	}
	if err := rt2.Rollback(ctx, "root", "sideways"); !errors.Is(err, citybot.ErrInvalid) {
		t.Errorf("rollback to an unknown target: %v", err)
	}
	// Roll back to the shipped model: it serves, and still after a restart.
	if err := rt2.Rollback(ctx, "root", responder.RollbackShipped); err != nil {
		t.Fatal(err)
	}
	if c := f2.live.Classify(probe, ""); c.Model != classifier.DefaultModelName || c.Topic.Label == "waste" {
		t.Errorf("after rollback: model %s, topic %s", c.Model, c.Topic.Label)
	}
	if m, err := files.Load(); err != nil || m != nil {
		t.Errorf("load after rollback to shipped: %v, %v; want none", m, err)
	}
	if err := rt2.Rollback(ctx, "root", responder.RollbackShipped); !errors.Is(err, citybot.ErrNotFound) {
		t.Errorf("second rollback to shipped: %v", err)
	}
	// And back to the retrained one: it was the previous model.
	if err := rt2.Rollback(ctx, "root", responder.RollbackPrevious); err != nil {
		t.Fatal(err)
	}
	if m, err := files.Load(); err != nil || m == nil || m.Name() != rep.Candidate {
		t.Errorf("load after rollback to previous: %v, %v", m, err)
	}
	if got := f2.live.Current().Model().Name(); got != rep.Candidate {
		t.Errorf("live after rollback to previous: %s", got)
	}
	if got := auditActions(t, f.db); got != "root:model.train,root:model.switch,root:model.rollback,root:model.rollback" {
		t.Errorf("audit = %s", got)
	}
}

func TestModelFilesDamaged(t *testing.T) {
	dir := t.TempDir()
	files := responder.ModelDir(dir)
	if m, err := files.Load(); m != nil || err != nil {
		t.Fatalf("no file: %v, %v", m, err)
	}
	if err := os.WriteFile(files.Current, []byte("citybot-classifier-model\nnot gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if m, err := files.Load(); m != nil || !errors.Is(err, citybot.ErrInvalid) {
		t.Fatalf("damaged file: %v, %v; want ErrInvalid", m, err)
	}
	if m, err := (responder.ModelFiles{}).Load(); m != nil || err != nil {
		t.Fatalf("memory only: %v, %v", m, err)
	}
}

// TestRetrainRefusesUrgencyCollapse replays the reviewer's finding: a
// candidate whose urgency head learnt from corrections alone, all "high",
// would tag every new case high. It is better on those corrections, but
// it changes the urgency of most recent messages, so it is refused.
func TestRetrainRefusesUrgencyCollapse(t *testing.T) {
	ctx := context.Background()
	f := newRetrainFixture(t)
	rt := f.retrainer(responder.ModelFiles{})
	for i := range 30 {
		f.label(fmt.Sprintf("The bus on line %d was late again this morning", i), "", "")
	}
	texts := []string{"Bins in Rose Lane not emptied, week %d", "Bench %d in the park is wobbly", "Queue at the permit office, ticket %d", "Street sign %d is bent"}
	for i := range 40 {
		f.label(fmt.Sprintf(texts[i%len(texts)], i), "", citybot.UrgencyHigh)
	}
	// One label only: no head can learn from it, and that is no error.
	rep, err := rt.Retrain(ctx, "root")
	if err != nil || rep.Urgency.Trained || rep.Switchable || rep.Urgency.Reason.Key != "console.mod_why_untrainable" {
		t.Fatalf("one label: %v, %+v", err, rep)
	}
	for i := range 5 {
		f.label(fmt.Sprintf("Thank you for fixing it so fast, message %d", i), "", citybot.UrgencyLow)
	}
	rep, err = rt.Retrain(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Urgency.Adopted || rep.Switchable || rep.Check.Passed || rep.Check.Messages != 30 {
		t.Fatalf("report = %+v", rep)
	}
	if rep.Check.Changed <= responder.DefaultMaxUrgencyChange || rep.Check.TopLevel != string(citybot.UrgencyHigh) {
		t.Errorf("check = %+v", rep.Check)
	}
	if rep.Refused != citybot.RefusedUrgency || len(rep.Check.Reasons) == 0 || rep.Check.Reasons[0].Key != "console.mod_check_changed" || rep.Check.Reasons[0].N != 30 {
		t.Errorf("refusal %q, check reasons %+v", rep.Refused, rep.Check.Reasons)
	}
	if err := rt.Switch(ctx, "root"); !errors.Is(err, responder.ErrRefused) {
		t.Errorf("switch: %v, want refused", err)
	}
}
