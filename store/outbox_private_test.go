package store

import (
	"context"
	"testing"

	"citybot"
)

func TestPrivateRowsGetTheCitizensIdentity(t *testing.T) {
	ctx := context.Background()
	db, _ := consoleDB(t)
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
}
