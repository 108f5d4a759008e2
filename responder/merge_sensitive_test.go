package responder_test

import (
	"context"
	"strings"
	"testing"

	"citybot"
)

// A case merged into a sensitive one (or a sensitive case merged into
// another) never tells its citizen, its group or the officers who read
// its conversation the sensitive case's reference.
func TestMergeIntoSensitiveKeepsReference(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		dupText   string
		intoText  string
		sensitive string // which case is sensitive: "into" or "dup"
		dupChat   string
		intoChat  string
		dupUser   string
		intoUser  string
	}{
		{"plain into sensitive", "The permit office is closed again", "An officer asked me for a bribe at the permit desk", "into", "grpA", "grpB", "u-1001", "u-1002"},
		{"sensitive into plain", "An officer asked me for a bribe at the permit desk", "The permit office is closed again", "dup", "grpC", "grpD", "u-1003", "u-1004"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &logBuf{}
			rg, o := privateRig(t, logs, nil)
			rg.handle(groupMsg(tc.dupUser, tc.dupChat, 1, tc.dupText))
			rg.handle(groupMsg(tc.intoUser, tc.intoChat, 1, tc.intoText))
			rg.drain()
			dup, into := caseIn(t, rg, tc.dupChat), caseIn(t, rg, tc.intoChat)
			if (tc.sensitive == "into") != into.Sensitive || (tc.sensitive == "dup") != dup.Sensitive {
				t.Fatalf("sensitive flags: dup %v, into %v", dup.Sensitive, into.Sensitive)
			}
			if err := o.Merge(ctx, dup.ID, into.ID, "olivia"); err != nil {
				t.Fatal(err)
			}
			rg.drain()
			heard := texts(rg.bot.sentTo(citybot.ChatID(tc.dupChat))) + texts(rg.bot.sentTo(citybot.ChatID("dm-"+tc.dupUser)))
			if !strings.Contains(heard, string(dup.Ref)) {
				t.Fatalf("the duplicate's citizen was not told about the merge:\n%s", heard)
			}
			if strings.Contains(heard, string(into.Ref)) {
				t.Errorf("the duplicate's citizen or group learnt the sensitive case's reference %s:\n%s", into.Ref, heard)
			}
			conv, err := rg.db.Conversation(ctx, dup.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range conv {
				if strings.Contains(e.Text, string(into.Ref)) {
					t.Errorf("the duplicate's conversation names %s: %q", into.Ref, e.Text)
				}
			}
		})
	}
}
