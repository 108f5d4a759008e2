package responder_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/classifier"
	"citybot/responder"
	"citybot/store"
)

func TestRetrainFromCorrectionsAndSwitch(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "citybot.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cl, err := classifier.New(classifier.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	live := responder.NewLiveClassifier(cl)
	modelPath := filepath.Join(t.TempDir(), "city.model")
	rt, err := responder.NewRetrainer(responder.RetrainerOptions{Store: db, Live: live, Classifier: classifier.DefaultOptions(), ModelPath: modelPath})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Retrain(ctx, "root"); !errors.Is(err, citybot.ErrInvalid) {
		t.Fatalf("retrain with no correction: %v, want ErrInvalid", err)
	}
	// Officers label a pattern the shipped model cannot know.
	label := func(i int, text, topic string, u citybot.Urgency) {
		m := citybot.Message{Platform: citybot.Telegram, Chat: citybot.ChatID(fmt.Sprint("c", i)), ChatKind: citybot.ChatPrivate,
			ID: "1", Sender: citybot.Sender{ID: citybot.UserID(fmt.Sprint("u", i))}, Text: text}
		cls := live.Classify(text, "")
		res, err := db.Ingest(ctx, citybot.Intake{Message: m, Classification: &cls, Mode: citybot.CaseJoinOrOpen, Window: time.Minute}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CorrectCase(ctx, res.Case.ID, topic, u, "olivia"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 25 {
		label(i, fmt.Sprintf("the zorblax in flat %d is making the quimbly worse", i), "housing", citybot.UrgencyHigh)
	}
	for i := range 10 {
		label(100+i, fmt.Sprintf("many thanks for the lovely new benches number %d", i), "parks", citybot.UrgencyLow)
	}
	rep, err := rt.Retrain(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Corrections != 70 || rep.Topic.HeldOut != 7 || rep.Urgency.HeldOut != 7 || !rep.Topic.Trained || !rep.Urgency.Trained {
		t.Errorf("report = %+v", rep)
	}
	if rep.Topic.CandidateAccuracy <= rep.Topic.LiveAccuracy || rep.Topic.CandidateAccuracy < 0.8 {
		t.Errorf("topic accuracy: live %.2f, candidate %.2f: the candidate did not learn the corrections", rep.Topic.LiveAccuracy, rep.Topic.CandidateAccuracy)
	}
	livName, pending := rt.Status()
	if livName != classifier.DefaultModelName || pending == nil || pending.Candidate != rep.Candidate {
		t.Fatalf("status before switch: %s, %+v", livName, pending)
	}
	// Nothing changes until asked.
	if got := live.Classify("the zorblax in flat 99 is making the quimbly worse", "").Model; got != classifier.DefaultModelName {
		t.Errorf("live model before switch = %s", got)
	}
	if err := rt.Switch(ctx, "root"); err != nil {
		t.Fatal(err)
	}
	c := live.Classify("the zorblax in flat 99 is making the quimbly worse", "")
	if c.Model != rep.Candidate || c.Topic.Label != "housing" {
		t.Errorf("after switch: model %s, topic %s", c.Model, c.Topic.Label)
	}
	if m, err := classifier.ReadModelFile(modelPath); err != nil || m.Name() != rep.Candidate {
		t.Errorf("saved model: %v", err)
	}
	if err := rt.Switch(ctx, "root"); !errors.Is(err, citybot.ErrNotFound) {
		t.Errorf("second switch: %v, want ErrNotFound", err)
	}
	es, _ := db.Audit(ctx, "model")
	var acts []string
	for _, e := range es {
		acts = append(acts, e.Actor+":"+e.Action)
	}
	if strings.Join(acts, ",") != "root:model.train,root:model.switch" {
		t.Errorf("audit = %v", acts)
	}
}
