package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"citybot"
)

// Retention retires the identity of a citizen silent past identity_days
// whose cases are all closed: their name, handle and user id go from the
// identities, from the audit log's texts and from their private chats'
// ids; their case stays, counted. A citizen with an open case, or who
// wrote within the period, keeps theirs.
func TestRetentionRetiresSilentIdentities(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db, now := consoleDB(t, te)
		quiet := consoleCase(t, db, citybot.Telegram, "u-quiet-771", "pothole on Elm Street", "roads", "en", citybot.UrgencyLow)
		open := consoleCase(t, db, citybot.Telegram, "u-open-772", "broken light", "street_lighting", "en", citybot.UrgencyLow)
		recent := consoleCase(t, db, citybot.Telegram, "u-recent-773", "bins not collected", "waste", "en", citybot.UrgencyLow)
		for _, c := range []citybot.Case{quiet, recent} {
			if _, err := db.ChangeCaseStatus(ctx, c.ID, citybot.StatusChange{To: citybot.StatusClosed, Actor: "olivia", Reason: "done"}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.RecordAudit(ctx, citybot.AuditEntry{At: *now, Actor: "olivia", Action: "note", Subject: "citizen",
			After: `{"said":"u-quiet-771 called twice"}`}); err != nil {
			t.Fatal(err)
		}
		*now = now.AddDate(0, 0, 200)
		// The recent citizen writes again (a new case, closed at once).
		res0, err := db.Ingest(ctx, citybot.Intake{
			Message: citybot.Message{Platform: citybot.Telegram, Chat: "chat-u-recent-773", ChatKind: citybot.ChatPrivate,
				ID: "2", Sender: citybot.Sender{ID: "u-recent-773"}, Text: "bins again"},
			Mode: citybot.CaseJoinOrOpen, Window: time.Minute,
			Classification: &citybot.Classification{Topic: citybot.Scored{Label: "waste", Confidence: 0.8}, Urgency: citybot.UrgencyLow, Language: "en", Model: "test"},
		}, nil)
		if err != nil || res0.Case == nil {
			t.Fatalf("second message: %v", err)
		}
		if _, err := db.ChangeCaseStatus(ctx, res0.Case.ID, citybot.StatusChange{To: citybot.StatusClosed, Actor: "olivia", Reason: "done"}, nil); err != nil {
			t.Fatal(err)
		}
		*now = now.AddDate(0, 0, 10)

		res, err := db.ApplyRetention(ctx, citybot.RetentionPolicy{IdentityDays: 180})
		if err != nil {
			t.Fatal(err)
		}
		if res.Identities != 1 {
			t.Errorf("retired %d identities, want 1", res.Identities)
		}
		if _, err := db.CitizenByIdentity(ctx, citybot.Telegram, "u-quiet-771"); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("the silent citizen's identity stays: %v", err)
		}
		for _, u := range []citybot.UserID{"u-open-772", "u-recent-773"} {
			if _, err := db.CitizenByIdentity(ctx, citybot.Telegram, u); err != nil {
				t.Errorf("%s lost their identity: %v", u, err)
			}
		}
		log, err := db.AuditLog(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range log {
			if strings.Contains(e.Before+e.After, "u-quiet-771") {
				t.Errorf("audit text still names the citizen: %+v", e)
			}
		}
		var chats int
		if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM chats WHERE platform_chat_id = 'chat-u-quiet-771'`).Scan(&chats); err != nil || chats != 0 {
			t.Errorf("the private chat id stays (%d, %v)", chats, err)
		}
		if c, err := db.Case(ctx, quiet.ID); err != nil || c.Topic != "roads" {
			t.Errorf("the case went with the identity: %+v %v", c, err)
		}
		_ = open
	})
}
