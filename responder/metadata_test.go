package responder

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// TestStripWebP: EXIF and XMP chunks go, their VP8X flags are cleared,
// the RIFF size is right, the image chunk stays.
func TestStripWebP(t *testing.T) {
	chunk := func(fourcc string, data []byte) []byte {
		c := append([]byte(fourcc), 0, 0, 0, 0)
		binary.LittleEndian.PutUint32(c[4:], uint32(len(data)))
		c = append(c, data...)
		if len(data)%2 == 1 {
			c = append(c, 0)
		}
		return c
	}
	vp8x := make([]byte, 10)
	vp8x[0] = 0x08 | 0x04 | 0x10 // EXIF, XMP and alpha
	body := append([]byte("WEBP"), chunk("VP8X", vp8x)...)
	body = append(body, chunk("VP8L", []byte("image data!"))...)
	body = append(body, chunk("EXIF", []byte("GPSLatitude 48.85"))...)
	body = append(body, chunk("XMP ", []byte("<x:xmpmeta>GPS</x:xmpmeta>"))...)
	in := append([]byte("RIFF\x00\x00\x00\x00"), body...)
	binary.LittleEndian.PutUint32(in[4:], uint32(len(body)))
	out, err := stripWebP(in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("GPS")) || !bytes.Contains(out, []byte("image data!")) {
		t.Errorf("stripped: %q", out)
	}
	if got := binary.LittleEndian.Uint32(out[4:]); int(got) != len(out)-8 {
		t.Errorf("RIFF size %d, file %d", got, len(out))
	}
	if flags := out[20]; flags != 0x10 {
		t.Errorf("VP8X flags %#x, want only alpha", flags)
	}
}

// TestStripMalformed: truncated or lying files are refused, never a
// panic.
func TestStripMalformed(t *testing.T) {
	for name, strip := range map[string]func([]byte) ([]byte, error){"jpeg": stripJPEG, "png": stripPNG, "webp": stripWebP} {
		for _, in := range [][]byte{nil, []byte("\xFF\xD8\xFF\xE1\xFF\xFF"), []byte("\x89PNG\r\n\x1a\n\xFF\xFF\xFF\xFFIHDR"),
			[]byte("RIFF\x10\x00\x00\x00WEBPVP8X\xFF\xFF\xFF\x7F"), []byte("\xFF\xD8\xFF"), []byte("\x89PNG\r\n\x1a\n")} {
			if out, err := strip(in); err == nil {
				t.Errorf("%s: %q accepted as %q", name, in, out)
			}
		}
	}
}
