package web

import (
	"testing"
	"time"

	"citybot"
)

// TestInboxSpansInLanguage: the inbox's short time spans and where a case
// stands against its target are said in the page's language, with the
// plural form the language uses for the number (Arabic has six).
func TestInboxSpansInLanguage(t *testing.T) {
	s := &Server{levels: citybot.ServiceLevels{Targets: map[citybot.Urgency]time.Duration{citybot.UrgencyCritical: time.Hour}}}
	en := publicTexts{wordsFor(s.locs(), "en")}
	ar := publicTexts{wordsFor(s.locs(), "ar")}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		w    publicTexts
		ago  time.Duration
		want string
	}{
		{en, 20 * time.Minute, "20 min"},
		{en, 3 * time.Hour, "3 h"},
		{en, 50 * time.Hour, "2 days"},
		{ar, 1 * time.Minute, "دقيقة واحدة"},
		{ar, 2 * time.Hour, "ساعتان"},
		{ar, 50 * time.Hour, "يومان"},
		{ar, 5 * 24 * time.Hour, "5 أيام"},
		{ar, 11 * 24 * time.Hour, "11 يومًا"},
		{ar, 100 * 24 * time.Hour, "100 يوم"},
	} {
		if got := tt.w.Ago(now, now.Add(-tt.ago)); got != tt.want {
			t.Errorf("%s ago: %q, want %q", tt.ago, got, tt.want)
		}
	}

	open := citybot.InboxItem{Case: citybot.Case{Status: citybot.StatusNew, Urgency: citybot.UrgencyCritical, OpenedAt: now.Add(-3 * time.Hour)}}
	answeredAt := now
	answered := open
	answered.FirstAnswerAt = &answeredAt
	closed := open
	closed.Case.Status = citybot.StatusResolved
	fresh := open
	fresh.Case.OpenedAt = now.Add(-20 * time.Minute)
	for _, tt := range []struct {
		w    publicTexts
		it   citybot.InboxItem
		want string
	}{
		{en, open, "overdue by 2 h"},
		{en, fresh, "40 min left"},
		{en, answered, "answered"},
		{en, closed, "not waiting (resolved)"},
		{ar, open, "متأخرة ساعتان"},
		{ar, fresh, "باقٍ 40 دقيقة"},
		{ar, answered, ar.T("console.row_answered")},
		{ar, closed, "لا تنتظر (resolved)"},
	} {
		if got := s.rowOf(tt.it, now, tt.w).Left; got != tt.want {
			t.Errorf("row %s: %q, want %q", tt.it.Case.Status, got, tt.want)
		}
	}
	if en.T("console.row_answered") == ar.T("console.row_answered") {
		t.Error("answered is English in Arabic")
	}
}

// TestBold: a catalog text marks bold words with [[…]]; everything else
// in it is escaped, and an unclosed mark stays as text.
func TestBold(t *testing.T) {
	for in, want := range map[string]string{
		"You have [[3]] codes.": "You have <strong>3</strong> codes.",
		"a <b> [[x&y]] c":       "a &lt;b&gt; <strong>x&amp;y</strong> c",
		"[[a]] and [[b]]":       "<strong>a</strong> and <strong>b</strong>",
		"open [[ only":          "open [[ only",
		"]] before [[":          "]] before [[",
	} {
		if got := string(bold(in)); got != want {
			t.Errorf("bold(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBoldKeepsApostrophes: bold texts go in an element's content, where
// an apostrophe needs no escaping; quotes and markup still do.
func TestBoldKeepsApostrophes(t *testing.T) {
	if got, want := string(bold(`officers' "notes" <i>`)), `officers' &#34;notes&#34; &lt;i&gt;`; got != want {
		t.Errorf("bold = %q, want %q", got, want)
	}
}
