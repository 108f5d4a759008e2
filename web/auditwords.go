package web

import (
	"encoding/json"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"

	"citybot"
)

// auditVerbs say each audited action in words, as "who did what".
func auditVerbs() map[string]string {
	return map[string]string{
		"case.answer":             "answered the citizen",
		"case.assign":             "changed who has the case",
		"case.correct":            "corrected the topic or urgency",
		"case.escalate":           "raised the urgency (a new message)",
		"case.expected_by":        "changed the date promised to the citizen",
		"case.followup":           "answered “is it fixed?”",
		"case.merge":              "merged cases",
		"case.group_join":         "joined another citizen's report of the same problem to the case",
		"case.suggestion_dismiss": "found that a case suggested as alike is not the same problem",
		"case.note":               "added an internal note",
		"case.sensitive":          "changed the sensitive flag",
		"case.status":             "changed the status",
		"case.statement":          "sent a holding statement",
		"statement.edit":          "edited a holding statement",
		"statement.approve":       "approved a holding statement",
		"surge.alert":             "warned the officers of a surge of reports",
		"case.tag":                "labelled the case",
		"citizen.export":          "downloaded a citizen's data",
		"citizen.forget":          "erased a citizen's data",
		"account.create":          "created an account",
		"account.disable":         "disabled an account",
		"account.enable":          "enabled an account",
		"account.lock":            "locked an account",
		"account.login":           "signed in",
		"account.logout":          "signed out",
		"account.password":        "changed a password",
		"account.revoke":          "signed an account out everywhere",
		"account.role":            "changed an account's role",
		"account.unlock":          "unlocked an account",
		"canned.set":              "saved a canned answer",
		"digest.approve":          "approved a weekly digest",
		"digest.request_changes":  "sent a weekly digest back",
		"digest.comment":          "commented on a weekly digest",
		"digest.draft":            "drafted a weekly digest",
		"digest.replace":          "replaced a weekly digest draft",
		"model.train":             "trained a new classifier model",
		"model.switch":            "switched to the new classifier model",
		"model.rollback":          "rolled the classifier model back",
		"outbox.delivery_unknown": "could not tell whether a message reached the citizen (a crash stopped the send; it was not sent again)",
		"retention.apply":         "removed old citizen data (retention)",
		"digest.approved_by":      "changed who approves digests",
		"digest.officers":         "changed the officers' chat",
		"digest.officials":        "changed the officials' chat",
		"digest.thanks":           "counted thanks in the digest",
		"digest.timezone":         "changed the digest's time zone",
		"digest.title":            "changed the digest's title",
		"digest.work_start":       "changed the working hours",
	}
}

// auditActor names who acted, in words.
func auditActor(a string) string {
	switch a {
	case "citybot":
		return "citybot"
	case "dispatcher":
		return "citybot (delivery)"
	case "scheduler":
		return "citybot (scheduled job)"
	case "grouping":
		return "citybot (grouping)"
	case "citizen":
		return "The citizen"
	case "":
		return "Someone"
	}
	return a
}

// auditValue says one recorded value in words.
func auditValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "none"
	case string:
		if x == "" {
			return "none"
		}
		return strings.ReplaceAll(x, "_", " ")
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case float64:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", x), "0"), ".")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = auditValue(e)
		}
		if len(parts) == 0 {
			return "none"
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		return auditChanges(nil, x)
	}
	return fmt.Sprint(v)
}

// auditFields are the recorded fields said in words; others keep their
// name.
func auditFields() map[string]string {
	return map[string]string{"assignee": "assigned to", "status": "status", "topic": "topic", "urgency": "urgency",
		"expected_by": "promised date", "sensitive": "sensitive", "reason": "reason", "via": "through", "text": "text",
		"note": "note number", "keys": "messages queued", "into": "into case", "answer": "answer", "role": "role", "name": "name"}
}

// auditChanges says what changed between two recorded states: "status:
// answered → resolved; reason: fixed".
func auditChanges(before, after map[string]any) string {
	keys := make([]string, 0, len(before)+len(after))
	for k := range after {
		keys = append(keys, k)
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	names := auditFields()
	var parts []string
	for _, k := range keys {
		if k == "keys" || k == "nonce" {
			continue // outbox keys: nothing a person reads
		}
		name := names[k]
		if name == "" {
			name = strings.ReplaceAll(k, "_", " ")
		}
		b, hadBefore := before[k]
		a, hasAfter := after[k]
		switch {
		case hadBefore && hasAfter && auditValue(b) != auditValue(a):
			parts = append(parts, name+": "+auditValue(b)+" → "+auditValue(a))
		case hasAfter && (!hadBefore || auditValue(b) == auditValue(a)):
			parts = append(parts, name+": "+auditValue(a))
		case hadBefore:
			parts = append(parts, name+" was "+auditValue(b))
		}
	}
	return strings.Join(parts, "; ")
}

// auditWords says an audit entry in one sentence: "olivia changed the
// status (status: answered → resolved)." Recorded values that are not
// JSON objects are shown as they are.
func auditWords(e citybot.AuditEntry) string {
	verb := auditVerbs()[e.Action]
	if verb == "" {
		verb = "did " + strings.NewReplacer(".", ": ", "_", " ").Replace(e.Action)
	}
	s := auditActor(e.Actor) + " " + verb
	var before, after map[string]any
	bOK := e.Before == "" || e.Before == "null" || json.Unmarshal([]byte(e.Before), &before) == nil
	aOK := e.After == "" || e.After == "null" || json.Unmarshal([]byte(e.After), &after) == nil
	var detail string
	if bOK && aOK {
		detail = auditChanges(before, after)
	} else {
		detail = strings.TrimSpace(e.Before + " → " + e.After)
	}
	if detail != "" {
		s += " (" + detail + ")"
	}
	return s + "."
}

// subjectLink says what an audit entry is about: a case is linked
// ("case 42" to its page); others are said in words.
func subjectLink(subject string) template.HTML {
	kind, id, ok := strings.Cut(subject, ":")
	if !ok {
		return template.HTML(template.HTMLEscapeString(subject))
	}
	if kind == "case" {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > 0 {
			return template.HTML(`<a href="/cases/` + strconv.FormatInt(n, 10) + `">case ` + strconv.FormatInt(n, 10) + `</a>`)
		}
	}
	return template.HTML(template.HTMLEscapeString(strings.ReplaceAll(kind, "_", " ") + " " + id))
}
