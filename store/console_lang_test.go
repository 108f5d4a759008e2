package store

import (
	"context"
	"errors"
	"testing"

	"citybot"
)

func TestAccountLanguage(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db, _ := consoleDB(t, te)
		a, err := db.CreateAccount(ctx, "amina", citybot.RoleOfficer, "h", "")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := db.AccountLanguage(ctx, a.ID); err != nil || got != "" {
			t.Fatalf("new account: %q, %v; want no choice", got, err)
		}
		if err := db.SetAccountLanguage(ctx, a.ID, "ar"); err != nil {
			t.Fatal(err)
		}
		if got, err := db.AccountLanguage(ctx, a.ID); err != nil || got != "ar" {
			t.Errorf("after choosing: %q, %v; want ar", got, err)
		}
		if err := db.SetAccountLanguage(ctx, a.ID, ""); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.AccountLanguage(ctx, a.ID); got != "" {
			t.Errorf("after forgetting: %q", got)
		}
		if err := db.SetAccountLanguage(ctx, 9999, "fr"); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("unknown account: %v", err)
		}
		if _, err := db.AccountLanguage(ctx, 9999); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("unknown account: %v", err)
		}
		if err := db.SetAccountLanguage(ctx, a.ID, "a-very-long-language-code"); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("long code: %v", err)
		}
	})
}
