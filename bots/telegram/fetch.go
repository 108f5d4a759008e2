package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"citybot"
	"citybot/bots"
)

var _ bots.FileFetcher = (*Bot)(nil)

// FetchFile downloads the file of attachment a (getFile, then the Bot
// API's file server, at most 20 MB there), at most max bytes. A file
// larger than max (as getFile says, or as it arrives), an unknown file_id
// and a 4xx from the file server wrap citybot.ErrPermanent. The token is
// never in an error.
func (b *Bot) FetchFile(ctx context.Context, a citybot.Attachment, max int64) ([]byte, error) {
	if a.FileID == "" || max <= 0 {
		return nil, fmt.Errorf("telegram: fetch file: %w: no file id", citybot.ErrInvalid)
	}
	if a.Size > max {
		return nil, fmt.Errorf("telegram: fetch file: %w: %w: %d bytes, over the limit of %d", citybot.ErrPermanent, citybot.ErrTooLarge, a.Size, max)
	}
	f, err := b.call(ctx, b.opts.RequestTimeout).GetFile(tgbotapi.FileConfig{FileID: a.FileID})
	if err != nil {
		var te *tgbotapi.Error
		if errors.As(err, &te) && te.Code >= 400 && te.Code < 500 && te.Code != http.StatusTooManyRequests {
			return nil, fmt.Errorf("telegram: fetch file: %w: %s", citybot.ErrPermanent, b.redact(te.Message))
		}
		return nil, fmt.Errorf("telegram: fetch file: %s", b.redact(err.Error()))
	}
	if int64(f.FileSize) > max {
		return nil, fmt.Errorf("telegram: fetch file: %w: %w: %d bytes, over the limit of %d", citybot.ErrPermanent, citybot.ErrTooLarge, f.FileSize, max)
	}
	if f.FilePath == "" || strings.Contains(f.FilePath, "..") {
		return nil, fmt.Errorf("telegram: fetch file: %w: no file path", citybot.ErrPermanent)
	}
	// The file server sits beside the API: .../bot%s/%s → .../file/bot%s/%s.
	endpoint := strings.Replace(b.opts.APIEndpoint, "/bot%s/%s", "/file/bot%s/%s", 1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf(endpoint, b.opts.Token, f.FilePath), nil)
	if err != nil {
		return nil, fmt.Errorf("telegram: fetch file: %w: bad file path", citybot.ErrPermanent)
	}
	client := &ctxClient{base: b.http, ctx: ctx, timeout: b.opts.RequestTimeout, redact: b.redact}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("telegram: fetch file: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
		return nil, fmt.Errorf("telegram: fetch file: %w: the file server answered %d", citybot.ErrPermanent, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("telegram: fetch file: the file server answered %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("telegram: fetch file: %s", b.redact(err.Error()))
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("telegram: fetch file: %w: %w: over the limit of %d bytes", citybot.ErrPermanent, citybot.ErrTooLarge, max)
	}
	return data, nil
}
