package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxResponse bounds how much of one API answer is read.
const maxResponse = 64 << 20

// ctxClient is the tgbotapi.HTTPClient of one call: it binds the request
// to ctx with a deadline, and redacts the token from transport errors
// (a *url.Error carries the request URL, token included).
type ctxClient struct {
	base    *http.Client
	ctx     context.Context
	timeout time.Duration
	redact  func(string) string
}

func (c *ctxClient) Do(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
	resp, err := c.base.Do(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, &redactedError{msg: c.redact(err.Error()), cause: ctxCause(err)}
	}
	resp.Body = &cancelBody{r: io.LimitReader(resp.Body, maxResponse), c: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody releases the call's context when tgbotapi closes the body.
type cancelBody struct {
	r      io.Reader
	c      io.Closer
	cancel context.CancelFunc
}

func (b *cancelBody) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b *cancelBody) Close() error {
	// Drain what the JSON decoder left, so the connection is reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(b.r, 64<<10))
	err := b.c.Close()
	b.cancel()
	return err
}

// redactedError is an error whose text had secrets removed. It unwraps
// only to a context error, never to the original (which held the secret).
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.cause }

func ctxCause(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	return nil
}

// redactor returns a function that replaces each secret (and its URL
// escaped forms, and the secret half of a bot token) with "[REDACTED]".
func redactor(secrets ...string) func(string) string {
	var olds []string
	add := func(s string) {
		if len(s) >= 4 {
			olds = append(olds, s)
		}
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		add(s)
		add(url.PathEscape(s))
		add(url.QueryEscape(s))
		if _, half, ok := strings.Cut(s, ":"); ok && len(half) >= 8 {
			add(half)
		}
	}
	pairs := make([]string, 0, 2*len(olds))
	for _, o := range olds {
		pairs = append(pairs, o, "[REDACTED]")
	}
	r := strings.NewReplacer(pairs...)
	return func(s string) string {
		if len(olds) == 0 {
			return s
		}
		return r.Replace(s)
	}
}

// redactHandler wraps a slog.Handler and redacts secrets from the message
// and every attribute.
type redactHandler struct {
	h      slog.Handler
	redact func(string) string
}

func (r *redactHandler) Enabled(ctx context.Context, l slog.Level) bool { return r.h.Enabled(ctx, l) }

func (r *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, r.redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(r.attr(a))
		return true
	})
	return r.h.Handle(ctx, out)
}

func (r *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = r.attr(a)
	}
	return &redactHandler{h: r.h.WithAttrs(red), redact: r.redact}
}

func (r *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{h: r.h.WithGroup(name), redact: r.redact}
}

func (r *redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, x := range g {
			red[i] = r.attr(x)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, r.redact(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, r.redact(x.String()))
		default:
			return slog.String(a.Key, r.redact(fmt.Sprint(x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// libLogger is tgbotapi's logger: it sends the library's lines, redacted
// by the handler, to slog.
type libLogger struct{ log *slog.Logger }

func (l libLogger) Println(v ...any) {
	l.log.Warn(strings.TrimSpace(fmt.Sprintln(v...)), "source", "tgbotapi")
}

func (l libLogger) Printf(format string, v ...any) {
	l.log.Warn(strings.TrimSpace(fmt.Sprintf(format, v...)), "source", "tgbotapi")
}

// backoff yields growing delays with jitter: min, 2·min, ... up to max.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	// ±20 % jitter so that restarted instances do not poll in step.
	j := time.Duration(float64(b.cur) * (0.8 + 0.4*rand.Float64()))
	return max(j, time.Millisecond)
}

func (b *backoff) reset() { b.cur = 0 }
