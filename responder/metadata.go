package responder

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// errBadImage is a file that does not hold together as the image it says
// it is.
var errBadImage = errors.New("not a well-formed image")

// stripJPEG returns the JPEG b without its metadata segments: APP1 to
// APP13 and APP15 (Exif with its GPS position, XMP, IPTC…) and comments.
// APP0 (JFIF) and APP14 (Adobe colour transform) stay; everything from
// the first scan on is copied as it is.
func stripJPEG(b []byte) ([]byte, error) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return nil, errBadImage
	}
	out := make([]byte, 0, len(b))
	out = append(out, 0xFF, 0xD8)
	i := 2
	for i < len(b) {
		if b[i] != 0xFF {
			return nil, errBadImage
		}
		for i < len(b) && b[i] == 0xFF {
			i++ // fill bytes
		}
		if i >= len(b) {
			return nil, errBadImage
		}
		marker := b[i]
		i++
		switch {
		case marker == 0xD9: // end of image
			return append(out, 0xFF, 0xD9), nil
		case marker == 0xDA: // start of scan: the rest is image data
			out = append(out, 0xFF, 0xDA)
			return append(out, b[i:]...), nil
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD7: // no length
			out = append(out, 0xFF, marker)
			continue
		}
		if i+2 > len(b) {
			return nil, errBadImage
		}
		n := int(binary.BigEndian.Uint16(b[i:]))
		if n < 2 || i+n > len(b) {
			return nil, errBadImage
		}
		if drop := marker >= 0xE1 && marker <= 0xED || marker == 0xEF || marker == 0xFE; !drop {
			out = append(out, 0xFF, marker)
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return nil, errBadImage
}

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// stripPNG returns the PNG b without its eXIf and text chunks (tEXt,
// zTXt, iTXt, where XMP and other metadata live).
func stripPNG(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, pngSignature) {
		return nil, errBadImage
	}
	out := append(make([]byte, 0, len(b)), pngSignature...)
	for i := len(pngSignature); i+12 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[i:]))
		if n < 0 || n > len(b)-i-12 {
			return nil, errBadImage
		}
		typ := string(b[i+4 : i+8])
		end := i + 12 + n
		switch typ {
		case "eXIf", "tEXt", "zTXt", "iTXt":
		default:
			out = append(out, b[i:end]...)
		}
		if typ == "IEND" {
			return out, nil
		}
		i = end
	}
	return nil, errBadImage
}

// stripWebP returns the WebP b without its EXIF and XMP chunks (and their
// flags in VP8X).
func stripWebP(b []byte) ([]byte, error) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return nil, errBadImage
	}
	out := append(make([]byte, 0, len(b)), b[:12]...)
	for i := 12; i < len(b); {
		if i+8 > len(b) {
			return nil, errBadImage
		}
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		end := i + 8 + n + n%2
		if n < 0 || end > len(b) {
			return nil, errBadImage
		}
		switch string(b[i : i+4]) {
		case "EXIF", "XMP ":
		case "VP8X":
			chunk := append([]byte(nil), b[i:end]...)
			if n > 0 {
				chunk[8] &^= 0x08 | 0x04 // EXIF and XMP present
			}
			out = append(out, chunk...)
		default:
			out = append(out, b[i:end]...)
		}
		i = end
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out, nil
}
