package citybot_test

import (
	"testing"
	"unicode/utf16"

	"citybot"
)

func TestUTF16Len(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		{"empty", "", 0},
		{"ascii", "pothole", 7},
		{"accents count one each", "café déjà", 9},
		{"emoji outside the BMP count two", "🚧🚧", 4},
		{"combining mark counts on its own", "e\u0301", 2},
		{"flag is two regional indicators", "🇫🇷", 4},
		{"invalid UTF-8 byte counts one", "a\xffb", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := citybot.UTF16Len(tt.in); got != tt.want {
				t.Errorf("UTF16Len(%q) = %d, want %d", tt.in, got, tt.want)
			}
			// Cross-check against the standard library on valid text.
			if tt.name != "invalid UTF-8 byte counts one" {
				if got, std := citybot.UTF16Len(tt.in), len(utf16.Encode([]rune(tt.in))); got != std {
					t.Errorf("UTF16Len(%q) = %d, utf16.Encode gives %d", tt.in, got, std)
				}
			}
		})
	}
}
