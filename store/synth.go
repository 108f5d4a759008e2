package store

import (
	"context"
	"fmt"

	"citybot"
)

// SynthOptions size a synthetic data set.
type SynthOptions struct {
	Cases    int // cases to create; <= 0 means 200,000
	Messages int // messages spread over them; <= 0 means 5 per case
	// OpenPercent of the cases are open (new … answered); the rest are
	// resolved or closed. < 0 means 0; 0 means 15.
	OpenPercent int
}

// Synthesize fills an empty database with synthetic citizens, chats,
// cases, messages (60% from citizens) and classifier tags, for benchmarks
// and load tests: critical cases are 1%, high 9%, normal 60%, low 30%;
// topics and languages vary; texts are indexed for search like real ones.
// It refuses, with an error wrapping citybot.ErrInvalid, a database that
// already holds cases. It blocks until done (about a minute for the
// default size on a small machine).
func (db *DB) Synthesize(ctx context.Context, o SynthOptions) error {
	if o.Cases <= 0 {
		o.Cases = 200_000
	}
	if o.Messages <= 0 {
		o.Messages = 5 * o.Cases
	}
	switch {
	case o.OpenPercent < 0:
		o.OpenPercent = 0
	case o.OpenPercent == 0:
		o.OpenPercent = 15
	case o.OpenPercent > 100:
		o.OpenPercent = 100
	}
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM cases`).Scan(&n); err != nil {
		return fmt.Errorf("store: synthesize: %w", mapErr(err))
	}
	if n > 0 {
		return fmt.Errorf("store: synthesize: %w: the database already holds %d cases", citybot.ErrInvalid, n)
	}
	citizens := max(1, o.Cases/2)
	base := "2025-01-01 00:00:00"
	stmts := []struct {
		q    string
		args []any
	}{
		{`WITH RECURSIVE x(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM x WHERE i < ?)
		  INSERT INTO citizens (id, platform, language, created_at)
		  SELECT i, CASE WHEN i % 5 = 0 THEN 'discord' ELSE 'telegram' END, CASE WHEN i % 3 = 0 THEN 'fr' ELSE 'en' END,
		         strftime('%Y-%m-%dT%H:%M:%f', ?, '+' || i || ' seconds') || '000Z' FROM x`, []any{citizens, base}},
		{`INSERT INTO chats (id, platform, platform_chat_id, kind, created_at)
		  SELECT id, platform, 'synthetic-' || id, 'private', created_at FROM citizens`, nil},
		{`WITH RECURSIVE x(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM x WHERE i < ?),
		  y AS (SELECT i, (i % ?) + 1 AS who, ((i * 2654435761) % 1000003) % 100 AS u, ((i * 40503) % 999983) % 100 AS s,
		        strftime('%Y-%m-%dT%H:%M:%f', ?, '+' || (i * 120) || ' seconds') || '000Z' AS at FROM x)
		  INSERT INTO cases (id, ref, status, topic, urgency, urgency_rank, urgency_score, language, platform, chat_id, citizen_id,
		                     places, close_reason, opened_at, updated_at, last_message_at, sensitive, sensitive_cues)
		  SELECT i, printf('S%07d', i),
		         CASE WHEN s < ? THEN CASE s % 4 WHEN 0 THEN 'new' WHEN 1 THEN 'acknowledged' WHEN 2 THEN 'in_progress' ELSE 'answered' END
		              WHEN s % 2 = 0 THEN 'resolved' ELSE 'closed' END,
		         CASE i % 13 WHEN 0 THEN 'roads' WHEN 1 THEN 'waste' WHEN 2 THEN 'water_sanitation' WHEN 3 THEN 'street_lighting'
		              WHEN 4 THEN 'public_safety' WHEN 5 THEN 'transport' WHEN 6 THEN 'housing' WHEN 7 THEN 'noise' WHEN 8 THEN 'parks'
		              WHEN 9 THEN 'taxes_budget' WHEN 10 THEN 'corruption' WHEN 11 THEN 'administration_permits' ELSE 'other' END,
		         CASE WHEN u < 1 THEN 'critical' WHEN u < 10 THEN 'high' WHEN u < 70 THEN 'normal' ELSE 'low' END,
		         CASE WHEN u < 1 THEN 0 WHEN u < 10 THEN 1 WHEN u < 70 THEN 2 ELSE 3 END,
		         (100 - u) / 100.0,
		         CASE WHEN who % 3 = 0 THEN 'fr' ELSE 'en' END,
		         CASE WHEN who % 5 = 0 THEN 'discord' ELSE 'telegram' END,
		         who, who,
		         CASE WHEN i % 4 = 0 THEN '["Main Street"]' WHEN i % 4 = 1 THEN '["Rue Haute"]' ELSE '[]' END,
		         CASE WHEN s >= ? AND s % 2 = 1 THEN 'synthetic' ELSE '' END,
		         at, at, at,
		         i % 13 = 10, CASE WHEN i % 13 = 10 THEN '["topic:corruption"]' ELSE '[]' END
		  FROM y`, []any{o.Cases, citizens, base, o.OpenPercent, o.OpenPercent}},
		{`WITH RECURSIVE x(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM x WHERE i < ?),
		  y AS (SELECT i, (i % ?) + 1 AS c FROM x)
		  INSERT INTO messages (id, direction, chat_id, platform_message_id, citizen_id, case_id, text, sent_at, received_at)
		  SELECT y.i, CASE WHEN y.i % 5 < 3 THEN 'in' ELSE 'out' END, cs.chat_id, 'm' || y.i,
		         CASE WHEN y.i % 5 < 3 THEN cs.citizen_id END, cs.id,
		         CASE y.i % 7 WHEN 0 THEN 'There is a big pothole on Main Street near number ' || y.i
		                      WHEN 1 THEN 'Les poubelles ne sont pas ramassées rue Haute depuis ' || (y.i % 30) || ' jours'
		                      WHEN 2 THEN 'The street light at the corner is broken again, case ' || y.i
		                      WHEN 3 THEN 'Fuite d''eau importante devant l''école, message ' || y.i
		                      WHEN 4 THEN 'Loud music every night from the bar, report ' || y.i
		                      WHEN 5 THEN 'Thank you, we registered your report ' || cs.ref
		                      ELSE 'Bus line ' || (y.i % 40) || ' did not come this morning' END,
		         cs.opened_at, cs.opened_at
		  FROM y JOIN cases cs ON cs.id = y.c`, []any{o.Messages, o.Cases}},
		{`INSERT INTO tags (case_id, kind, value, confidence, source, at)
		  SELECT id, 'topic', topic, 0.8, 'classifier', opened_at FROM cases`, nil},
		{`ANALYZE`, nil},
	}
	for _, st := range stmts {
		err := db.write(ctx, func(ctx context.Context, tx querier) error {
			_, err := tx.ExecContext(ctx, st.q, st.args...)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: synthesize: %w", mapErr(err))
		}
	}
	return nil
}
