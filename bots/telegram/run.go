package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"citybot"
	"citybot/bots"
	"citybot/internal/pause"
)

// maxWebhookBody bounds one webhook request body.
const maxWebhookBody = 16 << 20

// Run receives updates and hands each to h until ctx is cancelled; then it
// lets the update in hand finish and returns nil. In polling mode it polls
// getUpdates; in webhook mode it registers the webhook and serves
// WebhookHandler's requests. It returns an error, without retrying, when
// Telegram rejects the token (wrapping citybot.ErrForbidden). Other
// failures (network, 409 Conflict, 429, 5xx, a failing handler) are
// logged and retried with backoff; an update the handler panics on or
// fails Options.MaxHandlerAttempts times is skipped (see SkippedUpdates).
// Run must not run twice at once; once it has returned it may be called
// again (an instance that leads the polling again): polling starts again
// from the offset stored in Options.Cursors.
func (b *Bot) Run(ctx context.Context, h bots.Handler) error {
	if h == nil {
		return fmt.Errorf("telegram: run: nil handler: %w", citybot.ErrInvalid)
	}
	if b.opts.Mode == ModeWebhook {
		return b.runWebhook(ctx, h)
	}
	return b.runPolling(ctx, h)
}

// tokenRejected reports whether err is Telegram refusing the token.
func tokenRejected(err error) (*tgbotapi.Error, bool) {
	var te *tgbotapi.Error
	if errors.As(err, &te) && (te.Code == http.StatusUnauthorized || te.Code == http.StatusNotFound) {
		return te, true
	}
	return nil, false
}

// retryDelay returns how long to wait after a failed API call: the
// server's retry_after when it sent one, else the next backoff step.
func retryDelay(err error, bo *backoff) time.Duration {
	var te *tgbotapi.Error
	if errors.As(err, &te) && te.RetryAfter > 0 {
		return time.Duration(te.RetryAfter) * time.Second
	}
	return bo.next()
}

// request makes one raw API call (for methods tgbotapi v5.5.1 lacks
// parameters for), retrying transient failures until ctx ends.
func (b *Bot) request(ctx context.Context, method string, p tgbotapi.Params) error {
	bo := backoff{min: b.opts.BackoffMin, max: b.opts.BackoffMax}
	for {
		_, err := b.call(ctx, b.opts.RequestTimeout).MakeRequest(method, p)
		if err == nil {
			return nil
		}
		if te, ok := tokenRejected(err); ok {
			return fmt.Errorf("telegram: %s: token rejected (%d): %w", method, te.Code, citybot.ErrForbidden)
		}
		var te *tgbotapi.Error
		if errors.As(err, &te) && te.Code == http.StatusBadRequest {
			return fmt.Errorf("telegram: %s: %s: %w", method, b.redact(te.Message), citybot.ErrInvalid)
		}
		wait := retryDelay(err, &bo)
		b.log.Warn("api call failed, retrying", "method", method, "err", b.clean(err), "retry_in", wait)
		if !pause.For(ctx, wait) {
			return fmt.Errorf("telegram: %s: %w", method, ctx.Err())
		}
	}
}

func (b *Bot) runWebhook(ctx context.Context, h bots.Handler) error {
	err := b.request(ctx, "setWebhook", tgbotapi.Params{
		"url":          b.opts.WebhookURL,
		"secret_token": b.opts.WebhookSecret,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	b.handler.Store(&handlerBox{h: h})
	defer b.handler.Store(nil)
	b.log.Info("webhook registered; waiting for updates")
	<-ctx.Done()
	return nil
}

func (b *Bot) runPolling(ctx context.Context, h bots.Handler) error {
	// getUpdates answers 409 while a webhook is set.
	if err := b.request(ctx, "deleteWebhook", nil); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	next := b.loadOffset(ctx)
	bo := backoff{min: b.opts.BackoffMin, max: b.opts.BackoffMax}
	secs := int(b.opts.PollTimeout / time.Second)
	// The first poll sends no offset, so that it confirms nothing: if
	// Telegram's update ids went backwards (they restart at random after
	// a week without updates; an emulator restarts from scratch), an
	// offset from before would silently delete the new updates.
	first := true
	for ctx.Err() == nil {
		offset := next
		if first {
			offset = 0
		}
		updates, err := b.getUpdates(ctx, offset, secs)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if te, ok := tokenRejected(err); ok {
				return fmt.Errorf("telegram: poll: token rejected (%d): %w", te.Code, citybot.ErrForbidden)
			}
			wait := retryDelay(err, &bo)
			var te *tgbotapi.Error
			if errors.As(err, &te) && te.Code == http.StatusConflict {
				b.log.Warn("getUpdates conflict: another instance is polling or a webhook is set", "err", b.clean(err), "retry_in", wait)
			} else {
				b.log.Warn("getUpdates failed", "err", b.clean(err), "retry_in", wait)
			}
			pause.For(ctx, wait)
			continue
		}
		bo.reset()
		if first {
			first = false
			next = b.checkReset(next, updates)
		}
		for _, u := range updates {
			if u.UpdateID < next {
				continue // confirmed already
			}
			if u.bad != nil {
				b.log.Warn("update skipped", "update_id", u.UpdateID, "reason", "undecodable", "err", u.bad)
			} else if !b.handleUntilDone(ctx, h, u.Update) {
				return nil
			}
			next = u.UpdateID + 1
			b.storeOffset(ctx, next)
		}
	}
	return nil
}

// maxUnconfirmed is the most updates that can be handled but not yet
// confirmed when the process stops: one getUpdates batch.
const maxUnconfirmed = 100

// checkReset looks at the first batch polled without an offset. Updates
// just below the stored offset were handled before a restart but not yet
// confirmed, and are skipped. An update further below cannot be one of
// those: Telegram's ids went backwards, so the stored offset is dropped
// and every update is taken as new (the handler ignores redeliveries).
func (b *Bot) checkReset(next int, updates []polled) int {
	for _, u := range updates {
		if next > 0 && u.UpdateID < next-maxUnconfirmed {
			b.log.Warn("update ids went backwards; ignoring the stored offset", "stored_offset", next, "update_id", u.UpdateID)
			return 0
		}
	}
	return next
}

// polled is one update of a getUpdates answer; bad is set when it could
// not be decoded (it is then skipped, not retried forever).
type polled struct {
	tgbotapi.Update
	bad error
}

// getUpdates long-polls for the updates from offset on. Unlike
// tgbotapi's GetUpdates it decodes each update on its own, so that one
// update the library cannot decode does not block all the others.
func (b *Bot) getUpdates(ctx context.Context, offset, timeoutSecs int) ([]polled, error) {
	p := tgbotapi.Params{}
	p.AddNonZero("offset", offset)
	p.AddNonZero("limit", 100)
	p.AddNonZero("timeout", timeoutSecs)
	resp, err := b.call(ctx, b.opts.PollTimeout+10*time.Second).MakeRequest("getUpdates", p)
	if err != nil {
		return nil, err
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(resp.Result, &raws); err != nil {
		return nil, fmt.Errorf("telegram: decode updates: %w", err)
	}
	out := make([]polled, 0, len(raws))
	for _, raw := range raws {
		var u polled
		if err := json.Unmarshal(raw, &u.Update); err != nil {
			var id struct {
				UpdateID int `json:"update_id"`
			}
			if json.Unmarshal(raw, &id) != nil {
				continue // no id to confirm it by; a later update confirms it
			}
			u = polled{Update: tgbotapi.Update{UpdateID: id.UpdateID}, bad: err}
		}
		out = append(out, u)
	}
	return out, nil
}

func (b *Bot) loadOffset(ctx context.Context) int {
	v, err := b.opts.Cursors.Cursor(ctx, b.opts.CursorKey)
	if err != nil {
		b.log.Warn("load offset failed; starting from Telegram's oldest unconfirmed update", "err", b.clean(err))
		return 0
	}
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		b.log.Warn("stored offset is not a number; starting from Telegram's oldest unconfirmed update")
		return 0
	}
	return n
}

// storeOffset saves next. A failure is logged, not fatal: Telegram still
// holds every unconfirmed update, and the handler ignores redeliveries.
func (b *Bot) storeOffset(ctx context.Context, next int) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.opts.RequestTimeout)
	defer cancel()
	if err := b.opts.Cursors.SetCursor(sctx, b.opts.CursorKey, strconv.Itoa(next)); err != nil {
		b.log.Warn("store offset failed", "offset", next, "err", b.clean(err))
	}
}

// handleUntilDone hands u to h until h returns nil, backing off between
// tries. It reports false if ctx ended before h succeeded. A handler call
// already started is allowed to finish after ctx ends (bounded by
// HandlerTimeout).
//
// A poison update, one the handler failed MaxHandlerAttempts times or
// panicked on, is skipped as a last resort (logged once at error level,
// counted in SkippedUpdates) and reported true so that its offset is
// stored: otherwise it would block every later update, again after each
// restart. The handler stores whatever can be stored (it returns nil for
// invalid input), so this only drops what it could not handle at all.
func (b *Bot) handleUntilDone(ctx context.Context, h bots.Handler, u tgbotapi.Update) bool {
	bo := backoff{min: b.opts.BackoffMin, max: b.opts.BackoffMax}
	for attempt := 1; ; attempt++ {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.opts.HandlerTimeout)
		err := b.dispatch(hctx, h, u)
		cancel()
		if err == nil {
			return true
		}
		var hp *handlerPanic
		if errors.As(err, &hp) || attempt >= b.opts.MaxHandlerAttempts {
			b.skip(u, attempt, err, hp)
			return true
		}
		wait := bo.next()
		b.log.Warn("handler failed; the update will be retried", "update_id", u.UpdateID, "attempts", attempt, "err", b.clean(err), "retry_in", wait)
		if ctx.Err() != nil || !pause.For(ctx, wait) {
			return false
		}
	}
}

// skip logs and counts an update given up on. The log names the update
// and the kind of failure only: no citizen text, no identity (a panic's
// value may hold either, so only its type and the stack are logged).
func (b *Bot) skip(u tgbotapi.Update, attempts int, err error, hp *handlerPanic) {
	n := b.skipped.Add(1)
	attrs := []any{"update_id", u.UpdateID, "kind", updateKind(&u), "attempts", attempts, "skipped_total", n}
	if hp != nil {
		attrs = append(attrs, "reason", "handler panicked", "panic_type", fmt.Sprintf("%T", hp.value), "stack", hp.stack)
	} else {
		attrs = append(attrs, "reason", "handler kept failing", "err", b.clean(err))
	}
	b.log.Error("update skipped: it could not be handled", attrs...)
}

// SkippedUpdates returns how many updates Run gave up on because the
// handler kept failing or panicked on them (see
// Options.MaxHandlerAttempts). Each is also logged at error level.
func (b *Bot) SkippedUpdates() int64 { return b.skipped.Load() }

// callers returns the calling goroutine's stack as function names and
// lines only: unlike debug.Stack it prints no argument values, which may
// be a chat or user id.
func callers() string {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var sb strings.Builder
	for {
		f, more := frames.Next()
		fmt.Fprintf(&sb, "%s:%d %s\n", f.File, f.Line, f.Function)
		if !more {
			return sb.String()
		}
	}
}

// handlerPanic is the error dispatch returns when the handler panicked.
// Its message holds the panic value's type only: the value may quote a
// citizen.
type handlerPanic struct {
	value any
	stack string
}

func (p *handlerPanic) Error() string {
	return fmt.Sprintf("telegram: handler panic (%T)", p.value)
}

// dispatch translates u and hands it to h. Updates that are not for
// citybot are logged and return nil, so that they are confirmed. A
// handler panic is turned into an error.
func (b *Bot) dispatch(ctx context.Context, h bots.Handler, u tgbotapi.Update) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &handlerPanic{value: r, stack: callers()}
		}
	}()
	kind := updateKind(&u)
	switch {
	case u.Message != nil || u.EditedMessage != nil:
		m, edit := u.Message, false
		if m == nil {
			m, edit = u.EditedMessage, true
		}
		msg, skip := b.message(m, edit)
		if skip != "" {
			b.log.Debug("update skipped", "update_id", u.UpdateID, "kind", kind, "reason", skip)
			return nil
		}
		if err := h.HandleMessage(ctx, msg); err != nil {
			return fmt.Errorf("telegram: handle message: %w", err)
		}
		return nil
	case u.CallbackQuery != nil:
		a, skip := b.action(u.CallbackQuery)
		if skip != "" {
			b.log.Debug("update skipped", "update_id", u.UpdateID, "kind", kind, "reason", skip)
			b.answerCallback(ctx, u.CallbackQuery.ID, "")
			return nil
		}
		text, err := h.HandleAction(ctx, a)
		if err != nil {
			return fmt.Errorf("telegram: handle action: %w", err)
		}
		b.answerCallback(ctx, a.ID, text)
		return nil
	default:
		b.log.Info("update skipped", "update_id", u.UpdateID, "kind", kind, "reason", "kind not handled")
		return nil
	}
}

// answerCallback stops the button's spinner on the citizen's screen,
// showing text if any. Failures (a query older than Telegram keeps) are
// logged only: the action itself was handled.
func (b *Bot) answerCallback(ctx context.Context, id, text string) {
	if id == "" {
		return
	}
	if _, err := b.call(ctx, b.opts.RequestTimeout).Request(tgbotapi.NewCallback(id, truncateRunes(text, 200))); err != nil {
		b.log.Warn("answer callback query failed", "err", b.clean(err))
	}
}

func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// WebhookHandler returns the handler to mount at the path of
// Options.WebhookURL. It answers 401 unless X-Telegram-Bot-Api-Secret-Token
// matches the secret (compared in constant time), 503 while Run is not
// running, 400 for a body that is not an update, 500 when the handler
// failed (so Telegram delivers the update again), and 200 once the handler
// returned nil or panicked (a panic is logged at error level and counted in
// SkippedUpdates, not redelivered).
func (b *Bot) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
		if b.opts.WebhookSecret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(b.opts.WebhookSecret)) != 1 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		box := b.handler.Load()
		if box == nil {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "not running", http.StatusServiceUnavailable)
			return
		}
		var u tgbotapi.Update
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxWebhookBody)).Decode(&u); err != nil {
			b.log.Warn("webhook: bad update body", "err", err)
			http.Error(w, "bad update", http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), b.opts.HandlerTimeout)
		defer cancel()
		if err := b.dispatch(ctx, box.h, u); err != nil {
			if hp := (*handlerPanic)(nil); errors.As(err, &hp) {
				// Redelivering would panic again: give it up now.
				b.skip(u, 1, err, hp)
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte("{}"))
				return
			}
			b.log.Warn("webhook: handler failed; Telegram will redeliver", "update_id", u.UpdateID, "err", b.clean(err))
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	})
}
