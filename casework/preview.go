package casework

import (
	"fmt"
	"strings"

	"citybot"
)

// answerItems are the outbox rows of an officer's answer (text already
// cleaned) to every citizen following case v: Answer queues them, Preview
// shows them.
func (o *Officer) answerItems(v citybot.CaseView, text, nonce string) []citybot.OutboxItem {
	var items []citybot.OutboxItem
	for _, f := range followers(v) {
		t, _ := o.textsFor(o.lang(v.Languages[f.Citizen], f.Language))
		msg := fill(t.Answer, "ref", string(f.Ref), "text", text)
		items = append(items, o.item(v, f, fmt.Sprintf("officer:answer:%d:%s:%d", v.Case.ID, nonce, f.ID), msg,
			fill(t.RepliedPrivately, "ref", string(f.Ref)))...)
	}
	return items
}

// Preview returns exactly what each citizen following case v would
// receive if an officer answered text now: the messages built as Answer
// builds them (prefix and reference in the citizen's language, split to
// the platform's limit) and cleaned as the outbox cleans every message to
// a citizen. It queues nothing; an empty text previews nothing.
func (o *Officer) Preview(v citybot.CaseView, text string) []citybot.AnswerPreview {
	text, _ = citybot.CleanText(strings.TrimSpace(text), 0)
	if text == "" {
		return nil
	}
	var out []citybot.AnswerPreview
	at := map[citybot.CaseID]int{}
	for _, it := range o.answerItems(v, text, "preview") {
		i, ok := at[it.Case]
		if !ok {
			f := v.Case
			for _, m := range v.Merged {
				if m.ID == it.Case {
					f = m
				}
			}
			lang := o.lang(v.Languages[f.Citizen], f.Language)
			out = append(out, citybot.AnswerPreview{Ref: f.Ref, Platform: f.Platform, Language: lang})
			i = len(out) - 1
			at[it.Case] = i
		}
		sent, _ := citybot.CleanText(citybot.VisibleText(it.Out.Text), citybot.MaxStoredText)
		switch {
		case strings.HasSuffix(it.Out.Key, ":group"):
			out[i].GroupLine = sent
		default:
			out[i].Private = out[i].Private || it.Private
			out[i].Parts = append(out[i].Parts, sent)
		}
	}
	return out
}
