package web

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"citybot"
)

// reportTrainer is a Trainer whose last training is a fixed report.
type reportTrainer struct{ rep citybot.RetrainReport }

func (f *reportTrainer) Retrain(context.Context, string) (citybot.RetrainReport, error) {
	return f.rep, nil
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
