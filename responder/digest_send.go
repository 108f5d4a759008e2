package responder

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"citybot"
	"citybot/bots"
)

// ChartSource finds the chart of an approved digest.
type ChartSource interface {
	ApprovedDigest(ctx context.Context, week citybot.Week) (citybot.Digest, error)
}

// ChartBot wraps a bot so that the outbox rows posting a digest's chart
// (keys "digest:WEEK:…:chart") are sent as an image through
// bots.PhotoSender, with the row's text as caption. A bot without the
// capability sends the caption alone, with a link to the chart on the
// public page when publicURL is set. Every other row goes to b.Send. Give
// the Dispatcher the wrapped bots.
func ChartBot(b bots.Bot, charts ChartSource, publicURL string) bots.Bot {
	return chartBot{Bot: b, charts: charts, url: strings.TrimRight(publicURL, "/")}
}

type chartBot struct {
	bots.Bot
	charts ChartSource
	url    string
}

func (c chartBot) Send(ctx context.Context, out citybot.Outgoing) (citybot.Sent, error) {
	week, ok := chartWeek(out.Key)
	if !ok {
		return c.Bot.Send(ctx, out)
	}
	dg, err := c.charts.ApprovedDigest(ctx, week)
	if err != nil {
		if errors.Is(err, citybot.ErrNotFound) {
			return citybot.Sent{}, fmt.Errorf("responder: chart of %s: %w: no approved digest", week, citybot.ErrPermanent)
		}
		return citybot.Sent{}, fmt.Errorf("responder: chart of %s: %w", week, err)
	}
	if ps, ok := c.Bot.(bots.PhotoSender); ok && len(dg.Chart) > 0 {
		sent, err := ps.SendPhoto(ctx, out, "digest-"+string(week)+".png", dg.Chart)
		if !errors.Is(err, citybot.ErrNotSupported) {
			return sent, err
		}
	}
	if c.url != "" {
		out.Text += "\n" + c.url + "/public/digests/" + string(week) + "/chart.png"
	}
	return c.Bot.Send(ctx, out)
}

// SendDocument implements bots.DocumentSender for the wrapped bot. It
// returns an error wrapping citybot.ErrNotSupported when the wrapped bot
// cannot send files.
func (c chartBot) SendDocument(ctx context.Context, out citybot.Outgoing, f citybot.File) (citybot.Sent, error) {
	ds, ok := c.Bot.(bots.DocumentSender)
	if !ok {
		return citybot.Sent{}, fmt.Errorf("responder: send document: %w", citybot.ErrNotSupported)
	}
	return ds.SendDocument(ctx, out, f)
}

// chartWeek reports whether key posts a digest's chart, and its week.
func chartWeek(key string) (citybot.Week, bool) {
	rest, ok := strings.CutPrefix(key, "digest:")
	if !ok || !strings.HasSuffix(key, ChartKeySuffix) {
		return "", false
	}
	week, _, ok := strings.Cut(rest, ":")
	return citybot.Week(week), ok && week != ""
}
