package discord

import (
	"testing"

	"citybot/locale"
)

// TestLanguageChoices checks that /language offers the languages given,
// each under its own name, and that the adapter's own texts follow the
// user's Discord locale ("pt-BR" → Portuguese), English by default.
func TestLanguageChoices(t *testing.T) {
	langs := []Language{{"en", "English"}, {"ar", "العربية"}, {"sw", "Kiswahili"}}
	var got []Language
	for _, c := range Commands(langs) {
		if c.Name != "language" {
			continue
		}
		for _, ch := range c.Options[0].Choices {
			got = append(got, Language{Code: ch.Value.(string), Name: ch.Name})
		}
	}
	if len(got) != len(langs) {
		t.Fatalf("/language choices %v, want %v", got, langs)
	}
	for i := range langs {
		if got[i] != langs[i] {
			t.Errorf("choice %d = %v, want %v", i, got[i], langs[i])
		}
	}
	for _, c := range Commands(nil) {
		if c.Name == "language" && len(c.Options[0].Choices) != 0 {
			t.Errorf("no languages given, yet choices %v", c.Options[0].Choices)
		}
	}

	set := locale.MustEmbedded()
	b := &Bot{}
	for _, tt := range []struct{ discordLocale, lang string }{
		{"pt-BR", "pt"}, {"es-ES", "es"}, {"es-419", "es"}, {"fr", "fr"}, {"en-US", "en"}, {"de", "en"}, {"", "en"},
	} {
		want := set.Catalog(tt.lang).Text("chat." + sorryText)
		if got := b.say(tt.discordLocale, sorryText); got != want || got == "" {
			t.Errorf("say(%q) = %q, want %s %q", tt.discordLocale, got, tt.lang, want)
		}
	}
	if b.say("pt-BR", notHereText) == b.say("en-US", notHereText) {
		t.Error("not_here is the same in Portuguese and English")
	}
}
