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

// The audit log in words, in the console's language. Each action is a
// sentence of [console.audit_verbs] (its key is the action with "_" for
// ".": "case.status" → case_status) with {who} for the actor; the
// recorded fields are named by [console.audit_fields] and stored values
// (statuses, topics, urgencies, roles) by the console's name tables.
// The action's code and the recorded JSON stay on the audit page as
// they are, for the record.

// auditKey is an action's key in [console.audit_verbs].
func auditKey(action string) string { return strings.ReplaceAll(action, ".", "_") }

// auditActor names who acted, in words.
func (p publicTexts) auditActor(a string) string {
	switch a {
	case "citybot", "dispatcher", "scheduler", "grouping", "citizen":
		return p.t("console.audit_actor_" + a)
	case "":
		return p.t("console.audit_actor_someone")
	}
	return a
}

// auditNames are the recorded fields whose values are stored names, and
// the table that says them.
var auditNames = map[string]string{"status": "statuses", "topic": "topics", "urgency": "urgencies", "role": "roles"}

// auditValue says one recorded value of field in words.
func (p publicTexts) auditValue(field string, v any) string {
	switch x := v.(type) {
	case nil:
		return p.t("console.audit_none")
	case string:
		if x == "" {
			return p.t("console.audit_none")
		}
		if table := auditNames[field]; table != "" {
			return p.Name(table, x)
		}
		return strings.ReplaceAll(x, "_", " ")
	case bool:
		if x {
			return p.t("console.audit_yes")
		}
		return p.t("console.audit_no")
	case float64:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", x), "0"), ".")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = p.auditValue(field, e)
		}
		if len(parts) == 0 {
			return p.t("console.audit_none")
		}
		return strings.Join(parts, p.t("console.audit_list_sep"))
	case map[string]any:
		return p.auditChanges(nil, x)
	}
	return fmt.Sprint(v)
}

// auditField names a recorded field; one the language files do not name
// keeps its name, underscores as spaces.
func (p publicTexts) auditField(k string) string {
	if s := p.t("console.audit_fields." + k); s != "" {
		return s
	}
	return strings.ReplaceAll(k, "_", " ")
}

// auditChanges says what changed between two recorded states: "status:
// answered → resolved; reason: fixed".
func (p publicTexts) auditChanges(before, after map[string]any) string {
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
	var parts []string
	for _, k := range keys {
		if k == "keys" || k == "nonce" {
			continue // outbox keys: nothing a person reads
		}
		name := p.auditField(k)
		b, hadBefore := before[k]
		a, hasAfter := after[k]
		bv, av := p.auditValue(k, b), p.auditValue(k, a)
		switch {
		case hadBefore && hasAfter && bv != av:
			parts = append(parts, p.t("console.audit_changed", "field", name, "before", bv, "after", av))
		case hasAfter:
			parts = append(parts, p.t("console.audit_set", "field", name, "value", av))
		case hadBefore:
			parts = append(parts, p.t("console.audit_was", "field", name, "value", bv))
		}
	}
	return strings.Join(parts, p.t("console.audit_sep"))
}

// Audit says an audit entry in one sentence: "olivia changed the status
// (status: answered → resolved)." Recorded values that are not JSON
// objects are shown as they are.
func (p publicTexts) Audit(e citybot.AuditEntry) string {
	who := p.auditActor(e.Actor)
	s := p.t("console.audit_verbs."+auditKey(e.Action), "who", who)
	if s == "" {
		s = p.t("console.audit_other", "who", who, "action", strings.NewReplacer(".", ": ", "_", " ").Replace(e.Action))
	}
	var before, after map[string]any
	bOK := e.Before == "" || e.Before == "null" || json.Unmarshal([]byte(e.Before), &before) == nil
	aOK := e.After == "" || e.After == "null" || json.Unmarshal([]byte(e.After), &after) == nil
	var detail string
	if bOK && aOK {
		detail = p.auditChanges(before, after)
	} else {
		detail = strings.TrimSpace(e.Before + " → " + e.After)
	}
	if detail != "" {
		return p.t("console.audit_detail", "sentence", s, "detail", detail)
	}
	return p.t("console.audit_sentence", "sentence", s)
}

// Subject says what an audit entry is about: a case is linked ("case
// 42" to its page); others are said in words ("account 3").
func (p publicTexts) Subject(subject string) template.HTML {
	kind, id, ok := strings.Cut(subject, ":")
	if !ok {
		name := p.t("console.audit_subjects." + subject)
		if name == "" {
			name = strings.ReplaceAll(subject, "_", " ")
		}
		return template.HTML(template.HTMLEscapeString(name))
	}
	say := p.t("console.audit_subjects."+kind, "id", id)
	if say == "" {
		say = strings.ReplaceAll(kind, "_", " ") + " " + id
	}
	if kind == "case" {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > 0 {
			return template.HTML(`<a href="/cases/` + strconv.FormatInt(n, 10) + `">` + template.HTMLEscapeString(say) + `</a>`)
		}
	}
	return template.HTML(template.HTMLEscapeString(say))
}
