package responder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"citybot"
)

var _ citybot.ReportSubmitter = (*Responder)(nil)

// SubmitReport turns a report from an Open311 client into a case through
// the path a chat message takes (report): the same classifier, the
// city's sensitive rule, the store's case rules and service levels, and
// an alert to officers for a critical case. The report is its own
// conversation (platform citybot.Open311, a new chat per report), so it
// opens a new case; its sender is the client's account_id, else its
// email or phone, else no one known, so that one person's reports share
// one pseudonymous citizen whom retention and forget erase. The topic is
// the service the client chose; the classifier gives language, urgency,
// places and the sensitive flag. Danger makes the case critical. Nothing
// is queued in the outbox: there is no chat to answer; the client gets
// the receipt. The contact is stored with the private identity and
// never logged.
//
// A report with an idempotency key that was stored before (a client's
// retry) stores nothing and gets the first one's receipt, Repeated set.
//
// Errors wrap citybot.ErrInvalid for a report with no text, and the
// store's error when nothing was stored.
func (r *Responder) SubmitReport(ctx context.Context, rep citybot.Report) (citybot.ReportReceipt, error) {
	desc, _ := citybot.CleanText(rep.Description, citybot.MaxStoredText)
	if strings.TrimSpace(desc) == "" && strings.TrimSpace(rep.Address) == "" && rep.Location == nil {
		return citybot.ReportReceipt{}, fmt.Errorf("responder: submit report: %w: nothing reported", citybot.ErrInvalid)
	}
	// The report's id: from the client's idempotency key, so that a
	// retry is the same message (the store keeps it once), else random.
	var token string
	if k := strings.TrimSpace(rep.IdempotencyKey); k != "" {
		sum := sha256.Sum256([]byte(rep.Client + "\x00" + k))
		token = "k" + hex.EncodeToString(sum[:16])
	} else {
		t, err := citybot.NewAPIKey() // a random id, unique per report
		if err != nil {
			return citybot.ReportReceipt{}, fmt.Errorf("responder: submit report: %w", err)
		}
		token = strings.TrimPrefix(t, "c311_")
	}
	// What officers read: the description, then where and the picture.
	parts := []string{desc}
	if a := strings.TrimSpace(rep.Address); a != "" {
		parts = append(parts, a)
	}
	if u := strings.TrimSpace(rep.MediaURL); u != "" {
		parts = append(parts, u)
	}
	text := strings.TrimSpace(strings.Join(parts, "\n"))
	c := rep.Contact
	m := citybot.Message{
		Platform: citybot.Open311, Chat: citybot.ChatID("req:" + token), ChatKind: citybot.ChatPrivate,
		ChatTitle: rep.Client, ID: citybot.PlatformMessageID(token), Text: text, Location: rep.Location, SentAt: r.now().UTC(),
		Sender: citybot.Sender{ID: reportSender(rep.Client, c, token), Name: strings.TrimSpace(c.FirstName + " " + c.LastName),
			Handle: firstOf(c.Email, c.Phone), LanguageCode: rep.Language},
	}
	r.received.WithLabelValues(string(m.Platform)).Inc()
	var cl *citybot.Classification
	if strings.TrimSpace(text) != "" {
		start := r.now()
		got := r.classify(text, baseLang(rep.Language))
		r.classifyHi.Observe(r.now().Sub(start).Seconds())
		cl = &got
	} else {
		cl = &citybot.Classification{Urgency: citybot.UrgencyNormal, UrgencyScore: 0.25, Language: baseLang(rep.Language)}
	}
	if rep.ServiceCode != "" && cl.Topic.Label != rep.ServiceCode {
		if cl.Topic.Label != "" {
			cl.Alternatives = append([]citybot.Scored{cl.Topic}, cl.Alternatives...)
		}
		cl.Topic = citybot.Scored{Label: rep.ServiceCode, Confidence: 1}
	}
	if rep.Danger && cl.Urgency != citybot.UrgencyCritical {
		cl.Urgency, cl.UrgencyConfidence = citybot.UrgencyCritical, 1
		cl.UrgencyScore = max(cl.UrgencyScore, 0.95)
		cl.UrgencyCues = append(cl.UrgencyCues, "open311: someone in danger")
	}
	in := citybot.Intake{Message: m, Classification: cl, Mode: citybot.CaseJoinOrOpen, Window: r.window}
	if !c.Empty() {
		in.Contact = &c
	}
	in.Sensitive, in.SensitiveCues = r.sensitiveOf(cl)
	res, err := r.store.Ingest(ctx, in, func(citybot.IntakeResult) ([]citybot.OutboxItem, error) { return nil, nil })
	if err != nil {
		return citybot.ReportReceipt{}, fmt.Errorf("responder: submit report: %w", err)
	}
	if res.Duplicate {
		return r.repeatedReport(ctx, m)
	}
	if res.Case == nil {
		return citybot.ReportReceipt{}, fmt.Errorf("responder: submit report: %w: no case opened", citybot.ErrInvalid)
	}
	if res.NewCase {
		r.opened.WithLabelValues(string(m.Platform)).Inc()
	}
	if r.critical != nil && res.Case.Urgency == citybot.UrgencyCritical && (res.NewCase || res.Escalated) {
		r.critical()
	}
	lang := r.language(res.Citizen.Language, rep.Language, cl.Language)
	return citybot.ReportReceipt{Ref: res.Case.Ref, Sensitive: res.Case.Sensitive, Language: lang}, nil
}

// messageCases is the store's look-up of a stored message's case, for the
// receipt of a repeated report (store.DB implements it).
type messageCases interface {
	CaseOfMessage(ctx context.Context, p citybot.Platform, chat citybot.ChatID, id citybot.PlatformMessageID) (citybot.Case, error)
}

// repeatedReport is the receipt of a report stored before under the same
// idempotency key.
func (r *Responder) repeatedReport(ctx context.Context, m citybot.Message) (citybot.ReportReceipt, error) {
	mc, ok := r.store.(messageCases)
	if !ok {
		return citybot.ReportReceipt{}, fmt.Errorf("responder: submit report: %w: already stored", citybot.ErrDuplicate)
	}
	c, err := mc.CaseOfMessage(ctx, m.Platform, m.Chat, m.ID)
	if err != nil {
		return citybot.ReportReceipt{}, fmt.Errorf("responder: submit report: repeated: %w", err)
	}
	return citybot.ReportReceipt{Ref: c.Ref, Sensitive: c.Sensitive, Language: c.Language, Repeated: true}, nil
}

// reportSender is the private platform id of the person behind a report:
// one per client and account (or email, or phone), else one per report.
func reportSender(client string, c citybot.Contact, token string) citybot.UserID {
	switch {
	case strings.TrimSpace(c.AccountID) != "":
		return citybot.UserID(client + "/account:" + strings.TrimSpace(c.AccountID))
	case strings.TrimSpace(c.Email) != "":
		return citybot.UserID(client + "/email:" + strings.ToLower(strings.TrimSpace(c.Email)))
	case strings.TrimSpace(c.Phone) != "":
		return citybot.UserID(client + "/phone:" + strings.TrimSpace(c.Phone))
	}
	return citybot.UserID(client + "/report:" + token)
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}
