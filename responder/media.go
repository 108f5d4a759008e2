package responder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // DecodeConfig checks every kept image
	_ "image/jpeg"
	_ "image/png"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	_ "golang.org/x/image/webp"

	"citybot"
	"citybot/bots"
)

// MediaStore keeps citizens' photos and voice notes (store.DB).
type MediaStore interface {
	PendingMedia(ctx context.Context, since time.Time, kinds []citybot.AttachmentKind, limit int) ([]citybot.MediaJob, error)
	KeepMedia(ctx context.Context, id int64, mime string, data []byte) error
	RefuseMedia(ctx context.Context, id int64, reason string) error
	RetryMedia(ctx context.Context, id int64, reason string, next time.Time) error
}

// MediaOptions configure a MediaKeeper. Store and Bots are required.
type MediaOptions struct {
	Store MediaStore
	// Bots are the platforms' adapters; those with the
	// bots.FileFetcher capability fetch their citizens' files.
	Bots   []bots.Bot
	Logger *slog.Logger
	Now    func() time.Time
	// MaxPhoto and MaxSound bound the files kept; 0 means 10 MB and
	// 20 MB (Telegram's bots download at most 20 MB).
	MaxPhoto, MaxSound int64
	// Every is how often it looks for new files; 0 means 5 seconds.
	Every time.Duration
	// Since: files of messages older than this are not fetched (the
	// platforms' links expire); 0 means 7 days.
	Since time.Duration
	// Tries of a file that fails for a passing reason, spaced 1, 2, 4…
	// minutes; 0 means 5.
	Tries int
}

// MediaKeeper fetches the photos and voice notes citizens send, through
// their platform's adapter, within size and type limits, removes location
// and other metadata from photos, and keeps them with the case for the
// console. A file too large, not a photo or a sound, or gone is refused
// with the reason in words. Run it with Run; it stops with its context.
type MediaKeeper struct {
	store    MediaStore
	fetchers map[citybot.Platform]bots.FileFetcher
	log      *slog.Logger
	now      func() time.Time
	maxPhoto int64
	maxSound int64
	every    time.Duration
	since    time.Duration
	tries    int
	mu       sync.Mutex // one round at a time
}

// NewMediaKeeper returns a MediaKeeper, or an error wrapping
// citybot.ErrInvalid without a Store.
func NewMediaKeeper(opts MediaOptions) (*MediaKeeper, error) {
	if opts.Store == nil {
		return nil, fmt.Errorf("responder: media: %w: Store is required", citybot.ErrInvalid)
	}
	k := &MediaKeeper{store: opts.Store, fetchers: map[citybot.Platform]bots.FileFetcher{}, log: opts.Logger, now: opts.Now,
		maxPhoto: opts.MaxPhoto, maxSound: opts.MaxSound, every: opts.Every, since: opts.Since, tries: opts.Tries}
	for _, b := range opts.Bots {
		if f, ok := b.(bots.FileFetcher); ok {
			k.fetchers[b.Platform()] = f
		}
	}
	if k.log == nil {
		k.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	k.log = k.log.With("component", "media")
	if k.now == nil {
		k.now = time.Now
	}
	if k.maxPhoto <= 0 {
		k.maxPhoto = 10 << 20
	}
	if k.maxSound <= 0 {
		k.maxSound = 20 << 20
	}
	if k.every <= 0 {
		k.every = 5 * time.Second
	}
	if k.since <= 0 {
		k.since = 7 * 24 * time.Hour
	}
	if k.tries <= 0 {
		k.tries = 5
	}
	return k, nil
}

// Run fetches and keeps files until ctx is done; a failed round is
// logged and tried again at the next tick. A file in hand when ctx ends
// is left for the next start.
func (k *MediaKeeper) Run(ctx context.Context) {
	t := time.NewTicker(k.every)
	defer t.Stop()
	for {
		if _, err := k.RunOnce(ctx); err != nil && ctx.Err() == nil {
			k.log.Error("media round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// mediaKinds are the attachments whose files are kept.
func mediaKinds() []citybot.AttachmentKind {
	return []citybot.AttachmentKind{citybot.AttachPhoto, citybot.AttachVoice, citybot.AttachAudio}
}

// RunOnce handles the files waiting now (at most 20) and returns how many
// it kept. It returns the store's errors; a platform's refusal or failure
// is recorded, not returned.
func (k *MediaKeeper) RunOnce(ctx context.Context) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	jobs, err := k.store.PendingMedia(ctx, k.now().Add(-k.since), mediaKinds(), 20)
	if err != nil {
		return 0, fmt.Errorf("responder: media: %w", err)
	}
	kept := 0
	for _, j := range jobs {
		ok, err := k.one(ctx, j)
		if err != nil {
			if errors.Is(err, citybot.ErrNotFound) {
				continue // erased meanwhile
			}
			return kept, fmt.Errorf("responder: media: %w", err)
		}
		if ok {
			kept++
		}
	}
	return kept, nil
}

// one fetches, checks and keeps one file; it reports whether it was kept.
func (k *MediaKeeper) one(ctx context.Context, j citybot.MediaJob) (bool, error) {
	a := j.Attachment
	f := k.fetchers[j.Platform]
	if f == nil {
		return false, k.store.RefuseMedia(ctx, a.ID, citybot.MediaReason(citybot.MediaNoFetcher, string(j.Platform)))
	}
	photo := a.Kind == citybot.AttachPhoto
	limit := k.maxSound
	if photo {
		limit = k.maxPhoto
	}
	fctx, cancel := context.WithTimeout(ctx, time.Minute)
	data, err := f.FetchFile(fctx, a, limit)
	cancel()
	switch {
	case ctx.Err() != nil:
		return false, ctx.Err()
	case errors.Is(err, citybot.ErrTooLarge):
		return false, k.store.RefuseMedia(ctx, a.ID, citybot.MediaReason(citybot.MediaTooLarge, strconv.FormatInt(limit, 10)))
	case errors.Is(err, citybot.ErrPermanent) || errors.Is(err, citybot.ErrInvalid):
		k.log.Info("file refused by the platform", "attachment", a.ID, "platform", string(j.Platform), "err", err)
		return false, k.store.RefuseMedia(ctx, a.ID, citybot.MediaReason(citybot.MediaGone, string(j.Platform)))
	case err != nil:
		if j.Tries+1 >= k.tries {
			k.log.Warn("file given up", "attachment", a.ID, "platform", string(j.Platform), "tries", j.Tries+1, "err", err)
			return false, k.store.RefuseMedia(ctx, a.ID, citybot.MediaReason(citybot.MediaGaveUp, strconv.Itoa(j.Tries+1)))
		}
		k.log.Info("file fetch failed; tried again later", "attachment", a.ID, "platform", string(j.Platform), "err", err)
		return false, k.store.RetryMedia(ctx, a.ID, citybot.MediaRetrying, k.now().Add(time.Minute<<j.Tries))
	}
	mime, clean, reason := keepable(photo, data)
	if reason != "" {
		return false, k.store.RefuseMedia(ctx, a.ID, reason)
	}
	if err := k.store.KeepMedia(ctx, a.ID, mime, clean); err != nil {
		return false, err
	}
	return true, nil
}

// keepable checks a fetched file by its content (never the platform's
// word for it) and returns the type to serve it as and the bytes to keep:
// a photo must be a JPEG, PNG, WebP or GIF that decodes, its location and
// other metadata removed; a voice note or sound an Ogg, MP3, WAV, MP4 or
// WebM audio file. reason says why a file is not kept (a
// citybot.MediaReason).
func keepable(photo bool, data []byte) (mime string, clean []byte, reason string) {
	sniffed := http.DetectContentType(data)
	if photo {
		var err error
		switch sniffed {
		case "image/jpeg":
			clean, err = stripJPEG(data)
		case "image/png":
			clean, err = stripPNG(data)
		case "image/webp":
			clean, err = stripWebP(data)
		case "image/gif":
			clean = data // GIF carries no location
		default:
			return "", nil, citybot.MediaReason(citybot.MediaNotPhoto, sniffed)
		}
		if err == nil {
			_, _, err = image.DecodeConfig(bytes.NewReader(clean))
		}
		if err != nil {
			return "", nil, citybot.MediaDamaged
		}
		return sniffed, clean, ""
	}
	sound := map[string]string{"application/ogg": "audio/ogg", "audio/ogg": "audio/ogg", "audio/mpeg": "audio/mpeg",
		"audio/wave": "audio/wav", "video/mp4": "audio/mp4", "audio/mp4": "audio/mp4", "video/webm": "audio/webm", "audio/webm": "audio/webm"}
	if m, ok := sound[sniffed]; ok {
		return m, data, ""
	}
	return "", nil, citybot.MediaReason(citybot.MediaNotSound, sniffed)
}
