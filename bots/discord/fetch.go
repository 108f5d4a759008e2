package discord

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"citybot"
	"citybot/bots"
)

var _ bots.FileFetcher = (*Bot)(nil)

// cdnHosts serve the files citizens attach on Discord.
var cdnHosts = map[string]bool{"cdn.discordapp.com": true, "media.discordapp.net": true}

// FetchFile downloads the file of attachment a (its FileID is the
// attachment's URL), at most max bytes, without the bot token. Only
// Discord's CDN is fetched from (over https), or the emulator's host when
// Options.APIBase points at one: any other URL is refused, so that a
// crafted attachment cannot make citybot fetch an address of the
// city's network. A file larger than max, a foreign URL and a 4xx wrap
// citybot.ErrPermanent.
func (b *Bot) FetchFile(ctx context.Context, a citybot.Attachment, max int64) ([]byte, error) {
	if a.Size > max {
		return nil, fmt.Errorf("discord: fetch file: %w: %w: %d bytes, over the limit of %d", citybot.ErrPermanent, citybot.ErrTooLarge, a.Size, max)
	}
	u, err := url.Parse(a.FileID)
	if err != nil || !b.fetchable(u) {
		return nil, fmt.Errorf("discord: fetch file: %w: not a Discord attachment URL", citybot.ErrPermanent)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("discord: fetch file: %w: %v", citybot.ErrPermanent, err)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("discord: fetch file: %s", b.redactor.Replace(err.Error()))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
		return nil, fmt.Errorf("discord: fetch file: %w: the CDN answered %d", citybot.ErrPermanent, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("discord: fetch file: the CDN answered %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("discord: fetch file: %s", b.redactor.Replace(err.Error()))
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("discord: fetch file: %w: %w: over the limit of %d bytes", citybot.ErrPermanent, citybot.ErrTooLarge, max)
	}
	return data, nil
}

// fetchable reports whether u is an attachment URL FetchFile may get.
func (b *Bot) fetchable(u *url.URL) bool {
	if u.User != nil {
		return false
	}
	if u.Scheme == "https" && cdnHosts[u.Hostname()] && u.Port() == "" {
		return true
	}
	if b.opts.APIBase == DefaultAPIBase {
		return false
	}
	base, err := url.Parse(b.opts.APIBase)
	return err == nil && base.Scheme == u.Scheme && base.Host == u.Host
}
