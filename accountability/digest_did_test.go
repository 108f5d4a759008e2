package accountability

import "testing"

func TestPromisesActionWords(t *testing.T) {
	for _, tc := range []struct {
		text, lang string
		promise    bool
	}{
		{"We will send a team.", "en", true},
		{"We'll fix it tomorrow.", "en", true},
		{"The team filled the hole this morning.", "en", false},
		{"Une équipe interviendra jeudi.", "fr", true},
		{"Nous allons réparer la fuite.", "fr", true},
		{"La fuite a été réparée hier.", "fr", false},
		{"Un equipo irá el jueves; lo repararemos.", "es", true},
		{"La fuga fue reparada ayer.", "es", false},
		{"A equipe vai consertar amanhã.", "pt", true},
		{"O buraco foi tapado ontem.", "pt", false},
		{"Tutatuma timu kesho.", "sw", true},
		{"Shimo limezibwa leo asubuhi.", "sw", false},
		{"سوف نرسل فريقا يوم الخميس.", "ar", true},
		{"تم إصلاح الحفرة هذا الصباح.", "ar", false},
		{"Une équipe interviendra jeudi.", "", true},
		{"A equipe passa amanhã.", "pt", true},
		{"The team repaired the camera.", "en", false},
		{"Mañana.", "es", true},
	} {
		if got := promisesAction(tc.text, tc.lang); got != tc.promise {
			t.Errorf("PromisesAction(%q, %q) = %v, want %v", tc.text, tc.lang, got, tc.promise)
		}
	}
}
