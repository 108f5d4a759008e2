package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// Engine names the database engine a DB runs on.
type Engine string

// The engines a DB runs on: SQLite (one file, the embedded default) and
// PostgreSQL.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// The store writes its queries once, in the SQL both engines accept, with
// SQLite's placeholders (? and ?NNN). On PostgreSQL every statement goes
// through pgConn, which rewrites the placeholders ($1…) when it is
// prepared or run, and hands SQLite's representation back: a boolean
// result is the integer 0 or 1, and a Go bool argument is sent as one.
// Where the SQL itself must differ (full-text search, JSON), the query
// asks its DB's engine (the few methods below) for the fragment.

// pgQuerier is the querier of a write transaction on PostgreSQL, so that
// the few helpers whose SQL differs (insertID) know their engine.
type pgQuerier struct {
	querier
}

// undoable runs fn, a statement whose failure the caller recovers from
// (a duplicate it expects), so that the transaction goes on after it. On
// SQLite a failed statement is undone alone; on PostgreSQL it aborts the
// whole transaction, so there fn runs inside a savepoint, rolled back
// when fn fails. It returns fn's error.
func undoable(ctx context.Context, tx querier, fn func() error) error {
	if _, ok := tx.(pgQuerier); !ok {
		return fn()
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT undoable`); err != nil {
		return err
	}
	err := fn()
	if err != nil {
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT undoable`); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	if _, rerr := tx.ExecContext(ctx, `RELEASE SAVEPOINT undoable`); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// skipLocked is the clause that makes a write transaction's SELECT lock
// the rows it returns and pass over those another transaction holds: FOR
// UPDATE SKIP LOCKED on PostgreSQL; nothing on SQLite, where one write
// transaction runs at a time.
func skipLocked(tx querier) string {
	if _, ok := tx.(pgQuerier); ok {
		return ` FOR UPDATE SKIP LOCKED`
	}
	return ""
}

// noIndex is the column col in a condition that must not pick the index
// (another index serves the query better): SQLite's unary + (+c.col); on
// PostgreSQL the plain column, which its planner needs for its estimates
// (with +c.col it guessed 60 rows of 28,000 and sorted them all).
func (e Engine) noIndex(col string) string {
	if e == Postgres {
		return col
	}
	return "+" + col
}

// pgConnector opens pgx connections wrapped in pgConn. A failed
// connection's error names none of the connection string's parts (pgx's
// own names the user, host and database), wherever it surfaces: Open, or
// any later query that needs a new connection.
type pgConnector struct {
	c   driver.Connector
	cfg *pgx.ConnConfig
}

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.c.Connect(ctx)
	if err != nil {
		if errors.Is(err, driver.ErrBadConn) {
			return nil, err
		}
		return nil, redactConnErr(err, c.cfg)
	}
	return &pgConn{Conn: conn.(*stdlib.Conn)}, nil
}

func (c pgConnector) Driver() driver.Driver { return c.c.Driver() }

// pgConn is a pgx connection that takes SQLite's placeholders. The
// methods it does not override (transactions, pings, session resets,
// argument checks) are pgx's own.
type pgConn struct {
	*stdlib.Conn
}

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(rebind(query))
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.Conn.PrepareContext(ctx, rebind(query))
	if err != nil {
		return nil, err
	}
	return pgStmt{st.(*stdlib.Stmt)}, nil
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), pgArgs(args))
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.Conn.QueryContext(ctx, rebind(query), pgArgs(args))
	if err != nil {
		return nil, err
	}
	return pgRows{rows.(*stdlib.Rows)}, nil
}

// pgStmt is a prepared statement whose arguments and results follow
// SQLite's representation, like pgConn's.
type pgStmt struct {
	*stdlib.Stmt
}

func (s pgStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.ExecContext(ctx, pgArgs(args))
}

func (s pgStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := s.Stmt.QueryContext(ctx, pgArgs(args))
	if err != nil {
		return nil, err
	}
	return pgRows{rows.(*stdlib.Rows)}, nil
}

// pgRows gives booleans as 0 or 1, as SQLite does: the store scans
// comparisons and EXISTS into integers as often as into bools, and
// database/sql turns an integer into a bool but not the other way.
type pgRows struct {
	*stdlib.Rows
}

func (r pgRows) Next(dest []driver.Value) error {
	if err := r.Rows.Next(dest); err != nil {
		return err
	}
	for i, v := range dest {
		if b, ok := v.(bool); ok {
			dest[i] = int64(0)
			if b {
				dest[i] = int64(1)
			}
		}
	}
	return nil
}

// pgArgs sends Go bools as the integers 0 and 1 that the schema stores
// flags as on both engines.
func pgArgs(args []driver.NamedValue) []driver.NamedValue {
	for i := range args {
		if b, ok := args[i].Value.(bool); ok {
			args[i].Value = int64(0)
			if b {
				args[i].Value = int64(1)
			}
		}
	}
	return args
}

// rebind turns SQLite's placeholders into PostgreSQL's: ?NNN becomes $NNN
// and a bare ? takes the number after the largest one so far, as SQLite
// numbers them; it drops SQLite's index hints (INDEXED BY name); and it
// turns LIKE into ILIKE, since SQLite's LIKE ignores case (of ASCII
// letters; ILIKE of all). String literals, quoted identifiers,
// dollar-quoted bodies and comments are left alone.
func rebind(q string) string {
	if !strings.Contains(q, "?") && !strings.Contains(q, "INDEXED BY") && !strings.Contains(q, "LIKE") && !strings.Contains(q, "like") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	last := 0
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(q) {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			j = min(j+1, len(q))
			b.WriteString(q[i:j])
			i = j
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			b.WriteString(q[i : i+j])
			i += j
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			end := len(q)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(q[i:end])
			i = end
		case c == '$':
			// A dollar-quoted body ($$…$$ or $tag$…$tag$).
			j := i + 1
			for j < len(q) && (q[j] == '_' || isAlnum(q[j])) {
				j++
			}
			if j < len(q) && q[j] == '$' && (j == i+1 || !isDigit(q[i+1])) {
				tag := q[i : j+1]
				k := strings.Index(q[j+1:], tag)
				end := len(q)
				if k >= 0 {
					end = j + 1 + k + len(tag)
				}
				b.WriteString(q[i:end])
				i = end
				continue
			}
			b.WriteByte(c)
			i++
		case (c == 'L' || c == 'l') && len(q) >= i+4 && strings.EqualFold(q[i:i+4], "LIKE") && (i == 0 || !isWord(q[i-1])) && (i+4 == len(q) || !isWord(q[i+4])):
			b.WriteString("ILIKE")
			i += 4
		case c == 'I' && strings.HasPrefix(q[i:], "INDEXED BY ") && i > 0 && !isAlnum(q[i-1]) && q[i-1] != '_':
			// SQLite's index hint: PostgreSQL plans without it.
			j := i + len("INDEXED BY ")
			for j < len(q) && (q[j] == '_' || isAlnum(q[j])) {
				j++
			}
			i = j
		case c == '?':
			j := i + 1
			for j < len(q) && isDigit(q[j]) {
				j++
			}
			n := last + 1
			if j > i+1 {
				n, _ = strconv.Atoi(q[i+1 : j])
			}
			last = max(last, n)
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isWord(c byte) bool  { return c == '_' || isAlnum(c) }
func isAlnum(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// pgPool opens a pool on the PostgreSQL database of cfg. Read-only pools
// run every transaction read-only, as SQLite's query_only connections do.
func pgPool(cfg *pgx.ConnConfig, readOnly bool) *sql.DB {
	c := cfg.Copy()
	if c.RuntimeParams == nil {
		c.RuntimeParams = map[string]string{}
	}
	c.RuntimeParams["timezone"] = "UTC"
	if readOnly {
		c.RuntimeParams["default_transaction_read_only"] = "on"
	}
	return sql.OpenDB(pgConnector{c: stdlib.GetConnector(*c), cfg: c})
}

// secretError hides the text of an error that may carry parts of the
// PostgreSQL connection string (a secret: its host, user, database or
// password), keeping the error in the chain for errors.Is and As.
type secretError struct {
	msg string
	err error
}

func (e *secretError) Error() string { return e.msg }
func (e *secretError) Unwrap() error { return e.err }

// redactConnErr turns an error from connecting to PostgreSQL into one
// whose text names none of the connection string's parts: what failed,
// in words, and the server's error code when there is one.
func redactConnErr(err error, cfg *pgx.ConnConfig) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		msg = fmt.Sprintf("the server refused (SQLSTATE %s, %s)", pe.Code, pgRefusal(pe.Code))
	} else {
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) {
			msg = "cannot reach the server"
			var dnsErr *net.DNSError
			var netErr net.Error
			switch {
			case errors.Is(err, syscall.ECONNREFUSED):
				msg += " (connection refused: is PostgreSQL running and listening there?)"
			case errors.As(err, &dnsErr):
				msg += " (unknown host name)"
			case errors.As(err, &netErr) && netErr.Timeout():
				msg += " (timed out)"
			}
		}
	}
	if cfg != nil {
		for _, s := range []string{cfg.Password, cfg.User, cfg.Host, cfg.Database, strconv.Itoa(int(cfg.Port))} {
			if len(s) > 1 {
				msg = strings.ReplaceAll(msg, s, "…")
			}
		}
	}
	if se := (*secretError)(nil); errors.As(err, &se) {
		return err // redacted already
	}
	return &secretError{msg: "connect to PostgreSQL (CITYBOT_DATABASE_URL): " + msg, err: err}
}

// pgRefusal says in words what a connection's SQLSTATE means.
func pgRefusal(code string) string {
	switch code {
	case "28P01", "28000":
		return "wrong user or password"
	case "3D000":
		return "no such database"
	case "53300":
		return "too many connections"
	case "57P03":
		return "the server is starting up or shutting down"
	}
	return "see the server's log"
}

// parsePostgresURL parses a connection string without ever putting it in
// an error: pgx's parse errors quote it.
func parsePostgresURL(s string) (*pgx.ConnConfig, error) {
	if s == "" {
		return nil, errors.New("CITYBOT_DATABASE_URL is empty")
	}
	cfg, err := pgx.ParseConfig(s)
	if err != nil {
		hint := "not a valid connection string"
		if u, uerr := url.Parse(s); uerr == nil && u.Scheme != "" && u.Scheme != "postgres" && u.Scheme != "postgresql" {
			hint = "it must start with postgres://"
		}
		return nil, &secretError{msg: "CITYBOT_DATABASE_URL: " + hint, err: errors.New(hint)}
	}
	return cfg, nil
}
