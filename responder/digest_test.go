package responder_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"citybot"
	"citybot/accountability"
	"citybot/bots"
	"citybot/casework"
	"citybot/chart"
	"citybot/internal/storetest"
	"citybot/internal/testclock"
	"citybot/responder"
	"citybot/store"
)

// dgClock is a settable clock shared by the store and the components.
type dgClock = testclock.Clock

// dgRig is a real store with the pipeline, an officer and a digester on
// one clock.
type dgRig struct {
	t     *testing.T
	ctx   context.Context
	clock *dgClock
	db    *store.DB
	resp  *responder.Responder
	off   *casework.Officer
	dg    *accountability.Digester
	msgID int
}

// Monday 16 November 2026, 00:00 UTC: the start of ISO week 2026-W47.
var weekStart = time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)

func newDgRig(t *testing.T, tweak func(*accountability.DigestOptions)) *dgRig {
	t.Helper()
	ctx := context.Background()
	clock := testclock.New(weekStart.Add(8 * time.Hour))
	db := storetest.SQLite(t, store.Options{Now: clock.Now})
	city := testPolicy(t)
	resp, err := responder.New(responder.Options{Store: db, Classifier: fakeClassifier{}, Now: clock.Now, Policy: city})
	if err != nil {
		t.Fatal(err)
	}
	off, err := casework.NewOfficer(casework.OfficerOptions{Store: db, Policy: city})
	if err != nil {
		t.Fatal(err)
	}
	opts := accountability.DigestOptions{
		Store: db, Now: clock.Now, Policy: city, Languages: []string{"en", "fr"},
		Channels: []accountability.Channel{
			{Platform: citybot.Telegram, Chat: "-100500"},
			{Platform: citybot.Discord, Chat: "900", Language: "fr"},
		},
		Officials: accountability.Channel{Platform: citybot.Telegram, Chat: "-100777"},
		Approvers: map[citybot.UserID]string{"4242": "mayor"},
		Officers:  accountability.Channel{Platform: citybot.Telegram, Chat: "-100888"},
		PublicURL: "https://city.example/public",
	}
	if tweak != nil {
		tweak(&opts)
	}
	dg, err := accountability.NewDigester(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &dgRig{t: t, ctx: ctx, clock: clock, db: db, resp: resp, off: off, dg: dg}
}

// report makes user send text privately at time at; it returns the case.
func (rg *dgRig) report(at time.Time, user, text string) citybot.Case {
	rg.t.Helper()
	rg.clock.Set(at)
	rg.msgID++
	m := citybot.Message{Platform: citybot.Telegram, Chat: citybot.ChatID(user), ChatKind: citybot.ChatPrivate,
		ID: citybot.PlatformMessageID(fmt.Sprint(rg.msgID)), Sender: citybot.Sender{ID: citybot.UserID(user), Name: "Name " + user, LanguageCode: "en"},
		Text: text, SentAt: at}
	if err := rg.resp.HandleMessage(rg.ctx, m); err != nil {
		rg.t.Fatal(err)
	}
	cs, err := rg.db.CitizenCases(rg.ctx, citizenOf(rg, user), 1)
	if err != nil || len(cs) == 0 {
		rg.t.Fatalf("no case for %s: %v", user, err)
	}
	return cs[0]
}

func citizenOf(rg *dgRig, user string) citybot.CitizenID {
	c, err := rg.db.SetCitizenLanguage(rg.ctx, citybot.Telegram, citybot.Sender{ID: citybot.UserID(user)}, "en")
	if err != nil {
		rg.t.Fatal(err)
	}
	return c.ID
}

func (rg *dgRig) answer(at time.Time, c citybot.Case, text string) {
	rg.t.Helper()
	rg.clock.Set(at)
	if _, err := rg.off.Answer(rg.ctx, c.ID, "olivia", text, fmt.Sprintf("n%d", at.UnixNano())); err != nil {
		rg.t.Fatal(err)
	}
}

func (rg *dgRig) status(at time.Time, c citybot.Case, to citybot.CaseStatus) {
	rg.t.Helper()
	rg.clock.Set(at)
	if _, err := rg.off.ChangeStatus(rg.ctx, c.ID, citybot.StatusChange{To: to, Actor: "olivia", Reason: "done"}, fmt.Sprintf("s%d", at.UnixNano())); err != nil {
		rg.t.Fatal(err)
	}
}

// week plays a week: 6 pothole reports, 3 water reports, answered and
// resolved at known times, one promise kept and one missed, and one
// report the week before.
type weekPlan struct {
	roads, water    []citybot.Case
	firstAnswerMins []int
}

func (rg *dgRig) playWeek() weekPlan {
	var p weekPlan
	rg.report(weekStart.Add(-48*time.Hour), "u0", "pothole last week")
	for i := range 6 {
		at := weekStart.Add(time.Duration(9+i) * time.Hour)
		p.roads = append(p.roads, rg.report(at, fmt.Sprintf("r%d", i), fmt.Sprintf("a deep pothole number %d on the main road, dangerous for bikes", i)))
	}
	for i := range 3 {
		at := weekStart.Add(24*time.Hour + time.Duration(i)*time.Hour)
		p.water = append(p.water, rg.report(at, fmt.Sprintf("w%d", i), "no water in the building since this morning"))
	}
	// Answers: roads i answered after (i+1)*60 minutes; water 0 after 30.
	for i, c := range p.roads[:4] {
		mins := (i + 1) * 60
		p.firstAnswerMins = append(p.firstAnswerMins, mins)
		rg.answer(c.OpenedAt.Add(time.Duration(mins)*time.Minute), c, "Our road team filled the pothole and checked the surface around it.")
	}
	rg.answer(p.water[0].OpenedAt.Add(30*time.Minute), p.water[0], "The water main was repaired by the water service this afternoon.")
	p.firstAnswerMins = append(p.firstAnswerMins, 30)
	// Resolved: roads 0, 1 and water 0, on Thursday.
	thu := weekStart.Add(3*24*time.Hour + 10*time.Hour)
	for _, c := range []citybot.Case{p.roads[0], p.roads[1], p.water[0]} {
		rg.status(thu, c, citybot.StatusResolved)
	}
	// Promises: roads 2 promised for Wednesday, resolved Tuesday (kept);
	// roads 3 promised for Wednesday, still open (missed).
	wed := weekStart.Add(2*24*time.Hour + 12*time.Hour)
	rg.clock.Set(weekStart.Add(30 * time.Hour))
	for _, c := range []citybot.Case{p.roads[2], p.roads[3]} {
		if err := rg.db.SetExpectedBy(rg.ctx, c.ID, &wed, "olivia"); err != nil {
			rg.t.Fatal(err)
		}
	}
	rg.status(weekStart.Add(36*time.Hour), p.roads[2], citybot.StatusResolved)
	return p
}

func TestDigestFiguresOfAWeek(t *testing.T) {
	rg := newDgRig(t, nil)
	p := rg.playWeek()
	rg.clock.Set(weekStart.Add(7*24*time.Hour + 8*time.Hour)) // next Monday 08:00
	f, err := rg.db.DigestFigures(rg.ctx, weekStart, weekStart.Add(7*24*time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Received != 9 {
		t.Errorf("received %d, want 9", f.Received)
	}
	byTopic := map[string]citybot.TopicFigures{}
	for _, tf := range f.ByTopic {
		byTopic[tf.Topic] = tf
	}
	if byTopic["roads"].Received != 6 || byTopic["water_sanitation"].Received != 3 {
		t.Errorf("by topic %+v", f.ByTopic)
	}
	// Answered: 4 roads with an answer, 1 water, and roads 2 resolved
	// counts already (answered earlier). 5 cases have a first answer.
	if f.Answered != 5 {
		t.Errorf("answered %d, want 5", f.Answered)
	}
	// First answer minutes: 60, 120, 180, 240, 30 → sorted 30 60 120 180
	// 240: median (nearest rank 3) 120 min, p90 (rank 5) 240 min.
	if f.FirstAnswer.Count != len(p.firstAnswerMins) || f.FirstAnswer.Median != 120*time.Minute || f.FirstAnswer.P90 != 240*time.Minute {
		t.Errorf("first answer %+v", f.FirstAnswer)
	}
	if f.Resolved != 4 {
		t.Errorf("resolved %d, want 4", f.Resolved)
	}
	if f.PromisesDue != 2 || f.PromisesKept != 1 || f.PromisesOverdue != 1 {
		t.Errorf("promises due %d kept %d overdue %d, want 2 1 1", f.PromisesDue, f.PromisesKept, f.PromisesOverdue)
	}
	// Open at the end: the 10 cases (9 + last week's) minus 4 resolved.
	if f.StillOpen != 6 {
		t.Errorf("still open %d, want 6", f.StillOpen)
	}
	if len(f.ByPlatform) != 1 || f.ByPlatform[0] != (citybot.FacetCount{Value: "telegram", Count: 9}) {
		t.Errorf("by platform %+v", f.ByPlatform)
	}
}

func TestDigestDraftApprovePostOnce(t *testing.T) {
	rg := newDgRig(t, nil)
	rg.playWeek()
	rg.clock.Set(weekStart.Add(7*24*time.Hour + 8*time.Hour))
	if err := rg.dg.DraftLastWeek(rg.ctx); err != nil {
		t.Fatal(err)
	}
	// A second fire of the schedule changes nothing.
	if err := rg.dg.DraftLastWeek(rg.ctx); err != nil {
		t.Fatal(err)
	}
	drafts, err := rg.db.Digests(rg.ctx, 10)
	if err != nil || len(drafts) != 1 {
		t.Fatalf("digests %d, %v; want one draft", len(drafts), err)
	}
	d := drafts[0]
	if d.Week != "2026-W47" || d.State != citybot.DigestDraft || d.Revision != 1 {
		t.Fatalf("draft %s %s r%d", d.Week, d.State, d.Revision)
	}
	for _, l := range []string{"en", "fr"} {
		if !strings.Contains(d.Texts[l], "9") {
			t.Errorf("%s text lacks the count: %q", l, d.Texts[l])
		}
	}
	if !strings.Contains(d.Texts["en"], "Received: 9 reports") || !strings.Contains(d.Texts["fr"], "Reçus : 9 signalements") {
		t.Errorf("texts:\n%s\n---\n%s", d.Texts["en"], d.Texts["fr"])
	}
	if len(d.Examples) == 0 {
		t.Errorf("no you-said-we-did example")
	}
	img, err := png.Decode(bytes.NewReader(d.Chart))
	if err != nil || img.Bounds().Dx() != chart.WidthPx {
		t.Fatalf("chart: %v", err)
	}
	// The officials were told, with the buttons on the draft.
	notice, err := rg.db.OutboxItems(rg.ctx, "digest:2026-W47:r1:officials")
	if err != nil || len(notice) < 2 {
		t.Fatalf("officials notice %d rows, %v", len(notice), err)
	}
	last := notice[len(notice)-1]
	if len(last.Out.Buttons) != 1 || len(last.Out.Buttons[0]) != 2 || last.Out.Chat != "-100777" {
		t.Fatalf("draft buttons %+v", last.Out)
	}
	approve := last.Out.Buttons[0][0].Data
	// Nothing is posted before approval.
	if posts, _ := rg.db.OutboxItems(rg.ctx, "digest:2026-W47:telegram"); len(posts) != 0 {
		t.Fatalf("posted before approval: %d rows", len(posts))
	}
	// Someone not an approver, or the approver outside the officials'
	// chat, cannot approve.
	for _, a := range []citybot.Action{
		{Platform: citybot.Telegram, Chat: "-100777", Sender: citybot.Sender{ID: "666"}, Data: approve},
		{Platform: citybot.Telegram, Chat: "4242", Sender: citybot.Sender{ID: "4242"}, Data: approve},
	} {
		text, err := rg.dg.Wrap(rg.resp).HandleAction(rg.ctx, a)
		if err != nil || !strings.Contains(text, "not allowed") {
			t.Fatalf("refused press: %q %v", text, err)
		}
	}
	if got, _ := rg.db.Digest(rg.ctx, d.ID); got.State != citybot.DigestDraft {
		t.Fatalf("state after refused presses: %s", got.State)
	}
	press := citybot.Action{Platform: citybot.Telegram, Chat: "-100777", Sender: citybot.Sender{ID: "4242"}, Data: approve}
	text, err := rg.dg.Wrap(rg.resp).HandleAction(rg.ctx, press)
	if err != nil || !strings.Contains(text, "Approved") {
		t.Fatalf("approve: %q %v", text, err)
	}
	// A second press is told the draft is decided; nothing more is queued.
	text, err = rg.dg.Wrap(rg.resp).HandleAction(rg.ctx, press)
	if err != nil || !strings.Contains(text, "already") {
		t.Fatalf("second press: %q %v", text, err)
	}
	got, err := rg.db.Digest(rg.ctx, d.ID)
	if err != nil || got.State != citybot.DigestApproved || got.DecidedBy != "mayor" || got.DecidedAt.IsZero() {
		t.Fatalf("decided %+v %v", got.State, err)
	}
	audit, err := rg.db.Audit(rg.ctx, fmt.Sprintf("digest:%d", d.ID))
	if err != nil || len(audit) != 2 || audit[1].Action != "digest.approve" || audit[1].Actor != "mayor" {
		t.Fatalf("audit %+v %v", audit, err)
	}
	// Posts: Telegram channel gets chart + en + fr, Discord gets chart + fr.
	tg, _ := rg.db.OutboxItems(rg.ctx, "digest:2026-W47:telegram:-100500:")
	dc, _ := rg.db.OutboxItems(rg.ctx, "digest:2026-W47:discord:900:")
	if len(tg) != 3 || len(dc) != 2 {
		t.Fatalf("posts: telegram %d rows, discord %d rows; want 3 and 2", len(tg), len(dc))
	}
	if !strings.HasSuffix(tg[0].Out.Key, ":chart") || tg[1].Out.Text != got.Texts["en"] || tg[2].Out.Text != got.Texts["fr"] || dc[1].Out.Text != got.Texts["fr"] {
		t.Fatalf("post order or texts wrong: %s %s", tg[0].Out.Key, tg[1].Out.Key)
	}
	// A new draft for an approved week is refused.
	if _, err := rg.dg.Draft(rg.ctx, weekStart.Add(time.Hour), "olivia", ""); !errors.Is(err, citybot.ErrDuplicate) {
		t.Fatalf("redraft of an approved week: %v", err)
	}
}

func TestDigestSentBackIsNeverPosted(t *testing.T) {
	rg := newDgRig(t, nil)
	rg.playWeek()
	rg.clock.Set(weekStart.Add(7*24*time.Hour + 8*time.Hour))
	d, err := rg.dg.Draft(rg.ctx, weekStart, "scheduler", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rg.dg.Decide(rg.ctx, d.ID, citybot.DigestDecision{Actor: "mayor"}); !errors.Is(err, citybot.ErrInvalid) {
		t.Fatalf("send back without comment: %v", err)
	}
	back, err := rg.dg.Decide(rg.ctx, d.ID, citybot.DigestDecision{Actor: "mayor", Comment: "Add a word on the water cut."})
	if err != nil || back.State != citybot.DigestChangesRequested {
		t.Fatalf("send back: %v %v", back.State, err)
	}
	// The schedule firing again does not redraft a sent-back week.
	if err := rg.dg.DraftLastWeek(rg.ctx); err != nil {
		t.Fatal(err)
	}
	if all, _ := rg.db.Digests(rg.ctx, 10); len(all) != 1 {
		t.Fatalf("the schedule redrafted: %d digests", len(all))
	}
	if _, err := rg.dg.Decide(rg.ctx, d.ID, citybot.DigestDecision{Approve: true, Actor: "mayor"}); !errors.Is(err, citybot.ErrInvalid) {
		t.Fatalf("approving a sent-back draft: %v", err)
	}
	if posts, _ := rg.db.OutboxItems(rg.ctx, "digest:2026-W47:telegram"); len(posts) != 0 {
		t.Fatalf("a sent-back draft was queued: %d rows", len(posts))
	}
	// A new revision with the officers' note can then be approved.
	d2, err := rg.dg.Draft(rg.ctx, weekStart, "olivia", "The water cut on Tuesday was caused by a burst main.")
	if err != nil || d2.Revision != 2 || !strings.Contains(d2.Texts["en"], "burst main") {
		t.Fatalf("revision 2: %v %d", err, d2.Revision)
	}
	if _, err := rg.dg.Decide(rg.ctx, d2.ID, citybot.DigestDecision{Approve: true, Actor: "mayor"}); err != nil {
		t.Fatal(err)
	}
	if posts, _ := rg.db.OutboxItems(rg.ctx, "digest:2026-W47:telegram"); len(posts) != 3 {
		t.Fatalf("approved revision 2: %d rows", len(posts))
	}
}

// photoBot is a fakeBot that can send photos.
type photoBot struct {
	*fakeBot
	mu     sync.Mutex
	photos []string
}

func (b *photoBot) SendPhoto(ctx context.Context, out citybot.Outgoing, name string, data []byte) (citybot.Sent, error) {
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		return citybot.Sent{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.photos = append(b.photos, out.Key+"|"+name)
	return citybot.Sent{ID: citybot.PlatformMessageID("p" + fmt.Sprint(len(b.photos)))}, nil
}

func (b *photoBot) sentPhotos() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.photos)
}

// An approved digest's chart row (kind chart) goes out through the
// dispatcher as a photo where the bot can send one, and as its caption
// with a link to the public chart where it cannot; the bots are given to
// the dispatcher as they are.
func TestDispatcherSendsTheChart(t *testing.T) {
	rg := newDgRig(t, nil)
	rg.playWeek()
	rg.clock.Set(weekStart.Add(7*24*time.Hour + 8*time.Hour))
	d, err := rg.dg.Draft(rg.ctx, weekStart, "scheduler", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rg.dg.Decide(rg.ctx, d.ID, citybot.DigestDecision{Approve: true, Actor: "mayor"}); err != nil {
		t.Fatal(err)
	}
	var charts []citybot.OutboxItem
	public := []string{"digest:2026-W47:telegram:-100500:", "digest:2026-W47:discord:900:"}
	for _, it := range append(must(rg.db.OutboxItems(rg.ctx, public[0])), must(rg.db.OutboxItems(rg.ctx, public[1]))...) {
		if it.Kind == citybot.OutboxChart {
			charts = append(charts, it)
		}
	}
	if len(charts) != 2 || charts[0].ChartWeek != "2026-W47" || !strings.HasSuffix(charts[0].Out.Key, accountability.ChartKeySuffix) {
		t.Fatalf("chart rows %+v, want one per channel for 2026-W47", charts)
	}
	tgb := &photoBot{fakeBot: newFakeBot(t, citybot.Telegram)}
	dcb := newFakeBot(t, citybot.Discord)
	disp, err := responder.NewDispatcher(responder.DispatcherOptions{Store: rg.db, Bots: []bots.Bot{tgb, dcb}, Now: rg.clock.Now,
		Charts: rg.db, PublicURL: "https://city.example/", PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := runDispatcher(t, disp)
	digestSent := func(b *fakeBot) (n int) {
		for _, o := range b.allSent() {
			if strings.HasPrefix(o.Key, public[0]) || strings.HasPrefix(o.Key, public[1]) {
				n++
			}
		}
		return n
	}
	// Telegram: the chart, then the text in both languages; Discord (in
	// French only): the chart's caption, then the text.
	waitFor(t, "the digest posted", func() bool { return len(tgb.sentPhotos()) == 1 && digestSent(tgb.fakeBot) == 2 && digestSent(dcb) == 2 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if p := tgb.sentPhotos(); !strings.Contains(p[0], "digest-2026-W47-en.png") || !strings.HasSuffix(strings.Split(p[0], "|")[0], accountability.ChartKeySuffix) {
		t.Fatalf("telegram photos %v", p)
	}
	// Discord (no photo capability here) gets the caption with a link.
	var caption string
	for _, o := range dcb.allSent() {
		if strings.HasSuffix(o.Key, accountability.ChartKeySuffix) {
			caption = o.Text
		}
	}
	if !strings.Contains(caption, "\nhttps://city.example/public/digests/2026-W47/chart.png") {
		t.Fatalf("discord caption %q", caption)
	}
	for _, c := range charts {
		if it := must(rg.db.OutboxItem(rg.ctx, c.Out.Key)); it.State != citybot.OutboxSent {
			t.Errorf("chart row %s is %s", c.Out.Key, it.State)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestFixedFollowupAndReopen(t *testing.T) {
	rg := newDgRig(t, nil)
	p := rg.playWeek()
	// Three days after Thursday's resolutions.
	rg.clock.Set(weekStart.Add(6*24*time.Hour + 11*time.Hour))
	n, err := rg.dg.AskFixed(rg.ctx)
	if err != nil || n != 4 {
		t.Fatalf("asked %d, %v; want 4", n, err)
	}
	if n, _ := rg.dg.AskFixed(rg.ctx); n != 0 {
		t.Fatalf("asked again: %d", n)
	}
	q, err := rg.db.OutboxItem(rg.ctx, fmt.Sprintf("fixed:%d", p.roads[0].ID))
	if err != nil || len(q.Out.Buttons) != 1 || q.Out.Chat != "r0" {
		t.Fatalf("question %+v %v", q.Out, err)
	}
	yes, no := q.Out.Buttons[0][0].Data, q.Out.Buttons[0][1].Data
	h := rg.dg.Wrap(rg.resp)
	// Someone else cannot answer for the citizen.
	if _, err := h.HandleAction(rg.ctx, citybot.Action{Platform: citybot.Telegram, Chat: "r0", Sender: citybot.Sender{ID: "r1"}, Data: no}); err != nil {
		t.Fatal(err)
	}
	if c, _ := rg.db.Case(rg.ctx, p.roads[0].ID); c.Status != citybot.StatusResolved {
		t.Fatalf("a stranger reopened the case: %s", c.Status)
	}
	text, err := h.HandleAction(rg.ctx, citybot.Action{Platform: citybot.Telegram, Chat: "r0", Sender: citybot.Sender{ID: "r0"}, Data: no})
	if err != nil || !strings.Contains(text, "reopened") {
		t.Fatalf("not fixed: %q %v", text, err)
	}
	if c, _ := rg.db.Case(rg.ctx, p.roads[0].ID); c.Status != citybot.StatusInProgress {
		t.Fatalf("not reopened: %s", c.Status)
	}
	q1, _ := rg.db.OutboxItem(rg.ctx, fmt.Sprintf("fixed:%d", p.roads[1].ID))
	if _, err := h.HandleAction(rg.ctx, citybot.Action{Platform: citybot.Telegram, Chat: "r1", Sender: citybot.Sender{ID: "r1"}, Data: q1.Out.Buttons[0][0].Data}); err != nil {
		t.Fatal(err)
	}
	text, _ = h.HandleAction(rg.ctx, citybot.Action{Platform: citybot.Telegram, Chat: "r1", Sender: citybot.Sender{ID: "r1"}, Data: yes})
	_ = text
	f, err := rg.db.DigestFigures(rg.ctx, weekStart, weekStart.Add(7*24*time.Hour), nil)
	if err != nil || f.ConfirmedFixed != 1 || f.NotFixed != 1 {
		t.Fatalf("fixed %d not fixed %d (%v); want 1 and 1", f.ConfirmedFixed, f.NotFixed, err)
	}
	// Other actions still reach the pipeline.
	text, err = h.HandleAction(rg.ctx, citybot.Action{Platform: citybot.Telegram, Chat: "r1", Sender: citybot.Sender{ID: "r1"}, Data: "lang:fr"})
	if err != nil || text == "" {
		t.Fatalf("language action: %q %v", text, err)
	}
}

func TestRemindersAfterWorkingHours(t *testing.T) {
	rg := newDgRig(t, func(o *accountability.DigestOptions) { o.ReminderHours = 4 })
	// Friday 15:00: two working hours left that day.
	fri := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	c := rg.report(fri, "a", "pothole on the bridge")
	rg.clock.Set(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)) // Monday 10:00: 3 working hours
	if n, err := rg.dg.Remind(rg.ctx); err != nil || n != 0 {
		t.Fatalf("reminded after 3 working hours: %d %v", n, err)
	}
	rg.clock.Set(time.Date(2026, 11, 23, 11, 30, 0, 0, time.UTC)) // 4.5 working hours
	n, err := rg.dg.Remind(rg.ctx)
	if err != nil || n != 1 {
		t.Fatalf("reminded %d, %v; want 1", n, err)
	}
	if n, _ := rg.dg.Remind(rg.ctx); n != 0 {
		t.Fatalf("reminded twice")
	}
	items, _ := rg.db.OutboxItems(rg.ctx, "remind:")
	if len(items) != 1 || !strings.Contains(items[0].Out.Text, string(c.Ref)) || items[0].Out.Chat != "-100888" {
		t.Fatalf("reminder rows %+v", items)
	}
}

func TestWorkingCutoff(t *testing.T) {
	rg := newDgRig(t, nil)
	mon10 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		now   time.Time
		hours int
		want  time.Time
	}{
		{mon10, 1, time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)},
		{mon10, 2, time.Date(2026, 11, 20, 16, 0, 0, 0, time.UTC)},                                          // Friday
		{time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), 8, time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)},  // Sunday
		{time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC), 3, time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)}, // after hours
	}
	for _, tt := range tests {
		if got := rg.dg.WorkingCutoff(tt.now, tt.hours); !got.Equal(tt.want) {
			t.Errorf("cutoff(%s, %d) = %s, want %s", tt.now, tt.hours, got, tt.want)
		}
	}
}

func TestWeekOf(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone data")
	}
	// Sunday 23:30 UTC is already Monday in Paris: the next week there.
	sun := time.Date(2026, 11, 22, 23, 30, 0, 0, time.UTC)
	if w, _, _ := citybot.WeekOf(sun, time.UTC); w != "2026-W47" {
		t.Errorf("UTC week %s", w)
	}
	w, s, e := citybot.WeekOf(sun, paris)
	if w != "2026-W48" || !s.Equal(time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC)) || e.Sub(s) != 7*24*time.Hour {
		t.Errorf("Paris week %s %s %s", w, s, e)
	}
	// ISO week 1 of 2027 starts on Monday 4 January 2027.
	if w, _, _ := citybot.WeekOf(time.Date(2027, 1, 3, 12, 0, 0, 0, time.UTC), nil); w != "2026-W53" {
		t.Errorf("3 Jan 2027 is in %s", w)
	}
}

func TestRetention(t *testing.T) {
	rg := newDgRig(t, func(o *accountability.DigestOptions) {
		o.Retention = citybot.RetentionPolicy{MessageDays: 30, IdentityDays: 60, OutboxDays: 30}
	})
	p := rg.playWeek()
	rg.clock.Set(weekStart.Add(40 * 24 * time.Hour))
	if err := rg.dg.Retain(rg.ctx); err != nil {
		t.Fatal(err)
	}
	// Resolved case: text gone. Open case: kept.
	text, _, _, err := rg.db.MessageText(rg.ctx, citybot.Telegram, "r0", "2")
	if err != nil || text != "" {
		t.Fatalf("resolved case's text kept: %q %v", text, err)
	}
	text, _, _, err = rg.db.MessageText(rg.ctx, citybot.Telegram, "r5", "7")
	if err != nil || text == "" {
		t.Fatalf("open case's text removed: %v", err)
	}
	_ = p
	sent, _ := rg.db.OutboxItems(rg.ctx, "")
	for _, it := range sent {
		if it.State == citybot.OutboxSent && it.Out.Text != "" {
			t.Fatalf("sent outbox text kept: %s", it.Out.Key)
		}
	}
}

func TestRedactor(t *testing.T) {
	r := accountability.NewRedactor()
	tests := []struct {
		in    string
		spans []citybot.PersonalSpan
		avoid []string
		gone  []string
		stays []string
	}{
		{in: "Call me at +33 6 12 34 56 78 please", gone: []string{"12 34", "+33"}, stays: []string{"Call me", "please"}},
		{in: "write to jean.dupont@example.org now", gone: []string{"jean.dupont", "example.org"}, stays: []string{"write to"}},
		{in: "the car AB-123-CD is parked", gone: []string{"AB-123-CD"}, stays: []string{"is parked"}},
		{in: "hole in front of 12 rue des Lilas", gone: []string{"12"}, stays: []string{"rue des Lilas"}},
		{in: "my neighbour Mr Smith parks there", gone: []string{"Smith"}, stays: []string{"neighbour Mr"}},
		{in: "Signed: Marie CURIE (@mcurie42)", avoid: []string{"Marie Curie", "mcurie42"}, gone: []string{"Marie", "CURIE", "mcurie42"}},
		{in: "Hi, I am Anna Lee and the lamp is out", spans: []citybot.PersonalSpan{{Kind: citybot.PersonName, Span: citybot.Span{Start: 10, End: 18}}},
			gone: []string{"Anna", "Lee"}, stays: []string{"the lamp is out"}},
		{in: "bad span", spans: []citybot.PersonalSpan{{Span: citybot.Span{Start: 5, End: 99}}}, stays: []string{"bad span"}},
		{in: "see https://evil.example/x?id=3", gone: []string{"evil.example"}},
	}
	for _, tt := range tests {
		got := r.Redact(tt.in, tt.spans, tt.avoid)
		for _, g := range tt.gone {
			if strings.Contains(strings.ToLower(got), strings.ToLower(g)) {
				t.Errorf("Redact(%q) = %q: %q left", tt.in, got, g)
			}
		}
		for _, s := range tt.stays {
			if !strings.Contains(got, s) {
				t.Errorf("Redact(%q) = %q: %q lost", tt.in, got, s)
			}
		}
	}
}

func TestDigestSmallNumbersAreCounts(t *testing.T) {
	rg := newDgRig(t, nil)
	rg.playWeek()
	rg.clock.Set(weekStart.Add(7*24*time.Hour + 8*time.Hour))
	d, err := rg.dg.Compute(rg.ctx, weekStart, "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(d.Texts["en"], "%") || !strings.Contains(d.Texts["en"], "5 of 9") {
		t.Fatalf("9 cases must read as counts:\n%s", d.Texts["en"])
	}
	if !strings.Contains(d.Texts["fr"], "5 sur 9") {
		t.Fatalf("fr:\n%s", d.Texts["fr"])
	}
}

func TestDigestPrintForReview(t *testing.T) {
	if !testing.Verbose() {
		t.Skip("prints a digest with -v")
	}
	rg := newDgRig(t, nil)
	rg.playWeek()
	rg.clock.Set(weekStart.Add(7*24*time.Hour + 8*time.Hour))
	d, err := rg.dg.Compute(rg.ctx, weekStart, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + d.Texts["en"] + "\n\n" + d.Texts["fr"])
}

func TestDigestWriteChartForReview(t *testing.T) {
	out := os.Getenv("CITYBOT_CHART_OUT")
	if out == "" {
		t.Skip("set CITYBOT_CHART_OUT=file.png to write the chart")
	}
	rg := newDgRig(t, nil)
	rg.playWeek()
	rg.clock.Set(weekStart.Add(7*24*time.Hour + 8*time.Hour))
	d, err := rg.dg.Compute(rg.ctx, weekStart, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, d.Chart, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSendBackFromTheOfficialsChatWithAComment(t *testing.T) {
	rg := newDgRig(t, nil)
	rg.playWeek()
	rg.clock.Set(weekStart.Add(7*24*time.Hour + 8*time.Hour))
	d, err := rg.dg.Draft(rg.ctx, weekStart, "scheduler", "")
	if err != nil {
		t.Fatal(err)
	}
	h := rg.dg.Wrap(rg.resp)
	mayor := citybot.Sender{ID: "4242", Name: "The Mayor"}
	text, err := h.HandleAction(rg.ctx, citybot.Action{Platform: citybot.Telegram, Chat: "-100777", Sender: mayor, Data: fmt.Sprintf("dg:r:%d", d.ID)})
	if err != nil || !strings.Contains(text, "Reply to the draft") {
		t.Fatalf("send back: %q %v", text, err)
	}
	before, _ := rg.db.Inbox(rg.ctx, citybot.CaseFilter{Limit: 100})
	reply := citybot.Message{Platform: citybot.Telegram, Chat: "-100777", ChatKind: citybot.ChatGroup, ID: "9001", ReplyTo: "12",
		Sender: mayor, Text: "Please explain the water cut of Tuesday.", SentAt: rg.clock.Now()}
	if err := h.HandleMessage(rg.ctx, reply); err != nil {
		t.Fatal(err)
	}
	// A stranger's message in the officials' chat is ignored too.
	stranger := reply
	stranger.ID, stranger.Sender = "9002", citybot.Sender{ID: "1"}
	stranger.Text = "pothole in the town hall car park"
	if err := h.HandleMessage(rg.ctx, stranger); err != nil {
		t.Fatal(err)
	}
	got, _ := rg.db.Digest(rg.ctx, d.ID)
	if got.State != citybot.DigestChangesRequested || !strings.Contains(got.Comment, "mayor: Please explain the water cut") {
		t.Fatalf("digest %s, comment %q", got.State, got.Comment)
	}
	after, _ := rg.db.Inbox(rg.ctx, citybot.CaseFilter{Limit: 100})
	if len(after) != len(before) {
		t.Fatalf("the officials' chat opened cases: %d → %d", len(before), len(after))
	}
	audit, _ := rg.db.Audit(rg.ctx, fmt.Sprintf("digest:%d", d.ID))
	if len(audit) != 3 || audit[1].Action != "digest.request_changes" || audit[2].Action != "digest.comment" || audit[2].Actor != "mayor" {
		t.Fatalf("audit %+v", audit)
	}
	if posts, _ := rg.db.OutboxItems(rg.ctx, "digest:2026-W47:telegram"); len(posts) != 0 {
		t.Fatalf("posted")
	}
}

// TestFixedFollowersAskedAndReopenForAll: every follower of a resolved
// case (cases merged into it) is asked "Is it fixed?" once, under their
// own reference; a follower's "Not fixed" reopens the case followed once,
// audited, and every other follower is told once.
func TestFixedFollowersAskedAndReopenForAll(t *testing.T) {
	rg := newDgRig(t, nil)
	at := weekStart.Add(9 * time.Hour)
	main := rg.report(at, "m0", "water leak on the bridge")
	f1 := rg.report(at.Add(time.Minute), "m1", "water leaking at the bridge")
	f2 := rg.report(at.Add(2*time.Minute), "m2", "water pouring near the bridge")
	for _, f := range []citybot.Case{f1, f2} {
		if err := rg.db.MergeCases(rg.ctx, f.ID, main.ID, "alice", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rg.db.SetCaseStatus(rg.ctx, main.ID, citybot.StatusChange{To: citybot.StatusResolved, Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	rg.clock.Set(at.Add(4 * 24 * time.Hour))
	n, err := rg.dg.AskFixed(rg.ctx)
	if err != nil || n != 3 {
		t.Fatalf("asked %d, %v; want 3 (the case and its two followers)", n, err)
	}
	if n, _ := rg.dg.AskFixed(rg.ctx); n != 0 {
		t.Fatalf("asked again: %d", n)
	}
	q, err := rg.db.OutboxItem(rg.ctx, fmt.Sprintf("fixed:%d", f1.ID))
	if err != nil || q.Out.Chat != "m1" || !strings.Contains(q.Out.Text, string(f1.Ref)) {
		t.Fatalf("follower's question %+v %v", q.Out, err)
	}
	h := rg.dg.Wrap(rg.resp)
	no := q.Out.Buttons[0][1].Data
	text, err := h.HandleAction(rg.ctx, citybot.Action{Platform: citybot.Telegram, Chat: "m1", Sender: citybot.Sender{ID: "m1"}, Data: no})
	if err != nil || !strings.Contains(text, "reopened") {
		t.Fatalf("not fixed: %q %v", text, err)
	}
	if c, _ := rg.db.Case(rg.ctx, main.ID); c.Status != citybot.StatusInProgress {
		t.Fatalf("the case followed is %s, want reopened", c.Status)
	}
	for _, c := range []citybot.Case{main, f2} {
		it, err := rg.db.OutboxItem(rg.ctx, fmt.Sprintf("fixed:reopen:%d:%d", f1.ID, c.ID))
		if err != nil || it.Out.Chat != c.Chat || !strings.Contains(it.Out.Text, "open again") || !strings.Contains(it.Out.Text, string(c.Ref)) {
			t.Errorf("notice to %s: %+v %v", c.Chat, it.Out, err)
		}
	}
	if _, err := rg.db.OutboxItem(rg.ctx, fmt.Sprintf("fixed:reopen:%d:%d", f1.ID, f1.ID)); err == nil {
		t.Errorf("the follower who answered was told twice")
	}
	// A second "Not fixed" reopens nothing more and tells nobody.
	q2, _ := rg.db.OutboxItem(rg.ctx, fmt.Sprintf("fixed:%d", f2.ID))
	if _, err := h.HandleAction(rg.ctx, citybot.Action{Platform: citybot.Telegram, Chat: "m2", Sender: citybot.Sender{ID: "m2"}, Data: q2.Out.Buttons[0][1].Data}); err != nil {
		t.Fatal(err)
	}
	if _, err := rg.db.OutboxItem(rg.ctx, fmt.Sprintf("fixed:reopen:%d:%d", f2.ID, main.ID)); err == nil {
		t.Errorf("a second reopen notice")
	}
	entries, err := rg.db.Audit(rg.ctx, fmt.Sprintf("case:%d", main.ID))
	if err != nil {
		t.Fatal(err)
	}
	reopens := 0
	for _, e := range entries {
		if e.Action == "case.status" && e.Actor == "citizen" {
			reopens++
		}
	}
	if reopens != 1 {
		t.Errorf("%d reopenings audited, want 1", reopens)
	}
}
