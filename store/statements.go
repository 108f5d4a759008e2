package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"citybot"
)

// Holding statements (migration 0190): templates officials approve in
// advance, one text per language, each edit withdrawing the approval of
// the text it changes; a statement sent on a case is recorded once per
// form nonce, with its outbox rows, in one transaction.

// StatementTemplates returns every template with its texts, by topic then
// name.
func (db *DB) StatementTemplates(ctx context.Context) ([]citybot.StatementTemplate, error) {
	out, err := statementTemplates(ctx, db.r, 0)
	if err != nil {
		return nil, fmt.Errorf("store: statement templates: %w", mapErr(err))
	}
	return out, nil
}

// StatementTemplate returns one template, or an error wrapping
// citybot.ErrNotFound.
func (db *DB) StatementTemplate(ctx context.Context, id int64) (citybot.StatementTemplate, error) {
	out, err := statementTemplates(ctx, db.r, id)
	if err == nil && len(out) == 0 {
		err = sql.ErrNoRows
	}
	if err != nil {
		return citybot.StatementTemplate{}, fmt.Errorf("store: statement template: %w", mapErr(err))
	}
	return out[0], nil
}

func statementTemplates(ctx context.Context, q querier, id int64) ([]citybot.StatementTemplate, error) {
	where, args := "", []any{}
	if id != 0 {
		where, args = "WHERE t.id = ?", append(args, id)
	}
	rows, err := q.QueryContext(ctx, `SELECT t.id, t.topic, t.name, x.language, x.text, x.version, x.updated_by, x.updated_at,
		x.approved_version, x.approved_by, x.approved_at
		FROM statement_templates t LEFT JOIN statement_texts x ON x.template_id = t.id `+where+`
		ORDER BY t.topic, t.name, t.id, x.language`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []citybot.StatementTemplate
	for rows.Next() {
		var t citybot.StatementTemplate
		var lang, text, by, at, appBy sql.NullString
		var version, appVersion sql.NullInt64
		var appAt sql.NullString
		if err := rows.Scan(&t.ID, &t.Topic, &t.Name, &lang, &text, &version, &by, &at, &appVersion, &appBy, &appAt); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].ID != t.ID {
			out = append(out, t)
		}
		if lang.Valid {
			last := &out[len(out)-1]
			last.Texts = append(last.Texts, citybot.StatementText{
				Language: lang.String, Text: text.String, Version: int(version.Int64), UpdatedBy: by.String, UpdatedAt: parseTS(at.String),
				ApprovedVersion: int(appVersion.Int64), ApprovedBy: appBy.String, ApprovedAt: parseNullTS(appAt),
			})
		}
	}
	return out, rows.Err()
}

// SaveStatementText writes a template's text in lang, creating the
// template (topic and name) when id is 0, and returns the template's id.
// A changed text gets a new version and loses its approval; an unchanged
// one keeps both; an empty text removes the language. Audited as
// "statement.edit" by actor. Errors wrap citybot.ErrInvalid (no topic,
// name or language; a new template with an empty text),
// citybot.ErrDuplicate (a template of that name for the topic exists) and
// citybot.ErrNotFound.
func (db *DB) SaveStatementText(ctx context.Context, id int64, topic, name, lang, text, actor string) (int64, error) {
	name, text = strings.TrimSpace(name), strings.TrimSpace(text)
	if lang == "" || actor == "" || (id == 0 && (topic == "" || name == "" || text == "")) {
		return 0, fmt.Errorf("store: save statement: %w: a topic, a name, a language and a text are needed", citybot.ErrInvalid)
	}
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		now := db.now().UTC()
		if id == 0 {
			var err error
			if id, err = insertID(ctx, tx, `INSERT INTO statement_templates (topic, name, created_by, created_at) VALUES (?, ?, ?, ?)`,
				topic, name, actor, ts(now)); err != nil {
				return err
			}
		} else if err := tx.QueryRowContext(ctx, `SELECT id FROM statement_templates WHERE id = ?`, id).Scan(&id); err != nil {
			return err
		}
		var old string
		var version int
		err := tx.QueryRowContext(ctx, `SELECT text, version FROM statement_texts WHERE template_id = ? AND language = ?`, id, lang).Scan(&old, &version)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if text == "" {
				return nil
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO statement_texts (template_id, language, text, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)`,
				id, lang, text, actor, ts(now))
		case err != nil:
			return err
		case old == text:
			return nil
		case text == "":
			_, err = tx.ExecContext(ctx, `DELETE FROM statement_texts WHERE template_id = ? AND language = ?`, id, lang)
		default:
			_, err = tx.ExecContext(ctx, `UPDATE statement_texts SET text = ?, version = version + 1, updated_by = ?, updated_at = ?
				WHERE template_id = ? AND language = ?`, text, actor, ts(now), id, lang)
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, now, actor, "statement.edit", "statement:"+strconv.FormatInt(id, 10), map[string]any{"language": lang, "text": old},
			map[string]any{"language": lang, "text": text})
	})
	if err != nil {
		return 0, fmt.Errorf("store: save statement: %w", mapErr(err))
	}
	return id, nil
}

// ApproveStatementText approves a template's text in lang as of version
// (the version the official read): audited as "statement.approve".
// Errors wrap citybot.ErrNotFound and citybot.ErrInvalid when the text
// changed since version.
func (db *DB) ApproveStatementText(ctx context.Context, id int64, lang string, version int, actor string) error {
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		var cur int
		if err := tx.QueryRowContext(ctx, `SELECT version FROM statement_texts WHERE template_id = ? AND language = ?`, id, lang).Scan(&cur); err != nil {
			return err
		}
		if cur != version {
			return fmt.Errorf("%w: the text was changed since you read it (version %d, now %d)", citybot.ErrInvalid, version, cur)
		}
		now := db.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE statement_texts SET approved_version = version, approved_by = ?, approved_at = ?
			WHERE template_id = ? AND language = ?`, actor, ts(now), id, lang); err != nil {
			return err
		}
		return audit(ctx, tx, now, actor, "statement.approve", "statement:"+strconv.FormatInt(id, 10), nil,
			map[string]any{"language": lang, "version": version})
	})
	if err != nil {
		return fmt.Errorf("store: approve statement: %w", mapErr(err))
	}
	return nil
}

// SendStatement records a holding statement sent on case rec.Case, once
// per rec.Nonce, in one transaction: it checks that every text of
// rec.Versions is still approved at that version, gets the followers'
// rows and the public channels' rows from build (given the case with the
// cases merged into it), queues them (the followers' as written by
// rec.Actor), records the send and audits it as "case.statement". A nonce
// sent before returns that send with Already set and queues nothing.
// Errors wrap citybot.ErrNotFound, citybot.ErrInvalid (a text changed or
// lost its approval), citybot.ErrInvalid and whatever build returns.
func (db *DB) SendStatement(ctx context.Context, rec citybot.StatementSend,
	build func(v citybot.CaseView) (followers, public []citybot.OutboxItem, err error)) (citybot.StatementSend, error) {
	if rec.Nonce == "" || rec.Actor == "" || rec.TemplateID == 0 || len(rec.Versions) == 0 {
		return rec, fmt.Errorf("store: send statement: %w: a template, an officer and a form nonce are needed", citybot.ErrInvalid)
	}
	out := rec
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		out = rec
		var prior int64
		switch err := tx.QueryRowContext(ctx, `SELECT id FROM statements WHERE nonce = ?`, rec.Nonce).Scan(&prior); {
		case err == nil:
			s, err := statementByID(ctx, tx, prior)
			out, out.Already = s, true
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		for lang, v := range rec.Versions {
			var version, approved int
			err := tx.QueryRowContext(ctx, `SELECT version, approved_version FROM statement_texts WHERE template_id = ? AND language = ?`,
				rec.TemplateID, lang).Scan(&version, &approved)
			if errors.Is(err, sql.ErrNoRows) || err == nil && (version != v || approved != v) {
				return fmt.Errorf("%w: the %s text of the statement changed or is no longer approved", citybot.ErrInvalid, lang)
			}
			if err != nil {
				return err
			}
		}
		v, err := caseView(ctx, tx, rec.Case)
		if err != nil {
			return err
		}
		followers, public, err := build(v)
		if err != nil {
			return err
		}
		now := db.now().UTC()
		n, err := queueCaseItems(ctx, tx, followers, rec.Actor, now)
		if err != nil {
			return err
		}
		for _, it := range public {
			added, err := insertOutbox(ctx, tx, it, now)
			if err != nil {
				return err
			}
			if added {
				n++
			}
		}
		versions, _ := json.Marshal(rec.Versions)
		fields, _ := json.Marshal(rec.Values)
		if out.ID, err = insertID(ctx, tx, `INSERT INTO statements (case_id, template_id, versions, fields, public, actor, nonce, followers, row_count, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, int64(rec.Case), rec.TemplateID, string(versions), string(fields), rec.Public,
			rec.Actor, rec.Nonce, v.FollowerCount(), n, ts(now)); err != nil {
			return err
		}
		out.Followers, out.Rows, out.At = v.FollowerCount(), n, now
		keys := make([]string, 0, len(followers)+len(public))
		for _, it := range append(followers, public...) {
			keys = append(keys, it.Out.Key)
		}
		return audit(ctx, tx, now, rec.Actor, "case.statement", caseSubject(rec.Case), nil, map[string]any{
			"template": rec.TemplateID, "versions": rec.Versions, "fields": rec.Values, "public": rec.Public, "keys": keys})
	})
	if err != nil {
		return citybot.StatementSend{}, fmt.Errorf("store: send statement: %w", mapErr(err))
	}
	return out, nil
}

const statementColumns = `id, case_id, template_id, versions, fields, public, actor, nonce, followers, row_count, at`

func scanStatement(s scanner) (citybot.StatementSend, error) {
	var out citybot.StatementSend
	var caseID int64
	var versions, fields, at string
	if err := s.Scan(&out.ID, &caseID, &out.TemplateID, &versions, &fields, &out.Public, &out.Actor, &out.Nonce, &out.Followers, &out.Rows, &at); err != nil {
		return out, err
	}
	out.Case, out.At = citybot.CaseID(caseID), parseTS(at)
	if err := errors.Join(json.Unmarshal([]byte(versions), &out.Versions), json.Unmarshal([]byte(fields), &out.Values)); err != nil {
		return out, err
	}
	return out, nil
}

func statementByID(ctx context.Context, q querier, id int64) (citybot.StatementSend, error) {
	return scanStatement(q.QueryRowContext(ctx, `SELECT `+statementColumns+` FROM statements WHERE id = ?`, id))
}

// CaseStatements returns the holding statements sent on a case, oldest
// first.
func (db *DB) CaseStatements(ctx context.Context, id citybot.CaseID) ([]citybot.StatementSend, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+statementColumns+` FROM statements WHERE case_id = ? ORDER BY at, id`, int64(id))
	if err != nil {
		return nil, fmt.Errorf("store: case statements: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.StatementSend
	for rows.Next() {
		s, err := scanStatement(rows)
		if err != nil {
			return nil, fmt.Errorf("store: case statements: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: case statements: %w", err)
	}
	return out, nil
}
