package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"citybot"
)

// TableCount is how many rows a table holds.
type TableCount struct {
	Table string
	Rows  int64
}

// CopyFrom copies every row of src, a SQLite database, into db, a new
// PostgreSQL database (migrated, empty), so that a city moves to
// PostgreSQL with its whole history: one PostgreSQL transaction (all or
// nothing) fed by one SQLite read transaction (a consistent snapshot;
// stop serve first all the same, so that nothing written after it is
// left behind). Ids are kept, the identity sequences continue after
// them, and triggers do not fire for the copied rows (an alert, a first
// answer or a promise move the copy would record twice). A NUL character
// in a text (which PostgreSQL's text cannot hold; citybot never stores
// one) is dropped, and bytes that are not UTF-8 become U+FFFD. Each table's
// row count is checked on both sides after the commit; then the database
// is vacuumed and analyzed. progress, when not nil, is called after each
// table.
//
// It returns the tables copied and their rows. Errors wrap
// citybot.ErrNotSupported for other engines, citybot.ErrInvalid when db
// already holds rows or the two schemas differ (a table or column
// without its twin), and name the tables whose counts differ.
func (db *DB) CopyFrom(ctx context.Context, src *DB, progress func(TableCount)) ([]TableCount, error) {
	if db.eng != Postgres || src.eng != SQLite {
		return nil, fmt.Errorf("store: copy: %w: from SQLite into PostgreSQL only", citybot.ErrNotSupported)
	}
	tables, err := copyPlan(ctx, src, db)
	if err != nil {
		return nil, fmt.Errorf("store: copy: %w", err)
	}
	for _, t := range tables {
		var n int64
		if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quoteIdent(t.name)).Scan(&n); err != nil {
			return nil, fmt.Errorf("store: copy: count %s: %w", t.name, err)
		}
		if n > 0 {
			return nil, fmt.Errorf("store: copy: %w: the PostgreSQL database holds %d rows in %s already: copy into a new, empty database", citybot.ErrInvalid, n, t.name)
		}
	}

	stx, err := src.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("store: copy: %w", err)
	}
	defer stx.Rollback()
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: copy: %w", err)
	}
	defer conn.Close()
	var copied []TableCount
	err = conn.Raw(func(dc any) error {
		pc, ok := dc.(*pgConn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		return pgx.BeginFunc(ctx, pc.Conn.Conn(), func(tx pgx.Tx) error {
			for _, t := range tables {
				n, err := copyRows(ctx, stx, tx, t)
				if err != nil {
					return fmt.Errorf("%s: %w", t.name, err)
				}
				copied = append(copied, TableCount{Table: t.name, Rows: n})
				if progress != nil {
					progress(TableCount{Table: t.name, Rows: n})
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: copy: %w", mapErr(err))
	}
	// The counts, read again on both sides.
	var bad []string
	for _, c := range copied {
		var s, d int64
		if err := stx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quoteIdent(c.Table)).Scan(&s); err != nil {
			return nil, fmt.Errorf("store: copy: count %s: %w", c.Table, err)
		}
		if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quoteIdent(c.Table)).Scan(&d); err != nil {
			return nil, fmt.Errorf("store: copy: count %s: %w", c.Table, err)
		}
		if s != d || d != c.Rows {
			bad = append(bad, fmt.Sprintf("%s: %d in SQLite, %d in PostgreSQL", c.Table, s, d))
		}
	}
	if len(bad) > 0 {
		return copied, fmt.Errorf("store: copy: row counts differ: %s", strings.Join(bad, "; "))
	}
	// Statistics for the planner and the visibility map for index-only
	// scans, at once rather than when autovacuum comes by: until then
	// the digest's figures read every row's heap page too (0.7 s for a
	// week among a million messages, 0.3 s after). The copy is complete
	// whether or not this succeeds.
	// (On conn: it is the write pool's one connection, held until we
	// return.)
	if _, err := conn.ExecContext(ctx, `VACUUM (ANALYZE)`); err != nil {
		db.log.Warn("vacuum after the copy failed: autovacuum will do it", "err", err)
	}
	return copied, nil
}

// copyTable is one table of a copy plan.
type copyTable struct {
	name string
	cols []string
	// types are the PostgreSQL types of cols (information_schema's
	// data_type), by which each SQLite value is converted.
	types    []string
	identity bool // an id column that takes its values from a sequence
}

// copyPlan lists the tables to copy, each after the tables it refers to,
// with the columns both sides have. A table or column one side lacks is
// an error (a migration without its twin).
func copyPlan(ctx context.Context, src, dst *DB) ([]copyTable, error) {
	names, err := queryStrings(ctx, src.r, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name NOT LIKE 'messages\_fts%' ESCAPE '\' AND name <> 'schema_migrations' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	pgNames, err := queryStrings(ctx, dst.r, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations' ORDER BY table_name`)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(names, pgNames) {
		return nil, fmt.Errorf("%w: the tables differ: SQLite has %s, PostgreSQL %s (a migration without its twin?)",
			citybot.ErrInvalid, strings.Join(names, ", "), strings.Join(pgNames, ", "))
	}
	deps := map[string][]string{}
	plan := map[string]*copyTable{}
	for _, name := range names {
		t := &copyTable{name: name}
		var liteCols []string
		if liteCols, err = queryStrings(ctx, src.r, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, name); err != nil {
			return nil, err
		}
		rows, err := dst.r.QueryContext(ctx, `SELECT column_name, data_type, is_identity FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`, name)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var col, typ, ident string
			if err := rows.Scan(&col, &typ, &ident); err != nil {
				rows.Close()
				return nil, err
			}
			t.cols = append(t.cols, col)
			t.types = append(t.types, typ)
			if col == "id" && ident == "YES" {
				t.identity = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		a, b := slices.Clone(liteCols), slices.Clone(t.cols)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			return nil, fmt.Errorf("%w: the columns of %s differ: SQLite has %s, PostgreSQL %s (a migration without its twin?)",
				citybot.ErrInvalid, name, strings.Join(a, ", "), strings.Join(b, ", "))
		}
		fks, err := src.r.QueryContext(ctx, `SELECT "table", "from" FROM pragma_foreign_key_list(?)`, name)
		if err != nil {
			return nil, err
		}
		for fks.Next() {
			var ref, from string
			if err := fks.Scan(&ref, &from); err != nil {
				fks.Close()
				return nil, err
			}
			// A reference to the table itself (a case merged into a
			// later one) is checked at the end of the table's COPY,
			// once every row is in.
			if ref != name {
				deps[name] = append(deps[name], ref)
			}
		}
		fks.Close()
		if err := fks.Err(); err != nil {
			return nil, err
		}
		plan[name] = t
	}
	// Referred tables first; names in order among equals.
	var out []copyTable
	done := map[string]bool{}
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		if done[name] {
			return nil
		}
		if slices.Contains(path, name) {
			return fmt.Errorf("tables refer to each other in a cycle: %s", strings.Join(append(path, name), " → "))
		}
		for _, d := range deps[name] {
			if plan[d] == nil {
				return fmt.Errorf("table %s refers to %s, which is not copied", name, d)
			}
			if err := visit(d, append(path, name)); err != nil {
				return err
			}
		}
		done[name] = true
		out = append(out, *plan[name])
		return nil
	}
	for _, name := range names {
		if err := visit(name, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// copyRows copies t's rows from the SQLite read transaction into the
// PostgreSQL one with COPY, and returns how many.
func copyRows(ctx context.Context, stx *sql.Tx, tx pgx.Tx, t copyTable) (int64, error) {
	quoted := make([]string, len(t.cols))
	for i, c := range t.cols {
		quoted[i] = quoteIdent(c)
	}
	order := ""
	if slices.Contains(t.cols, "id") {
		order = ` ORDER BY id`
	}
	rows, err := stx.QueryContext(ctx, `SELECT `+strings.Join(quoted, ", ")+` FROM `+quoteIdent(t.name)+order)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	if _, err := tx.Exec(ctx, `ALTER TABLE `+quoteIdent(t.name)+` DISABLE TRIGGER USER`); err != nil {
		return 0, err
	}
	// Indexes other than the keys' are built once after the rows are in
	// (a bulk build), not row by row: the search's GIN index above all.
	indexes, err := dropIndexes(ctx, tx, t.name)
	if err != nil {
		return 0, err
	}
	vals := make([]any, len(t.cols))
	ptrs := make([]any, len(t.cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	next := func() ([]any, error) {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			cv, err := pgValue(v, t.types[i])
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", t.cols[i], err)
			}
			row[i] = cv
		}
		return row, nil
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromFunc(func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		return next()
	}))
	if err != nil {
		return 0, err
	}
	for _, def := range indexes {
		if _, err := tx.Exec(ctx, def); err != nil {
			return 0, fmt.Errorf("rebuild index: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `ALTER TABLE `+quoteIdent(t.name)+` ENABLE TRIGGER USER`); err != nil {
		return 0, err
	}
	if t.identity {
		// The next id follows the copied ones.
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, 'id'), COALESCE(MAX(id), 0) + 1, false) FROM `+quoteIdent(t.name), t.name); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// dropIndexes drops the indexes of table that back no constraint (not its
// primary key, not a UNIQUE or an exclusion constraint) and returns the
// statements that create them again.
func dropIndexes(ctx context.Context, tx pgx.Tx, table string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT i.relname, pg_get_indexdef(i.oid)
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE t.relname = $1 AND n.nspname = current_schema()
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
		ORDER BY i.relname`, table)
	if err != nil {
		return nil, err
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return nil, err
		}
		names, defs = append(names, name), append(defs, def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if _, err := tx.Exec(ctx, `DROP INDEX `+quoteIdent(name)); err != nil {
			return nil, err
		}
	}
	return defs, nil
}

// pgValue converts a value SQLite gave into what the PostgreSQL column
// of type typ takes (SQLite's columns take any type; PostgreSQL's one).
func pgValue(v any, typ string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case "bigint", "integer", "smallint":
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			return int64(x), nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case string:
			return strconv.ParseInt(x, 10, 64)
		case []byte:
			return strconv.ParseInt(string(x), 10, 64)
		}
	case "double precision", "real", "numeric":
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case string:
			return strconv.ParseFloat(x, 64)
		case []byte:
			return strconv.ParseFloat(string(x), 64)
		}
	case "text":
		switch x := v.(type) {
		case string:
			return strings.ToValidUTF8(strings.ReplaceAll(x, "\x00", ""), "\uFFFD"), nil
		case []byte:
			return strings.ToValidUTF8(strings.ReplaceAll(string(x), "\x00", ""), "\uFFFD"), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		}
	case "bytea":
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	}
	return nil, fmt.Errorf("cannot copy a %T into a PostgreSQL %s", v, typ)
}

// queryStrings returns the first column of a query's rows.
func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// quoteIdent quotes a table or column name for SQL.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
