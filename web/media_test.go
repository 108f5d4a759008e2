package web

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"citybot"
	"citybot/bots"
	"citybot/bots/telegram/tgemu"
	"citybot/responder"
)

// photoWithGPS is a small JPEG whose Exif segment holds a GPS position.
func photoWithGPS(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for x := 0; x < 40; x++ {
		img.Set(x, 15, color.RGBA{200, 20, 20, 255})
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	exif := []byte("Exif\x00\x00GPSLatitude 48.8566 GPSLongitude 2.3522")
	seg := binary.BigEndian.AppendUint16([]byte{0xFF, 0xE1}, uint16(len(exif)+2))
	out := append(append(append([]byte{}, b[:2]...), seg...), exif...)
	return append(out, b[2:]...)
}

// voiceWAV is a quarter second of a 440 Hz tone, as a WAV file.
func voiceWAV() []byte {
	const rate, n = 8000, 2000
	data := make([]byte, n)
	for i := range data {
		if (i*440*2/rate)%2 == 0 {
			data[i] = 160
		} else {
			data[i] = 96
		}
	}
	h := []byte("RIFF")
	h = binary.LittleEndian.AppendUint32(h, uint32(36+len(data)))
	h = append(h, "WAVEfmt "...)
	h = binary.LittleEndian.AppendUint32(h, 16)
	h = binary.LittleEndian.AppendUint16(h, 1) // PCM
	h = binary.LittleEndian.AppendUint16(h, 1) // mono
	h = binary.LittleEndian.AppendUint32(h, rate)
	h = binary.LittleEndian.AppendUint32(h, rate)
	h = binary.LittleEndian.AppendUint16(h, 1)
	h = binary.LittleEndian.AppendUint16(h, 8)
	h = append(h, "data"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(len(data)))
	return append(h, data...)
}

// TestCaseMediaEndToEnd: a citizen sends a photo (with a GPS position in
// it) and a voice note on the Telegram emulator; the media keeper fetches
// both through the real adapter; the case page shows the photo and a
// player for the voice note, served without the position, to those who
// may see the case only; in Chromium the photo is displayed and the voice
// note plays, and axe finds no violation at 1280 and 390 px.
func TestCaseMediaEndToEnd(t *testing.T) {
	e := newE2E(t)
	rg := e.rig
	olivia := rg.signIn(rg.account("olivia", citybot.RoleOfficer, "correct horse battery"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	photo, voice := photoWithGPS(t), voiceWAV()
	ana := tgemu.User{ID: 301, FirstName: "Ana", LanguageCode: "en"}
	for _, in := range []tgemu.Incoming{
		{From: ana, Text: "Huge pothole on Main Street", Media: tgemu.MediaPhoto, MediaData: photo},
		{From: ana, Media: tgemu.MediaVoice, MediaData: voice},
	} {
		if _, err := e.emu.Post(in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.emu.WaitSent(ctx, func(m tgemu.SentMessage) bool { return m.Chat == ana.ID }); err != nil {
		t.Fatal(err)
	}
	keeper, err := responder.NewMediaKeeper(responder.MediaOptions{Store: rg.db, Bots: []bots.Bot{e.bot}})
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	for deadline := time.Now().Add(20 * time.Second); kept < 2 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		n, err := keeper.RunOnce(ctx) // the voice note may still be on its way in
		if err != nil {
			t.Fatal(err)
		}
		kept += n
	}
	if kept != 2 {
		t.Fatalf("kept %d files, want the photo and the voice note", kept)
	}
	items, _, err := rg.db.InboxPage(ctx, citybot.InboxQuery{})
	if err != nil || len(items) != 1 {
		t.Fatalf("inbox: %d, %v", len(items), err)
	}
	c := items[0].Case
	_, page := rg.do(olivia, http.MethodGet, casePath(c, ""), nil)
	img := regexp.MustCompile(`<img class="media" src="(/cases/\d+/media/\d+)"`).FindStringSubmatch(page)
	audio := regexp.MustCompile(`<audio class="media" controls preload="metadata" src="(/cases/\d+/media/\d+)"`).FindStringSubmatch(page)
	if img == nil || audio == nil {
		t.Fatalf("the case page shows no photo or no player:\n%s", page)
	}
	get := func(path string, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, rg.ts.URL+path, nil)
		req.AddCookie(olivia.cookie)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body := get(img[1], nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("photo: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if bytes.Contains(body, []byte("GPS")) || bytes.Contains(body, []byte("Exif")) {
		t.Error("the photo is served with its GPS position")
	}
	if im, err := jpeg.Decode(bytes.NewReader(body)); err != nil || im.Bounds().Dx() != 40 {
		t.Errorf("the served photo does not decode: %v", err)
	}
	resp, body = get(audio[1], map[string]string{"Range": "bytes=0-43"})
	if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Type") != "audio/wav" || !bytes.Equal(body, voice[:44]) {
		t.Errorf("voice note range: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	// Another case's path, an unknown file, and a signed-out visitor get
	// nothing.
	other := rg.report("9", "a broken bench", "parks", "en", citybot.UrgencyLow)
	if resp, _ := get(strings.Replace(img[1], fmt.Sprintf("/cases/%d/", c.ID), fmt.Sprintf("/cases/%d/", other.ID), 1), nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the photo through another case: %d", resp.StatusCode)
	}
	if resp, _ := get(casePath(c, "/media/999999"), nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown file: %d", resp.StatusCode)
	}
	if resp, _ := rg.do(nil, http.MethodGet, img[1], nil); resp.StatusCode == http.StatusOK {
		t.Error("a signed-out visitor got the photo")
	}

	// In Chromium: the photo is displayed, the voice note plays.
	chromium, axePath := browserDeps(t)
	axeSrc, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	base := strings.Replace(rg.ts.URL, "localhost", "127.0.0.1", 1)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
			chromedp.Flag("headless", "new"), chromedp.Flag("autoplay-policy", "no-user-gesture-required"))...)
	defer cancelAlloc()
	bctx, bcancel := chromedp.NewContext(allocCtx)
	defer bcancel()
	bctx, bcancelT := context.WithTimeout(bctx, 120*time.Second)
	defer bcancelT()
	err = chromedp.Do(bctx, chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "olivia"), chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery\r"),
		chromedp.WaitVisible(chromedp.CSS(`table.inbox`)), chromedp.Navigate(base+casePath(c, "")), chromedp.WaitVisible(chromedp.CSS(`#h-conv`)))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, bctx, "the photo displayed", `document.querySelector("img.media").complete && document.querySelector("img.media").naturalWidth === 40`)
	// It plays to its end (a deadline, not a timing: a loaded machine
	// only makes it slower).
	played, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(async () => { const a = document.querySelector("audio.media");
		const ended = new Promise(r => a.addEventListener("ended", () => r(true), {once: true}));
		await a.play();
		return await Promise.race([ended, new Promise(r => setTimeout(() => r(false), 60000))]); })()`, chromedp.EvalAwaitPromise))
	if err != nil || !played {
		t.Errorf("the voice note did not play to its end: %v, %v", played, err)
	}
	for _, width := range []int64{1280, 390} {
		if err := chromedp.Do(bctx, chromedp.EmulateViewport(width, 900)); err != nil {
			t.Fatal(err)
		}
		axeStrict(t, bctx, string(axeSrc), fmt.Sprintf("case with media at %d px", width))
	}
}
