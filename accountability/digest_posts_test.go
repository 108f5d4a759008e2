package accountability

import (
	"strings"
	"testing"

	"citybot"
)

// TestPostFailureKinds: a platform's error sorts into the kind the pages
// and the alert say in words; the platform's own words stay as the
// detail, cut at 200 characters.
func TestPostFailureKinds(t *testing.T) {
	long := strings.Repeat("é", 250)
	for _, tc := range []struct{ err, kind, detail string }{
		{"telegram: send: Bad Request: chat not found", citybot.PostFailedChat, "telegram: send: Bad Request: chat not found"},
		{"discord: send: 404 Not Found: Unknown Channel", citybot.PostFailedChat, "discord: send: 404 Not Found: Unknown Channel"},
		{"Forbidden: bot was kicked from the group chat", citybot.PostFailedRights, "Forbidden: bot was kicked from the group chat"},
		{"discord: 403 Missing Permissions", citybot.PostFailedRights, "discord: 403 Missing Permissions"},
		{"Bad Request: message is too long", citybot.PostFailedLong, "Bad Request: message is too long"},
		{"  ", citybot.PostFailedNone, ""},
		{" 502 Bad Gateway ", citybot.PostFailedOther, "502 Bad Gateway"},
		{long, citybot.PostFailedOther, strings.Repeat("é", 200) + "…"},
	} {
		if kind, detail := postFailure(tc.err); kind != tc.kind || detail != tc.detail {
			t.Errorf("postFailure(%.40q) = %q, %.40q; want %q, %.40q", tc.err, kind, detail, tc.kind, tc.detail)
		}
	}
}
