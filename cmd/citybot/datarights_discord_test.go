package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"citybot/bots/discord/dcemu"
	"citybot/locale"
)

// TestDataRightsDiscord runs `citybot serve` on the Discord emulator: in
// a listened channel /mydata only points to a private chat; in a DM the
// /mydata slash command sends the citizen's data, /forget asks with a
// button, and the button erases the identity and texts.
func TestDataRightsDiscord(t *testing.T) {
	w := newDCWorld(t, dcemu.Options{}, 1, 0)
	dbPath := filepath.Join(t.TempDir(), "citybot.db")
	s := w.startServeAt(t, dbPath, w.config(dbPath, ""), nil)
	en := locale.MustEmbedded().Catalog("en")
	text := func(key string) string { return en.Text("chat." + key) }
	u := w.emu.AddUser("Quintessa Zoe", false)
	dm, err := w.emu.DMChannel(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	const report = "There is a huge pothole on Zephyrine Street and the water pipe is broken, please call me on 0612345678"
	if _, err := w.emu.Post(dm, u.ID, report); err != nil {
		t.Fatal(err)
	}
	sentWith := func(ch, want string) func() bool {
		return func() bool {
			for _, m := range w.emu.Sent(ch) {
				if strings.Contains(m.Content, want) {
					return true
				}
			}
			return false
		}
	}
	waitCond(t, 20*time.Second, func() string { return fmt.Sprintf("acknowledgement (sent %+v)", w.emu.Sent(dm)) }, s, sentWith(dm, "registered as case"))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// In a channel: the interaction answer points to a private chat.
	id, err := w.emu.SlashCommand(w.channels[0], u.ID, "mydata", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitCond(t, 20*time.Second, func() string { return "answer in the channel" }, s, sentWith(w.channels[0], text("data_private")))
	for _, m := range w.emu.Sent(w.channels[0]) {
		if strings.Contains(m.Content, "0612345678") {
			t.Errorf("data shown in a channel: %q", m.Content)
		}
	}
	_ = id

	// In the DM: the data, as one JSON file attached to a message with
	// its caption.
	if _, err := w.emu.SlashCommand(dm, u.ID, "mydata", nil); err != nil {
		t.Fatal(err)
	}
	var doc string
	waitCond(t, 20*time.Second, func() string { return "the data document" }, s, func() bool {
		for _, m := range w.emu.Sent(dm) {
			if m.Content == text("mydata") && len(m.Attachments) == 1 && m.Attachments[0].Filename == "my-data.json" &&
				m.Attachments[0].ContentType == "application/json" {
				doc = string(m.Attachments[0].Data)
				return true
			}
		}
		return false
	})
	var data struct {
		Messages []struct{ Text string } `json:"messages"`
	}
	if err := json.Unmarshal([]byte(doc), &data); err != nil || len(data.Messages) == 0 || data.Messages[0].Text != report {
		t.Fatalf("data: %v %+v\n%s", err, data, doc)
	}

	// /forget asks with a button; pressing it erases.
	if _, err := w.emu.SlashCommand(dm, u.ID, "forget", nil); err != nil {
		t.Fatal(err)
	}
	waitCond(t, 20*time.Second, func() string { return "the confirmation question" }, s, sentWith(dm, text("forget_ask")))
	var msgID, custom string
	for _, m := range w.emu.Sent(dm) {
		if strings.Contains(m.Content, text("forget_ask")) && len(m.Buttons) == 1 && len(m.Buttons[0]) == 1 {
			msgID, custom = m.ID, m.Buttons[0][0].CustomID
		}
	}
	if msgID == "" {
		t.Fatal("no confirmation button")
	}
	press, err := w.emu.PressButton(dm, u.ID, msgID, custom)
	if err != nil {
		t.Fatal(err)
	}
	in, err := w.emu.WaitInteraction(ctx, press, func(in dcemu.Interaction) bool { return in.Content != "" })
	if err != nil || in.Content != text("forget_done") {
		t.Fatalf("press answer: %q %v", in.Content, err)
	}
	db, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var identities, texts, cases int
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM citizen_identities), (SELECT count(*) FROM messages WHERE text LIKE '%Zephyrine%'),
		(SELECT count(*) FROM cases)`).Scan(&identities, &texts, &cases); err != nil {
		t.Fatal(err)
	}
	if identities != 0 || texts != 0 || cases != 1 {
		t.Errorf("after forget: %d identities, %d texts, %d cases (want 0, 0, 1)", identities, texts, cases)
	}
	if strings.Contains(s.logs.String(), "Quintessa") || strings.Contains(s.logs.String(), "0612345678") {
		t.Error("the log holds the citizen's name or text")
	}
}
