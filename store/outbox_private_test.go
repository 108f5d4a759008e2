package store

import (
	"context"
	"testing"

	"citybot"
)

func TestPrivateRowsGetTheCitizensIdentity(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db, now := consoleDB(t, te)
		c := consoleCase(t, db, citybot.Telegram, "u-4242", "a bribe", "corruption", "en", citybot.UrgencyLow)
		row := func(key string, private bool) citybot.OutboxItem {
			return citybot.OutboxItem{Out: citybot.Outgoing{Key: key, Platform: c.Platform, Chat: c.Chat, Text: "answer"},
				Kind: citybot.OutboxNotice, Case: c.ID, Private: private}
		}
		var view citybot.CaseView
		if _, err := db.AnswerCase(ctx, c.ID, "olivia", "answer", func(v citybot.CaseView) ([]citybot.OutboxItem, error) {
			view = v
			return []citybot.OutboxItem{row("k-private", true), row("k-plain", false)}, nil
		}); err != nil {
			t.Fatal(err)
		}
		if view.ChatKinds[c.ID] != citybot.ChatPrivate {
			t.Errorf("chat kinds %v", view.ChatKinds)
		}
		priv, err := db.OutboxItem(ctx, "k-private")
		if err != nil {
			t.Fatal(err)
		}
		if priv.Out.To != "u-4242" || priv.State != citybot.OutboxPending || priv.Out.ReplyTo != "" {
			t.Errorf("private row: to %q, state %s, reply to %q", priv.Out.To, priv.State, priv.Out.ReplyTo)
		}
		plain, err := db.OutboxItem(ctx, "k-plain")
		if err != nil || plain.Out.To != "" {
			t.Errorf("plain row: to %q, %v", plain.Out.To, err)
		}

		// Once the identity is gone (retention), a private row is failed at
		// once: it never goes to the chat instead.
		if _, err := db.w.ExecContext(ctx, `DELETE FROM citizen_identities WHERE citizen_id = ?`, int64(c.Citizen)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ChangeCaseStatus(ctx, c.ID, citybot.StatusChange{To: citybot.StatusInProgress, Actor: "olivia"},
			func(citybot.CaseView, citybot.Case) ([]citybot.OutboxItem, error) {
				return []citybot.OutboxItem{row("k-gone", true)}, nil
			}); err != nil {
			t.Fatal(err)
		}
		gone, err := db.OutboxItem(ctx, "k-gone")
		if err != nil {
			t.Fatal(err)
		}
		if gone.State != citybot.OutboxFailed || gone.Out.To != "" || gone.LastError == "" {
			t.Errorf("row without identity: state %s, to %q, error %q", gone.State, gone.Out.To, gone.LastError)
		}

		// Retention forgets the person of a sent private row once their
		// identity is gone.
		claimed, err := claimOutbox(ctx, db, []citybot.Platform{citybot.Telegram}, 10)
		if err != nil || len(claimed) == 0 || claimed[0].Out.Key != "k-private" {
			t.Fatalf("claimed %+v, %v", claimed, err)
		}
		if err := db.MarkSent(ctx, claimed[0].ID, citybot.Sent{ID: "9"}); err != nil {
			t.Fatal(err)
		}
		*now = now.AddDate(0, 0, 3)
		if _, err := db.ApplyRetention(ctx, citybot.RetentionPolicy{IdentityDays: 1}); err != nil {
			t.Fatal(err)
		}
		if priv, err = db.OutboxItem(ctx, "k-private"); err != nil || priv.Out.To != "" || priv.State != citybot.OutboxSent {
			t.Errorf("sent private row after retention: to %q, state %s, %v", priv.Out.To, priv.State, err)
		}
	})
}
