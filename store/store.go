// Package store keeps citybot's state in one SQLite file (mattn/go-sqlite3,
// WAL; Open) or in a PostgreSQL database (jackc/pgx; OpenPostgres), with
// one contract and one set of queries for both (see engine.go): citizens and their private identities, chats, messages in and out,
// cases and their tags, the outbox, platform cursors and the audit log;
// and it answers grouping's questions (the candidate cases a new report
// may join, their first texts) and keeps its suggestions. For Open311 it
// keeps the API keys of other apps (hashed) and the contacts their
// reports carry (private like identities, erased with them).
//
// The schema is built by numbered migrations embedded from migrations/,
// recorded in the schema_migrations table; the schema changes only by new
// migrations. Every time is stored in UTC. Errors wrap the root sentinels
// (citybot.ErrNotFound, citybot.ErrDuplicate, citybot.ErrInvalid) mapped
// from SQLite's result codes.
//
// A DB has two pools: one connection for writes and several read-only
// connections for queries. Writers queue in Go instead of spinning on
// SQLite's busy lock, and concurrent writes are committed in groups (one
// transaction, one savepoint per caller), so that a burst of messages
// costs one commit, not one each. One process owns a database file at a
// time; a second process (a backup, a migration) waits on the busy
// timeout.
//
// Durability: WAL with synchronous=NORMAL. A committed write survives the
// process being killed; after a power loss the last commits may be lost,
// never half of one. On PostgreSQL, the server's own durability applies.
//
// Several processes on one database: their write batches run one at a
// time, as one process's do (SQLite's write lock; on PostgreSQL an
// advisory lock each batch takes first, see pgBegin), so the writes'
// read-then-write logic (a citizen's open case, a message seen before,
// grouping's target, migrations applied) holds across processes; the
// outbox's claim gives each row to one of them (ClaimOutboxIDs) and
// records which; each keeps a heartbeat (InstanceHeartbeat), and the rows
// a dead one left in sending are settled by the others (AbandonedOutbox,
// MarkDeliveryUnknown, RequeueAbandoned; see instances.go). Job leases
// (TakeLease) say which one runs a scheduled job or a one-at-a-time part
// of serve (Telegram's polling, Discord's gateway, the alert loops).
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"

	"citybot"
)

//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migrationDirs holds each engine's migrations (see Migrate).
var migrationDirs = map[Engine]string{SQLite: "migrations", Postgres: "migrations/postgres"}

// Options configure a DB. The zero value is usable.
type Options struct {
	// Now is the clock; nil means time.Now. Times are stored in UTC.
	Now func() time.Time
	// Logger receives the store's few log lines; nil discards them.
	Logger *slog.Logger
	// ReadConns is the size of the read pool of the console and the
	// pipeline; <= 0 means max(4, GOMAXPROCS).
	ReadConns int
	// ExportConns is the size of the read pool of the public bulk reads
	// (the CSV export and Open311's case lists), kept apart so that they
	// can never take the console's connections; <= 0 means 2. Health
	// checks (Ping) have a pool of their own too, of one connection.
	ExportConns int
	// CheckpointInterval is how often the WAL is copied back into the
	// database file, off the writers' path; <= 0 means 500 ms.
	CheckpointInterval time.Duration
	// WALLimit bounds the WAL file: once a checkpoint finds it larger,
	// the WAL is checkpointed in TRUNCATE mode (between two write
	// batches) and starts again from zero bytes; SQLite's
	// journal_size_limit also trims it to this size whenever it is
	// reset. <= 0 means 16 MiB.
	WALLimit int64
	// Gazetteer is the city's place names ([classifier] places): shown
	// in public (Open311, CSV, the digest's places) as they are, where a
	// citizen's other place texts must pass citybot.PublicPlace.
	Gazetteer []string
}

// DB is an open citybot database. It is safe for concurrent use. Close it
// when done.
type DB struct {
	eng  Engine
	path string
	w    *sql.DB // one connection: every write transaction
	// wlock is held by the goroutine committing a batch of writes (see
	// write); a channel's waiters queue FIFO, which keeps the latency
	// tail short.
	wlock chan struct{}
	qmu   sync.Mutex
	queue []*writeJob // writes waiting for the next batch
	// urgentWaiting counts the urgent jobs in queue (changed under qmu,
	// read without it by a running batch, which then commits early).
	urgentWaiting atomic.Int32
	maxBatch      int           // jobs a batch runs at most: maxBatch, or pgMaxBatch
	search        searchWindows // how a search on PostgreSQL widens (searchMatches)
	r             *sql.DB       // read-only connections: console, pipeline
	xr            *sql.DB       // read-only connections: public bulk reads
	hr            *sql.DB       // one read-only connection: health checks
	ckpt          *sql.DB       // one connection for WAL checkpoints

	stopCkpt context.CancelFunc
	ckptDone chan struct{}
	walLimit int64
	// walTruncations counts truncating checkpoints.
	walTruncations atomic.Int64
	walBusy        atomic.Int64
	closeOnce      sync.Once
	now            func() time.Time
	log            *slog.Logger
	places         citybot.PlacePolicy
	// stmts holds prepared read statements by their text (grouping's
	// queries, run for every report); closed by Close.
	stmts stmtCache
	// onFail returns the rows to queue when a row is given up
	// (SetFailureFollowup).
	onFail atomic.Pointer[func(citybot.OutboxItem) []citybot.OutboxItem]
	// listenProbe is what WatchOutbox's probe of its own listening
	// connection uses; zero: outboxChannel and listenProbeTimeout (tests
	// change them).
	listenProbe struct {
		channel string
		timeout time.Duration
	}
	// instancesPruned is when InstanceHeartbeat last deleted ended
	// heartbeats (UnixNano of the DB's clock; 0: never).
	instancesPruned atomic.Int64
	// pgcfg is the PostgreSQL connection's configuration (a secret),
	// for WatchOutbox's connection of its own; nil on SQLite.
	pgcfg *pgx.ConnConfig
}

// Open opens the database at path, creating it when missing, and applies
// pending migrations. It fails with a clear error when the directory does
// not exist or is not writable, and with an error wrapping
// citybot.ErrInvalid when the database was migrated by a newer citybot.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" || strings.HasPrefix(path, ":memory:") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("store: open: %w: path must be a file path (got %q)", citybot.ErrInvalid, path)
	}
	if err := checkWritable(path); err != nil {
		return nil, err
	}
	if err := privateFiles(path); err != nil {
		return nil, err
	}
	db := newDB(SQLite, opts)
	db.path = path
	sizeLimit := fmt.Sprintf(`PRAGMA journal_size_limit = %d`, db.walLimit)

	// The writer never checkpoints: a checkpoint syncs the files, and a
	// slow disk would hold every writer behind it. checkpointLoop does it
	// on its own connection.
	db.w = openPool(path, false, `PRAGMA wal_autocheckpoint = 0`, sizeLimit)
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	db.w.SetConnMaxLifetime(0)
	db.w.SetConnMaxIdleTime(0)
	if err := pingBusy(ctx, db.w); err != nil {
		db.w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.openReaders(opts, func() *sql.DB { return openPool(path, true) })
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// The checkpointer waits little for readers: a truncating checkpoint
	// holds the writers back (see truncateWAL), and one that finds a
	// long reader gives up and tries again at the next tick.
	db.ckpt = openPool(path, false, sizeLimit, fmt.Sprintf(`PRAGMA busy_timeout = %d`, truncateBusy.Milliseconds()))
	db.ckpt.SetMaxOpenConns(1)
	interval := opts.CheckpointInterval
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	db.stopCkpt, db.ckptDone = cancel, make(chan struct{})
	go db.checkpointLoop(lctx, interval)
	return db, nil
}

// pingBusy opens p's first connection. Turning a new database to WAL
// takes an exclusive lock, and when several processes first open it at
// once SQLite may answer "database is locked" at once, without waiting
// out the busy timeout (it would otherwise deadlock); so a busy answer is
// tried again for up to openBusyWait.
func pingBusy(ctx context.Context, p *sql.DB) error {
	deadline := time.Now().Add(openBusyWait)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := p.PingContext(ctx)
		var se sqlite3.Error
		if err == nil || !errors.As(err, &se) || se.Code != sqlite3.ErrBusy || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%w)", ctx.Err(), err)
		case <-time.After(wait):
		}
	}
}

// openBusyWait bounds pingBusy's retries, as the busy timeout bounds a
// statement's wait.
const openBusyWait = 5 * time.Second

// openReaders opens db's read-only pools with pool: ReadConns for
// queries, and apart from them ExportConns for public exports and one for
// health checks, so however many anonymous exports run, the console and
// /healthz still find a connection.
func (db *DB) openReaders(opts Options, pool func() *sql.DB) {
	n := opts.ReadConns
	if n <= 0 {
		n = max(4, runtime.GOMAXPROCS(0))
	}
	nx := opts.ExportConns
	if nx <= 0 {
		nx = 2
	}
	for _, p := range []struct {
		db **sql.DB
		n  int
	}{{&db.r, n}, {&db.xr, nx}, {&db.hr, 1}} {
		*p.db = pool()
		(*p.db).SetMaxOpenConns(p.n)
		(*p.db).SetMaxIdleConns(p.n)
	}
}

// newDB makes a DB of engine eng with opts' defaults, without pools.
func newDB(eng Engine, opts Options) *DB {
	db := &DB{eng: eng, now: opts.Now, log: opts.Logger, wlock: make(chan struct{}, 1), walLimit: opts.WALLimit,
		places: citybot.NewPlacePolicy(opts.Gazetteer), maxBatch: maxBatch, search: defaultSearchWindows}
	if eng == Postgres {
		db.maxBatch = pgMaxBatch
	}
	if db.walLimit <= 0 {
		db.walLimit = defaultWALLimit
	}
	if db.now == nil {
		db.now = time.Now
	}
	if db.log == nil {
		db.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	db.log = db.log.With("component", "store", "engine", string(eng))
	return db
}

// OpenPostgres opens the PostgreSQL database that url names (a secret:
// no error, log line or output of the store ever shows it or any of its
// parts) and applies pending migrations. The database must exist; its
// user needs the right to create tables, and the first migration creates
// the unaccent extension (trusted: a database owner may). The pools are
// those of Open, sized alike: one connection for the grouped writes,
// read-only ones for queries (WAL options do not apply). Errors are those
// of Open.
//
// Several citybot processes may share one PostgreSQL database: their
// write batches take turns (an advisory lock, see pgBegin), those starting
// together on a new database apply each migration once, each outbox row
// is claimed by one of them (ClaimOutbox) and settled by the others if
// it dies (heartbeats), rows queued anywhere wake every dispatcher
// (WatchOutbox), and the leases (TakeLease) keep each scheduled job and
// each one-at-a-time part of serve to one process at a time.
func OpenPostgres(ctx context.Context, url string, opts Options) (*DB, error) {
	cfg, err := parsePostgresURL(url)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w: %w", citybot.ErrInvalid, err)
	}
	db := newDB(Postgres, opts)
	db.pgcfg = cfg
	db.w = pgPool(cfg, false)
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	if err := db.w.PingContext(ctx); err != nil {
		db.w.Close()
		return nil, fmt.Errorf("store: open: %w", redactConnErr(err, cfg))
	}
	db.warnServerSettings(ctx)
	db.openReaders(opts, func() *sql.DB { return pgPool(cfg, true) })
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Engine says which database engine db runs on.
func (db *DB) Engine() Engine { return db.eng }

// openPool opens a pool on path without registering a driver globally.
// Each new connection also gets temp_store = MEMORY (the one pragma the
// DSN cannot carry): the statement and savepoint journals that every write
// keeps stay in memory instead of temporary files, which divides the cost
// of a write by four on a busy machine.
func openPool(path string, readOnly bool, pragmas ...string) *sql.DB {
	pragmas = append([]string{`PRAGMA temp_store = MEMORY`}, pragmas...)
	drv := &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		for _, p := range pragmas {
			if _, err := c.Exec(p, nil); err != nil {
				return err
			}
		}
		return nil
	}}
	return sql.OpenDB(connector{dsn: dsn(path, readOnly), drv: drv})
}

// connector opens connections with one driver value, so that no driver
// name is registered process-wide.
type connector struct {
	dsn string
	drv *sqlite3.SQLiteDriver
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }

// dsn builds the connection string. The pragmas are in the DSN so that
// every pooled connection gets them.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Set("_foreign_keys", "1")
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "5000")
	q.Set("_synchronous", "NORMAL")
	// Reuse prepared statements: the pipeline runs the same dozen
	// statements for every message.
	q.Set("_stmt_cache_size", "64")
	if readOnly {
		q.Set("_txlock", "deferred")
		q.Set("_query_only", "1")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// checkWritable gives a clear error for a path SQLite could not open,
// before SQLite says only "unable to open database file".
func checkWritable(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		return fmt.Errorf("store: open %s: directory %s: %w", path, dir, err)
	case !st.IsDir():
		return fmt.Errorf("store: open %s: %s is not a directory", path, dir)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("store: open %s: is a directory", path)
	}
	// The WAL and shared-memory files are created beside the database,
	// so the directory itself must be writable.
	f, err := os.CreateTemp(dir, ".citybot-probe-*")
	if err != nil {
		return fmt.Errorf("store: open %s: directory %s is not writable: %w", path, dir, err)
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}

// privateFiles makes the database readable by its owner only: a missing
// file is created empty with mode 0600 (SQLite gives its WAL and
// shared-memory files the database's mode), and an existing database,
// WAL or shared-memory file readable by others is narrowed to 0600.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	switch {
	case err == nil:
		f.Close()
	case !errors.Is(err, os.ErrExist):
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		if st.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, st.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("store: open %s: make it private: %w", path, err)
			}
		}
	}
	return nil
}

// Close closes the pools. Calling it twice is safe.
func (db *DB) Close() error {
	var errs []error
	db.closeOnce.Do(func() {
		if db.stopCkpt != nil {
			db.stopCkpt()
			<-db.ckptDone
		}
		if db.ckpt != nil {
			errs = append(errs, db.ckpt.Close())
		}
	})
	errs = append(errs, db.stmts.close())
	for _, p := range []*sql.DB{db.r, db.xr, db.hr} {
		if p != nil {
			errs = append(errs, p.Close())
		}
	}
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// defaultWALLimit is Options.WALLimit's default.
const defaultWALLimit = 16 << 20

// truncateBusy is how long a truncating checkpoint waits for readers to
// leave the WAL, holding the writers back meanwhile.
const truncateBusy = 100 * time.Millisecond

// checkpointLoop copies the WAL back into the database file every
// interval, in PASSIVE mode (it never waits for readers or the writer),
// until ctx ends. Writers never checkpoint themselves, so a slow fsync
// delays only this loop. A passive checkpoint never shrinks the WAL, and
// with readers always about (the dispatcher, health checks) SQLite never
// restarts it from its beginning either: when the WAL file has grown past
// the limit, the loop truncates it (see truncateWAL).
func (db *DB) checkpointLoop(ctx context.Context, interval time.Duration) {
	defer close(db.ckptDone)
	// The WAL's size is checked more often than it is checkpointed: a
	// burst of intake writes tens of megabytes a second.
	t := time.NewTicker(min(interval, walCheckEvery))
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var size int64
		if st, err := os.Stat(db.path + "-wal"); err == nil {
			size = st.Size()
		}
		if size > db.walLimit {
			// Straight to a truncating checkpoint under the write lock:
			// a passive one first would let a burst write on meanwhile.
			db.truncateWAL(ctx)
			continue
		}
		// Past half the limit, a passive checkpoint at every check
		// leaves the truncation little to copy under the lock.
		if time.Since(last) < interval && size <= db.walLimit/2 {
			continue
		}
		last = time.Now()
		start := time.Now()
		var busy, logFrames, done int
		err := db.ckpt.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &done)
		if err != nil && ctx.Err() == nil {
			db.log.Warn("wal checkpoint", "err", err)
			continue
		}
		if d := time.Since(start); d > time.Second {
			db.log.Info("slow wal checkpoint", "duration", d, "frames", logFrames)
		}
	}
}

// walCheckEvery is how often the WAL's size is checked.
const walCheckEvery = 50 * time.Millisecond

// truncateWAL checkpoints the whole WAL and truncates it to zero bytes.
// It holds the write lock meanwhile, so that it never waits on (nor
// starves) citybot's own writer, and so that a burst cannot grow the WAL
// while it copies: writes queue for the time of one checkpoint of at most
// a little over WALLimit, plus at most truncateBusy waiting for readers
// still in the WAL (after which it gives up until the next check).
func (db *DB) truncateWAL(ctx context.Context) {
	select {
	case db.wlock <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-db.wlock }()
	start := time.Now()
	var busy, logFrames, done int
	err := db.ckpt.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done)
	switch {
	case err != nil && ctx.Err() == nil:
		db.log.Warn("wal truncate", "err", err)
	case err == nil:
		if busy == 1 {
			db.walBusy.Add(1)
		}
		db.log.Debug("wal truncated", "busy", busy == 1, "duration", time.Since(start))
	}
	db.walTruncations.Add(1)
}

// WALTruncations says how often the WAL was truncated (see Options.WALLimit).
func (db *DB) WALTruncations() int64 { return db.walTruncations.Load() }

// Ping checks that the database answers a query (for a health check), on
// the health checks' own connection: busy console or export connections
// never make it fail.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.hr.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Path returns the database file's path; "" on PostgreSQL.
func (db *DB) Path() string { return db.path }

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads eng's migrations, in order.
func loadMigrations(eng Engine) ([]migration, error) {
	return readMigrations(migrationFiles, migrationDirs[eng])
}

func readMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", other, name, v)
		}
		seen[v] = name
		body, err := fs.ReadFile(fsys, dir+"/"+name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(name, ".sql"), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// Migrate applies the embedded migrations not yet recorded, each in its own
// transaction. It is idempotent. It returns an error wrapping
// citybot.ErrInvalid when the database holds a migration this binary does
// not know (a newer citybot wrote it).
//
// Each engine has its own set, migrations/NNNN_name.sql for SQLite and
// migrations/postgres/NNNN_name.sql for PostgreSQL, with the same numbers
// and names (a test holds every SQLite migration to its PostgreSQL twin),
// both recorded in schema_migrations.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := loadMigrations(db.eng)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	// In a write batch: on PostgreSQL, processes starting together on a
	// new database would otherwise race on creating the table (the
	// catalog's unique keys).
	if err := db.write(ctx, func(ctx context.Context, tx querier) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TEXT NOT NULL)`)
		return err
	}); err != nil {
		return fmt.Errorf("store: migrate: %w", mapErr(err))
	}
	applied := map[int]bool{}
	rows, err := db.w.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", mapErr(err))
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("store: migrate: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	known := map[int]bool{}
	for _, m := range ms {
		known[m.version] = true
	}
	for v := range applied {
		if !known[v] {
			return fmt.Errorf("store: migrate: %w: the database has migration %d, unknown to this citybot (newer version?)", citybot.ErrInvalid, v)
		}
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		err := db.write(ctx, func(ctx context.Context, tx querier) error {
			// Another process may have applied it since we read the
			// list: write batches run one at a time across processes
			// (SQLite's write lock, PostgreSQL's advisory lock: see
			// pgBegin), so what this one reads is final.
			var done int
			err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&done)
			if err != nil {
				return err
			}
			if done > 0 {
				return errNoop
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, ts(db.now())); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, m.sql)
			return err
		})
		if errors.Is(err, errNoop) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: migrate %s: %w", m.name, mapErr(err))
		}
		db.log.Info("migration applied", "version", m.version, "name", m.name)
	}
	return nil
}

// Backup writes a consistent copy of the live database to dstPath with
// SQLite's online backup API, while other goroutines keep writing. The copy
// is written beside dstPath and renamed into place, so dstPath is either
// the old file or a complete copy. It blocks until the copy is done or ctx
// is cancelled.
//
// On PostgreSQL it fails with an error wrapping citybot.ErrNotSupported:
// back it up with pg_dump.
func (db *DB) Backup(ctx context.Context, dstPath string) error {
	if db.eng == Postgres {
		return fmt.Errorf("store: backup: %w: on PostgreSQL, use pg_dump", citybot.ErrNotSupported)
	}
	if dstPath == "" {
		return fmt.Errorf("store: backup: %w: empty destination", citybot.ErrInvalid)
	}
	if abs, err := filepath.Abs(dstPath); err == nil {
		if src, err := filepath.Abs(db.path); err == nil && src == abs {
			return fmt.Errorf("store: backup: %w: destination is the live database", citybot.ErrInvalid)
		}
	}
	tmp := dstPath + ".tmp"
	os.Remove(tmp)
	// Created empty with mode 0600 first: SQLite fills an empty file as
	// a new database and keeps its mode (and gives it to its journal).
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	f.Close()
	if err := db.backupTo(ctx, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, dstPath); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}

func (db *DB) backupTo(ctx context.Context, tmp string) error {
	conn, err := db.r.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		src, ok := dc.(*sqlite3.SQLiteConn)
		if !ok {
			return fmt.Errorf("store: backup: unexpected driver connection %T", dc)
		}
		drv := &sqlite3.SQLiteDriver{}
		dconn, err := drv.Open("file:" + (&url.URL{Path: tmp}).EscapedPath())
		if err != nil {
			return fmt.Errorf("store: backup: open destination: %w", err)
		}
		dst := dconn.(*sqlite3.SQLiteConn)
		defer dst.Close()
		b, err := dst.Backup("main", src, "main")
		if err != nil {
			return fmt.Errorf("store: backup: %w", err)
		}
		// One step copies every page under one read transaction: the
		// copy is a consistent snapshot, and in WAL mode writers go on
		// meanwhile.
		for {
			if err := ctx.Err(); err != nil {
				b.Finish()
				return fmt.Errorf("store: backup: %w", err)
			}
			done, err := b.Step(-1)
			if err != nil {
				b.Finish()
				return fmt.Errorf("store: backup: %w", mapErr(err))
			}
			if done {
				break
			}
			// Busy or locked: let the writer finish, then try again.
			time.Sleep(5 * time.Millisecond)
		}
		if err := b.Finish(); err != nil {
			return fmt.Errorf("store: backup: %w", err)
		}
		return nil
	})
}

// mapErr maps SQLite result codes and PostgreSQL's SQLSTATEs and sql.ErrNoRows to the root sentinels,
// keeping the original error in the chain.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", citybot.ErrNotFound, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %w", citybot.ErrDuplicate, err)
		case "23503", "23514", "23502": // foreign_key, check, not_null
			return fmt.Errorf("%w: %w", citybot.ErrInvalid, err)
		}
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.ExtendedCode {
		case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
			return fmt.Errorf("%w: %w", citybot.ErrDuplicate, err)
		case sqlite3.ErrConstraintForeignKey, sqlite3.ErrConstraintCheck, sqlite3.ErrConstraintNotNull:
			return fmt.Errorf("%w: %w", citybot.ErrInvalid, err)
		}
	}
	return err
}

// timeLayout is fixed-width so that text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTS(s string) time.Time {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func parseNullTS(s sql.NullString) *time.Time {
	if !s.Valid || s.String == "" {
		return nil
	}
	t := parseTS(s.String)
	return &t
}
