/*
 * store.c — rangewatch's state on disk: one SQLite database, DIR/rangewatch.db, in WAL mode.
 *
 * For: keeping what a restart must not lose (listing events now; flags, the alert outbox and
 * the audit log with issue 4) and the bulk state a restart should resume from (the current
 * listing of every key; traffic aggregates later).
 * Owns: the connection, its prepared statements and the one open batch transaction.
 * Must never: let SQL or a sqlite3 type out of this file (another backend, e.g. a shared
 * PostgreSQL for several sensors, must fit behind store.h); write to a file it has not first
 * recognised as a healthy rangewatch database of a schema it knows (a corrupt file, someone
 * else's database or a newer schema is refused before the first write); return from a
 * durable call before its transaction has committed.
 *
 * Durability. Two kinds of write:
 *  - durable ones (store_listing_event; later flags, queued alerts, audit entries) commit
 *    before they return. When a batch is open they commit it with them: the batch's rows are
 *    just state updates, committing them early costs nothing, and it keeps one transaction
 *    open at most (a SAVEPOINT around the event's own statements means a failing event
 *    leaves the batch intact);
 *  - batched ones (store_listing_put; later traffic aggregates) go into one transaction
 *    opened by the first of them and committed by store_flush() on the caller's timer (or
 *    by the store itself after STORE_BATCH_MAX rows, so a missing flush cannot grow the WAL
 *    without bound).
 * With journal_mode=WAL and synchronous=NORMAL a COMMIT has written its frames into the WAL
 * file (the kernel's page cache) before it returns, so a process killed with SIGKILL at any
 * moment loses nothing committed: the next open replays the WAL. What NORMAL gives up is the
 * fsync at each commit, i.e. the last commits can be lost on power loss or a kernel crash
 * (never the database's consistency: a rolled-back commit takes its event and the state row
 * written with it together, so the probe's next answer raises the event again). That is the
 * trade we want: listing events are re-derived from the lists themselves, and an fsync per
 * event would put disk latency on the event path. Set STORE_SYNC to "FULL" to make every
 * commit survive power loss as well.
 *
 * Schema. `schema_version` holds one row per migration applied (version, name, when); the
 * database's version is the largest. migrations[] below is the ordered list of steps: at
 * open, the steps above the database's version run in one transaction (all or none), and a
 * database whose version is above the last step is refused (a newer rangewatch wrote it).
 * To grow the schema (issue 4: traffic aggregates, flags, alert outbox, audit log) append a
 * step; never edit or reorder a step that has been released. New durable writes follow
 * store_listing_event: durable_begin(), the statements, durable_end().
 */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"

#define STORE_FILE	"rangewatch.db"
#define STORE_SYNC	"NORMAL"	/* see "Durability" above */
#define STORE_BUSY_MS	5000		/* another process (sqlite3 shell, backup) holds a lock */
#define STORE_BATCH_MAX	50000		/* rows in one batch before it commits by itself */
#define STORE_PATH_MAX	4096

struct migration {
	int version;
	const char *name;
	const char *sql;
};

/* Append only. Each step's SQL runs inside the migration transaction. */
static const struct migration migrations[] = {
	{ 1, "listing state per (list, key) and the listing event log",
	  "CREATE TABLE listing ("
	  " list TEXT NOT NULL,"
	  " key TEXT NOT NULL,"
	  " scope INTEGER NOT NULL,"
	  " listed INTEGER NOT NULL CHECK (listed IN (0, 1)),"
	  " codes TEXT NOT NULL DEFAULT '',"
	  " txt TEXT NOT NULL DEFAULT '',"
	  " first_seen INTEGER NOT NULL DEFAULT 0,"
	  " last_seen INTEGER NOT NULL DEFAULT 0,"
	  " checked INTEGER NOT NULL DEFAULT 0,"
	  " PRIMARY KEY (list, key)"
	  ") WITHOUT ROWID;"
	  "CREATE TABLE listing_event ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " ts INTEGER NOT NULL,"
	  " event TEXT NOT NULL CHECK (event IN ('listed', 'delisted', 'changed')),"
	  " list TEXT NOT NULL,"
	  " key TEXT NOT NULL,"
	  " scope INTEGER NOT NULL,"
	  " listed INTEGER NOT NULL,"
	  " codes TEXT NOT NULL,"
	  " txt TEXT NOT NULL,"
	  " first_seen INTEGER NOT NULL,"
	  " last_seen INTEGER NOT NULL,"
	  " checked INTEGER NOT NULL"
	  ");"
	  "CREATE INDEX listing_event_key ON listing_event (list, key, id);"
	  "CREATE INDEX listing_event_ts ON listing_event (ts);" },
};

#define NMIGRATIONS	(sizeof migrations / sizeof migrations[0])

enum stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_PUT,
	ST_EVENT,
	ST_LOAD,
	ST_EVENTS,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT durable",
	[ST_RELEASE] = "RELEASE durable",
	[ST_ROLLBACK_TO] = "ROLLBACK TO durable",
	[ST_PUT] =
	    "INSERT INTO listing (list, key, scope, listed, codes, txt, first_seen, last_seen,"
	    " checked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
	    " ON CONFLICT (list, key) DO UPDATE SET scope = excluded.scope,"
	    " listed = excluded.listed, codes = excluded.codes, txt = excluded.txt,"
	    " first_seen = excluded.first_seen, last_seen = excluded.last_seen,"
	    " checked = excluded.checked",
	[ST_EVENT] =
	    "INSERT INTO listing_event (ts, event, list, key, scope, listed, codes, txt,"
	    " first_seen, last_seen, checked)"
	    " VALUES (?10, ?11, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_LOAD] =
	    "SELECT list, key, scope, listed, codes, txt, first_seen, last_seen, checked"
	    " FROM listing",
	[ST_EVENTS] =
	    "SELECT list, key, scope, listed, codes, txt, first_seen, last_seen, checked,"
	    " id, ts, event FROM listing_event WHERE id > ?1 ORDER BY id LIMIT ?2",
};

struct store {
	sqlite3 *db;
	char path[STORE_PATH_MAX];
	sqlite3_stmt *st[ST_COUNT];
	int in_batch;		/* a batch transaction is open */
	size_t batch_rows;
	int64_t last_event_id;
};

/* "store: PATH: what: sqlite's message". */
static int
fail(struct store *s, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "store: %s: %s: %s", s->path, what,
	    s->db ? sqlite3_errmsg(s->db) : "out of memory");
	return -1;
}

/* Runs a statement that returns no rows. */
static int
run(struct store *s, enum stmt i)
{
	int rc = sqlite3_step(s->st[i]);

	sqlite3_reset(s->st[i]);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* After an error: SQLite rolls a whole transaction back by itself on some (disk full, I/O
 * errors); then there is no batch any more. */
static void
tx_sync(struct store *s)
{
	if (s->in_batch && sqlite3_get_autocommit(s->db)) {
		log_warnx("store: %s: a batch of %zu state updates was rolled back", s->path,
		    s->batch_rows);
		s->in_batch = 0;
		s->batch_rows = 0;
	}
}

/* Runs sql that returns at most one row of one column, copying a text result into out
 * (out may be NULL). 1 when a row came, 0 when none, -1 on error. */
static int
query1(sqlite3 *db, const char *sql, char *out, size_t outlen)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int rc, ret = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = 0;
		goto out;
	}
	if (rc != SQLITE_ROW)
		goto out;
	if (out != NULL) {
		t = sqlite3_column_text(st, 0);
		snprintf(out, outlen, "%s", t ? (const char *)t : "");
	}
	ret = 1;
out:
	sqlite3_finalize(st);
	return ret;
}

/* Parses a decimal integer written by SQLite itself (never untrusted text). */
static int
parse_int(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' ? 0 : -1;
}

/* Reads the schema version: 0 for an empty database, -1 on error, -2 for a database
 * that has tables but no schema_version (not ours). */
static int
schema_version(sqlite3 *db, long *version)
{
	char buf[32];
	int r;

	r = query1(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'schema_version'",
	    buf, sizeof buf);
	if (r != 1 || parse_int(buf, version) == -1)
		return -1;
	if (*version == 0) {
		r = query1(db, "SELECT count(*) FROM sqlite_schema", buf, sizeof buf);
		if (r != 1 || parse_int(buf, version) == -1)
			return -1;
		if (*version != 0)
			return -2;
		return 0;
	}
	r = query1(db, "SELECT coalesce(max(version), 0) FROM schema_version", buf,
	    sizeof buf);
	if (r != 1 || parse_int(buf, version) == -1)
		return -1;
	return 0;
}

/* Checks, without writing anything, that the file is a healthy SQLite database and ours,
 * of a schema version this code knows. quick_check reads every page once (0.4 s for a
 * million listing rows): paid at start-up only, it keeps a damaged file from being
 * written to and made worse. */
static int
recognise(struct store *s, char *err, size_t errlen)
{
	char buf[512], *p;
	long v;
	int r;

	/* The first read of page 1: SQLITE_NOTADB for a file that is not a database. */
	if (query1(s->db, "SELECT count(*) FROM sqlite_schema", NULL, 0) != 1) {
		snprintf(err, errlen, "store: %s: not a usable SQLite database (%s); refusing "
		    "to touch it: move it aside to start afresh", s->path, sqlite3_errmsg(s->db));
		return -1;
	}
	r = query1(s->db, "PRAGMA quick_check(1)", buf, sizeof buf);
	if (r != 1 || strcmp(buf, "ok") != 0) {
		for (p = buf; (p = strchr(p, '\n')) != NULL; )
			*p = ' ';	/* one line */
		snprintf(err, errlen, "store: %s: database is corrupt (%s); refusing to touch "
		    "it: restore a backup or move it aside to start afresh", s->path,
		    r == 1 ? buf : sqlite3_errmsg(s->db));
		return -1;
	}
	r = schema_version(s->db, &v);
	if (r == -2) {
		snprintf(err, errlen, "store: %s: an SQLite database that rangewatch did not "
		    "create (no schema_version table); refusing to touch it", s->path);
		return -1;
	}
	if (r == -1)
		return fail(s, "reading the schema version", err, errlen);
	if (v > migrations[NMIGRATIONS - 1].version) {
		snprintf(err, errlen, "store: %s: schema version %ld is newer than this "
		    "rangewatch knows (%d): run the newer rangewatch, or restore a backup "
		    "taken before the upgrade", s->path, v, migrations[NMIGRATIONS - 1].version);
		return -1;
	}
	return 0;
}

/* Applies the migration steps above the database's version, in one transaction. */
static int
migrate(struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt *ins = NULL;
	char what[160];
	size_t i;
	long v;
	int ret = -1;

	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return fail(s, "starting the migration", err, errlen);
	if (sqlite3_exec(s->db, "CREATE TABLE IF NOT EXISTS schema_version ("
	    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL)",
	    NULL, NULL, NULL) != SQLITE_OK) {
		fail(s, "creating schema_version", err, errlen);
		goto out;
	}
	/* again, under the write lock: another process may have migrated meanwhile */
	if (schema_version(s->db, &v) != 0) {
		fail(s, "reading the schema version", err, errlen);
		goto out;
	}
	if (v > migrations[NMIGRATIONS - 1].version) {
		snprintf(err, errlen, "store: %s: schema version %ld is newer than this "
		    "rangewatch knows (%d)", s->path, v, migrations[NMIGRATIONS - 1].version);
		goto out;
	}
	if (sqlite3_prepare_v2(s->db, "INSERT INTO schema_version (version, name, applied) "
	    "VALUES (?1, ?2, ?3)", -1, &ins, NULL) != SQLITE_OK) {
		fail(s, "preparing the migration", err, errlen);
		goto out;
	}
	for (i = 0; i < NMIGRATIONS; i++) {
		if (migrations[i].version <= v)
			continue;
		snprintf(what, sizeof what, "migrating to schema version %d (%s)",
		    migrations[i].version, migrations[i].name);
		if (sqlite3_exec(s->db, migrations[i].sql, NULL, NULL, NULL) != SQLITE_OK) {
			fail(s, what, err, errlen);
			goto out;
		}
		sqlite3_bind_int(ins, 1, migrations[i].version);
		sqlite3_bind_text(ins, 2, migrations[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, (sqlite3_int64)time(NULL));
		if (sqlite3_step(ins) != SQLITE_DONE) {
			fail(s, what, err, errlen);
			goto out;
		}
		sqlite3_reset(ins);
		if (v > 0)
			log_info("store: %s: migrated to schema version %d (%s)", s->path,
			    migrations[i].version, migrations[i].name);
	}
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fail(s, "committing the migration", err, errlen);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(ins);
	if (ret == -1)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/* Creates dir (0750) when missing; it must be a directory. */
static int
make_dir(const char *dir, char *err, size_t errlen)
{
	struct stat sb;

	if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "store: cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &sb) == -1) {
		snprintf(err, errlen, "store: %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "store: %s: not a directory", dir);
		return -1;
	}
	return 0;
}

/* Opens dir/rangewatch.db, creating and migrating it when needed. */
int
store_open(const char *dir, struct store **out, char *err, size_t errlen)
{
	struct store *s;
	char mode[32];
	int i, n;

	*out = NULL;
	if ((s = calloc(1, sizeof *s)) == NULL) {
		snprintf(err, errlen, "store: out of memory");
		return -1;
	}
	n = snprintf(s->path, sizeof s->path, "%s/%s", dir, STORE_FILE);
	if (n < 0 || (size_t)n >= sizeof s->path) {
		snprintf(err, errlen, "store: state directory path too long");
		goto fail;
	}
	if (make_dir(dir, err, errlen) == -1)
		goto fail;
	if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		fail(s, "cannot open", err, errlen);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	/* a database file is input: no schema tricks, no functions run from its schema */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	if (recognise(s, err, errlen) == -1)
		goto fail;
	/* From here on we write. WAL is a property of the file; it persists. */
	if (query1(s->db, "PRAGMA journal_mode = WAL", mode, sizeof mode) != 1 ||
	    strcmp(mode, "wal") != 0) {
		snprintf(err, errlen, "store: %s: cannot switch to WAL mode (%s)", s->path,
		    sqlite3_errmsg(s->db));
		goto fail;
	}
	if (sqlite3_exec(s->db, "PRAGMA synchronous = " STORE_SYNC, NULL, NULL, NULL) !=
	    SQLITE_OK) {
		fail(s, "setting synchronous", err, errlen);
		goto fail;
	}
	if (migrate(s, err, errlen) == -1)
		goto fail;
	for (i = 0; i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		    &s->st[i], NULL) != SQLITE_OK) {
			fail(s, "preparing statements", err, errlen);
			goto fail;
		}
	*out = s;
	return 0;
fail:
	store_close(s);
	return -1;
}

/* Commits the batch when one is open. */
int
store_flush(struct store *s, char *err, size_t errlen)
{
	if (!s->in_batch)
		return 0;
	if (run(s, ST_COMMIT) == -1) {
		fail(s, "committing the batch", err, errlen);
		/* a failed COMMIT leaves the transaction open (busy: the next flush retries)
		 * or rolled back */
		tx_sync(s);
		return -1;
	}
	s->in_batch = 0;
	s->batch_rows = 0;
	return 0;
}

/* Commits the open batch and closes. */
void
store_close(struct store *s)
{
	char err[512];
	int i;

	if (s == NULL)
		return;
	if (s->db != NULL && s->in_batch && store_flush(s, err, sizeof err) == -1)
		log_warnx("%s (the last state updates are lost; no event is)", err);
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		log_warnx("store: %s: close: %s", s->path, sqlite3_errmsg(s->db));
	free(s);
}

/* Binds l to parameters 1..9 of st. */
static void
bind_listing(sqlite3_stmt *st, const struct store_listing *l)
{
	sqlite3_bind_text(st, 1, l->list ? l->list : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, l->key ? l->key : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, l->scope);
	sqlite3_bind_int(st, 4, l->listed ? 1 : 0);
	sqlite3_bind_text(st, 5, l->codes ? l->codes : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, l->txt ? l->txt : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, l->first_seen);
	sqlite3_bind_int64(st, 8, l->last_seen);
	sqlite3_bind_int64(st, 9, l->checked);
}

/* Reads columns 0..8 of st into l (strings valid until the next step). */
static void
column_listing(sqlite3_stmt *st, struct store_listing *l)
{
	const unsigned char *t;

	t = sqlite3_column_text(st, 0);
	l->list = t ? (const char *)t : "";
	t = sqlite3_column_text(st, 1);
	l->key = t ? (const char *)t : "";
	l->scope = sqlite3_column_int(st, 2);
	l->listed = sqlite3_column_int(st, 3) != 0;
	t = sqlite3_column_text(st, 4);
	l->codes = t ? (const char *)t : "";
	t = sqlite3_column_text(st, 5);
	l->txt = t ? (const char *)t : "";
	l->first_seen = sqlite3_column_int64(st, 6);
	l->last_seen = sqlite3_column_int64(st, 7);
	l->checked = sqlite3_column_int64(st, 8);
}

/* Opens the batch transaction unless it is open. */
static int
batch_begin(struct store *s, char *err, size_t errlen)
{
	if (s->in_batch)
		return 0;
	if (run(s, ST_BEGIN) == -1)
		return fail(s, "starting a batch", err, errlen);
	s->in_batch = 1;
	s->batch_rows = 0;
	return 0;
}

/* Starts a durable write: inside the batch (a savepoint) or a transaction of its own. */
static int
durable_begin(struct store *s, char *err, size_t errlen)
{
	if (run(s, s->in_batch ? ST_SAVEPOINT : ST_BEGIN) == -1)
		return fail(s, "starting a transaction", err, errlen);
	return 0;
}

/* Ends a durable write: ok commits it (and the batch it joined) before returning; !ok undoes
 * only its own statements. A commit that fails rolls everything back, batch included, so
 * that a failed durable write never commits later behind the caller's back. */
static int
durable_end(struct store *s, int ok, char *err, size_t errlen)
{
	if (!ok) {
		if (s->in_batch) {
			run(s, ST_ROLLBACK_TO);
			run(s, ST_RELEASE);
		} else
			run(s, ST_ROLLBACK);
		tx_sync(s);
		return -1;
	}
	if (s->in_batch && run(s, ST_RELEASE) == -1) {
		fail(s, "releasing a savepoint", err, errlen);
		goto undo;
	}
	if (run(s, ST_COMMIT) == -1) {
		fail(s, "committing", err, errlen);
		goto undo;
	}
	s->in_batch = 0;
	s->batch_rows = 0;
	return 0;
undo:
	if (!sqlite3_get_autocommit(s->db))
		run(s, ST_ROLLBACK);
	if (s->in_batch)
		log_warnx("store: %s: a batch of %zu state updates was rolled back with a failed "
		    "event", s->path, s->batch_rows);
	s->in_batch = 0;
	s->batch_rows = 0;
	return -1;
}

static int
valid_event(const char *ev)
{
	return ev != NULL && (strcmp(ev, "listed") == 0 || strcmp(ev, "delisted") == 0 ||
	    strcmp(ev, "changed") == 0);
}

/* Records a listing event and its key's new state, committed before return. */
int
store_listing_event(struct store *s, const struct store_listing_event *e, char *err,
    size_t errlen)
{
	sqlite3_stmt *ev = s->st[ST_EVENT], *put = s->st[ST_PUT];
	int ok;

	if (!valid_event(e->event)) {
		snprintf(err, errlen, "store: unknown listing event '%s'",
		    e->event ? e->event : "(null)");
		return -1;
	}
	if (durable_begin(s, err, errlen) == -1)
		return -1;
	bind_listing(ev, &e->l);
	sqlite3_bind_int64(ev, 10, e->ts);
	sqlite3_bind_text(ev, 11, e->event, -1, SQLITE_STATIC);
	ok = sqlite3_step(ev) == SQLITE_DONE;
	if (ok)
		s->last_event_id = sqlite3_last_insert_rowid(s->db);
	else
		fail(s, "recording a listing event", err, errlen);
	sqlite3_reset(ev);
	sqlite3_clear_bindings(ev);
	if (ok) {
		bind_listing(put, &e->l);
		ok = sqlite3_step(put) == SQLITE_DONE;
		if (!ok)
			fail(s, "updating a listing", err, errlen);
		sqlite3_reset(put);
		sqlite3_clear_bindings(put);
	}
	return durable_end(s, ok, err, errlen);
}

/* The id the last successful store_listing_event got (0 before any). */
int64_t
store_last_event_id(const struct store *s)
{
	return s->last_event_id;
}

/* Updates the state of a key in the batch. */
int
store_listing_put(struct store *s, const struct store_listing *l, char *err, size_t errlen)
{
	sqlite3_stmt *put = s->st[ST_PUT];
	int rc;

	if (batch_begin(s, err, errlen) == -1)
		return -1;
	bind_listing(put, l);
	rc = sqlite3_step(put);
	sqlite3_reset(put);
	sqlite3_clear_bindings(put);
	if (rc != SQLITE_DONE) {
		fail(s, "updating a listing", err, errlen);
		tx_sync(s);
		return -1;
	}
	if (++s->batch_rows >= STORE_BATCH_MAX)
		return store_flush(s, err, errlen);
	return 0;
}

/* Calls cb for every stored listing state. */
int
store_listing_load(struct store *s, void (*cb)(void *arg, const struct store_listing *l),
    void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_LOAD];
	struct store_listing l;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		column_listing(st, &l);
		cb(arg, &l);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return fail(s, "reading listings", err, errlen);
	return 0;
}

/* Calls cb for the events after after_id, oldest first, at most limit (0: all). */
int
store_listing_events(struct store *s, int64_t after_id, size_t limit,
    void (*cb)(void *arg, const struct store_listing_event *e), void *arg, char *err,
    size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_EVENTS];
	struct store_listing_event e;
	const unsigned char *t;
	int rc;

	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_int64(st, 2, limit == 0 || limit > INT64_MAX ? -1 : (sqlite3_int64)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		column_listing(st, &e.l);
		e.id = sqlite3_column_int64(st, 9);
		e.ts = sqlite3_column_int64(st, 10);
		t = sqlite3_column_text(st, 11);
		e.event = t ? (const char *)t : "";
		cb(arg, &e);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return fail(s, "reading listing events", err, errlen);
	return 0;
}
