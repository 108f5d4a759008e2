package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"citybot"
)

// equityQuery reads the week's cases through the index on opened_at.
const equityQuery = `SELECT topic, places, language, opened_at, COALESCE(first_answer_at, ''), sensitive FROM cases
	WHERE opened_at >= ? AND opened_at < ? AND status <> 'duplicate'`

// equity computes the equity of response of the cases opened in [start,
// end) (duplicates left out): by district (places as public output names
// them; sensitive cases and the hide topics left out of districts) and by
// language. A case without a first answer counts with its wait so far,
// until the store's clock.
func (db *DB) equity(ctx context.Context, start, end time.Time, hide []string) (citybot.Equity, error) {
	rows, err := db.r.QueryContext(ctx, equityQuery, ts(start), ts(end))
	if err != nil {
		return citybot.Equity{}, err
	}
	defer rows.Close()
	now := db.now().UTC()
	var (
		waits    []time.Duration
		answered []bool
		places   [][]string
		langs    []string
	)
	for rows.Next() {
		var tp, pl, lang, opened, answeredAt string
		var sensitive bool
		if err := rows.Scan(&tp, &pl, &lang, &opened, &answeredAt, &sensitive); err != nil {
			return citybot.Equity{}, err
		}
		o := parseTS(opened)
		w := max(now.Sub(o), 0)
		if answeredAt != "" {
			w = max(parseTS(answeredAt).Sub(o), 0)
		}
		waits = append(waits, w)
		answered = append(answered, answeredAt != "")
		langs = append(langs, lang)
		var names []string
		if pl != "" && pl != "[]" && !sensitive && !slices.Contains(hide, tp) {
			var raw []string
			if json.Unmarshal([]byte(pl), &raw) == nil {
				for _, n := range raw {
					if n = db.places.Public(n); n != "" {
						names = append(names, n)
					}
				}
			}
		}
		places = append(places, names)
	}
	if err := rows.Err(); err != nil {
		return citybot.Equity{}, err
	}
	return citybot.EquityOf(waits, answered, places, langs), nil
}

// PublishDigestEquity records an official's choice, after approval, to
// publish (or no longer publish) an approved digest's equity figures on
// the public pages, audited with the actor. It returns the digest as it
// is after. Errors wrap citybot.ErrNotFound for an unknown digest and
// citybot.ErrInvalid for a digest not approved or a missing actor.
func (db *DB) PublishDigestEquity(ctx context.Context, id citybot.DigestID, publish bool, actor string) (citybot.Digest, error) {
	var out citybot.Digest
	if strings.TrimSpace(actor) == "" {
		return out, fmt.Errorf("store: publish digest equity: %w: the choice needs an actor", citybot.ErrInvalid)
	}
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		d, err := scanDigest(tx.QueryRowContext(ctx, `SELECT `+digestColumns+` FROM digests WHERE id = ?`, int64(id)))
		if err != nil {
			return err
		}
		if d.State != citybot.DigestApproved {
			return fmt.Errorf("%w: only an approved digest's figures are published", citybot.ErrInvalid)
		}
		out = d
		if d.PublishEquity == publish {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE digests SET publish_equity = ? WHERE id = ?`, publish, int64(id)); err != nil {
			return err
		}
		out.PublishEquity = publish
		return audit(ctx, tx, db.now().UTC(), actor, "digest.publish_equity", digestSubject(id),
			map[string]any{"publish_equity": d.PublishEquity}, map[string]any{"publish_equity": publish, "week": d.Week})
	})
	if err != nil {
		return citybot.Digest{}, fmt.Errorf("store: publish digest equity: %w", mapErr(err))
	}
	return out, nil
}
