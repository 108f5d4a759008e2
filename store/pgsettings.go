package store

import (
	"context"
	"fmt"
	"strings"
)

// serverWarnings reads the server settings a city's database may have
// that citybot works badly with, and returns one sentence for each (the
// README's "What citybot asks of the server"): nothing that names the
// connection string. A setting it cannot read is not reported.
func (db *DB) serverWarnings(ctx context.Context) ([]string, error) {
	var ctype, lockTO, stmtTO, idleTO string
	err := db.w.QueryRowContext(ctx, `SELECT current_setting('lc_ctype'), current_setting('lock_timeout'),
		current_setting('statement_timeout'), current_setting('idle_in_transaction_session_timeout')`).Scan(&ctype, &lockTO, &stmtTO, &idleTO)
	if err != nil {
		return nil, fmt.Errorf("store: read the server's settings: %w", mapErr(err))
	}
	var out []string
	if c := strings.ToUpper(ctype); c == "C" || c == "POSIX" {
		out = append(out, fmt.Sprintf("the database's LC_CTYPE is %s: search lowercases only ASCII letters (москва will not find МОСКВА); create the database with a UTF-8 locale (createdb --locale=C.UTF-8 or en_US.UTF-8)", ctype))
	}
	if lockTO != "0" {
		out = append(out, fmt.Sprintf("lock_timeout is %s for citybot's role: a write waiting its turn on the writers' lock fails after it; set it to 0 for this role (ALTER ROLE … SET lock_timeout = 0)", lockTO))
	}
	if stmtTO != "0" {
		out = append(out, fmt.Sprintf("statement_timeout is %s for citybot's role: a write waiting its turn, a migration or migrate --from may be cut; set it to 0 for this role", stmtTO))
	}
	if idleTO != "0" && idleTO != "" {
		out = append(out, fmt.Sprintf("idle_in_transaction_session_timeout is %s: a long migrate --from may be cut; set it to 0 for this role", idleTO))
	}
	return out, nil
}

// warnServerSettings logs serverWarnings, one warning each.
func (db *DB) warnServerSettings(ctx context.Context) {
	ws, err := db.serverWarnings(ctx)
	if err != nil {
		db.log.Warn("could not read the PostgreSQL server's settings", "err", err)
		return
	}
	for _, w := range ws {
		db.log.Warn("PostgreSQL setting: " + w)
	}
}
