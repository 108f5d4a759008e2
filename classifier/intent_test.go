package classifier

import (
	"testing"

	"citybot"
)

// TestIntent checks feedback (thanks, greetings, bare acknowledgements,
// questions about the bot) against reports, in English and French: a
// message that also reports a problem stays a report.
func TestIntent(t *testing.T) {
	c := newDefault(t)
	const (
		thanks   = citybot.IntentThanks
		greeting = citybot.IntentGreeting
		ack      = citybot.IntentAck
		bot      = citybot.IntentBotQuestion
		report   = citybot.IntentReport
	)
	feedback := []struct {
		text string
		want citybot.Intent
	}{
		{"thank you so much for fixing it", thanks},
		{"Thanks!!", thanks},
		{"great job guys", thanks},
		{"thx a lot for the quick repair", thanks},
		{"Thanks for fixing the pothole on Elm Street, much appreciated", thanks},
		{"well done to the team 👏", thanks},
		{"🙏🙏", thanks},
		{"merci beaucoup pour la réparation", thanks},
		{"thank you for fixing my street light so fast", thanks},
		{"merci d'avoir réparé notre lampadaire", thanks},
		{"Merci !", thanks},
		{"bravo pour le travail", thanks},
		{"merci de votre réponse rapide", thanks},
		{"je vous remercie pour votre aide", thanks},
		{"hello", greeting},
		{"Hi there", greeting},
		{"good morning everyone", greeting},
		{"bonjour", greeting},
		{"Bonsoir à tous", greeting},
		{"coucou", greeting},
		{"ok", ack},
		{"OK.", ack},
		{"noted", ack},
		{"got it", ack},
		{"👍", ack},
		{"d'accord", ack},
		{"bien reçu", ack},
		{"ça marche", ack},
		{"who are you?", bot},
		{"is this a robot?", bot},
		{"how does this work", bot},
		{"Hello, are you a bot?", bot},
		{"c'est quoi ce bot", bot},
		{"qui êtes-vous ?", bot},
		{"tu es un robot ?", bot},
		{"comment ça marche ?", bot},
	}
	reports := []string{
		"thanks, but the pothole is still there",
		"hello, there is no water since Monday",
		"Thank you, there is a new pothole on Elm Street",
		"thanks for nothing, the light is out again",
		"hi, the street light in front of my house is broken",
		"Hello! Fire in the building on 5th street!",
		"ok the garbage was not collected this week",
		"hello can someone come and look at the tree that fell on our fence",
		"good morning, the traffic light at the corner is not working",
		"thanks in advance for fixing the sidewalk on Oak Street",
		"hi, the inspector asked me for 200 cash to sign my permit",
		"who do I call about the noise from the bar every night",
		"help",
		"how do I get a parking permit for my street",
		"yes the water is brown again",
		"hello, I want to report a gas smell in the basement",
		"merci, mais le trou est toujours là",
		"bonjour, il n'y a plus d'eau depuis lundi",
		"bonjour, le lampadaire de ma rue est cassé",
		"merci de réparer le lampadaire rue Pasteur",
		"bonjour, une odeur de gaz dans l'immeuble",
		"ok mais les poubelles n'ont pas été ramassées",
		"salut, il y a un nid de poule énorme devant l'école",
		"merci pour rien, toujours pas de lumière",
		"d'accord, mais quand est-ce que vous venez ?",
		"bonjour, le bus 12 ne passe plus depuis une semaine",
		"bonsoir, tapage nocturne chez le voisin tous les soirs",
		"c'est quoi ce bruit tous les soirs dans le parc",
		"bravo, encore une coupure d'eau",
		"bonjour, mon voisin brûle ses déchets dans le jardin",
		"Thank you for the new bench! But the one by the fountain is broken too.",
		"hello hello hello the road is flooded",
		"Hi. I would like to get information about this service. Thanks.",
		"merci de m'envoyer les horaires",
		"je voudrais un renseignement svp, merci",
		"Will the water be back tonight? thank you",
		"ok?",
		"I prefer to die than live without you.",
		"",
	}
	n := 0
	for _, tc := range feedback {
		if got := c.Classify(tc.text, "").Intent; got != tc.want {
			t.Errorf("%q: intent %q, want %q", tc.text, got, tc.want)
		} else {
			n++
		}
		if !tc.want.IsFeedback() {
			t.Fatalf("test case %q is not feedback", tc.text)
		}
	}
	for _, text := range reports {
		if got := c.Classify(text, "").Intent; got.IsFeedback() {
			t.Errorf("%q: intent %q, want a report", text, got)
		} else {
			n++
		}
	}
	t.Logf("%d of %d right (%d feedback, %d reports)", n, len(feedback)+len(reports), len(feedback), len(reports))
	if len(feedback) < 30 || len(reports) < 30 {
		t.Fatalf("%d feedback and %d report examples, want 30 each", len(feedback), len(reports))
	}
}
