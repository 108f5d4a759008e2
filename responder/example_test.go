package responder_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"citybot"
	"citybot/bots"
	"citybot/classifier"
	"citybot/responder"
	"citybot/store"
)

// printBot stands for a platform adapter: it prints what it sends.
type printBot struct{ sent chan string }

func (printBot) Platform() citybot.Platform                    { return citybot.Telegram }
func (printBot) Limits() bots.Limits                           { return bots.Limits{MaxText: 4096} }
func (printBot) Run(ctx context.Context, h bots.Handler) error { <-ctx.Done(); return nil }
func (b printBot) Send(ctx context.Context, out citybot.Outgoing) (citybot.Sent, error) {
	b.sent <- out.Text
	return citybot.Sent{ID: "1", SentAt: time.Now()}, nil
}

// The wiring cmd/citybot does: a store, a classifier, a dispatcher that
// sends through the bots, and a responder that the bots hand messages to.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, _ := os.MkdirTemp("", "citybot-example")
	defer os.RemoveAll(dir)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	db, err := store.Open(ctx, filepath.Join(dir, "citybot.db"), store.Options{Logger: log})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	cl, err := classifier.New(classifier.DefaultOptions())
	if err != nil {
		fmt.Println(err)
		return
	}
	bot := printBot{sent: make(chan string, 1)}
	d, err := responder.NewDispatcher(responder.DispatcherOptions{Store: db, Bots: []bots.Bot{bot}, Logger: log})
	if err != nil {
		fmt.Println(err)
		return
	}
	// cmd/citybot builds the city's policy once from the configuration.
	city, err := citybot.NewPolicy(citybot.PolicyConfig{
		City: "Citybot Town", Languages: []string{"en", "fr"}, DefaultLanguage: "en", Location: time.UTC,
		Topics: cl.Topics(), SensitiveTopics: []string{"corruption"}, EmergencyNumber: "112",
		MaxText: map[citybot.Platform]int{citybot.Telegram: bot.Limits().MaxText, citybot.Discord: 2000},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := responder.New(responder.Options{Store: db, Classifier: cl, Logger: log, Notify: d.Notify, Policy: city})
	if err != nil {
		fmt.Println(err)
		return
	}
	go d.Run(ctx)
	defer d.Stop() // stop the dispatcher before closing the store
	// A platform adapter would call r.HandleMessage from bot.Run(ctx, r).
	err = r.HandleMessage(ctx, citybot.Message{
		Platform: citybot.Telegram, Chat: "42", ChatKind: citybot.ChatPrivate, ID: "7",
		Sender: citybot.Sender{ID: "42", LanguageCode: "fr"},
		Text:   "Il y a un énorme nid de poule devant l'école, rue Victor Hugo",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ack := <-bot.sent
	// The reference is random: show the rest.
	for _, line := range strings.Split(ack, "\n\n") {
		if !strings.Contains(line, "dossier") && !strings.Contains(line, "/status") {
			fmt.Println(line)
		}
	}
	// Output:
	// Nous avons compris qu'il concerne : la voirie et les trottoirs.
	// Un agent de la ville va l'examiner et nous vous écrirons ici dès qu'il y aura du nouveau.
}
