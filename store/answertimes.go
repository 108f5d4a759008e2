package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"citybot"
)

// FirstAnswerTimes returns, per topic and urgency, the time within which
// the share q (0 < q < 1, e.g. 0.8) of the cases opened since since got a
// first answer (an officer's answer or status change), duplicates left
// out. A case still waiting counts as waiting at least until now (a case
// no longer open without a first answer, until it last changed): the
// share is a Kaplan–Meier estimate, so waiting cases make the time longer
// rather than being left out. A group where the share cannot be reached
// yet (too many still wait) has Within 0. Sensitive cases count: times
// only. Groups come in topic, then urgency order.
func (db *DB) FirstAnswerTimes(ctx context.Context, since time.Time, q float64) ([]citybot.AnswerTime, error) {
	if q <= 0 || q >= 1 {
		return nil, fmt.Errorf("store: first answer times: %w: the share must be between 0 and 1", citybot.ErrInvalid)
	}
	now := db.now().UTC()
	rows, err := db.r.QueryContext(ctx, `SELECT topic, urgency, status, opened_at, first_answer_at, updated_at FROM cases
		WHERE opened_at >= ? AND status <> 'duplicate' ORDER BY topic, urgency_rank`, ts(since))
	if err != nil {
		return nil, fmt.Errorf("store: first answer times: %w", mapErr(err))
	}
	defer rows.Close()
	type key struct {
		topic   string
		urgency citybot.Urgency
	}
	type wait struct {
		d        time.Duration
		answered bool
	}
	groups := map[key][]wait{}
	var order []key
	for rows.Next() {
		var topic, urgency, status, opened, updated string
		var answered sql.NullString
		if err := rows.Scan(&topic, &urgency, &status, &opened, &answered, &updated); err != nil {
			return nil, fmt.Errorf("store: first answer times: %w", err)
		}
		k := key{topic, citybot.Urgency(urgency)}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		o := parseTS(opened)
		w := wait{}
		switch {
		case answered.Valid:
			w = wait{d: parseTS(answered.String).Sub(o), answered: true}
		case citybot.CaseStatus(status).Open():
			w.d = now.Sub(o)
		default:
			w.d = parseTS(updated).Sub(o)
		}
		groups[k] = append(groups[k], wait{d: max(0, w.d), answered: w.answered})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: first answer times: %w", mapErr(err))
	}
	out := make([]citybot.AnswerTime, 0, len(order))
	for _, k := range order {
		ws := groups[k]
		at := citybot.AnswerTime{Topic: k.topic, Urgency: k.urgency, Cases: len(ws)}
		// Kaplan–Meier: at each wait that ended in an answer, the share
		// still waiting shrinks by the answered part of those at risk;
		// an answer counts before a wait cut short at the same time.
		slices.SortFunc(ws, func(a, b wait) int {
			if c := cmp.Compare(a.d, b.d); c != 0 {
				return c
			}
			if a.answered == b.answered {
				return 0
			}
			if a.answered {
				return -1
			}
			return 1
		})
		waiting, atRisk := 1.0, len(ws)
		for i := 0; i < len(ws); {
			j, answered := i, 0
			for j < len(ws) && ws[j].d == ws[i].d {
				if ws[j].answered {
					answered++
				}
				j++
			}
			if answered > 0 {
				at.Answered += answered
				waiting *= 1 - float64(answered)/float64(atRisk)
				if at.Within == 0 && waiting <= 1-q+1e-9 {
					at.Within = max(ws[i].d, time.Second)
				}
			}
			atRisk -= j - i
			i = j
		}
		out = append(out, at)
	}
	return out, nil
}
