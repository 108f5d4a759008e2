package web

import (
	"testing"

	"citybot"
	"citybot/locale"
)

// TestNotKeptInLanguage: why a citizen's file was not kept is said in the
// reader's language, a count in its plural form, a size in the page's
// units; an older row's English words are shown as stored.
func TestNotKeptInLanguage(t *testing.T) {
	locs := locale.MustEmbedded()
	for _, tc := range []struct {
		lang, reason, want string
	}{
		{"en", citybot.MediaReason(citybot.MediaTooLarge, "2000000"), "too large to keep (the limit is 2 MB)"},
		{"fr", citybot.MediaReason(citybot.MediaTooLarge, "2000000"), "trop lourd pour être gardé (la limite est 2 Mo)"},
		{"es", citybot.MediaReason(citybot.MediaNotPhoto, "text/html; charset=utf-8"), "no es una foto (el archivo es text/html; charset=utf-8)"},
		{"pt", citybot.MediaDamaged, "uma foto danificada"},
		{"sw", citybot.MediaReason(citybot.MediaGone, "telegram"), "haipatikani tena kwenye Telegram"},
		{"en", citybot.MediaReason(citybot.MediaNoFetcher, "discord"), "files from Discord cannot be fetched"},
		{"en", citybot.MediaReason(citybot.MediaGaveUp, "1"), "could not be fetched after 1 try"},
		{"en", citybot.MediaReason(citybot.MediaGaveUp, "3"), "could not be fetched after 3 tries"},
		{"ar", citybot.MediaReason(citybot.MediaGaveUp, "2"), "تعذّر جلبه بعد محاولتين"},
		{"ar", citybot.MediaReason(citybot.MediaGaveUp, "5"), "تعذّر جلبه بعد 5 محاولات"},
		{"fr", "too large to keep (the limit is 1 KB)", "too large to keep (the limit is 1 KB)"},
		{"fr", "gave_up:many", "gave_up:many"},
	} {
		p := publicTexts{wordsFor(locs, tc.lang)}
		if got := p.NotKept(tc.reason); got != tc.want {
			t.Errorf("%s %q: %q, want %q", tc.lang, tc.reason, got, tc.want)
		}
	}
}
