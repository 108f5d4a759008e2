package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"citybot"
)

// reportTrainer is a Trainer whose last training is a fixed report.
type reportTrainer struct{ rep citybot.RetrainReport }

func (f *reportTrainer) Start(context.Context, string) (citybot.TrainingRun, error) {
	return citybot.TrainingRun{}, nil
}
func (f *reportTrainer) Switch(context.Context, string) error           { return nil }
func (f *reportTrainer) Rollback(context.Context, string, string) error { return nil }
func (f *reportTrainer) Status() citybot.ModelStatus {
	return citybot.ModelStatus{Live: "live-1", Base: "live-1", Pending: &f.rep}
}

// TestModelReasonsInLanguage: a refused candidate's reasons (a head kept
// for too few corrections, the urgency check's broken rules) are said in
// the admin's language, each count in its plural form and the urgency
// level by its name; nothing of them stays English.
func TestModelReasonsInLanguage(t *testing.T) {
	rep := citybot.RetrainReport{At: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), By: "root", Live: "live-1", Candidate: "cand-1", Corrections: 70, Folds: 5,
		Topic: citybot.ModelScore{Trained: true, Adopted: true, HeldOut: 60},
		Urgency: citybot.ModelScore{HeldOut: 10, NeedMore: 1, Reason: citybot.ModelReason{Key: "console.mod_why_few", N: 1,
			Args: map[string]string{"have": "29", "min": "30"}}},
		Check: citybot.UrgencyCheck{Messages: 40, Source: "recent", Changed: 0.5, TopLevel: "high", TopShare: 0.95, Reasons: []citybot.ModelReason{
			{Key: "console.mod_check_changed", N: 40, Args: map[string]string{"share": "50%", "max": "30%"}},
			{Key: "console.mod_check_level", Args: map[string]string{"share": "95%", "level": "high", "max": "90%"}},
		}},
		Refused: citybot.RefusedUrgency,
	}
	for _, tc := range []struct {
		lang string
		want []string
	}{
		{"en", []string{"29 corrections so far; at least 30 are needed: 1 more correction needed", "50% of 40 messages would change urgency level",
			"95% would be high (one level may take at most 90%)", "the new model would change the urgency of recent messages too much", "recent messages that officers did not correct"}},
		{"es", []string{"falta 1 corrección más", "50% de 40 mensajes cambiarían de nivel de urgencia", "el modelo nuevo cambiaría demasiado la urgencia",
			"95% serían alta (un nivel puede tener como mucho 90%)"}},
		{"ar", []string{"ينقص تصحيح واحد", "50% من 40 رسالة سيتغيّر مستوى استعجالها", "النموذج الجديد سيغيّر استعجال الرسائل الحديثة كثيرًا"}},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			langs := []string{"en", tc.lang}
			if tc.lang == "en" {
				langs = langs[:1]
			}
			rg := newRig(t, Options{Policy: testPolicy(t, langs...), Trainer: &reportTrainer{rep: rep}})
			root := rg.account("root", citybot.RoleAdmin, "a long enough password")
			if err := rg.db.SetAccountLanguage(context.Background(), root.ID, tc.lang); err != nil {
				t.Fatal(err)
			}
			_, body := rg.do(rg.signIn(root), http.MethodGet, "/admin/model", nil)
			for _, want := range tc.want {
				if !strings.Contains(body, html.EscapeString(want)) {
					t.Errorf("model page lacks %q:\n%s", want, body)
				}
			}
			if tc.lang != "en" && (strings.Contains(body, "more correction") || strings.Contains(body, "would change")) {
				t.Errorf("reasons left in English:\n%s", body)
			}
		})
	}
}

// trainingTrainer is a Trainer with a training running in the background
// (and, before it, one that failed): Start refuses another.
type trainingTrainer struct {
	run, failed citybot.TrainingRun
}

func (f *trainingTrainer) Start(context.Context, string) (citybot.TrainingRun, error) {
	return citybot.TrainingRun{}, fmt.Errorf("retrain: %w: a training is already running", citybot.ErrDuplicate)
}
func (f *trainingTrainer) Switch(context.Context, string) error           { return nil }
func (f *trainingTrainer) Rollback(context.Context, string, string) error { return nil }
func (f *trainingTrainer) Status() citybot.ModelStatus {
	return citybot.ModelStatus{Live: "live-1", Base: "live-1", Training: &f.run, Failed: &f.failed}
}

// TestModelPageWhileTraining: while a model is trained in the background
// the model page says since when (in the city's time), from how many
// corrections and who started it, in the admin's language with the count
// in its plural form; it offers no second training (the page polls for
// the result), and a second one asked for anyway is refused in words.
func TestModelPageWhileTraining(t *testing.T) {
	tr := &trainingTrainer{
		run:    citybot.TrainingRun{By: "<i>root</i>", Since: time.Date(2026, 11, 20, 9, 5, 0, 0, time.UTC), Corrections: 41},
		failed: citybot.TrainingRun{By: "olivia", Since: time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC), Corrections: 40},
	}
	for _, tc := range []struct {
		lang                    string
		training, failed, again string
	}{
		{"en", "Training a new model since 09:05, from 41 corrections (started by &lt;i&gt;root&lt;/i&gt;).",
			"The training started at 08:30 by olivia stopped because of an error.", "A new model is already being trained."},
		{"fr", "Entraînement d&#39;un nouveau modèle depuis 09:05, à partir de 41 corrections (lancé par &lt;i&gt;root&lt;/i&gt;).",
			"L&#39;entraînement lancé à 08:30 par olivia s&#39;est arrêté à cause d&#39;une erreur.", "Un nouveau modèle est déjà en cours d&#39;entraînement."},
		{"ar", "يجري تدريب نموذج جديد منذ 09:05 من 41 تصحيحًا (بدأه &lt;i&gt;root&lt;/i&gt;).",
			"توقّف التدريب الذي بدأه olivia في 08:30 بسبب خطأ.", "يجري تدريب نموذج جديد الآن."},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			langs := []string{"en", tc.lang}
			if tc.lang == "en" {
				langs = langs[:1]
			}
			rg := newRig(t, Options{Policy: testPolicy(t, langs...), Trainer: tr})
			root := rg.account("root", citybot.RoleAdmin, "a long enough password")
			if err := rg.db.SetAccountLanguage(context.Background(), root.ID, tc.lang); err != nil {
				t.Fatal(err)
			}
			admin := rg.signIn(root)
			_, body := rg.do(admin, http.MethodGet, "/admin/model", nil)
			for _, want := range []string{tc.training, tc.failed, `data-training-poll="/admin/model"`} {
				if !strings.Contains(body, want) {
					t.Errorf("model page lacks %q:\n%s", want, body)
				}
			}
			if strings.Contains(body, `action="/admin/model/train"`) {
				t.Error("the page offers a second training while one runs")
			}
			resp, body := rg.do(admin, http.MethodPost, "/admin/model/train", nil)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tc.again) {
				t.Errorf("a second training: %d\n%s", resp.StatusCode, body)
			}
		})
	}
}
