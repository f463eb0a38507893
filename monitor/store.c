/*
 * store.c — rangewatch's state on disk: one SQLite database, DIR/rangewatch.db, in WAL mode.
 *
 * For: keeping what a restart must not lose (listing events, flag changes, the audit log;
 * the alert outbox) and the bulk state a restart should resume from (the current
 * listing of every key, traffic aggregates per minute and per hour, the risk engine's
 * per-IP state, the current flag of each customer).
 * Owns: the connection, its prepared statements and the one open batch transaction.
 * Must never: let SQL or a sqlite3 type out of this file (another backend, e.g. a shared
 * PostgreSQL for several sensors, must fit behind store.h); write to a file it has not first
 * recognised as a healthy rangewatch database of a schema it knows (a corrupt file, someone
 * else's database or a newer schema is refused before the first write); return from a
 * durable call before its transaction has committed.
 *
 * Durability. Two kinds of write:
 *  - durable ones (store_listing_event, store_flag_change, store_flag_ack, store_audit_add,
 *    store_audit_outcome, store_outbox_add, _done, _retry, _fail, _digest) commit before they return. When a batch is
 *    open they commit it with them: the batch's rows are just state updates, committing
 *    them early costs nothing, and it keeps one transaction open at most (a SAVEPOINT
 *    around the event's own statements means a failing event leaves the batch intact);
 *  - batched ones (store_listing_put, store_traffic_put and _prune, store_ipstate_put and
 *    _prune, store_flag_update) go into one transaction opened by the first of them and
 *    committed by store_flush() on the caller's timer (or by the store itself after
 *    STORE_BATCH_MAX rows, so a missing flush cannot grow the WAL without bound).
 * A hold (store_hold .. store_release) makes several durable writes one: a record and
 * what it sets off (a level change, the audit row of the hook it starts, its alert rows;
 * an ack and its audit entry) commit together at the release, so a kill between them
 * cannot keep the one without the other. A hold is a savepoint in the batch's
 * transaction: its durable writes join the batch, store_flush() waits for the release,
 * and a release that does not keep them undoes them alone.
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
 * To grow the schema append a step; never edit or reorder a step
 * that has been released, and write a step's SQL out in full (no macros shared with the
 * statements, which may change). New durable writes follow store_listing_event:
 * durable_begin(), the statements, durable_end(); batched ones batch_begin(), the
 * statements, batch_end().
 *
 * Caller's strings are untrusted: they are bound as text with their length (bind_str), never
 * pasted into SQL, and SQLite stores their bytes as given (invalid UTF-8 included). Reads
 * hand out pointers into the current row, valid during the callback only; that is also
 * why a callback must not call the store (it would reset the statement being stepped).
 */
#include "store.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"

#define STORE_FILE	"rangewatch.db"
/* What a refused file's message says to do (README, Troubleshooting). */
#define STORE_REPAIR_HINT "The daemon cannot start on it: run 'rangewatchd --repair -c " \
	"CONFIG' (keeps the file as rangewatch.db.corrupt-TIME beside it, recovers what " \
	"SQLite can read into a fresh store), or 'sqlite3 FILE .recover | sqlite3 NEW' as the " \
	"daemon's user, or restore a backup"
#define STORE_SYNC	"NORMAL"	/* see "Durability" above */
#define STORE_CACHE_KB	"131072"	/* page cache: 128 MiB at most */
#define STORE_BUSY_MS	5000		/* another process (sqlite3 shell, backup) holds a lock */
/* Rows in one batch before it commits by itself. A commit is part of one loop turn and
 * may run SQLite's checkpoint of what the WAL holds: the minute's work writes 2048 rows a
 * turn, so 8192 keeps what one commit carries (and copies) to a few turns' worth. */
#define STORE_BATCH_MAX	8192
#define STORE_PATH_MAX	4096
#define STORE_OUTBOX_MAX	10000	/* queued outbox rows; see store_outbox_add() */

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
	/* Traffic rows are keyed (ip, ts) and also indexed (ts) and (customer, ts): in a
	 * WITHOUT ROWID table an index carries the primary key after its own columns, so
	 * those two read as (ts, ip) and (customer, ts, ip), which is the order
	 * store_traffic_each() returns, without a sort. */
	{ 2, "traffic aggregates, per-IP model state, flags and their history, the audit log",
	  "CREATE TABLE traffic_minute ("
	  " ip TEXT NOT NULL,"
	  " ts INTEGER NOT NULL,"
	  " customer TEXT NOT NULL DEFAULT '',"
	  " bytes_out INTEGER NOT NULL DEFAULT 0,"
	  " syn INTEGER NOT NULL DEFAULT 0,"
	  " sessions INTEGER NOT NULL DEFAULT 0,"
	  " mail_from INTEGER NOT NULL DEFAULT 0,"
	  " rcpt_to INTEGER NOT NULL DEFAULT 0,"
	  " data INTEGER NOT NULL DEFAULT 0,"
	  " starttls INTEGER NOT NULL DEFAULT 0,"
	  " replies_4xx INTEGER NOT NULL DEFAULT 0,"
	  " replies_5xx INTEGER NOT NULL DEFAULT 0,"
	  " cited INTEGER NOT NULL DEFAULT 0,"
	  " new_dst INTEGER NOT NULL DEFAULT 0,"
	  " PRIMARY KEY (ts, ip)"
	  ") WITHOUT ROWID;"
	  "CREATE INDEX traffic_minute_customer ON traffic_minute (customer, ts);"
	  "CREATE TABLE traffic_hour ("
	  " ip TEXT NOT NULL,"
	  " ts INTEGER NOT NULL,"
	  " customer TEXT NOT NULL DEFAULT '',"
	  " bytes_out INTEGER NOT NULL DEFAULT 0,"
	  " syn INTEGER NOT NULL DEFAULT 0,"
	  " sessions INTEGER NOT NULL DEFAULT 0,"
	  " mail_from INTEGER NOT NULL DEFAULT 0,"
	  " rcpt_to INTEGER NOT NULL DEFAULT 0,"
	  " data INTEGER NOT NULL DEFAULT 0,"
	  " starttls INTEGER NOT NULL DEFAULT 0,"
	  " replies_4xx INTEGER NOT NULL DEFAULT 0,"
	  " replies_5xx INTEGER NOT NULL DEFAULT 0,"
	  " cited INTEGER NOT NULL DEFAULT 0,"
	  " new_dst INTEGER NOT NULL DEFAULT 0,"
	  " PRIMARY KEY (ts, ip)"
	  ") WITHOUT ROWID;"
	  "CREATE INDEX traffic_hour_customer ON traffic_hour (customer, ts);"
	  "CREATE TABLE ipstate ("
	  " ip TEXT PRIMARY KEY,"
	  " state BLOB NOT NULL,"
	  " updated INTEGER NOT NULL"
	  ") WITHOUT ROWID;"
	  "CREATE INDEX ipstate_updated ON ipstate (updated);"
	  "CREATE TABLE flag ("
	  " customer TEXT PRIMARY KEY,"
	  " name TEXT NOT NULL DEFAULT '',"
	  " level TEXT NOT NULL CHECK (level IN ('none', 'watch', 'warn', 'act')),"
	  " previous TEXT NOT NULL CHECK (previous IN ('none', 'watch', 'warn', 'act')),"
	  " since INTEGER NOT NULL,"
	  " history_id INTEGER NOT NULL,"
	  " score REAL NOT NULL,"
	  " evidence TEXT NOT NULL DEFAULT '',"
	  " ack_by TEXT NOT NULL DEFAULT '',"
	  " ack_reason TEXT NOT NULL DEFAULT '',"
	  " ack_ts INTEGER NOT NULL DEFAULT 0"
	  ") WITHOUT ROWID;"
	  "CREATE TABLE flag_history ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " ts INTEGER NOT NULL,"
	  " customer TEXT NOT NULL,"
	  " name TEXT NOT NULL DEFAULT '',"
	  " level TEXT NOT NULL CHECK (level IN ('none', 'watch', 'warn', 'act')),"
	  " previous TEXT NOT NULL CHECK (previous IN ('none', 'watch', 'warn', 'act')),"
	  " score REAL NOT NULL,"
	  " evidence TEXT NOT NULL DEFAULT ''"
	  ");"
	  "CREATE INDEX flag_history_customer ON flag_history (customer, id);"
	  "CREATE TABLE audit ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " ts INTEGER NOT NULL,"
	  " actor TEXT NOT NULL DEFAULT '',"
	  " action TEXT NOT NULL DEFAULT '',"
	  " customer TEXT NOT NULL DEFAULT '',"
	  " reason TEXT NOT NULL DEFAULT '',"
	  " outcome TEXT NOT NULL DEFAULT '',"
	  " detail TEXT NOT NULL DEFAULT ''"
	  ");"
	  "CREATE INDEX audit_customer ON audit (customer, id);" },
	/* The alert outbox: every mail, webhook POST and watch-digest item is a row before
	 * anything is sent; the sender marks it sent only after the server accepted it.
	 * (state, kind, next_try) serves the due scan and the bound's count of queued rows. */
	{ 3, "the alert outbox",
	  "CREATE TABLE outbox ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " kind TEXT NOT NULL CHECK (kind IN ('mail', 'webhook', 'digest')),"
	  " customer TEXT NOT NULL DEFAULT '',"
	  " level TEXT NOT NULL DEFAULT '',"
	  " created INTEGER NOT NULL,"
	  " next_try INTEGER NOT NULL,"
	  " tries INTEGER NOT NULL DEFAULT 0,"
	  " state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),"
	  " subject TEXT NOT NULL DEFAULT '',"
	  " recipients TEXT NOT NULL DEFAULT '',"
	  " payload TEXT NOT NULL DEFAULT '',"
	  " last_error TEXT NOT NULL DEFAULT '',"
	  " sent_ts INTEGER NOT NULL DEFAULT 0"
	  ");"
	  "CREATE INDEX outbox_due ON outbox (state, kind, next_try);"
	  "CREATE INDEX outbox_customer ON outbox (customer, id);" },
	/* Who is suspended (by the hook, automatically or by an operator), so that a customer
	 * is suspended once however often its level rises again, and resumed after quiet. */
	{ 4, "suspensions",
	  "CREATE TABLE suspension ("
	  " customer TEXT PRIMARY KEY,"
	  " state TEXT NOT NULL CHECK (state IN ('suspended', 'resumed')),"
	  " since INTEGER NOT NULL,"
	  " actor TEXT NOT NULL DEFAULT '',"
	  " dry_run INTEGER NOT NULL DEFAULT 0,"
	  " audit_id INTEGER NOT NULL DEFAULT 0"
	  ") WITHOUT ROWID;" },
	/* Complaints (ARF, X-ARF, JMRP reports) an operator gave with `rangewatch report`:
	 * evidence for the risk engine, fed again from here at every start. Text columns are
	 * the reports' words (third-party), escaped before they came. */
	{ 5, "complaints",
	  "CREATE TABLE complaint ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " received INTEGER NOT NULL,"
	  " at INTEGER NOT NULL,"
	  " ip TEXT NOT NULL,"
	  " customer TEXT NOT NULL DEFAULT '',"
	  " kind TEXT NOT NULL,"
	  " feedback_type TEXT NOT NULL DEFAULT '',"
	  " reported_domain TEXT NOT NULL DEFAULT '',"
	  " mail_from TEXT NOT NULL DEFAULT '',"
	  " operator TEXT NOT NULL DEFAULT ''"
	  ");"
	  "CREATE INDEX complaint_at ON complaint (at);"
	  "CREATE INDEX complaint_customer ON complaint (customer, at);" },
};

#define NMIGRATIONS	(sizeof migrations / sizeof migrations[0])

enum stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_HOLD,
	ST_HOLD_RELEASE,
	ST_HOLD_UNDO,
	ST_PUT,
	ST_EVENT,
	ST_LOAD,
	ST_EVENTS,
	ST_TRAFFIC_MINUTE,
	ST_TRAFFIC_HOUR,
	ST_TRAFFIC_PRUNE_MINUTE,
	ST_TRAFFIC_PRUNE_HOUR,
	ST_TRAFFIC_EACH,	/* 8 of them: + 4 * hourly + 2 * (ip given) + (customer given) */
	ST_TRAFFIC_EACH_LAST = ST_TRAFFIC_EACH + 7,
	ST_IPSTATE_PUT,
	ST_IPSTATE_LOAD,
	ST_IPSTATE_PRUNE,
	ST_FLAG_HISTORY_ADD,
	ST_FLAG_SET,
	ST_FLAG_UPDATE,
	ST_FLAG_ACK,
	ST_FLAG_LOAD,
	ST_FLAG_HISTORY,
	ST_FLAG_HISTORY_OF,	/* of one customer */
	ST_AUDIT_ADD,
	ST_AUDIT_OUTCOME,
	ST_AUDIT_EACH,
	ST_AUDIT_EACH_OF,	/* of one customer */
	ST_OUTBOX_COUNT,
	ST_OUTBOX_ADD,
	ST_OUTBOX_DUE,
	ST_OUTBOX_PENDING,
	ST_OUTBOX_DONE,
	ST_OUTBOX_RETRY,
	ST_OUTBOX_FAIL,
	ST_OUTBOX_DIGESTED,
	ST_OUTBOX_EACH,
	ST_OUTBOX_EACH_OF,	/* of one customer */
	ST_OUTBOX_PRUNE,
	ST_SUSPENSION_SET,
	ST_SUSPENSION_LOAD,
	ST_COMPLAINT_ADD,
	ST_COMPLAINT_EACH,
	ST_COUNT
};

/* The statements of the two traffic tables differ only by the table's name. */
#define TRAFFIC_COLS \
	"ip, customer, ts, bytes_out, syn, sessions, mail_from, rcpt_to, data, starttls," \
	" replies_4xx, replies_5xx, cited, new_dst"
#define TRAFFIC_ADD(table) \
	"INSERT INTO " table " (" TRAFFIC_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9," \
	" ?10, ?11, ?12, ?13, ?14) ON CONFLICT (ip, ts) DO UPDATE SET" \
	" customer = excluded.customer," \
	" bytes_out = bytes_out + excluded.bytes_out, syn = syn + excluded.syn," \
	" sessions = sessions + excluded.sessions," \
	" mail_from = mail_from + excluded.mail_from, rcpt_to = rcpt_to + excluded.rcpt_to," \
	" data = data + excluded.data, starttls = starttls + excluded.starttls," \
	" replies_4xx = replies_4xx + excluded.replies_4xx," \
	" replies_5xx = replies_5xx + excluded.replies_5xx, cited = cited + excluded.cited," \
	" new_dst = new_dst + excluded.new_dst"
#define TRAFFIC_EACH(table, filter) \
	"SELECT " TRAFFIC_COLS " FROM " table " WHERE ts >= ?1 AND ts < ?2" filter \
	" ORDER BY ts, ip"
#define FLAG_HISTORY(filter) \
	"SELECT id, ts, customer, name, level, previous, score, evidence FROM flag_history" \
	" WHERE id < ?1" filter " ORDER BY id DESC LIMIT ?3"
#define AUDIT_EACH(filter) \
	"SELECT id, ts, actor, action, customer, reason, outcome, detail FROM audit" \
	" WHERE id < ?1" filter " ORDER BY id DESC LIMIT ?3"

#define OUTBOX_COLS \
	"id, kind, customer, level, created, next_try, tries, state, subject, recipients," \
	" payload, last_error, sent_ts"
#define OUTBOX_EACH(filter) \
	"SELECT " OUTBOX_COLS " FROM outbox WHERE id < ?1" filter " ORDER BY id DESC LIMIT ?3"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_SUSPENSION_SET] =
	    "INSERT INTO suspension (customer, state, since, actor, dry_run, audit_id)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (customer) DO UPDATE SET"
	    " state = excluded.state, since = excluded.since, actor = excluded.actor,"
	    " dry_run = excluded.dry_run, audit_id = excluded.audit_id",
	[ST_COMPLAINT_ADD] =
	    "INSERT INTO complaint (received, at, ip, customer, kind, feedback_type,"
	    " reported_domain, mail_from, operator) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_COMPLAINT_EACH] =
	    "SELECT id, received, at, ip, customer, kind, feedback_type, reported_domain,"
	    " mail_from, operator FROM complaint WHERE at >= ?1 ORDER BY at, id",
	[ST_SUSPENSION_LOAD] =
	    "SELECT customer, state, since, actor, dry_run, audit_id FROM suspension"
	    " ORDER BY customer",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT durable",
	[ST_RELEASE] = "RELEASE durable",
	[ST_ROLLBACK_TO] = "ROLLBACK TO durable",
	[ST_HOLD] = "SAVEPOINT hold",
	[ST_HOLD_RELEASE] = "RELEASE hold",
	[ST_HOLD_UNDO] = "ROLLBACK TO hold",
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
	[ST_TRAFFIC_MINUTE] = TRAFFIC_ADD("traffic_minute"),
	[ST_TRAFFIC_HOUR] = TRAFFIC_ADD("traffic_hour"),
	[ST_TRAFFIC_PRUNE_MINUTE] = "DELETE FROM traffic_minute WHERE ts < ?1",
	[ST_TRAFFIC_PRUNE_HOUR] = "DELETE FROM traffic_hour WHERE ts < ?1",
	[ST_TRAFFIC_EACH + 0] = TRAFFIC_EACH("traffic_minute", ""),
	[ST_TRAFFIC_EACH + 1] = TRAFFIC_EACH("traffic_minute", " AND customer = ?4"),
	[ST_TRAFFIC_EACH + 2] = TRAFFIC_EACH("traffic_minute", " AND ip = ?3"),
	[ST_TRAFFIC_EACH + 3] = TRAFFIC_EACH("traffic_minute", " AND ip = ?3 AND customer = ?4"),
	[ST_TRAFFIC_EACH + 4] = TRAFFIC_EACH("traffic_hour", ""),
	[ST_TRAFFIC_EACH + 5] = TRAFFIC_EACH("traffic_hour", " AND customer = ?4"),
	[ST_TRAFFIC_EACH + 6] = TRAFFIC_EACH("traffic_hour", " AND ip = ?3"),
	[ST_TRAFFIC_EACH + 7] = TRAFFIC_EACH("traffic_hour", " AND ip = ?3 AND customer = ?4"),
	/* updated never goes back: replaying older captures after live traffic must not make
	 * a state just written look stale to store_ipstate_prune() */
	[ST_IPSTATE_PUT] =
	    "INSERT INTO ipstate (ip, state, updated) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (ip) DO UPDATE SET state = excluded.state,"
	    " updated = max(updated, excluded.updated)",
	[ST_IPSTATE_LOAD] = "SELECT ip, state FROM ipstate",
	[ST_IPSTATE_PRUNE] = "DELETE FROM ipstate WHERE updated < ?1",
	[ST_FLAG_HISTORY_ADD] =
	    "INSERT INTO flag_history (ts, customer, name, level, previous, score, evidence)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_FLAG_SET] =
	    "INSERT INTO flag (customer, name, level, previous, since, history_id, score,"
	    " evidence) VALUES (?2, ?3, ?4, ?5, ?1, ?8, ?6, ?7)"
	    " ON CONFLICT (customer) DO UPDATE SET name = excluded.name,"
	    " level = excluded.level, previous = excluded.previous, since = excluded.since,"
	    " history_id = excluded.history_id, score = excluded.score,"
	    " evidence = excluded.evidence, ack_by = '', ack_reason = '', ack_ts = 0",
	[ST_FLAG_UPDATE] = "UPDATE flag SET score = ?2, evidence = ?3 WHERE customer = ?1",
	[ST_FLAG_ACK] =
	    "UPDATE flag SET ack_by = ?2, ack_reason = ?3, ack_ts = ?4 WHERE customer = ?1",
	[ST_FLAG_LOAD] =
	    "SELECT history_id, since, customer, name, level, previous, score, evidence,"
	    " ack_by, ack_reason, ack_ts FROM flag ORDER BY customer",
	[ST_FLAG_HISTORY] = FLAG_HISTORY(""),
	[ST_FLAG_HISTORY_OF] = FLAG_HISTORY(" AND customer = ?2"),
	[ST_AUDIT_ADD] =
	    "INSERT INTO audit (ts, actor, action, customer, reason, outcome, detail)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_AUDIT_OUTCOME] =
	    "UPDATE audit SET outcome = ?2, detail = coalesce(?3, detail) WHERE id = ?1",
	[ST_AUDIT_EACH] = AUDIT_EACH(""),
	[ST_AUDIT_EACH_OF] = AUDIT_EACH(" AND customer = ?2"),
	[ST_OUTBOX_COUNT] = "SELECT count(*) FROM outbox WHERE state = 'queued'",
	[ST_OUTBOX_ADD] =
	    "INSERT INTO outbox (kind, customer, level, created, next_try, subject, recipients,"
	    " payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_OUTBOX_DUE] =
	    "SELECT " OUTBOX_COLS " FROM outbox WHERE state = 'queued' AND kind IN ('mail',"
	    " 'webhook') AND next_try <= ?1 ORDER BY next_try, id LIMIT ?2",
	[ST_OUTBOX_PENDING] =
	    "SELECT " OUTBOX_COLS " FROM outbox WHERE state = 'queued' AND kind = ?1"
	    " ORDER BY id LIMIT ?2",
	[ST_OUTBOX_DONE] =
	    "UPDATE outbox SET state = 'sent', sent_ts = ?2, tries = tries + 1,"
	    " last_error = '' WHERE id = ?1 AND state = 'queued'",
	[ST_OUTBOX_RETRY] =
	    "UPDATE outbox SET next_try = ?2, tries = ?3, last_error = ?4"
	    " WHERE id = ?1 AND state = 'queued'",
	[ST_OUTBOX_FAIL] =
	    "UPDATE outbox SET state = 'failed', last_error = ?2 WHERE id = ?1"
	    " AND state = 'queued'",
	[ST_OUTBOX_DIGESTED] =
	    "UPDATE outbox SET state = 'sent', sent_ts = ?2, last_error = ?3"
	    " WHERE id = ?1 AND state = 'queued' AND kind = 'digest'",
	[ST_OUTBOX_EACH] = OUTBOX_EACH(""),
	[ST_OUTBOX_EACH_OF] = OUTBOX_EACH(" AND customer = ?2"),
	[ST_OUTBOX_PRUNE] = "DELETE FROM outbox WHERE state <> 'queued' AND created < ?1",
};

struct store {
	sqlite3 *db;
	char path[STORE_PATH_MAX];
	sqlite3_stmt *st[ST_COUNT];
	int in_batch;		/* a batch transaction is open */
	size_t batch_rows;
	int hold;		/* store_hold depth: nothing commits before its release */
	int hold_lost;		/* an error rolled the held transaction back */
	struct after {		/* store_after: waiting for the hold they were made in */
		store_after_cb fn;
		void *arg;
		int64_t tag;
		int depth;	/* the hold depth they belong to */
	} after[STORE_AFTER_MAX];
	size_t nafter;
	int64_t last_event_id;
	size_t outbox_max;	/* queued rows at most (STORE_OUTBOX_MAX) */
	uint64_t outbox_refused;	/* adds refused because the outbox was full */
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
		if (s->hold > 0)
			s->hold_lost = 1;
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

	/* The first read of the schema: SQLITE_NOTADB for a file that is not a database,
	 * SQLITE_CORRUPT for one whose schema pages (several, past page 1) are damaged. */
	if (query1(s->db, "SELECT count(*) FROM sqlite_schema", NULL, 0) != 1) {
		if ((sqlite3_errcode(s->db) & 0xff) == SQLITE_CORRUPT)
			snprintf(err, errlen, "store: %s: database is corrupt (%s); refusing to "
			    "touch it. " STORE_REPAIR_HINT, s->path, sqlite3_errmsg(s->db));
		else
			snprintf(err, errlen, "store: %s: not a usable SQLite database (%s); "
			    "refusing to touch it. " STORE_REPAIR_HINT, s->path,
			    sqlite3_errmsg(s->db));
		return -1;
	}
	r = query1(s->db, "PRAGMA quick_check(1)", buf, sizeof buf);
	if (r != 1 || strcmp(buf, "ok") != 0) {
		for (p = buf; (p = strchr(p, '\n')) != NULL; )
			*p = ' ';	/* one line */
		snprintf(err, errlen, "store: %s: database is corrupt (%.120s); refusing to "
		    "touch it. " STORE_REPAIR_HINT, s->path, r == 1 ? buf : sqlite3_errmsg(s->db));
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

/* Whether the file at path exists. */
static int
exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

/* Copies what can be read of table t from old into db, row by row (a
 * damaged page ends that table's copy, not the others'). The columns are main's, so an
 * older schema's missing column makes the table skipped. Adds to *rows; 1 when the table
 * was cut short or skipped. */
static int
recover_table(sqlite3 *db, sqlite3 *old, const char *t, size_t *rows)
{
	sqlite3_stmt *cols = NULL, *sel = NULL, *ins = NULL;
	char *list = NULL, *qs = NULL, *sql = NULL;
	int n = 0, i, r, cut = 1;

	/* identifiers in double quotes (quote() would make them string literals) */
	if (sqlite3_prepare_v2(db, "SELECT group_concat('\"' || replace(name, '\"', "
	    "'\"\"') || '\"', ','), "
	    "group_concat('?', ',') FROM pragma_table_info(?1, 'main')", -1, &cols, NULL) !=
	    SQLITE_OK)
		goto out;
	sqlite3_bind_text(cols, 1, t, -1, SQLITE_STATIC);
	if (sqlite3_step(cols) != SQLITE_ROW || sqlite3_column_text(cols, 0) == NULL)
		goto out;
	list = sqlite3_mprintf("%s", sqlite3_column_text(cols, 0));
	qs = sqlite3_mprintf("%s", sqlite3_column_text(cols, 1));
	if (list == NULL || qs == NULL)
		goto out;
	sql = sqlite3_mprintf("SELECT %s FROM %Q", list, t);
	if (sql == NULL || sqlite3_prepare_v2(old, sql, -1, &sel, NULL) != SQLITE_OK)
		goto out;
	n = sqlite3_column_count(sel);
	sqlite3_free(sql);
	sql = sqlite3_mprintf("INSERT OR IGNORE INTO main.%Q (%s) VALUES (%s)", t, list, qs);
	if (sql == NULL || sqlite3_prepare_v2(db, sql, -1, &ins, NULL) != SQLITE_OK)
		goto out;
	while ((r = sqlite3_step(sel)) == SQLITE_ROW) {
		for (i = 0; i < n; i++)
			sqlite3_bind_value(ins, i + 1, sqlite3_column_value(sel, i));
		if (sqlite3_step(ins) == SQLITE_DONE && sqlite3_changes(db) > 0)
			(*rows)++;
		sqlite3_reset(ins);
		sqlite3_clear_bindings(ins);
	}
	cut = r != SQLITE_DONE;
out:
	sqlite3_finalize(cols);
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	sqlite3_free(list);
	sqlite3_free(qs);
	sqlite3_free(sql);
	return cut;
}

int
store_repair(const char *dir, char *report, size_t replen, char *err, size_t errlen)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char path[PATH_MAX], kept[PATH_MAX], from[PATH_MAX], to[PATH_MAX], stamp[32];
	struct store *s = NULL;
	sqlite3 *db = NULL, *old = NULL;
	sqlite3_stmt *tabs = NULL;
	char *uri;
	size_t rows = 0, ntab = 0, ncut = 0, i;
	time_t now = time(NULL);
	struct tm tm;
	int n, ret = -1;

	n = snprintf(path, sizeof path, "%s/%s", dir, STORE_FILE);
	if (n < 0 || (size_t)n >= sizeof path) {
		snprintf(err, errlen, "store: state directory path too long");
		return -1;
	}
	if (!exists(path)) {
		snprintf(err, errlen, "store: %s: no database to repair", path);
		return -1;
	}
	if (store_open(dir, &s, err, errlen) == 0) {
		store_close(s);
		snprintf(report, replen, "%s: healthy, nothing done", path);
		return 0;
	}
	/* keep the damaged file (and its WAL, which belongs to it) under a new name */
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	n = snprintf(kept, sizeof kept, "%s.corrupt-%s", path, stamp);
	if (n < 0 || (size_t)n >= sizeof kept || exists(kept)) {
		snprintf(err, errlen, "store: %s: cannot name the copy to keep (%s)", path,
		    n > 0 && (size_t)n < sizeof kept ? "it exists" : "path too long");
		return -1;
	}
	for (i = 0; i < 3; i++) {
		snprintf(from, sizeof from, "%s%s", path, sfx[i]);
		snprintf(to, sizeof to, "%s%s", kept, sfx[i]);
		if (rename(from, to) == -1 && errno != ENOENT) {
			snprintf(err, errlen, "store: cannot move %s to %s: %s", from, to,
			    strerror(errno));
			return -1;
		}
	}
	/* a fresh store, the current schema */
	if (store_open(dir, &s, err, errlen) == -1)
		return -1;
	store_close(s);
	/* then every row SQLite can still read, table by table */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "store: %s: %s", path, db ? sqlite3_errmsg(db) : "no memory");
		goto out;
	}
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_busy_timeout(db, STORE_BUSY_MS);
	/* the kept file read only, as it is: no lock, no -shm written beside it */
	uri = sqlite3_mprintf("file:%s?immutable=1", kept);
	n = uri != NULL && sqlite3_open_v2(uri, &old, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI |
	    SQLITE_OPEN_NOMUTEX, NULL) == SQLITE_OK;
	sqlite3_free(uri);
	if (n) {
		sqlite3_db_config(old, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
		sqlite3_db_config(old, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	}
	if (!n || query1(old, "SELECT count(*) FROM sqlite_schema", NULL, 0) != 1) {
		/* nothing readable: the fresh store stays empty, the old file kept */
		snprintf(report, replen, "%s: moved to %s; damaged beyond reading (%s): the "
		    "fresh store is empty", path, kept, old ? sqlite3_errmsg(old) : "no memory");
		ret = 0;
		goto out;
	}
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT name FROM main.sqlite_schema WHERE type = 'table' "
	    "AND name NOT LIKE 'sqlite_%' AND name <> 'schema_version' ORDER BY name", -1, &tabs,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "store: %s: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	while (sqlite3_step(tabs) == SQLITE_ROW) {
		ntab++;
		ncut += (size_t)recover_table(db, old, (const char *)sqlite3_column_text(tabs,
		    0), &rows);
	}
	sqlite3_finalize(tabs);
	tabs = NULL;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "store: %s: committing what was recovered: %s", path,
		    sqlite3_errmsg(db));
		goto out;
	}
	snprintf(report, replen, "%s: moved to %s; %zu rows of %zu tables recovered into a "
	    "fresh store (%zu tables cut short by damage or skipped)", path, kept, rows, ntab,
	    ncut);
	ret = 0;
out:
	sqlite3_finalize(tabs);
	if (db != NULL) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(db);
	}
	sqlite3_close(old);
	return ret;
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
	/* A minute of a million senders touches a million rows of three tables: with the
	 * default 2 MB page cache every insert reads and writes its index pages again (the
	 * bench measured 70-90 s for that minute). The cache is memory only used when
	 * needed; the traffic tables are keyed (ts, ip) so a minute's rows append. */
	if (sqlite3_exec(s->db, "PRAGMA cache_size = -" STORE_CACHE_KB, NULL, NULL, NULL) !=
	    SQLITE_OK) {
		fail(s, "setting the cache size", err, errlen);
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
	s->outbox_max = STORE_OUTBOX_MAX;
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
	if (!s->in_batch || s->hold > 0)	/* a hold commits at its release */
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
	s->hold = 0;	/* a hold never released: committed like the batch */
	s->nafter = 0;	/* what waited for it is not done: the process is ending */
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
	if (s->hold > 0 && s->hold_lost) {
		snprintf(err, errlen, "store: %s: the held transaction was rolled back", s->path);
		return -1;
	}
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
	if (s->hold > 0 && s->hold_lost) {
		snprintf(err, errlen, "store: %s: the held transaction was rolled back", s->path);
		return -1;
	}
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
	if (s->hold > 0)
		return 0;	/* store_release commits it with the rest of the hold */
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
	if (s->hold > 0)
		s->hold_lost = 1;
	s->in_batch = 0;
	s->batch_rows = 0;
	return -1;
}

int
store_hold(struct store *s, char *err, size_t errlen)
{
	if (s->hold == 0) {
		s->hold_lost = 0;
		if (batch_begin(s, err, errlen) == -1)
			return -1;
	}
	if (run(s, ST_HOLD) == -1) {
		fail(s, "starting a hold", err, errlen);
		tx_sync(s);
		return -1;
	}
	s->hold++;
	return 0;
}

/* A held transaction failed: rolled back whole, with the batch it rode on. */
static void
lose_hold(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		run(s, ST_ROLLBACK);
	log_warnx("store: %s: a held transaction (%zu state updates with it) was rolled back",
	    s->path, s->batch_rows);
	s->in_batch = 0;
	s->batch_rows = 0;
}

int
store_after(struct store *s, store_after_cb fn, void *arg, int64_t tag, char *err,
    size_t errlen)
{
	if (s->hold == 0) {
		fn(arg, tag, 1);
		return 0;
	}
	if (s->nafter >= STORE_AFTER_MAX) {
		snprintf(err, errlen, "store: %s: %d actions already wait for a commit", s->path,
		    STORE_AFTER_MAX);
		return -1;
	}
	s->after[s->nafter++] = (struct after){ fn, arg, tag, s->hold };
	return 0;
}

/* Settles the store_after entries of hold depths above the current one: committed 1 only
 * when the outermost hold committed; a kept inner hold's entries join the outer hold. */
static void
after_settle(struct store *s, int committed)
{
	struct after run_now[STORE_AFTER_MAX];
	size_t i, n = 0, k = 0;

	for (i = 0; i < s->nafter; i++) {
		if (s->after[i].depth <= s->hold)
			s->after[k++] = s->after[i];
		else if (committed && s->hold > 0) {
			s->after[i].depth = s->hold;
			s->after[k++] = s->after[i];
		} else
			run_now[n++] = s->after[i];
	}
	s->nafter = k;
	/* after the store's own state is settled: the callbacks may write */
	for (i = 0; i < n; i++)
		run_now[i].fn(run_now[i].arg, run_now[i].tag, committed);
}

int
store_release(struct store *s, int keep, char *err, size_t errlen)
{
	if (s->hold == 0)
		return 0;
	s->hold--;
	if (s->hold_lost) {
		if (s->hold > 0)
			return 0;
		snprintf(err, errlen, "store: %s: the held transaction was rolled back", s->path);
		after_settle(s, 0);
		return -1;
	}
	if ((!keep && run(s, ST_HOLD_UNDO) == -1) || run(s, ST_HOLD_RELEASE) == -1) {
		fail(s, keep ? "ending a hold" : "undoing a hold", err, errlen);
		lose_hold(s);
		s->hold_lost = s->hold > 0;
		if (s->hold == 0)
			after_settle(s, 0);
		return -1;
	}
	if (s->hold > 0 || !keep) {
		after_settle(s, keep);
		return 0;	/* the batch stays open: what came before the hold is kept */
	}
	if (run(s, ST_COMMIT) == -1) {
		fail(s, "committing", err, errlen);
		/* all or nothing: a hold left open would commit later behind the caller's back */
		lose_hold(s);
		after_settle(s, 0);
		return -1;
	}
	s->in_batch = 0;
	s->batch_rows = 0;
	after_settle(s, 1);
	return 0;
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

int64_t
store_memory(void)
{
	return (int64_t)sqlite3_memory_used();
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

/* ------------------------------------------------------------------ helpers for issue 4 */

/* Binds a caller's string as text with its length: any bytes (quotes, control bytes,
 * invalid UTF-8) are stored as they are and never become SQL. NULL binds "". */
static void
bind_str(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		v = "";
	sqlite3_bind_text64(st, i, v, strlen(v), SQLITE_STATIC, SQLITE_UTF8);
}

/* A text column, "" for NULL (valid until the next step). */
static const char *
col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "";
}

/* A counter column, saturated to what its field holds (hours of a busy IP add up). */
static uint32_t
col_u32(sqlite3_stmt *st, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(st, i);

	return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Steps a bound statement that returns no rows, then resets it and clears its bindings;
 * on failure fills err (sqlite's message survives the reset). */
static int
step_done(struct store *s, enum stmt i, const char *what, char *err, size_t errlen)
{
	int rc = sqlite3_step(s->st[i]);

	if (rc != SQLITE_DONE)
		fail(s, what, err, errlen);
	sqlite3_reset(s->st[i]);
	sqlite3_clear_bindings(s->st[i]);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Ends a statement that wrote in the batch: counts its rows, and commits the batch once
 * it holds STORE_BATCH_MAX; after a failure, notices a batch SQLite rolled back. */
static int
batch_end(struct store *s, int ok, size_t rows, char *err, size_t errlen)
{
	if (!ok) {
		tx_sync(s);
		return -1;
	}
	s->batch_rows += rows;
	if (s->batch_rows >= STORE_BATCH_MAX)
		return store_flush(s, err, errlen);
	return 0;
}

/* LIMIT's value for "at most limit (0: all)". */
static sqlite3_int64
sql_limit(size_t limit)
{
	return limit == 0 || limit > INT64_MAX ? -1 : (sqlite3_int64)limit;
}

/* Binds the page of a newest-first listing (history, audit, outbox): ?1 the id to stay
 * below, ?2 the customer (statements "_OF" only), ?3 the LIMIT. */
static void
bind_page(sqlite3_stmt *st, const char *customer, int64_t before_id, size_t limit)
{
	sqlite3_bind_int64(st, 1, before_id > 0 ? before_id : INT64_MAX);
	if (customer != NULL)
		bind_str(st, 2, customer);
	sqlite3_bind_int64(st, 3, sql_limit(limit));
}

/* Rounds ts down to a multiple of period, also before 1970. */
static int64_t
period_start(int64_t ts, int64_t period)
{
	int64_t r = ts % period;

	return r < 0 ? ts - r - period : ts - r;
}

/* ------------------------------------------------------------------ traffic aggregates */

/* Binds t to parameters 1..14 of one of the TRAFFIC_ADD statements, with period start ts. */
static void
bind_traffic(sqlite3_stmt *st, const struct store_traffic *t, int64_t ts)
{
	bind_str(st, 1, t->ip);
	bind_str(st, 2, t->customer);
	sqlite3_bind_int64(st, 3, ts);
	sqlite3_bind_int64(st, 4, t->bytes_out > INT64_MAX ? INT64_MAX :
	    (sqlite3_int64)t->bytes_out);
	sqlite3_bind_int64(st, 5, t->syn);
	sqlite3_bind_int64(st, 6, t->sessions);
	sqlite3_bind_int64(st, 7, t->mail_from);
	sqlite3_bind_int64(st, 8, t->rcpt_to);
	sqlite3_bind_int64(st, 9, t->data);
	sqlite3_bind_int64(st, 10, t->starttls);
	sqlite3_bind_int64(st, 11, t->replies_4xx);
	sqlite3_bind_int64(st, 12, t->replies_5xx);
	sqlite3_bind_int64(st, 13, t->cited);
	sqlite3_bind_int64(st, 14, t->new_dst);
}

/* Adds a minute row and the same counts to its hourly row, in the batch. */
int
store_traffic_put(struct store *s, const struct store_traffic *t, char *err, size_t errlen)
{
	int ok;

	if (t->ip == NULL || t->ip[0] == '\0') {
		snprintf(err, errlen, "store: a traffic row needs an IP");
		return -1;
	}
	if (batch_begin(s, err, errlen) == -1)
		return -1;
	bind_traffic(s->st[ST_TRAFFIC_MINUTE], t, period_start(t->ts, 60));
	ok = step_done(s, ST_TRAFFIC_MINUTE, "adding a traffic minute", err, errlen) == 0;
	if (ok) {
		bind_traffic(s->st[ST_TRAFFIC_HOUR], t, period_start(t->ts, 3600));
		ok = step_done(s, ST_TRAFFIC_HOUR, "adding a traffic hour", err, errlen) == 0;
	}
	/* No savepoint around the pair (two more statements per row on the busiest write):
	 * what makes the hourly add fail after the minute's succeeded (disk full, I/O) mostly
	 * rolls the whole batch back; a minute left without its hour is an undercount of
	 * one hour's aggregate, never a wrong durable record. */
	return batch_end(s, ok, 2, err, errlen);
}

/* Deletes minute rows before minute_before and hourly rows before hour_before. */
long
store_traffic_prune(struct store *s, int64_t minute_before, int64_t hour_before, char *err,
    size_t errlen)
{
	sqlite3_int64 n = 0;
	int ok;

	if (batch_begin(s, err, errlen) == -1)
		return -1;
	sqlite3_bind_int64(s->st[ST_TRAFFIC_PRUNE_MINUTE], 1, minute_before);
	ok = step_done(s, ST_TRAFFIC_PRUNE_MINUTE, "pruning traffic minutes", err,
	    errlen) == 0;
	if (ok) {
		n = sqlite3_changes64(s->db);
		sqlite3_bind_int64(s->st[ST_TRAFFIC_PRUNE_HOUR], 1, hour_before);
		ok = step_done(s, ST_TRAFFIC_PRUNE_HOUR, "pruning traffic hours", err,
		    errlen) == 0;
		if (ok)
			n += sqlite3_changes64(s->db);
	}
	if (batch_end(s, ok, (size_t)n, err, errlen) == -1)
		return -1;
	return n > LONG_MAX ? LONG_MAX : (long)n;
}

/* Calls cb for the rows with from <= ts < to, by ts then ip, optionally of one ip or
 * customer. */
int
store_traffic_each(struct store *s, int hourly, int64_t from, int64_t to, const char *ip,
    const char *customer, void (*cb)(void *arg, const struct store_traffic *t), void *arg,
    char *err, size_t errlen)
{
	enum stmt i = ST_TRAFFIC_EACH + (hourly ? 4 : 0) + (ip != NULL ? 2 : 0) +
	    (customer != NULL ? 1 : 0);
	sqlite3_stmt *st = s->st[i];
	struct store_traffic t;
	sqlite3_int64 bytes;
	int rc;

	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	if (ip != NULL)
		bind_str(st, 3, ip);
	if (customer != NULL)
		bind_str(st, 4, customer);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		t.ip = col_str(st, 0);
		t.customer = col_str(st, 1);
		t.ts = sqlite3_column_int64(st, 2);
		bytes = sqlite3_column_int64(st, 3);
		t.bytes_out = bytes < 0 ? 0 : (uint64_t)bytes;
		t.syn = col_u32(st, 4);
		t.sessions = col_u32(st, 5);
		t.mail_from = col_u32(st, 6);
		t.rcpt_to = col_u32(st, 7);
		t.data = col_u32(st, 8);
		t.starttls = col_u32(st, 9);
		t.replies_4xx = col_u32(st, 10);
		t.replies_5xx = col_u32(st, 11);
		t.cited = col_u32(st, 12);
		t.new_dst = col_u32(st, 13);
		cb(arg, &t);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return fail(s, "reading traffic", err, errlen);
	return 0;
}

/* ------------------------------------------------------- per-IP model state (baselines) */

/* Writes ip's state in the batch, replacing the one before. */
int
store_ipstate_put(struct store *s, const char *ip, const void *state, size_t len, int64_t ts,
    char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_IPSTATE_PUT];
	int ok;

	if (ip == NULL || ip[0] == '\0' || (state == NULL && len > 0)) {
		snprintf(err, errlen, "store: an IP state needs an IP and its bytes");
		return -1;
	}
	if (batch_begin(s, err, errlen) == -1)
		return -1;
	bind_str(st, 1, ip);
	/* a NULL pointer would bind SQL NULL: an empty state is a zero-length blob */
	sqlite3_bind_blob64(st, 2, state != NULL ? state : "", len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, ts);
	ok = step_done(s, ST_IPSTATE_PUT, "writing an IP state", err, errlen) == 0;
	return batch_end(s, ok, 1, err, errlen);
}

/* Calls cb for every stored IP state. */
int
store_ipstate_load(struct store *s, void (*cb)(void *arg, const char *ip, const void *state,
    size_t len), void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_IPSTATE_LOAD];
	const void *b;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		b = sqlite3_column_blob(st, 1);	/* before its size, as sqlite asks */
		cb(arg, col_str(st, 0), b != NULL ? b : "",
		    (size_t)sqlite3_column_bytes(st, 1));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return fail(s, "reading IP states", err, errlen);
	return 0;
}

/* Deletes the states last written before before, in the batch. */
long
store_ipstate_prune(struct store *s, int64_t before, char *err, size_t errlen)
{
	sqlite3_int64 n = 0;
	int ok;

	if (batch_begin(s, err, errlen) == -1)
		return -1;
	sqlite3_bind_int64(s->st[ST_IPSTATE_PRUNE], 1, before);
	ok = step_done(s, ST_IPSTATE_PRUNE, "pruning IP states", err, errlen) == 0;
	if (ok)
		n = sqlite3_changes64(s->db);
	if (batch_end(s, ok, (size_t)n, err, errlen) == -1)
		return -1;
	return n > LONG_MAX ? LONG_MAX : (long)n;
}

/* ------------------------------------------------------------------ flags and history */

static int
valid_level(const char *l)
{
	return l != NULL && (strcmp(l, "none") == 0 || strcmp(l, "watch") == 0 ||
	    strcmp(l, "warn") == 0 || strcmp(l, "act") == 0);
}

/* Binds f to parameters 1..7 of ST_FLAG_HISTORY_ADD and ST_FLAG_SET (which number them
 * alike). */
static void
bind_flag(sqlite3_stmt *st, const struct store_flag *f)
{
	sqlite3_bind_int64(st, 1, f->ts);
	bind_str(st, 2, f->customer);
	bind_str(st, 3, f->name);
	bind_str(st, 4, f->level);
	bind_str(st, 5, f->previous != NULL ? f->previous : "none");
	sqlite3_bind_double(st, 6, f->score);
	bind_str(st, 7, f->evidence);
}

/* Records a level change durably: a history row, and the customer's current row with its
 * acknowledgement cleared. */
int
store_flag_change(struct store *s, const struct store_flag *f, int64_t *id, char *err,
    size_t errlen)
{
	sqlite3_int64 hid = 0;
	int ok;

	if (f->customer == NULL || f->customer[0] == '\0' || !valid_level(f->level) ||
	    (f->previous != NULL && !valid_level(f->previous))) {
		snprintf(err, errlen, "store: a flag needs a customer, and levels among none, "
		    "watch, warn, act");
		return -1;
	}
	if (isnan(f->score)) {
		/* SQLite would store NULL */
		snprintf(err, errlen, "store: a flag's score is not a number");
		return -1;
	}
	if (durable_begin(s, err, errlen) == -1)
		return -1;
	bind_flag(s->st[ST_FLAG_HISTORY_ADD], f);
	ok = step_done(s, ST_FLAG_HISTORY_ADD, "recording a flag change", err, errlen) == 0;
	if (ok) {
		hid = sqlite3_last_insert_rowid(s->db);
		bind_flag(s->st[ST_FLAG_SET], f);
		sqlite3_bind_int64(s->st[ST_FLAG_SET], 8, hid);
		ok = step_done(s, ST_FLAG_SET, "setting a customer's flag", err, errlen) == 0;
	}
	if (durable_end(s, ok, err, errlen) == -1)
		return -1;
	if (id != NULL)
		*id = hid;
	return 0;
}

/* Updates score and evidence of the customer's current row, in the batch. 1 when it has
 * none. */
int
store_flag_update(struct store *s, const char *customer, double score, const char *evidence,
    char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_FLAG_UPDATE];
	sqlite3_int64 n = 0;
	int ok;

	if (isnan(score)) {
		snprintf(err, errlen, "store: a flag's score is not a number");
		return -1;
	}
	if (batch_begin(s, err, errlen) == -1)
		return -1;
	bind_str(st, 1, customer);
	sqlite3_bind_double(st, 2, score);
	bind_str(st, 3, evidence);
	ok = step_done(s, ST_FLAG_UPDATE, "updating a customer's flag", err, errlen) == 0;
	if (ok)
		n = sqlite3_changes64(s->db);
	if (batch_end(s, ok, (size_t)n, err, errlen) == -1)
		return -1;
	return n == 0 ? 1 : 0;
}

/* Acknowledges the customer's current flag durably. 1 when it has none. */
int
store_flag_ack(struct store *s, const char *customer, const char *by, const char *reason,
    int64_t ts, char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_FLAG_ACK];
	sqlite3_int64 n = 0;
	int ok;

	if (durable_begin(s, err, errlen) == -1)
		return -1;
	bind_str(st, 1, customer);
	bind_str(st, 2, by);
	bind_str(st, 3, reason);
	sqlite3_bind_int64(st, 4, ts);
	ok = step_done(s, ST_FLAG_ACK, "acknowledging a flag", err, errlen) == 0;
	if (ok)
		n = sqlite3_changes64(s->db);
	/* committed even when it changed nothing: the batch it joined is committed as by
	 * every durable call, so what the caller sees does not depend on the outcome */
	if (durable_end(s, ok, err, errlen) == -1)
		return -1;
	return n == 0 ? 1 : 0;
}

/* Calls cb for every current flag row, by customer. */
int
store_flag_load(struct store *s, void (*cb)(void *arg, const struct store_flag *f), void *arg,
    char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_FLAG_LOAD];
	struct store_flag f;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		f.id = sqlite3_column_int64(st, 0);
		f.ts = sqlite3_column_int64(st, 1);
		f.customer = col_str(st, 2);
		f.name = col_str(st, 3);
		f.level = col_str(st, 4);
		f.previous = col_str(st, 5);
		f.score = sqlite3_column_double(st, 6);
		f.evidence = col_str(st, 7);
		f.ack_by = col_str(st, 8);
		f.ack_reason = col_str(st, 9);
		f.ack_ts = sqlite3_column_int64(st, 10);
		cb(arg, &f);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return fail(s, "reading flags", err, errlen);
	return 0;
}

/* Calls cb for history rows, newest first. */
int
store_flag_history(struct store *s, const char *customer, int64_t before_id, size_t limit,
    void (*cb)(void *arg, const struct store_flag *f), void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[customer != NULL ? ST_FLAG_HISTORY_OF : ST_FLAG_HISTORY];
	struct store_flag f = { .ack_by = "", .ack_reason = "", .ack_ts = 0 };
	int rc;

	bind_page(st, customer, before_id, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		f.id = sqlite3_column_int64(st, 0);
		f.ts = sqlite3_column_int64(st, 1);
		f.customer = col_str(st, 2);
		f.name = col_str(st, 3);
		f.level = col_str(st, 4);
		f.previous = col_str(st, 5);
		f.score = sqlite3_column_double(st, 6);
		f.evidence = col_str(st, 7);
		cb(arg, &f);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return fail(s, "reading flag history", err, errlen);
	return 0;
}

/* ------------------------------------------------------------------ the audit log */

/* Appends an audit entry durably. */
int
store_audit_add(struct store *s, const struct store_audit *a, int64_t *id, char *err,
    size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_AUDIT_ADD];
	sqlite3_int64 aid = 0;
	int ok;

	if (durable_begin(s, err, errlen) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, a->ts);
	bind_str(st, 2, a->actor);
	bind_str(st, 3, a->action);
	bind_str(st, 4, a->customer);
	bind_str(st, 5, a->reason);
	bind_str(st, 6, a->outcome);
	bind_str(st, 7, a->detail);
	ok = step_done(s, ST_AUDIT_ADD, "appending to the audit log", err, errlen) == 0;
	if (ok)
		aid = sqlite3_last_insert_rowid(s->db);
	if (durable_end(s, ok, err, errlen) == -1)
		return -1;
	if (id != NULL)
		*id = aid;
	return 0;
}

/* Sets the outcome (and the detail, unless NULL) of entry id durably. 1 when there is no
 * entry id. */
int
store_audit_outcome(struct store *s, int64_t id, const char *outcome, const char *detail,
    char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_AUDIT_OUTCOME];
	sqlite3_int64 n = 0;
	int ok;

	if (durable_begin(s, err, errlen) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	bind_str(st, 2, outcome);
	if (detail != NULL)
		bind_str(st, 3, detail);	/* else NULL: coalesce keeps the old detail */
	ok = step_done(s, ST_AUDIT_OUTCOME, "setting an audit outcome", err, errlen) == 0;
	if (ok)
		n = sqlite3_changes64(s->db);
	if (durable_end(s, ok, err, errlen) == -1)
		return -1;
	return n == 0 ? 1 : 0;
}

/* Calls cb for audit entries, newest first. */
int
store_audit_each(struct store *s, const char *customer, int64_t before_id, size_t limit,
    void (*cb)(void *arg, const struct store_audit *a), void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[customer != NULL ? ST_AUDIT_EACH_OF : ST_AUDIT_EACH];
	struct store_audit a;
	int rc;

	bind_page(st, customer, before_id, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		a.id = sqlite3_column_int64(st, 0);
		a.ts = sqlite3_column_int64(st, 1);
		a.actor = col_str(st, 2);
		a.action = col_str(st, 3);
		a.customer = col_str(st, 4);
		a.reason = col_str(st, 5);
		a.outcome = col_str(st, 6);
		a.detail = col_str(st, 7);
		cb(arg, &a);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return fail(s, "reading the audit log", err, errlen);
	return 0;
}

/* ------------------------------------------------------------------ the alert outbox */

/* Reads the OUTBOX_COLS of the current row of st into o (strings valid until the next
 * step). */
static void
column_outbox(sqlite3_stmt *st, struct store_outbox *o)
{
	o->id = sqlite3_column_int64(st, 0);
	o->kind = col_str(st, 1);
	o->customer = col_str(st, 2);
	o->level = col_str(st, 3);
	o->created = sqlite3_column_int64(st, 4);
	o->next_try = sqlite3_column_int64(st, 5);
	o->tries = sqlite3_column_int(st, 6);
	o->state = col_str(st, 7);
	o->subject = col_str(st, 8);
	o->recipients = col_str(st, 9);
	o->payload = col_str(st, 10);
	o->payload_len = (size_t)sqlite3_column_bytes(st, 10);
	o->last_error = col_str(st, 11);
	o->sent_ts = sqlite3_column_int64(st, 12);
}

/* Steps st (bound) and calls cb for each row; resets and clears it. */
static int
outbox_rows(struct store *s, sqlite3_stmt *st, void (*cb)(void *arg,
    const struct store_outbox *o), void *arg, const char *what, char *err, size_t errlen)
{
	struct store_outbox o;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		column_outbox(st, &o);
		cb(arg, &o);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return fail(s, what, err, errlen);
	return 0;
}

static int
valid_kind(const char *k)
{
	return k != NULL && (strcmp(k, "mail") == 0 || strcmp(k, "webhook") == 0 ||
	    strcmp(k, "digest") == 0);
}

/* The number of queued rows, -1 on error (inside the caller's transaction). */
static sqlite3_int64
outbox_queued(struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_COUNT];
	sqlite3_int64 n = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else
		fail(s, "counting the outbox", err, errlen);
	sqlite3_reset(st);
	return n;
}

/* Inserts o as a queued row; ok/err as step_done. */
static int
outbox_insert(struct store *s, const struct store_outbox *o, sqlite3_int64 *id, char *err,
    size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_ADD];

	bind_str(st, 1, o->kind);
	bind_str(st, 2, o->customer);
	bind_str(st, 3, o->level);
	sqlite3_bind_int64(st, 4, o->created);
	sqlite3_bind_int64(st, 5, o->next_try);
	bind_str(st, 6, o->subject);
	bind_str(st, 7, o->recipients);
	bind_str(st, 8, o->payload);
	if (step_done(s, ST_OUTBOX_ADD, "queueing an alert", err, errlen) == -1)
		return -1;
	*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* Checks the bound inside the open transaction: 0 room, -1 full or error (err set). */
static int
outbox_room(struct store *s, char *err, size_t errlen)
{
	sqlite3_int64 n = outbox_queued(s, err, errlen);

	if (n < 0)
		return -1;
	if ((size_t)n >= s->outbox_max) {
		s->outbox_refused++;
		snprintf(err, errlen, "store: %s: the alert outbox is full (%lld queued, at most "
		    "%zu): this alert is NOT queued (%llu refused so far); is the mail server or "
		    "webhook down?", s->path, (long long)n, s->outbox_max,
		    (unsigned long long)s->outbox_refused);
		return -1;
	}
	return 0;
}

/* Queues an alert durably, unless the outbox is full. */
int
store_outbox_add(struct store *s, const struct store_outbox *o, int64_t *id, char *err,
    size_t errlen)
{
	sqlite3_int64 oid = 0;
	int ok;

	if (!valid_kind(o->kind) || o->payload == NULL) {
		snprintf(err, errlen, "store: an outbox row needs a kind (mail, webhook, digest) "
		    "and a payload");
		return -1;
	}
	if (durable_begin(s, err, errlen) == -1)
		return -1;
	ok = outbox_room(s, err, errlen) == 0 && outbox_insert(s, o, &oid, err, errlen) == 0;
	if (durable_end(s, ok, err, errlen) == -1)
		return -1;
	if (id != NULL)
		*id = oid;
	return 0;
}

/* Queued mail and webhook rows due at now, oldest first. */
int
store_outbox_due(struct store *s, int64_t now, size_t limit, void (*cb)(void *arg,
    const struct store_outbox *o), void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_DUE];

	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, sql_limit(limit));
	return outbox_rows(s, st, cb, arg, "reading due alerts", err, errlen);
}

/* Queued rows of one kind, oldest first. */
int
store_outbox_pending(struct store *s, const char *kind, size_t limit, void (*cb)(void *arg,
    const struct store_outbox *o), void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_PENDING];

	bind_str(st, 1, kind);
	sqlite3_bind_int64(st, 2, sql_limit(limit));
	return outbox_rows(s, st, cb, arg, "reading pending alerts", err, errlen);
}

/* Runs one of the single-row durable updates; 1 when no queued row id. */
static int
outbox_update(struct store *s, enum stmt i, const char *what, char *err, size_t errlen)
{
	sqlite3_int64 n = 0;
	int ok;

	ok = step_done(s, i, what, err, errlen) == 0;
	if (ok)
		n = sqlite3_changes64(s->db);
	if (durable_end(s, ok, err, errlen) == -1)
		return -1;
	return n == 0 ? 1 : 0;
}

/* Marks a queued row sent, durably. */
int
store_outbox_done(struct store *s, int64_t id, int64_t sent_ts, char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_DONE];

	if (durable_begin(s, err, errlen) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, sent_ts);
	return outbox_update(s, ST_OUTBOX_DONE, "marking an alert sent", err, errlen);
}

/* Sets a queued row's next try, durably. */
int
store_outbox_retry(struct store *s, int64_t id, int64_t next_try, int tries,
    const char *error, char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_RETRY];

	if (durable_begin(s, err, errlen) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, next_try);
	sqlite3_bind_int(st, 3, tries);
	bind_str(st, 4, error);
	return outbox_update(s, ST_OUTBOX_RETRY, "rescheduling an alert", err, errlen);
}

/* Gives a queued row up, durably. */
int
store_outbox_fail(struct store *s, int64_t id, const char *error, char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_FAIL];

	if (durable_begin(s, err, errlen) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	bind_str(st, 2, error);
	return outbox_update(s, ST_OUTBOX_FAIL, "giving an alert up", err, errlen);
}

/* Queues the digest mail and marks its items sent, in one durable transaction. */
int
store_outbox_digest(struct store *s, const struct store_outbox *mail, const int64_t *items,
    size_t nitems, int64_t ts, int64_t *id, char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_DIGESTED];
	sqlite3_int64 oid = 0;
	char note[64];
	size_t i;
	int ok;

	if (mail->kind == NULL || strcmp(mail->kind, "mail") != 0 || mail->payload == NULL) {
		snprintf(err, errlen, "store: a digest is a mail with a payload");
		return -1;
	}
	if (durable_begin(s, err, errlen) == -1)
		return -1;
	/* the items leave the queue as the mail enters it: the count cannot grow */
	ok = outbox_insert(s, mail, &oid, err, errlen) == 0;
	snprintf(note, sizeof note, "in digest %lld", (long long)oid);
	for (i = 0; ok && i < nitems; i++) {
		sqlite3_bind_int64(st, 1, items[i]);
		sqlite3_bind_int64(st, 2, ts);
		bind_str(st, 3, note);
		ok = step_done(s, ST_OUTBOX_DIGESTED, "folding an item into a digest", err,
		    errlen) == 0;
		if (ok && sqlite3_changes64(s->db) != 1) {
			snprintf(err, errlen, "store: digest item %lld is not queued",
			    (long long)items[i]);
			ok = 0;
		}
	}
	if (durable_end(s, ok, err, errlen) == -1)
		return -1;
	if (id != NULL)
		*id = oid;
	return 0;
}

/* Rows newest first, for `rangewatch alerts`. */
int
store_outbox_each(struct store *s, const char *customer, int64_t before_id, size_t limit,
    void (*cb)(void *arg, const struct store_outbox *o), void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[customer != NULL ? ST_OUTBOX_EACH_OF : ST_OUTBOX_EACH];

	bind_page(st, customer, before_id, limit);
	return outbox_rows(s, st, cb, arg, "reading the outbox", err, errlen);
}

/* Deletes sent and failed rows created before before, in the batch. */
long
store_outbox_prune(struct store *s, int64_t before, char *err, size_t errlen)
{
	sqlite3_int64 n = 0;
	int ok;

	if (batch_begin(s, err, errlen) == -1)
		return -1;
	sqlite3_bind_int64(s->st[ST_OUTBOX_PRUNE], 1, before);
	ok = step_done(s, ST_OUTBOX_PRUNE, "pruning the outbox", err, errlen) == 0;
	if (ok)
		n = sqlite3_changes64(s->db);
	if (batch_end(s, ok, (size_t)n, err, errlen) == -1)
		return -1;
	return n > LONG_MAX ? LONG_MAX : (long)n;
}

/* Queued rows now (-1 with err), and the adds refused so far. */
long
store_outbox_queued(struct store *s, char *err, size_t errlen)
{
	sqlite3_int64 n = outbox_queued(s, err, errlen);

	return n < 0 ? -1 : n > LONG_MAX ? LONG_MAX : (long)n;
}

uint64_t
store_outbox_refused(const struct store *s)
{
	return s->outbox_refused;
}

/* Sets the bound (tests; 0 restores the default). */
void
store_outbox_set_max(struct store *s, size_t max)
{
	s->outbox_max = max > 0 ? max : STORE_OUTBOX_MAX;
}

/* ------------------------------------------------------------------ suspensions */

int
store_suspension_set(struct store *s, const struct store_suspension *x, char *err,
    size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_SUSPENSION_SET];
	int ok;

	if (x->customer == NULL || x->customer[0] == '\0' || x->state == NULL ||
	    (strcmp(x->state, "suspended") != 0 && strcmp(x->state, "resumed") != 0)) {
		snprintf(err, errlen, "store: a suspension needs a customer and a state");
		return -1;
	}
	if (durable_begin(s, err, errlen) == -1)
		return -1;
	bind_str(st, 1, x->customer);
	bind_str(st, 2, x->state);
	sqlite3_bind_int64(st, 3, x->since);
	bind_str(st, 4, x->actor != NULL ? x->actor : "");
	sqlite3_bind_int(st, 5, x->dry_run != 0);
	sqlite3_bind_int64(st, 6, x->audit_id);
	ok = step_done(s, ST_SUSPENSION_SET, "recording a suspension", err, errlen) == 0;
	return durable_end(s, ok, err, errlen);
}

int
store_suspension_load(struct store *s, void (*cb)(void *arg,
    const struct store_suspension *x), void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_SUSPENSION_LOAD];
	struct store_suspension x;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		x.customer = col_str(st, 0);
		x.state = col_str(st, 1);
		x.since = sqlite3_column_int64(st, 2);
		x.actor = col_str(st, 3);
		x.dry_run = sqlite3_column_int(st, 4);
		x.audit_id = sqlite3_column_int64(st, 5);
		cb(arg, &x);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return fail(s, "reading suspensions", err, errlen);
	return 0;
}

/* ------------------------------------------------------------------ complaints */

int
store_complaint_add(struct store *s, const struct store_complaint *c, int64_t *id, char *err,
    size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_COMPLAINT_ADD];
	sqlite3_int64 cid = 0;
	int ok;

	if (c->ip == NULL || c->ip[0] == '\0' || c->kind == NULL) {
		snprintf(err, errlen, "store: a complaint needs an IP and a kind");
		return -1;
	}
	if (durable_begin(s, err, errlen) == -1)
		return -1;
	sqlite3_bind_int64(st, 1, c->received);
	sqlite3_bind_int64(st, 2, c->at);
	bind_str(st, 3, c->ip);
	bind_str(st, 4, c->customer);
	bind_str(st, 5, c->kind);
	bind_str(st, 6, c->feedback_type);
	bind_str(st, 7, c->reported_domain);
	bind_str(st, 8, c->mail_from);
	bind_str(st, 9, c->operator_name);
	ok = step_done(s, ST_COMPLAINT_ADD, "recording a complaint", err, errlen) == 0;
	if (ok)
		cid = sqlite3_last_insert_rowid(s->db);
	if (durable_end(s, ok, err, errlen) == -1)
		return -1;
	if (id != NULL)
		*id = cid;
	return 0;
}

int
store_complaint_each(struct store *s, int64_t since, void (*cb)(void *arg,
    const struct store_complaint *c), void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *st = s->st[ST_COMPLAINT_EACH];
	struct store_complaint c;
	int rc;

	sqlite3_bind_int64(st, 1, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		c.id = sqlite3_column_int64(st, 0);
		c.received = sqlite3_column_int64(st, 1);
		c.at = sqlite3_column_int64(st, 2);
		c.ip = col_str(st, 3);
		c.customer = col_str(st, 4);
		c.kind = col_str(st, 5);
		c.feedback_type = col_str(st, 6);
		c.reported_domain = col_str(st, 7);
		c.mail_from = col_str(st, 8);
		c.operator_name = col_str(st, 9);
		cb(arg, &c);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return fail(s, "reading complaints", err, errlen);
	return 0;
}
