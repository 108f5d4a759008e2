package dcemu

import (
	"bytes"
	"context"
	"image"
	_ "image/jpeg" // uploads may be JPEG
	_ "image/png"  // the digest's chart is PNG
	"io"
	"mime"
	"net/http"
	"strings"
)

// uploadsKey carries a message's uploaded files in its request context.
type uploadsKey struct{}

// maxUpload bounds one multipart message: Discord's smallest upload limit.
const maxUpload = 8 << 20

// uploads accepts a message posted as multipart/form-data (payload_json
// and files[n]), as discordgo's ChannelMessageSendComplex sends
// attachments: image files must decode (PNG or JPEG), the payload becomes
// the request body for next, and the files travel in the request's
// context (see uploaded). Other requests pass through unchanged.
func (s *Server) uploads(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct != "multipart/form-data" {
			next(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxUpload+1<<20)
		if err := r.ParseMultipartForm(maxUpload); err != nil {
			writeError(w, http.StatusRequestEntityTooLarge, 40005, "Request entity too large")
			return
		}
		var files []Attachment
		for field, hs := range r.MultipartForm.File {
			if !strings.HasPrefix(field, "files[") || len(hs) == 0 {
				continue
			}
			f, err := hs[0].Open()
			if err != nil {
				writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: files")
				return
			}
			b, err := io.ReadAll(io.LimitReader(f, maxUpload+1))
			f.Close()
			if err != nil || len(b) > maxUpload {
				writeError(w, http.StatusRequestEntityTooLarge, 40005, "Request entity too large")
				return
			}
			typ := hs[0].Header.Get("Content-Type")
			if strings.HasPrefix(typ, "image/") {
				if _, _, err := image.DecodeConfig(bytes.NewReader(b)); err != nil {
					writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: files: invalid image")
					return
				}
			}
			files = append(files, Attachment{Filename: hs[0].Filename, ContentType: typ, Size: len(b), Data: b})
		}
		payload := r.FormValue("payload_json")
		if payload == "" {
			payload = "{}"
		}
		r2 := r.WithContext(context.WithValue(r.Context(), uploadsKey{}, files))
		r2.Body = io.NopCloser(strings.NewReader(payload))
		r2.Header = r.Header.Clone()
		r2.Header.Set("Content-Type", "application/json")
		next(w, r2)
	}
}

// uploaded returns the files a multipart message carried, or nil.
func uploaded(r *http.Request) []Attachment {
	files, _ := r.Context().Value(uploadsKey{}).([]Attachment)
	return files
}
