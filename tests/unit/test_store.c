/*
 * test_store.c — unit tests of the SQLite store: creating the state directory and the
 * database, migrating, reopening; events durable across a close without a flush and across
 * a child process killed with SIGKILL right after store_listing_event() returned; batches
 * invisible to other connections until store_flush(); a hold's durable writes invisible
 * until its release, undone alone when it is not kept, and gone all together with a
 * process killed inside it; a text file, a corrupt database, someone else's database and
 * a newer schema all refused with a clear error and left byte for byte as they were. Each test works in a fresh mkdtemp() folder.
 */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"
#include "testfiles.h"

struct fixture {
	char dir[64];		/* the test's folder */
	char state[96];		/* dir/state: the store's directory, created by store_open */
	char db[128];		/* state/rangewatch.db */
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);

	if (fx == NULL || testdir_make(fx->dir, sizeof fx->dir, "store") == -1)
		return -1;
	snprintf(fx->state, sizeof fx->state, "%s/state", fx->dir);
	snprintf(fx->db, sizeof fx->db, "%s/rangewatch.db", fx->state);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	testdir_remove(fx->dir);
	free(fx);
	return 0;
}

static struct store *
open_ok(struct fixture *fx)
{
	struct store *s = NULL;
	char err[512] = "";

	if (store_open(fx->state, &s, err, sizeof err) == -1)
		fail_msg("store_open: %s", err);
	assert_non_null(s);
	return s;
}

static struct store_listing
L(const char *list, const char *key, int listed, int64_t t)
{
	struct store_listing l = {
		.list = list, .key = key, .scope = 0, .listed = listed,
		.codes = listed ? "127.0.0.2" : "", .txt = listed ? "listed: spam" : "",
		.first_seen = listed ? t : 0, .last_seen = listed ? t : 0, .checked = t,
	};

	return l;
}

static void
event(struct store *s, const char *ev, const char *list, const char *key, int64_t t)
{
	struct store_listing_event e = { .ts = t, .event = ev };
	char err[512] = "";

	e.l = L(list, key, strcmp(ev, "delisted") != 0, t);
	if (store_listing_event(s, &e, err, sizeof err) == -1)
		fail_msg("store_listing_event: %s", err);
}

static void
put(struct store *s, const char *list, const char *key, int listed, int64_t t)
{
	struct store_listing l = L(list, key, listed, t);
	char err[512] = "";

	if (store_listing_put(s, &l, err, sizeof err) == -1)
		fail_msg("store_listing_put: %s", err);
}

/* What a store holds, as text, so tests compare whole contents. */
struct dump {
	char text[4096];
	size_t len;
	size_t n;
};

static void
dump_listing(void *arg, const struct store_listing *l)
{
	struct dump *d = arg;
	int w;

	w = snprintf(d->text + d->len, sizeof d->text - d->len, "%s|%s|%d|%s|%s|%lld|%lld|%lld\n",
	    l->list, l->key, l->listed, l->codes, l->txt, (long long)l->first_seen,
	    (long long)l->last_seen, (long long)l->checked);
	assert_true(w > 0 && (size_t)w < sizeof d->text - d->len);
	d->len += (size_t)w;
	d->n++;
}

static void
dump_event(void *arg, const struct store_listing_event *e)
{
	struct dump *d = arg;
	int w;

	w = snprintf(d->text + d->len, sizeof d->text - d->len, "%lld %lld %s %s %s\n",
	    (long long)e->id, (long long)e->ts, e->event, e->l.list, e->l.key);
	assert_true(w > 0 && (size_t)w < sizeof d->text - d->len);
	d->len += (size_t)w;
	d->n++;
}

static const char *
listings_of(struct store *s, struct dump *d)
{
	char err[512] = "";

	memset(d, 0, sizeof *d);
	if (store_listing_load(s, dump_listing, d, err, sizeof err) == -1)
		fail_msg("store_listing_load: %s", err);
	return d->text;
}

static const char *
events_of(struct store *s, int64_t after, size_t limit, struct dump *d)
{
	char err[512] = "";

	memset(d, 0, sizeof *d);
	if (store_listing_events(s, after, limit, dump_event, d, err, sizeof err) == -1)
		fail_msg("store_listing_events: %s", err);
	return d->text;
}

/* Runs one query on the database through a connection of the test's own; returns its
 * first column of its first row as an integer (-1 when none). */
static long long
sql_int(const char *db, const char *sql)
{
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;

	assert_int_equal(sqlite3_open_v2(db, &c, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(c, 2000);
	if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(c));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(c);
	return v;
}

static void
sql_exec(const char *db, const char *sql)
{
	sqlite3 *c = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open_v2(db, &c, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    NULL), SQLITE_OK);
	if (sqlite3_exec(c, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(c);
}

/* A file's bytes, to prove a refused file was not touched. */
struct snap {
	char *bytes;
	size_t len;
	struct timespec mtime;
};

static void
snap_take(const char *path, struct snap *sn)
{
	struct stat sb;
	FILE *f;

	assert_int_equal(stat(path, &sb), 0);
	sn->len = (size_t)sb.st_size;
	sn->mtime = sb.st_mtim;
	sn->bytes = malloc(sn->len + 1);
	assert_non_null(sn->bytes);
	assert_non_null(f = fopen(path, "rb"));
	assert_int_equal(fread(sn->bytes, 1, sn->len, f), sn->len);
	fclose(f);
}

/* Asserts path is as snapped and that no journal, WAL or shm file appeared beside it. */
static void
snap_check(const char *path, struct snap *sn)
{
	struct snap now;
	char side[256];
	const char *suffix[] = { "-wal", "-shm", "-journal" };
	size_t i;

	snap_take(path, &now);
	assert_int_equal(now.len, sn->len);
	assert_memory_equal(now.bytes, sn->bytes, sn->len);
	assert_int_equal(now.mtime.tv_sec, sn->mtime.tv_sec);
	assert_int_equal(now.mtime.tv_nsec, sn->mtime.tv_nsec);
	for (i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
		snprintf(side, sizeof side, "%s%s", path, suffix[i]);
		assert_int_equal(access(side, F_OK), -1);
	}
	free(now.bytes);
	free(sn->bytes);
}

static void
test_open_migrate_reopen(void **state)
{
	struct fixture *fx = *state;
	struct store *s;
	struct stat sb;
	struct dump d;

	s = open_ok(fx);
	assert_int_equal(stat(fx->state, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0750);
	assert_int_equal(store_last_event_id(s), 0);
	assert_string_equal(listings_of(s, &d), "");
	assert_string_equal(events_of(s, 0, 0, &d), "");
	store_close(s);

	assert_int_equal(sql_int(fx->db, "SELECT max(version) FROM schema_version"), 5);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM schema_version"), 5);
	/* WAL is a property of the file: a fresh connection sees it */
	assert_int_equal(sql_int(fx->db, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"),
	    1);

	/* reopening applies nothing twice */
	s = open_ok(fx);
	put(s, "l1", "192.0.2.7", 1, 100);
	store_close(s);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM schema_version"), 5);
	s = open_ok(fx);
	assert_string_equal(listings_of(s, &d), "l1|192.0.2.7|1|127.0.0.2|listed: spam|100|100|100\n");
	/* what SQLite holds for an open store: its schema and page cache at least */
	assert_true(store_memory() > 0);
	store_close(s);
	store_close(NULL);
}

/* A database made by hand at version 0 (an empty schema_version) is migrated. */
static void
test_migrate_from_zero(void **state)
{
	struct fixture *fx = *state;
	struct store *s;

	assert_int_equal(mkdir(fx->state, 0700), 0);
	sql_exec(fx->db, "CREATE TABLE schema_version (version INTEGER PRIMARY KEY,"
	    " name TEXT NOT NULL, applied INTEGER NOT NULL)");
	s = open_ok(fx);
	event(s, "listed", "l1", "192.0.2.9", 5);
	store_close(s);
	assert_int_equal(sql_int(fx->db, "SELECT max(version) FROM schema_version"), 5);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM listing_event"), 1);
}

static void
test_events(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	struct store_listing_event e = { .ts = 1, .event = "bogus" };
	struct dump d;
	char err[512] = "";

	event(s, "listed", "l1", "192.0.2.1", 10);
	assert_int_equal(store_last_event_id(s), 1);
	event(s, "changed", "l1", "192.0.2.1", 20);
	event(s, "listed", "l2", "192.0.2.0/24", 30);
	event(s, "delisted", "l1", "192.0.2.1", 40);
	assert_int_equal(store_last_event_id(s), 4);
	assert_string_equal(events_of(s, 0, 0, &d),
	    "1 10 listed l1 192.0.2.1\n"
	    "2 20 changed l1 192.0.2.1\n"
	    "3 30 listed l2 192.0.2.0/24\n"
	    "4 40 delisted l1 192.0.2.1\n");
	assert_string_equal(events_of(s, 1, 2, &d),
	    "2 20 changed l1 192.0.2.1\n"
	    "3 30 listed l2 192.0.2.0/24\n");
	assert_string_equal(events_of(s, 4, 0, &d), "");
	/* every event also wrote its key's state */
	assert_string_equal(listings_of(s, &d),
	    "l1|192.0.2.1|0|||0|0|40\n"
	    "l2|192.0.2.0/24|1|127.0.0.2|listed: spam|30|30|30\n");
	/* an unknown event name is refused before it reaches SQL */
	e.l = L("l1", "x", 1, 1);
	assert_int_equal(store_listing_event(s, &e, err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown listing event 'bogus'"));
	store_close(s);
}

/* An event commits at once, and with it the batch it found open; close commits the rest. */
static void
test_durable_across_close(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	struct dump d;

	put(s, "l1", "192.0.2.1", 0, 10);
	event(s, "listed", "l1", "192.0.2.2", 11);
	/* visible to another connection: committed, not just in our transaction */
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM listing_event"), 1);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM listing"), 2);
	put(s, "l1", "192.0.2.3", 0, 12);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM listing"), 2);
	store_close(s);		/* no flush */
	s = open_ok(fx);
	assert_string_equal(events_of(s, 0, 0, &d), "1 11 listed l1 192.0.2.2\n");
	assert_int_equal(listings_of(s, &d)[0] != '\0', 1);
	assert_int_equal(d.n, 3);
	store_close(s);
}

static void
test_batch_flush(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	char err[512] = "";
	int i;

	assert_int_equal(store_flush(s, err, sizeof err), 0);	/* nothing open: fine */
	for (i = 0; i < 100; i++) {
		char key[32];

		snprintf(key, sizeof key, "198.51.100.%d", i);
		put(s, "l1", key, i % 2, 1000 + i);
	}
	/* not committed: another connection sees nothing yet */
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM listing"), 0);
	assert_int_equal(store_flush(s, err, sizeof err), 0);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM listing"), 100);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM listing WHERE listed = 1"), 50);
	/* an update of a key rewrites its row */
	put(s, "l1", "198.51.100.1", 0, 5000);
	assert_int_equal(store_flush(s, err, sizeof err), 0);
	assert_int_equal(sql_int(fx->db,
	    "SELECT checked FROM listing WHERE key = '198.51.100.1'"), 5000);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM listing"), 100);
	store_close(s);
}

/* The child records, tells the parent, and waits to be killed. */
static void
child(struct fixture *fx, int wfd)
{
	struct store *s = NULL;
	struct store_listing_event e = { .ts = 21, .event = "listed" };
	struct store_listing l;
	char err[512], ok = '1';

	if (store_open(fx->state, &s, err, sizeof err) == -1)
		_exit(2);
	l = L("l1", "203.0.113.1", 0, 20);
	if (store_listing_put(s, &l, err, sizeof err) == -1)
		_exit(3);
	e.l = L("l1", "203.0.113.2", 1, 21);
	if (store_listing_event(s, &e, err, sizeof err) == -1)
		_exit(4);
	/* a batch opened after the event: never flushed, lost with the process */
	l = L("l1", "203.0.113.3", 0, 22);
	if (store_listing_put(s, &l, err, sizeof err) == -1)
		_exit(5);
	if (write(wfd, &ok, 1) != 1)
		_exit(6);
	for (;;)
		pause();
}

static void
test_kill9(void **state)
{
	struct fixture *fx = *state;
	struct store *s;
	struct dump d;
	int p[2], status;
	pid_t pid;
	char c = 0;

	s = open_ok(fx);	/* create it, so the child only opens */
	store_close(s);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		child(fx, p[1]);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, '1');
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(p[0]);
	/* the killed process left its WAL behind; the next open recovers from it */
	s = open_ok(fx);
	assert_string_equal(events_of(s, 0, 0, &d), "1 21 listed l1 203.0.113.2\n");
	assert_string_equal(listings_of(s, &d),
	    "l1|203.0.113.1|0|||0|0|20\n"
	    "l1|203.0.113.2|1|127.0.0.2|listed: spam|21|21|21\n");
	store_close(s);
}

static void
expect_refused(struct fixture *fx, const char *why)
{
	struct store *s = (struct store *)1;
	struct snap sn;
	char err[512] = "";

	snap_take(fx->db, &sn);
	assert_int_equal(store_open(fx->state, &s, err, sizeof err), -1);
	assert_null(s);
	if (strstr(err, why) == NULL || strstr(err, fx->db) == NULL)
		fail_msg("expected '%s' naming %s, got: %s", why, fx->db, err);
	snap_check(fx->db, &sn);
}

static void
test_not_a_database(void **state)
{
	struct fixture *fx = *state;
	char junk[8192];
	size_t i;

	assert_int_equal(mkdir(fx->state, 0750), 0);
	write_file(fx->db, "192.0.2.1 listed\nthis is not a database\n", 41);
	expect_refused(fx, "not a usable SQLite database");
	for (i = 0; i < sizeof junk; i++)
		junk[i] = (char)(i * 131 + 7);
	write_file(fx->db, junk, sizeof junk);
	expect_refused(fx, "not a usable SQLite database");
}

/* A real rangewatch database whose pages after the first were overwritten. */
static void
test_corrupt_database(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	char key[32], *buf;
	struct stat sb;
	FILE *f;
	long i;

	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof key, "10.0.%ld.%ld", i / 256, i % 256);
		put(s, "l1", key, 1, i);
	}
	store_close(s);
	assert_int_equal(stat(fx->db, &sb), 0);
	assert_true(sb.st_size > 16384);
	buf = malloc((size_t)sb.st_size);
	assert_non_null(buf);
	assert_non_null(f = fopen(fx->db, "rb"));
	assert_int_equal(fread(buf, 1, (size_t)sb.st_size, f), (size_t)sb.st_size);
	fclose(f);
	for (i = 4096; i < sb.st_size; i++)
		buf[i] = (char)(i * 7);
	write_file(fx->db, buf, (size_t)sb.st_size);
	free(buf);
	expect_refused(fx, "corrupt");
}

/* A rangewatch database with damaged pages at its end: refused with the way out in the
 * message; store_repair keeps it under a new name, recovers the rows SQLite can read into
 * a fresh store, which then opens; a second repair finds it healthy. */
static void
test_repair(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	char key[32], *buf, report[1024] = "", err[512] = "", kept[600];
	const char *p;
	struct stat sb;
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	FILE *f;
	long i, rows;

	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof key, "10.0.%ld.%ld", i / 256, i % 256);
		put(s, "l1", key, 1, i);
	}
	event(s, "listed", "l1", "192.0.2.1", 1);
	store_close(s);
	assert_int_equal(stat(fx->db, &sb), 0);
	buf = malloc((size_t)sb.st_size);
	assert_non_null(buf);
	assert_non_null(f = fopen(fx->db, "rb"));
	assert_int_equal(fread(buf, 1, (size_t)sb.st_size, f), (size_t)sb.st_size);
	fclose(f);
	for (i = sb.st_size - 3 * 4096; i < sb.st_size; i++)	/* the last three pages */
		buf[i] = (char)(i * 7);
	write_file(fx->db, buf, (size_t)sb.st_size);
	free(buf);
	expect_refused(fx, "rangewatchd --repair -c CONFIG");

	if (store_repair(fx->state, report, sizeof report, err, sizeof err) == -1)
		fail_msg("store_repair: %s", err);
	print_message("repair: %s\n", report);
	assert_non_null(p = strstr(report, "moved to "));
	snprintf(kept, sizeof kept, "%.*s", (int)strcspn(p + 9, ";"), p + 9);
	assert_non_null(strstr(kept, "rangewatch.db.corrupt-"));
	assert_int_equal(stat(kept, &sb), 0);		/* the damaged file is kept */
	assert_true(sb.st_size > 16384);
	s = open_ok(fx);				/* the fresh store opens */
	store_close(s);
	assert_int_equal(sqlite3_open(fx->db, &c), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(c, "SELECT (SELECT count(*) FROM listing) + "
	    "(SELECT count(*) FROM listing_event)", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	rows = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(c);
	assert_true(rows > 0);				/* what could be read came back */
	assert_int_equal(store_repair(fx->state, report, sizeof report, err, sizeof err), 0);
	assert_non_null(strstr(report, "healthy"));
}

static void
test_foreign_database(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(mkdir(fx->state, 0750), 0);
	sql_exec(fx->db, "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT);"
	    "INSERT INTO accounts (name) VALUES ('someone else''s data')");
	expect_refused(fx, "did not create");
}

static void
test_newer_schema(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);

	event(s, "listed", "l1", "192.0.2.1", 1);
	store_close(s);
	sql_exec(fx->db, "INSERT INTO schema_version VALUES (999, 'from the future', 0)");
	/* a clean close checkpointed and removed the WAL: the file alone is the database */
	expect_refused(fx, "schema version 999 is newer than this rangewatch knows (5)");
}

static void
test_bad_dir(void **state)
{
	struct fixture *fx = *state;
	struct store *s = NULL;
	char path[128], err[512] = "";

	snprintf(path, sizeof path, "%s/file", fx->dir);
	write_file(path, "x", 1);
	assert_int_equal(store_open(path, &s, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a directory"));
	snprintf(path, sizeof path, "%s/no/such/parent", fx->dir);
	assert_int_equal(store_open(path, &s, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot create"));
	snprintf(path, sizeof path, "%s/file", fx->dir);
	unlink(path);
}

/* ------------------------------------------------------------- schema version 2 (issue 4) */

/* The version-1 schema as released (frozen here: migrations[] may only grow). */
static const char v1_schema[] =
    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    " applied INTEGER NOT NULL);"
    "INSERT INTO schema_version VALUES (1, 'listing state per (list, key) and the listing"
    " event log', 1700000000);"
    "CREATE TABLE listing (list TEXT NOT NULL, key TEXT NOT NULL, scope INTEGER NOT NULL,"
    " listed INTEGER NOT NULL CHECK (listed IN (0, 1)), codes TEXT NOT NULL DEFAULT '',"
    " txt TEXT NOT NULL DEFAULT '', first_seen INTEGER NOT NULL DEFAULT 0,"
    " last_seen INTEGER NOT NULL DEFAULT 0, checked INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (list, key)) WITHOUT ROWID;"
    "CREATE TABLE listing_event (id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,"
    " event TEXT NOT NULL CHECK (event IN ('listed', 'delisted', 'changed')),"
    " list TEXT NOT NULL, key TEXT NOT NULL, scope INTEGER NOT NULL,"
    " listed INTEGER NOT NULL, codes TEXT NOT NULL, txt TEXT NOT NULL,"
    " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, checked INTEGER NOT NULL);"
    "CREATE INDEX listing_event_key ON listing_event (list, key, id);"
    "CREATE INDEX listing_event_ts ON listing_event (ts);"
    "INSERT INTO listing VALUES ('uceprotect-l1', '192.0.2.7', 0, 1, '127.0.0.2',"
    " 'listed: spam', 100, 200, 200);"
    "INSERT INTO listing VALUES ('ivmsip24', '192.0.2.0/24', 1, 0, '', '', 0, 0, 300);"
    "INSERT INTO listing_event (ts, event, list, key, scope, listed, codes, txt, first_seen,"
    " last_seen, checked) VALUES (100, 'listed', 'uceprotect-l1', '192.0.2.7', 0, 1,"
    " '127.0.0.2', 'listed: spam', 100, 100, 100);";

static long long
table_exists(const char *db, const char *name)
{
	char sql[160];

	snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_schema WHERE name = '%s'", name);
	return sql_int(db, sql);
}

/* A version-1 database (as the released code left it) moves to version 2 keeping its
 * rows, and the new tables work. */
static void
test_migrate_from_v1(void **state)
{
	struct fixture *fx = *state;
	const char *tables[] = { "traffic_minute", "traffic_hour", "ipstate", "flag",
	    "flag_history", "audit" };
	struct store_audit a = { .ts = 1, .actor = "test", .action = "ack" };
	struct store *s;
	struct dump d;
	char err[512] = "";
	int64_t id = 0;
	size_t i;

	assert_int_equal(mkdir(fx->state, 0750), 0);
	sql_exec(fx->db, v1_schema);
	for (i = 0; i < sizeof tables / sizeof tables[0]; i++)
		assert_int_equal(table_exists(fx->db, tables[i]), 0);
	s = open_ok(fx);
	assert_string_equal(listings_of(s, &d),
	    "ivmsip24|192.0.2.0/24|0|||0|0|300\n"
	    "uceprotect-l1|192.0.2.7|1|127.0.0.2|listed: spam|100|200|200\n");
	assert_string_equal(events_of(s, 0, 0, &d), "1 100 listed uceprotect-l1 192.0.2.7\n");
	assert_int_equal(store_audit_add(s, &a, &id, err, sizeof err), 0);
	assert_int_equal(id, 1);
	event(s, "delisted", "uceprotect-l1", "192.0.2.7", 400);
	assert_int_equal(store_last_event_id(s), 2);	/* the AUTOINCREMENT went on */
	store_close(s);
	assert_int_equal(sql_int(fx->db, "SELECT max(version) FROM schema_version"), 5);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM schema_version"), 5);
	/* the step applied before is kept as it was, not rewritten */
	assert_int_equal(sql_int(fx->db, "SELECT applied FROM schema_version WHERE version = 1"),
	    1700000000);
	for (i = 0; i < sizeof tables / sizeof tables[0]; i++)
		assert_int_equal(table_exists(fx->db, tables[i]), 1);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM listing"), 2);
}

/* A step that fails leaves the database at its version, with none of the step done. */
static void
test_migrate_all_or_nothing(void **state)
{
	struct fixture *fx = *state;
	struct store *s = NULL;
	char err[512] = "";

	assert_int_equal(mkdir(fx->state, 0750), 0);
	sql_exec(fx->db, v1_schema);
	/* in the way of step 2, after the step's first tables were created */
	sql_exec(fx->db, "CREATE TABLE ipstate (x INTEGER)");
	assert_int_equal(store_open(fx->state, &s, err, sizeof err), -1);
	assert_null(s);
	if (strstr(err, "migrating to schema version 2") == NULL ||
	    strstr(err, "already exists") == NULL)
		fail_msg("unexpected error: %s", err);
	assert_int_equal(sql_int(fx->db, "SELECT max(version) FROM schema_version"), 1);
	assert_int_equal(table_exists(fx->db, "traffic_minute"), 0);
	assert_int_equal(table_exists(fx->db, "traffic_hour_customer"), 0);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM listing"), 2);
	/* once out of the way, the same file migrates */
	sql_exec(fx->db, "DROP TABLE ipstate");
	s = open_ok(fx);
	store_close(s);
	assert_int_equal(sql_int(fx->db, "SELECT max(version) FROM schema_version"), 5);
}

/* ---- traffic */

#define NCOUNT	11	/* bytes_out and the ten 32-bit counters */

static void
counts_of(const struct store_traffic *t, uint64_t v[NCOUNT])
{
	v[0] = t->bytes_out;
	v[1] = t->syn;
	v[2] = t->sessions;
	v[3] = t->mail_from;
	v[4] = t->rcpt_to;
	v[5] = t->data;
	v[6] = t->starttls;
	v[7] = t->replies_4xx;
	v[8] = t->replies_5xx;
	v[9] = t->cited;
	v[10] = t->new_dst;
}

static void
counts_to(struct store_traffic *t, const uint64_t v[NCOUNT])
{
	t->bytes_out = v[0];
	t->syn = (uint32_t)v[1];
	t->sessions = (uint32_t)v[2];
	t->mail_from = (uint32_t)v[3];
	t->rcpt_to = (uint32_t)v[4];
	t->data = (uint32_t)v[5];
	t->starttls = (uint32_t)v[6];
	t->replies_4xx = (uint32_t)v[7];
	t->replies_5xx = (uint32_t)v[8];
	t->cited = (uint32_t)v[9];
	t->new_dst = (uint32_t)v[10];
}

/* Rows handed to a callback, copied. */
struct trow {
	char ip[64];
	char customer[64];
	int64_t ts;
	uint64_t v[NCOUNT];
};

struct trows {
	struct trow r[512];
	size_t n;
};

static void
collect_traffic(void *arg, const struct store_traffic *t)
{
	struct trows *c = arg;
	struct trow *r;

	assert_true(c->n < sizeof c->r / sizeof c->r[0]);
	r = &c->r[c->n++];
	assert_true(strlen(t->ip) < sizeof r->ip && strlen(t->customer) < sizeof r->customer);
	strcpy(r->ip, t->ip);
	strcpy(r->customer, t->customer);
	r->ts = t->ts;
	counts_of(t, r->v);
}

static size_t
traffic_of(struct store *s, int hourly, int64_t from, int64_t to, const char *ip,
    const char *customer, struct trows *c)
{
	char err[512] = "";

	c->n = 0;
	if (store_traffic_each(s, hourly, from, to, ip, customer, collect_traffic, c, err,
	    sizeof err) == -1)
		fail_msg("store_traffic_each: %s", err);
	return c->n;
}

static uint64_t
rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

#define T0	1700002800	/* a multiple of 3600 */
#define NIP	3
#define NMIN	120
static const char *const tip[NIP] = { "192.0.2.10", "192.0.2.9", "203.0.113.7" };
static const char *const tcust[NIP] = { "c1", "c1", "" };	/* the third unassigned */

/* What the test put, summed by the test. */
struct texpect {
	int has[NIP][NMIN];
	uint64_t minute[NIP][NMIN][NCOUNT];
	uint64_t hour[NIP][2][NCOUNT];
};

/* Puts 2 hours of minutes for 3 IPs (the third silent one minute in three), each minute
 * as two puts at seconds 5 and 50 (which must add up in one row). */
static void
traffic_fill(struct store *s, struct texpect *e)
{
	struct store_traffic t;
	uint64_t x = 88172645463325252ULL, v[NCOUNT];
	char err[512] = "";
	int i, m, part, k;

	memset(e, 0, sizeof *e);
	for (m = 0; m < NMIN; m++)
		for (i = 0; i < NIP; i++) {
			if (i == 2 && m % 3 == 0)
				continue;
			e->has[i][m] = 1;
			for (part = 0; part < 2; part++) {
				for (k = 0; k < NCOUNT; k++) {
					v[k] = rnd(&x) % (k == 0 ? 5000000 : 400);
					e->minute[i][m][k] += v[k];
					e->hour[i][m / 60][k] += v[k];
				}
				memset(&t, 0, sizeof t);
				t.ip = tip[i];
				t.customer = tcust[i];
				t.ts = T0 + m * 60 + (part ? 50 : 5);
				counts_to(&t, v);
				if (store_traffic_put(s, &t, err, sizeof err) == -1)
					fail_msg("store_traffic_put: %s", err);
			}
		}
}

static int
ip_index(const char *ip)
{
	int i;

	for (i = 0; i < NIP; i++)
		if (strcmp(ip, tip[i]) == 0)
			return i;
	fail_msg("unexpected IP %s", ip);
	return -1;
}

/* Checks rows against what was put: each row's sums, order by ts then ip, customers. */
static void
traffic_check(const struct trows *c, const struct texpect *e, int hourly)
{
	int64_t period = hourly ? 3600 : 60;
	size_t j;
	int i, p;

	for (j = 0; j < c->n; j++) {
		const struct trow *r = &c->r[j];

		i = ip_index(r->ip);
		assert_int_equal((r->ts - T0) % period, 0);
		p = (int)((r->ts - T0) / period);
		assert_true(p >= 0 && p < (hourly ? 2 : NMIN));
		if (!hourly)
			assert_true(e->has[i][p]);
		assert_memory_equal(r->v, hourly ? e->hour[i][p] : e->minute[i][p],
		    sizeof r->v);
		assert_string_equal(r->customer, tcust[i]);
		if (j > 0)
			assert_true(c->r[j - 1].ts < r->ts || (c->r[j - 1].ts == r->ts &&
			    strcmp(c->r[j - 1].ip, r->ip) < 0));
	}
}

static void
test_traffic(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	static struct texpect e;
	static struct trows c;
	struct store_traffic bad = { .ip = NULL };
	uint64_t sum[NCOUNT] = { 0 }, got[NCOUNT] = { 0 };
	char err[512] = "";
	size_t j;
	int i, m, k;

	traffic_fill(s, &e);
	/* batched: nothing committed yet */
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM traffic_minute"), 0);
	/* but the store's own reads see its batch */
	assert_int_equal(traffic_of(s, 0, T0, T0 + 7200, NULL, NULL, &c), 120 + 120 + 80);
	assert_int_equal(store_flush(s, err, sizeof err), 0);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM traffic_minute"), 320);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM traffic_hour"), 6);

	/* everything, both tables: every row exact, and the grand totals agree */
	assert_int_equal(traffic_of(s, 0, T0, T0 + 7200, NULL, NULL, &c), 320);
	traffic_check(&c, &e, 0);
	assert_int_equal(c.r[0].ts, T0);
	assert_string_equal(c.r[0].ip, "192.0.2.10");	/* text order: "10" < "9" */
	assert_string_equal(c.r[1].ip, "192.0.2.9");
	for (i = 0; i < NIP; i++)
		for (m = 0; m < NMIN; m++)
			for (k = 0; k < NCOUNT; k++)
				sum[k] += e.minute[i][m][k];
	for (j = 0; j < c.n; j++)
		for (k = 0; k < NCOUNT; k++)
			got[k] += c.r[j].v[k];
	assert_memory_equal(got, sum, sizeof sum);
	assert_int_equal(traffic_of(s, 1, T0, T0 + 7200, NULL, NULL, &c), 6);
	traffic_check(&c, &e, 1);
	memset(got, 0, sizeof got);
	for (j = 0; j < c.n; j++)
		for (k = 0; k < NCOUNT; k++)
			got[k] += c.r[j].v[k];
	assert_memory_equal(got, sum, sizeof sum);	/* the hours hold the same counts */

	/* filters: a customer, an IP, both, a window */
	assert_int_equal(traffic_of(s, 0, T0, T0 + 86400, NULL, "c1", &c), 240);
	traffic_check(&c, &e, 0);
	for (j = 0; j < c.n; j++)
		assert_string_not_equal(c.r[j].ip, tip[2]);
	assert_int_equal(traffic_of(s, 0, T0, T0 + 86400, NULL, "", &c), 80);
	assert_int_equal(traffic_of(s, 0, T0 + 1800, T0 + 3600, tip[2], NULL, &c), 20);
	traffic_check(&c, &e, 0);
	assert_int_equal(c.r[0].ts, T0 + 1860);		/* minute 30 is silent */
	assert_int_equal(c.r[c.n - 1].ts, T0 + 3540);	/* "to" is excluded */
	assert_int_equal(traffic_of(s, 0, T0, T0 + 7200, tip[1], "c1", &c), 120);
	assert_int_equal(traffic_of(s, 0, T0, T0 + 7200, tip[2], "c1", &c), 0);
	assert_int_equal(traffic_of(s, 0, T0, T0 + 7200, "192.0.2.99", NULL, &c), 0);
	assert_int_equal(traffic_of(s, 1, T0 + 3600, INT64_MAX, NULL, NULL, &c), 3);
	traffic_check(&c, &e, 1);
	assert_int_equal(traffic_of(s, 1, T0, T0 + 7200, NULL, "c1", &c), 4);
	assert_int_equal(traffic_of(s, 1, T0, T0 + 7200, tip[0], NULL, &c), 2);
	traffic_check(&c, &e, 1);

	/* a later put into a stored minute adds up, and the customer is the last given */
	{
		struct store_traffic t = { .ip = tip[0], .customer = "c9", .ts = T0 + 61,
		    .syn = 1000, .bytes_out = 1 };

		assert_int_equal(store_traffic_put(s, &t, err, sizeof err), 0);
		assert_int_equal(traffic_of(s, 0, T0 + 60, T0 + 120, tip[0], NULL, &c), 1);
		assert_string_equal(c.r[0].customer, "c9");
		assert_int_equal(c.r[0].v[1], e.minute[0][1][1] + 1000);
		assert_int_equal(c.r[0].v[0], e.minute[0][1][0] + 1);
		assert_int_equal(traffic_of(s, 1, T0, T0 + 1, tip[0], NULL, &c), 1);
		assert_int_equal(c.r[0].v[1], e.hour[0][0][1] + 1000);
	}
	assert_int_equal(store_traffic_put(s, &bad, err, sizeof err), -1);
	assert_non_null(strstr(err, "needs an IP"));

	/* prune the first hour: 180 minutes (120 + 120 + 80 split evenly) and 3 hours */
	assert_int_equal(store_traffic_prune(s, T0 + 3600, T0 + 3600, err, sizeof err),
	    60 + 60 + 40 + 3);
	assert_int_equal(traffic_of(s, 0, 0, INT64_MAX, NULL, NULL, &c), 160);
	assert_int_equal(c.r[0].ts, T0 + 3600);
	assert_int_equal(traffic_of(s, 1, 0, INT64_MAX, NULL, NULL, &c), 3);
	/* minutes and hours prune on their own horizons */
	assert_int_equal(store_traffic_prune(s, T0 + 7200, T0, err, sizeof err), 160);
	assert_int_equal(traffic_of(s, 1, 0, INT64_MAX, NULL, NULL, &c), 3);
	assert_int_equal(store_traffic_prune(s, T0 + 7200, T0, err, sizeof err), 0);
	store_close(s);		/* commits the prune */
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM traffic_minute"), 0);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM traffic_hour"), 3);
}

/* Rounding is down, also for the second before a period and before 1970. */
static void
test_traffic_rounding(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	const int64_t ts[] = { 3599, 3600, -1, -3600, -3601 };
	const int64_t minute[] = { 3540, 3600, -60, -3600, -3660 };
	const int64_t hour[] = { 0, 3600, -3600, -3600, -7200 };
	static struct trows c;
	char err[512] = "";
	size_t i;

	for (i = 0; i < sizeof ts / sizeof ts[0]; i++) {
		struct store_traffic t = { .ip = "192.0.2.1", .ts = ts[i], .syn = 1 };

		assert_int_equal(store_traffic_put(s, &t, err, sizeof err), 0);
		assert_int_equal(traffic_of(s, 0, ts[i] - 3600, ts[i] + 1, NULL, NULL, &c) > 0,
		    1);
		assert_int_equal(c.r[c.n - 1].ts, minute[i]);
		assert_string_equal(c.r[c.n - 1].customer, "");	/* NULL: unassigned */
		assert_int_equal(traffic_of(s, 1, hour[i], hour[i] + 1, NULL, NULL, &c), 1);
	}
	/* -1 and -3600 share an hour: 2 syn (-3601 is in the one before) */
	assert_int_equal(traffic_of(s, 1, -3600, -3599, NULL, NULL, &c), 1);
	assert_int_equal(c.r[0].v[1], 2);
	store_close(s);
}

/* ---- per-IP state */

struct blobs {
	char ip[8][64];
	unsigned char b[8][256];
	size_t len[8];
	size_t n;
};

static void
collect_blob(void *arg, const char *ip, const void *state, size_t len)
{
	struct blobs *c = arg;

	assert_true(c->n < 8 && len <= sizeof c->b[0] && strlen(ip) < sizeof c->ip[0]);
	assert_non_null(state);
	strcpy(c->ip[c->n], ip);
	memcpy(c->b[c->n], state, len);
	c->len[c->n++] = len;
}

/* The state of ip in c, or NULL. */
static const unsigned char *
blob_of(const struct blobs *c, const char *ip, size_t *len)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->ip[i], ip) == 0) {
			*len = c->len[i];
			return c->b[i];
		}
	return NULL;
}

static void
ipstate_put(struct store *s, const char *ip, const void *b, size_t len, int64_t ts)
{
	char err[512] = "";

	if (store_ipstate_put(s, ip, b, len, ts, err, sizeof err) == -1)
		fail_msg("store_ipstate_put: %s", err);
}

static void
blobs_of(struct store *s, struct blobs *c)
{
	char err[512] = "";

	c->n = 0;
	if (store_ipstate_load(s, collect_blob, c, err, sizeof err) == -1)
		fail_msg("store_ipstate_load: %s", err);
}

static void
test_ipstate(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	static const unsigned char b1[] = { 0, 1, 2, 0, 'x', 'y', 0, 0xff };
	static const unsigned char b3[] = { 0, 0, 0 };
	unsigned char b2[128], b4[128];
	static struct blobs c;
	const unsigned char *got;
	char err[512] = "";
	size_t i, len;

	for (i = 0; i < sizeof b2; i++) {
		b2[i] = (unsigned char)(i * 37);	/* 0 at i = 0 and every 256/gcd */
		b4[i] = (unsigned char)(255 - i);
	}
	ipstate_put(s, "192.0.2.1", b1, sizeof b1, 100);
	ipstate_put(s, "192.0.2.2", b2, sizeof b2, 200);
	ipstate_put(s, "2001:db8::1", "", 0, 300);	/* an empty state is a state */
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM ipstate"), 0);	/* batched */
	assert_int_equal(store_flush(s, err, sizeof err), 0);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM ipstate"), 3);
	store_close(s);

	s = open_ok(fx);
	blobs_of(s, &c);
	assert_int_equal(c.n, 3);
	assert_non_null(got = blob_of(&c, "192.0.2.1", &len));
	assert_int_equal(len, sizeof b1);
	assert_memory_equal(got, b1, sizeof b1);
	assert_non_null(got = blob_of(&c, "192.0.2.2", &len));
	assert_int_equal(len, sizeof b2);
	assert_memory_equal(got, b2, sizeof b2);
	assert_non_null(blob_of(&c, "2001:db8::1", &len));
	assert_int_equal(len, 0);

	/* replacing: the new bytes, whole (shorter than before) */
	ipstate_put(s, "192.0.2.1", b3, sizeof b3, 400);
	/* an older clock (a replay) replaces the bytes but not the time last written */
	ipstate_put(s, "192.0.2.2", b4, sizeof b4, 50);
	blobs_of(s, &c);
	assert_int_equal(c.n, 3);
	assert_non_null(got = blob_of(&c, "192.0.2.1", &len));
	assert_int_equal(len, sizeof b3);
	assert_memory_equal(got, b3, sizeof b3);
	assert_non_null(got = blob_of(&c, "192.0.2.2", &len));
	assert_memory_equal(got, b4, sizeof b4);

	/* prune: updated 400, 200 (not 50), 300; before 150 takes none, before 250 the
	 * second only */
	assert_int_equal(store_ipstate_prune(s, 150, err, sizeof err), 0);
	assert_int_equal(store_ipstate_prune(s, 250, err, sizeof err), 1);
	assert_int_equal(store_ipstate_prune(s, 250, err, sizeof err), 0);
	blobs_of(s, &c);
	assert_int_equal(c.n, 2);
	assert_null(blob_of(&c, "192.0.2.2", &len));
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM ipstate"), 3);	/* batched */
	assert_int_equal(store_flush(s, err, sizeof err), 0);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM ipstate"), 2);
	assert_int_equal(store_ipstate_prune(s, 401, err, sizeof err), 2);
	blobs_of(s, &c);
	assert_int_equal(c.n, 0);

	/* no bytes at all, given as NULL: a zero-length state, not SQL NULL */
	assert_int_equal(store_ipstate_put(s, "192.0.2.4", NULL, 0, 500, err, sizeof err), 0);
	blobs_of(s, &c);
	assert_int_equal(c.n, 1);
	assert_non_null(blob_of(&c, "192.0.2.4", &len));
	assert_int_equal(len, 0);
	assert_int_equal(store_ipstate_put(s, "192.0.2.3", NULL, 4, 1, err, sizeof err), -1);
	assert_int_equal(store_ipstate_put(s, "", b1, 1, 1, err, sizeof err), -1);
	store_close(s);
}

/* ---- flags */

struct frow {
	int64_t id, ts, ack_ts;
	char customer[64], name[64], level[8], previous[8], evidence[256], ack_by[64],
	    ack_reason[128];
	double score;
};

struct frows {
	struct frow r[16];
	size_t n;
};

static void
copy_str(char *dst, size_t len, const char *src)
{
	assert_non_null(src);
	assert_true(strlen(src) < len);
	memcpy(dst, src, strlen(src) + 1);
}

static void
collect_flag(void *arg, const struct store_flag *f)
{
	struct frows *c = arg;
	struct frow *r;

	assert_true(c->n < sizeof c->r / sizeof c->r[0]);
	r = &c->r[c->n++];
	r->id = f->id;
	r->ts = f->ts;
	r->ack_ts = f->ack_ts;
	r->score = f->score;
	copy_str(r->customer, sizeof r->customer, f->customer);
	copy_str(r->name, sizeof r->name, f->name);
	copy_str(r->level, sizeof r->level, f->level);
	copy_str(r->previous, sizeof r->previous, f->previous);
	copy_str(r->evidence, sizeof r->evidence, f->evidence);
	copy_str(r->ack_by, sizeof r->ack_by, f->ack_by);
	copy_str(r->ack_reason, sizeof r->ack_reason, f->ack_reason);
}

static void
flags_of(struct store *s, struct frows *c)
{
	char err[512] = "";

	c->n = 0;
	if (store_flag_load(s, collect_flag, c, err, sizeof err) == -1)
		fail_msg("store_flag_load: %s", err);
}

/* The ids of a history page, as "4 3 1". */
static const char *
history_of(struct store *s, const char *customer, int64_t before, size_t limit,
    struct frows *c, char *ids, size_t idslen)
{
	char err[512] = "";
	size_t i, len = 0;
	int w;

	c->n = 0;
	if (store_flag_history(s, customer, before, limit, collect_flag, c, err,
	    sizeof err) == -1)
		fail_msg("store_flag_history: %s", err);
	ids[0] = '\0';
	for (i = 0; i < c->n; i++) {
		w = snprintf(ids + len, idslen - len, "%s%lld", i ? " " : "",
		    (long long)c->r[i].id);
		assert_true(w > 0 && (size_t)w < idslen - len);
		len += (size_t)w;
	}
	return ids;
}

static int64_t
flag_change(struct store *s, const char *customer, const char *name, const char *prev,
    const char *level, int64_t ts, double score, const char *evidence)
{
	struct store_flag f = { .id = 999, .ts = ts, .customer = customer, .name = name,
	    .level = level, .previous = prev, .score = score, .evidence = evidence,
	    .ack_by = "ignored", .ack_ts = 5 };
	char err[512] = "";
	int64_t id = -1;

	if (store_flag_change(s, &f, &id, err, sizeof err) == -1)
		fail_msg("store_flag_change: %s", err);
	return id;
}

static void
test_flags(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	static struct frows c;
	struct store_flag bad = { .ts = 1, .customer = "c1", .level = "red" };
	char ids[128], err[512] = "";
	const struct frow *r;

	assert_int_equal(flag_change(s, "c1", "Acme VPS", "none", "watch", 100, 1.5,
	    "{\"lines\":[\"one listing\"]}"), 1);
	/* durable: another connection sees it at once */
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM flag_history"), 1);
	assert_int_equal(flag_change(s, "c2", "Beta", NULL, "warn", 110, 2.25, "{}"), 2);
	assert_int_equal(flag_change(s, "c1", "Acme VPS", "watch", "act", 120, 7.5,
	    "{\"lines\":[\"range at 4 of 5\"]}"), 3);

	flags_of(s, &c);
	assert_int_equal(c.n, 2);
	r = &c.r[0];
	assert_string_equal(r->customer, "c1");
	assert_string_equal(r->name, "Acme VPS");
	assert_string_equal(r->level, "act");
	assert_string_equal(r->previous, "watch");
	assert_int_equal(r->id, 3);
	assert_int_equal(r->ts, 120);
	assert_true(r->score == 7.5);
	assert_string_equal(r->evidence, "{\"lines\":[\"range at 4 of 5\"]}");
	assert_string_equal(r->ack_by, "");		/* what the caller passed is ignored */
	assert_int_equal(r->ack_ts, 0);
	assert_string_equal(c.r[1].previous, "none");	/* NULL previous: none */

	/* an update: score and evidence only, in the batch, no history row */
	assert_int_equal(store_flag_update(s, "c1", 9.25, "{\"lines\":[\"worse\"]}", err,
	    sizeof err), 0);
	assert_int_equal(store_flag_update(s, "nobody", 1, "{}", err, sizeof err), 1);
	assert_int_equal(sql_int(fx->db, "SELECT score * 100 FROM flag WHERE customer = 'c1'"),
	    750);
	assert_int_equal(store_flush(s, err, sizeof err), 0);
	assert_int_equal(sql_int(fx->db, "SELECT score * 100 FROM flag WHERE customer = 'c1'"),
	    925);
	flags_of(s, &c);
	assert_string_equal(c.r[0].level, "act");
	assert_int_equal(c.r[0].ts, 120);
	assert_string_equal(c.r[0].evidence, "{\"lines\":[\"worse\"]}");
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM flag_history"), 3);

	/* ack: durable, 1 for a customer without a flag */
	assert_int_equal(store_flag_ack(s, "c1", "uid 1000 (alice)", "customer informed", 130,
	    err, sizeof err), 0);
	assert_int_equal(sql_int(fx->db, "SELECT ack_ts FROM flag WHERE customer = 'c1'"), 130);
	assert_int_equal(store_flag_ack(s, "nobody", "alice", "x", 131, err, sizeof err), 1);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM flag"), 2);
	flags_of(s, &c);
	assert_string_equal(c.r[0].ack_by, "uid 1000 (alice)");
	assert_string_equal(c.r[0].ack_reason, "customer informed");
	assert_int_equal(c.r[0].ack_ts, 130);
	assert_string_equal(c.r[1].ack_by, "");
	/* a change clears the acknowledgement */
	assert_int_equal(flag_change(s, "c1", "Acme VPS (renamed)", "act", "warn", 140, 4,
	    "{}"), 4);
	flags_of(s, &c);
	assert_string_equal(c.r[0].level, "warn");
	assert_string_equal(c.r[0].name, "Acme VPS (renamed)");
	assert_string_equal(c.r[0].ack_by, "");
	assert_string_equal(c.r[0].ack_reason, "");
	assert_int_equal(c.r[0].ack_ts, 0);
	assert_int_equal(c.r[0].id, 4);

	/* history: newest first, paged, by customer */
	assert_string_equal(history_of(s, NULL, 0, 0, &c, ids, sizeof ids), "4 3 2 1");
	r = &c.r[1];
	assert_string_equal(r->customer, "c1");
	assert_string_equal(r->level, "act");
	assert_string_equal(r->previous, "watch");
	assert_int_equal(r->ts, 120);
	assert_true(r->score == 7.5);
	assert_string_equal(r->evidence, "{\"lines\":[\"range at 4 of 5\"]}");
	assert_string_equal(r->ack_by, "");
	assert_string_equal(history_of(s, NULL, 0, 2, &c, ids, sizeof ids), "4 3");
	assert_string_equal(history_of(s, NULL, 3, 2, &c, ids, sizeof ids), "2 1");
	assert_string_equal(history_of(s, NULL, 1, 2, &c, ids, sizeof ids), "");
	assert_string_equal(history_of(s, "c1", 0, 0, &c, ids, sizeof ids), "4 3 1");
	assert_string_equal(history_of(s, "c1", 4, 1, &c, ids, sizeof ids), "3");
	assert_string_equal(history_of(s, "c2", 0, 0, &c, ids, sizeof ids), "2");
	assert_string_equal(history_of(s, "c3", 0, 0, &c, ids, sizeof ids), "");
	assert_string_equal(history_of(s, NULL, 0, SIZE_MAX, &c, ids, sizeof ids), "4 3 2 1");

	/* refused before SQL: an unknown level, a NaN score; nothing written */
	assert_int_equal(store_flag_change(s, &bad, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "levels among"));
	bad.level = "act";
	bad.score = (double)NAN;
	assert_int_equal(store_flag_change(s, &bad, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a number"));
	bad.score = 1;
	bad.customer = "";
	assert_int_equal(store_flag_change(s, &bad, NULL, err, sizeof err), -1);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM flag_history"), 4);
	store_close(s);
}

/* ---- audit */

struct arows {
	struct {
		int64_t id, ts;
		char actor[64], action[64], customer[64], reason[128], outcome[64],
		    detail[128];
	} r[16];
	size_t n;
	char ids[128];
};

static void
collect_audit(void *arg, const struct store_audit *a)
{
	struct arows *c = arg;
	size_t len = strlen(c->ids);

	assert_true(c->n < sizeof c->r / sizeof c->r[0]);
	c->r[c->n].id = a->id;
	c->r[c->n].ts = a->ts;
	copy_str(c->r[c->n].actor, sizeof c->r[0].actor, a->actor);
	copy_str(c->r[c->n].action, sizeof c->r[0].action, a->action);
	copy_str(c->r[c->n].customer, sizeof c->r[0].customer, a->customer);
	copy_str(c->r[c->n].reason, sizeof c->r[0].reason, a->reason);
	copy_str(c->r[c->n].outcome, sizeof c->r[0].outcome, a->outcome);
	copy_str(c->r[c->n].detail, sizeof c->r[0].detail, a->detail);
	snprintf(c->ids + len, sizeof c->ids - len, "%s%lld", c->n ? " " : "",
	    (long long)a->id);
	c->n++;
}

static const char *
audit_of(struct store *s, const char *customer, int64_t before, size_t limit,
    struct arows *c)
{
	char err[512] = "";

	c->n = 0;
	c->ids[0] = '\0';
	if (store_audit_each(s, customer, before, limit, collect_audit, c, err,
	    sizeof err) == -1)
		fail_msg("store_audit_each: %s", err);
	return c->ids;
}

static void
test_audit(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	static struct arows c;
	const char *cust[] = { "c1", "c2", "", "c1", "c1" };
	const char *action[] = { "suspend", "hook", "reload", "ack", "resume" };
	char err[512] = "", reason[64];
	int64_t id;
	int i;

	for (i = 0; i < 5; i++) {
		struct store_audit a = { .id = 77, .ts = 1000 + i, .actor = "uid 1000 (alice)",
		    .action = action[i], .customer = cust[i], .reason = reason,
		    .outcome = i == 1 ? NULL : "done", .detail = i == 1 ? "{\"pid\":42}" : "" };

		snprintf(reason, sizeof reason, "reason %d", i);
		id = -1;
		assert_int_equal(store_audit_add(s, &a, &id, err, sizeof err), 0);
		assert_int_equal(id, i + 1);
		/* durable */
		assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM audit"), i + 1);
	}
	assert_string_equal(audit_of(s, NULL, 0, 0, &c), "5 4 3 2 1");
	assert_int_equal(c.r[3].ts, 1001);
	assert_string_equal(c.r[3].actor, "uid 1000 (alice)");
	assert_string_equal(c.r[3].action, "hook");
	assert_string_equal(c.r[3].customer, "c2");
	assert_string_equal(c.r[3].reason, "reason 1");
	assert_string_equal(c.r[3].outcome, "");
	assert_string_equal(c.r[3].detail, "{\"pid\":42}");
	assert_string_equal(audit_of(s, NULL, 0, 2, &c), "5 4");
	assert_string_equal(audit_of(s, NULL, 4, 2, &c), "3 2");
	assert_string_equal(audit_of(s, NULL, 2, 5, &c), "1");
	assert_string_equal(audit_of(s, "c1", 0, 0, &c), "5 4 1");
	assert_string_equal(audit_of(s, "c1", 5, 1, &c), "4");
	assert_string_equal(audit_of(s, "", 0, 0, &c), "3");
	assert_string_equal(audit_of(s, "c9", 0, 0, &c), "");

	/* the hook finished: outcome and detail; NULL detail keeps the one there */
	assert_int_equal(store_audit_outcome(s, 2, "exit 75: retry later", NULL, err,
	    sizeof err), 0);
	audit_of(s, "c2", 0, 0, &c);
	assert_string_equal(c.r[0].outcome, "exit 75: retry later");
	assert_string_equal(c.r[0].detail, "{\"pid\":42}");
	assert_int_equal(store_audit_outcome(s, 2, "exit 0", "{\"stdout\":\"ok\"}", err,
	    sizeof err), 0);
	assert_int_equal(sql_int(fx->db, "SELECT outcome = 'exit 0' FROM audit WHERE id = 2"),
	    1);
	assert_int_equal(store_audit_outcome(s, 99, "x", NULL, err, sizeof err), 1);
	store_close(s);
	s = open_ok(fx);
	audit_of(s, "c2", 0, 0, &c);
	assert_string_equal(c.r[0].outcome, "exit 0");
	assert_string_equal(c.r[0].detail, "{\"stdout\":\"ok\"}");
	assert_string_equal(audit_of(s, NULL, 0, 0, &c), "5 4 3 2 1");
	store_close(s);
}

/* ---- query plans: the store's own SQL, caught by a trace on its connection */

#define NTRACED	32
static char traced[NTRACED][1024];
static int ntraced, tracing;

static int
trace_stmt(unsigned type, void *ctx, void *p, void *x)
{
	const char *sql = sqlite3_sql(p);

	(void)ctx;
	(void)x;
	if (tracing && type == SQLITE_TRACE_STMT && sql != NULL &&
	    strncmp(sql, "SELECT", 6) == 0 && ntraced < NTRACED)
		snprintf(traced[ntraced++], sizeof traced[0], "%s", sql);
	return 0;
}

static int
trace_entry(sqlite3 *db, char **msg, const struct sqlite3_api_routines *api)
{
	(void)msg;
	(void)api;
	sqlite3_trace_v2(db, SQLITE_TRACE_STMT, trace_stmt, NULL);
	return SQLITE_OK;
}

/* The plan of sql on db, one line per step. */
static void
plan_of(const char *db, const char *sql, char *out, size_t outlen)
{
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	char q[1200];
	size_t len = 0;
	int w;

	snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
	assert_int_equal(sqlite3_open_v2(db, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(c, q, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", q, sqlite3_errmsg(c));
	out[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW) {
		w = snprintf(out + len, outlen - len, "%s\n", sqlite3_column_text(st, 3));
		assert_true(w > 0 && (size_t)w < outlen - len);
		len += (size_t)w;
	}
	sqlite3_finalize(st);
	sqlite3_close(c);
}

/* "Customer X over the last 24 h", "everything since T", one IP, and the newest-first pages
 * of one customer's flags and audit entries are index searches without a sort. */
static void
test_query_plans(void **state)
{
	struct fixture *fx = *state;
	static struct trows c;
	static struct frows fr;
	static struct arows arows;
	struct arows *ar = &arows;
	struct store *s;
	char plan[2048], err[512] = "";
	const char *want[] = { "traffic_minute_customer", "PRIMARY KEY",
	    "traffic_hour_customer", "PRIMARY KEY", "PRIMARY KEY", "flag_history_customer",
	    "audit_customer" };
	int i;

	assert_int_equal(sqlite3_auto_extension((void (*)(void))trace_entry), SQLITE_OK);
	s = open_ok(fx);
	sqlite3_cancel_auto_extension((void (*)(void))trace_entry);
	ntraced = 0;
	tracing = 1;
	traffic_of(s, 0, T0 - 86400, T0, NULL, "c1", &c);
	traffic_of(s, 0, T0, INT64_MAX, NULL, NULL, &c);
	traffic_of(s, 1, T0 - 86400, T0, NULL, "c1", &c);
	traffic_of(s, 1, T0, INT64_MAX, NULL, NULL, &c);
	traffic_of(s, 0, T0 - 86400, T0, "192.0.2.1", NULL, &c);
	assert_int_equal(store_flag_history(s, "c1", 10, 5, collect_flag, &fr, err,
	    sizeof err), 0);
	assert_int_equal(store_audit_each(s, "c1", 10, 5, collect_audit, ar, err, sizeof err),
	    0);
	tracing = 0;
	assert_int_equal(ntraced, 7);
	for (i = 0; i < ntraced; i++) {
		plan_of(fx->db, traced[i], plan, sizeof plan);
		if (strncmp(plan, "SEARCH", 6) != 0 || strchr(plan, '\n')[1] != '\0' ||
		    strstr(plan, want[i]) == NULL)
			fail_msg("%s\nplanned as:\n%s(wanted one search using %s)", traced[i],
			    plan, want[i]);
	}
	store_close(s);
}

/* ---- durability of the new writes */

static void
traffic_one(struct store *s, const char *ip, int64_t ts)
{
	struct store_traffic t = { .ip = ip, .customer = "c1", .ts = ts, .syn = 3 };
	char err[512] = "";

	if (store_traffic_put(s, &t, err, sizeof err) == -1)
		fail_msg("store_traffic_put: %s", err);
}

/* A durable write commits the batch it finds open; a batch opened after it is not. */
static void
test_durable_commits_batch(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	struct store_audit a = { .ts = 1, .actor = "rangewatchd", .action = "hook" };
	char err[512] = "";
	int64_t id;

	flag_change(s, "c1", "Acme", "none", "watch", 10, 1, "{}");
	traffic_one(s, "192.0.2.1", 600);
	ipstate_put(s, "192.0.2.1", "\0\1", 2, 600);
	assert_int_equal(store_flag_update(s, "c1", 3, "{\"x\":1}", err, sizeof err), 0);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM traffic_minute"), 0);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM ipstate"), 0);
	assert_int_equal(store_audit_add(s, &a, &id, err, sizeof err), 0);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM audit"), 1);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM traffic_minute"), 1);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM traffic_hour"), 1);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM ipstate"), 1);
	assert_int_equal(sql_int(fx->db, "SELECT score FROM flag"), 3);

	/* each durable kind does it: ack, change, outcome */
	traffic_one(s, "192.0.2.2", 600);
	assert_int_equal(store_flag_ack(s, "c1", "bob", "seen", 20, err, sizeof err), 0);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM traffic_minute"), 2);
	traffic_one(s, "192.0.2.3", 600);
	flag_change(s, "c2", "Beta", "none", "act", 30, 1, "{}");
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM traffic_minute"), 3);
	traffic_one(s, "192.0.2.4", 600);
	assert_int_equal(store_audit_outcome(s, id, "exit 0", NULL, err, sizeof err), 0);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM traffic_minute"), 4);

	/* a refused durable write (bad level) leaves the batch open and intact */
	traffic_one(s, "192.0.2.5", 600);
	{
		struct store_flag f = { .customer = "c3", .level = "bogus" };

		assert_int_equal(store_flag_change(s, &f, NULL, err, sizeof err), -1);
	}
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM traffic_minute"), 4);
	assert_int_equal(store_flush(s, err, sizeof err), 0);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM traffic_minute"), 5);
	store_close(s);
}

/* The child writes a batch, durable rows (which commit that batch) and a second batch, then
 * dies without store_close or a flush: by _exit(0) (how) or SIGKILL. */
static void
crash_child(struct fixture *fx, int how)
{
	struct store *s = NULL;
	struct store_audit a = { .ts = 5, .actor = "uid 0 (root)", .action = "suspend",
	    .customer = "c1", .reason = "act level" };
	struct store_flag f = { .ts = 4, .customer = "c1", .name = "Acme", .level = "act",
	    .previous = "warn", .score = 8, .evidence = "{}" };
	struct store_traffic t = { .ip = "192.0.2.1", .customer = "c1", .ts = 7200, .syn = 5 };
	char err[512];

	if (store_open(fx->state, &s, err, sizeof err) == -1)
		_exit(2);
	if (store_traffic_put(s, &t, err, sizeof err) == -1 ||
	    store_ipstate_put(s, "192.0.2.1", "a\0b", 3, 7200, err, sizeof err) == -1)
		_exit(3);
	if (store_flag_change(s, &f, NULL, err, sizeof err) == -1 ||
	    store_audit_add(s, &a, NULL, err, sizeof err) == -1)
		_exit(4);
	t.ip = "192.0.2.2";
	if (store_traffic_put(s, &t, err, sizeof err) == -1 ||
	    store_ipstate_put(s, "192.0.2.2", "c", 1, 7200, err, sizeof err) == -1 ||
	    store_flag_update(s, "c1", 99, "{\"lost\":1}", err, sizeof err) != 0)
		_exit(5);
	if (how == 0)
		_exit(0);
	raise(SIGKILL);
	_exit(6);
}

static void
crash_and_check(struct fixture *fx, int how)
{
	static struct trows c;
	static struct frows fr;
	static struct blobs b;
	struct store *s;
	struct arows *ar;
	size_t len;
	int status;
	pid_t pid;

	s = open_ok(fx);
	store_close(s);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		crash_child(fx, how);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (how == 0)
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	else
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	s = open_ok(fx);
	assert_int_equal(traffic_of(s, 0, 0, INT64_MAX, NULL, NULL, &c), 1);
	assert_string_equal(c.r[0].ip, "192.0.2.1");
	assert_int_equal(c.r[0].v[1], 5);
	assert_int_equal(traffic_of(s, 1, 0, INT64_MAX, NULL, NULL, &c), 1);
	blobs_of(s, &b);
	assert_int_equal(b.n, 1);
	assert_non_null(blob_of(&b, "192.0.2.1", &len));
	assert_int_equal(len, 3);
	assert_memory_equal(b.b[0], "a\0b", 3);
	flags_of(s, &fr);
	assert_int_equal(fr.n, 1);
	assert_string_equal(fr.r[0].level, "act");
	assert_true(fr.r[0].score == 8);	/* the update after the last commit is lost */
	assert_non_null(ar = calloc(1, sizeof *ar));
	assert_string_equal(audit_of(s, NULL, 0, 0, ar), "1");
	assert_string_equal(ar->r[0].reason, "act level");
	free(ar);
	store_close(s);
}

static void
test_crash_exit(void **state)
{
	crash_and_check(*state, 0);
}

static void
test_crash_kill9(void **state)
{
	crash_and_check(*state, 1);
}

/* ---- holds: a record and what it sets off, committed together */

/* A level change, its hook's audit row and its alert, as the model and the daemon write
 * them for one change: inside a hold, each "durable" write waits for the release. 0, or -1
 * with err (also called in a child, where cmocka must not fail). */
static int
held_writes(struct store *s, int64_t t, char *err, size_t errlen)
{
	struct store_flag f = { .ts = t, .customer = "c1", .name = "Acme", .level = "act",
	    .previous = "none", .score = 8, .evidence = "{}" };
	struct store_audit a = { .ts = t, .actor = "rangewatchd (automatic)",
	    .action = "suspend", .customer = "c1", .reason = "level act",
	    .outcome = "hook started", .detail = "" };
	struct store_outbox o = { .kind = "mail", .customer = "c1", .level = "act",
	    .created = t, .next_try = t, .subject = "ACT c1", .recipients = "desk@example.net",
	    .payload = "body" };

	if (store_flag_change(s, &f, NULL, err, errlen) == -1 ||
	    store_audit_add(s, &a, NULL, err, errlen) == -1 ||
	    store_outbox_add(s, &o, NULL, err, errlen) == -1)
		return -1;
	return 0;
}

static long long
held_rows(struct fixture *fx)
{
	return sql_int(fx->db, "SELECT (SELECT count(*) FROM flag_history) * 100 + "
	    "(SELECT count(*) FROM audit) * 10 + (SELECT count(*) FROM outbox)");
}

/* store_after's calls, in order: "tag:committed" each. */
static char after_log[256];

static void
after_cb(void *arg, int64_t tag, int committed)
{
	size_t n = strlen(after_log);

	(void)arg;
	snprintf(after_log + n, sizeof after_log - n, "%s%lld:%d", n ? " " : "",
	    (long long)tag, committed);
}

/* What waits for a commit (a hook request after its audit row): at once outside a hold; at
 * the outermost release inside one, 1 when it committed; 0 for an inner hold undone (at its
 * release) and for an outer one undone. */
static void
test_after(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	char err[512] = "";

	after_log[0] = '\0';
	assert_int_equal(store_after(s, after_cb, NULL, 1, err, sizeof err), 0);
	assert_string_equal(after_log, "1:1");
	after_log[0] = '\0';
	assert_int_equal(store_hold(s, err, sizeof err), 0);
	assert_int_equal(store_after(s, after_cb, NULL, 2, err, sizeof err), 0);
	assert_int_equal(store_hold(s, err, sizeof err), 0);
	assert_int_equal(store_after(s, after_cb, NULL, 3, err, sizeof err), 0);
	assert_int_equal(store_release(s, 0, err, sizeof err), 0);	/* inner undone */
	assert_string_equal(after_log, "3:0");
	assert_int_equal(store_hold(s, err, sizeof err), 0);
	assert_int_equal(store_after(s, after_cb, NULL, 4, err, sizeof err), 0);
	assert_int_equal(store_release(s, 1, err, sizeof err), 0);	/* inner kept: waits */
	assert_string_equal(after_log, "3:0");
	assert_int_equal(store_release(s, 1, err, sizeof err), 0);	/* committed */
	assert_string_equal(after_log, "3:0 2:1 4:1");
	after_log[0] = '\0';
	assert_int_equal(store_hold(s, err, sizeof err), 0);
	assert_int_equal(store_after(s, after_cb, NULL, 5, err, sizeof err), 0);
	assert_int_equal(store_release(s, 0, err, sizeof err), 0);	/* outer undone */
	assert_string_equal(after_log, "5:0");
	store_close(s);
}

static void
test_hold(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	char err[512] = "";
	int status;
	pid_t pid;

	assert_int_equal(store_release(s, 1, err, sizeof err), 0);	/* none: nothing */
	put(s, "l1", "192.0.2.1", 1, 10);	/* a batch open before: it joins */
	assert_int_equal(store_hold(s, err, sizeof err), 0);
	if (held_writes(s, 100, err, sizeof err) == -1)
		fail_msg("%s", err);
	assert_int_equal(held_rows(fx), 0);
	assert_int_equal(store_flush(s, err, sizeof err), 0);	/* the flush waits too */
	assert_int_equal(store_hold(s, err, sizeof err), 0);	/* nested */
	assert_int_equal(store_release(s, 1, err, sizeof err), 0);
	assert_int_equal(held_rows(fx), 0);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM listing"), 0);
	assert_int_equal(store_release(s, 1, err, sizeof err), 0);
	assert_int_equal(held_rows(fx), 111);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM listing"), 1);
	/* without a hold, each commits at once again */
	if (held_writes(s, 200, err, sizeof err) == -1)
		fail_msg("%s", err);
	assert_int_equal(held_rows(fx), 222);
	/* a hold undone: its writes go, the batch from before it stays (and commits later) */
	put(s, "l1", "192.0.2.2", 1, 20);
	assert_int_equal(store_hold(s, err, sizeof err), 0);
	if (held_writes(s, 250, err, sizeof err) == -1)
		fail_msg("%s", err);
	assert_int_equal(store_release(s, 0, err, sizeof err), 0);
	assert_int_equal(held_rows(fx), 222);
	assert_int_equal(store_flush(s, err, sizeof err), 0);
	assert_int_equal(held_rows(fx), 222);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM listing"), 2);
	store_close(s);

	/* killed inside a hold: none of it */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *c = NULL;

		if (store_open(fx->state, &c, err, sizeof err) == -1 ||
		    store_hold(c, err, sizeof err) == -1 ||
		    held_writes(c, 300, err, sizeof err) == -1)
			_exit(2);
		raise(SIGKILL);
		_exit(3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	s = open_ok(fx);
	assert_int_equal(held_rows(fx), 222);
	store_close(s);
}

/* The batch commits by itself at STORE_BATCH_MAX (8192) rows: a traffic put is two. */
static void
test_batch_max(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	int i;

	for (i = 0; i < 4095; i++)
		traffic_one(s, "192.0.2.1", (int64_t)i * 60);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM traffic_minute"), 0);
	traffic_one(s, "192.0.2.1", (int64_t)4095 * 60);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM traffic_minute"), 4096);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM traffic_hour"), 69);
	traffic_one(s, "192.0.2.1", (int64_t)4096 * 60);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM traffic_minute"), 4096);
	store_close(s);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM traffic_minute"), 4097);
}

/* ---- untrusted strings */

static const char *const weird[] = {
	"it's \"quoted\"'); DROP TABLE audit; --",
	"\x01\x02\t\n\r\x1b[31mred\x1b[0m\x7f",
	"\xff\xfe\xc3\x28 \xed\xa0\x80 \xc0\xaf \xf8\x88\x80\x80\x80 end",
	"%s%n%x ?1 :name @x $y",
};
#define NWEIRD	(sizeof weird / sizeof weird[0])

static void
test_untrusted_strings(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	static struct trows tc;
	static struct frows fc;
	static struct blobs bc;
	struct arows *ac;
	char err[512] = "", ids[64];
	size_t i, j, len;
	int64_t id;

	assert_non_null(ac = calloc(1, sizeof *ac));
	for (i = 0; i < NWEIRD; i++) {
		struct store_flag f = { .ts = 10, .customer = weird[i], .name = weird[(i + 1) %
		    NWEIRD], .level = "warn", .previous = "none", .score = 1,
		    .evidence = weird[(i + 2) % NWEIRD] };
		struct store_audit a = { .ts = 20, .actor = weird[i], .action = weird[(i + 1) %
		    NWEIRD], .customer = weird[i], .reason = weird[(i + 2) % NWEIRD],
		    .outcome = weird[(i + 3) % NWEIRD], .detail = weird[i] };
		struct store_traffic t = { .ip = weird[i], .customer = weird[i], .ts = 60,
		    .syn = 1 };

		assert_int_equal(store_flag_change(s, &f, NULL, err, sizeof err), 0);
		assert_int_equal(store_flag_ack(s, weird[i], weird[(i + 3) % NWEIRD], weird[i],
		    30, err, sizeof err), 0);
		assert_int_equal(store_audit_add(s, &a, &id, err, sizeof err), 0);
		assert_int_equal(store_traffic_put(s, &t, err, sizeof err), 0);
		ipstate_put(s, weird[i], weird[i], strlen(weird[i]), 40);
	}
	store_close(s);
	s = open_ok(fx);	/* read back from the file, not from anything cached */
	for (i = 0; i < NWEIRD; i++) {
		/* found by the exact bytes, and read back as they went in */
		history_of(s, weird[i], 0, 0, &fc, ids, sizeof ids);
		assert_int_equal(fc.n, 1);
		assert_int_equal(fc.r[0].id, (int64_t)i + 1);
		assert_string_equal(fc.r[0].customer, weird[i]);
		assert_string_equal(fc.r[0].name, weird[(i + 1) % NWEIRD]);
		assert_string_equal(fc.r[0].evidence, weird[(i + 2) % NWEIRD]);
		audit_of(s, weird[i], 0, 0, ac);
		assert_int_equal(ac->n, 1);
		assert_string_equal(ac->r[0].actor, weird[i]);
		assert_string_equal(ac->r[0].action, weird[(i + 1) % NWEIRD]);
		assert_string_equal(ac->r[0].customer, weird[i]);
		assert_string_equal(ac->r[0].reason, weird[(i + 2) % NWEIRD]);
		assert_string_equal(ac->r[0].outcome, weird[(i + 3) % NWEIRD]);
		assert_string_equal(ac->r[0].detail, weird[i]);
		assert_int_equal(traffic_of(s, 0, 0, 120, weird[i], weird[i], &tc), 1);
		assert_string_equal(tc.r[0].ip, weird[i]);
		assert_string_equal(tc.r[0].customer, weird[i]);
	}
	flags_of(s, &fc);
	assert_int_equal(fc.n, NWEIRD);
	for (j = 0; j < fc.n; j++) {
		for (i = 0; i < NWEIRD && strcmp(weird[i], fc.r[j].customer) != 0; i++)
			;
		assert_true(i < NWEIRD);
		assert_string_equal(fc.r[j].ack_by, weird[(i + 3) % NWEIRD]);
		assert_string_equal(fc.r[j].ack_reason, weird[i]);
	}
	blobs_of(s, &bc);
	assert_int_equal(bc.n, NWEIRD);
	for (i = 0; i < NWEIRD; i++) {
		const unsigned char *b = blob_of(&bc, weird[i], &len);

		assert_non_null(b);
		assert_int_equal(len, strlen(weird[i]));
		assert_memory_equal(b, weird[i], len);
	}
	/* and nothing was run: the tables are all there, with the rows written */
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM audit"), NWEIRD);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM flag_history"), NWEIRD);
	free(ac);
	store_close(s);
}

/* ---- the alert outbox (schema version 3) */

/* The rows as "id kind customer level state tries next_try sent_ts last_error|", newest
 * first. */
struct obuf {
	char s[2048];
	size_t n;
	int64_t ids[16];
	size_t nids;
};

static void
outbox_cb(void *arg, const struct store_outbox *o)
{
	struct obuf *b = arg;
	int w;

	w = snprintf(b->s + b->n, sizeof b->s - b->n, "%lld %s %s %s %s %d %lld %lld %s|",
	    (long long)o->id, o->kind, o->customer, o->level, o->state, o->tries,
	    (long long)o->next_try, (long long)o->sent_ts, o->last_error);
	if (w > 0 && (size_t)w < sizeof b->s - b->n)
		b->n += (size_t)w;
	assert_int_equal(o->payload_len, strlen(o->payload));
	if (b->nids < 16)
		b->ids[b->nids++] = o->id;
}

static const char *
outbox_of(struct store *s, const char *customer, struct obuf *b)
{
	char err[512];

	memset(b, 0, sizeof *b);
	if (store_outbox_each(s, customer, 0, 0, outbox_cb, b, err, sizeof err) != 0)
		fail_msg("%s", err);
	return b->s;
}

static const char *
due_of(struct store *s, int64_t now, struct obuf *b)
{
	char err[512];

	memset(b, 0, sizeof *b);
	if (store_outbox_due(s, now, 0, outbox_cb, b, err, sizeof err) != 0)
		fail_msg("%s", err);
	return b->s;
}

static int64_t
queue(struct store *s, const char *kind, const char *customer, const char *level,
    int64_t next_try)
{
	struct store_outbox o = { .kind = kind, .customer = customer, .level = level,
	    .created = 1000, .next_try = next_try, .subject = "[rangewatch] ACT 1 x",
	    .recipients = "a@example.net,b@example.net", .payload = "Subject: x\r\n\r\nbody\r\n" };
	char err[512];
	int64_t id = 0;

	if (store_outbox_add(s, &o, &id, err, sizeof err) != 0)
		fail_msg("%s", err);
	return id;
}

/* Queued rows are durable at once (a child killed right after the add leaves them), move
 * queued -> sent or failed only once, come due by next_try, digests fold items in one
 * transaction, and the bound refuses with a counted, loud error. */
static void
test_outbox(void **state)
{
	struct fixture *fx = *state;
	struct store *s;
	struct obuf b;
	char err[512];
	int64_t items[2], id = 0;
	pid_t pid;
	int st;

	s = open_ok(fx);
	store_close(s);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *c = NULL;

		if (store_open(fx->state, &c, err, sizeof err) != 0)
			_exit(2);
		/* an open batch is committed with the durable add */
		put(c, "l1", "192.0.2.7", 1, 100);
		queue(c, "mail", "1001", "act", 1000);
		kill(getpid(), SIGKILL);
		_exit(3);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

	s = open_ok(fx);
	assert_string_equal(outbox_of(s, NULL, &b), "1 mail 1001 act queued 0 1000 0 |");
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM listing"), 1);
	assert_int_equal(queue(s, "webhook", "1001", "act", 2000), 2);
	assert_int_equal(queue(s, "digest", "1002", "watch", 1000), 3);
	assert_int_equal(queue(s, "digest", "1003", "watch", 1000), 4);
	assert_int_equal(queue(s, "mail", "1004", "warn", 1500), 5);
	assert_int_equal(store_outbox_queued(s, err, sizeof err), 5);

	/* due: mail and webhook only (never digest items), by next_try */
	assert_string_equal(due_of(s, 999, &b), "");
	assert_string_equal(due_of(s, 1500, &b), "1 mail 1001 act queued 0 1000 0 |"
	    "5 mail 1004 warn queued 0 1500 0 |");
	assert_string_equal(due_of(s, INT64_MAX, &b), "1 mail 1001 act queued 0 1000 0 |"
	    "5 mail 1004 warn queued 0 1500 0 |2 webhook 1001 act queued 0 2000 0 |");

	/* retry, then done; a second done or a retry of a sent row changes nothing */
	assert_int_equal(store_outbox_retry(s, 1, 1030, 1, "curl: 421 try later", err,
	    sizeof err), 0);
	assert_string_equal(due_of(s, 1029, &b), "");
	assert_int_equal(store_outbox_done(s, 1, 1031, err, sizeof err), 0);
	assert_int_equal(store_outbox_done(s, 1, 1032, err, sizeof err), 1);
	assert_int_equal(store_outbox_retry(s, 1, 1, 9, "x", err, sizeof err), 1);
	assert_int_equal(store_outbox_fail(s, 1, "x", err, sizeof err), 1);
	assert_int_equal(store_outbox_fail(s, 2, "HTTP 500 after 10 tries", err, sizeof err), 0);
	assert_int_equal(store_outbox_done(s, 2, 5, err, sizeof err), 1);
	assert_int_equal(store_outbox_done(s, 99, 5, err, sizeof err), 1);
	assert_string_equal(outbox_of(s, "1001", &b),
	    "2 webhook 1001 act failed 0 2000 0 HTTP 500 after 10 tries|"
	    "1 mail 1001 act sent 2 1030 1031 |");

	/* the digest's items, then the digest: in one transaction */
	memset(&b, 0, sizeof b);
	assert_int_equal(store_outbox_pending(s, "digest", 0, outbox_cb, &b, err, sizeof err),
	    0);
	assert_string_equal(b.s, "3 digest 1002 watch queued 0 1000 0 |"
	    "4 digest 1003 watch queued 0 1000 0 |");
	items[0] = 3;
	items[1] = 5;	/* not a digest item: nothing at all is written */
	{
		struct store_outbox m = { .kind = "mail", .level = "digest", .created = 1100,
		    .next_try = 1100, .subject = "digest", .recipients = "a@example.net",
		    .payload = "digest body" };

		assert_int_equal(store_outbox_digest(s, &m, items, 2, 1100, &id, err,
		    sizeof err), -1);
		assert_non_null(strstr(err, "digest item 5 is not queued"));
		assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM outbox"), 5);
		items[1] = 4;
		assert_int_equal(store_outbox_digest(s, &m, items, 2, 1100, &id, err,
		    sizeof err), 0);
	}
	assert_int_equal(id, 6);
	assert_string_equal(outbox_of(s, "1003", &b), "4 digest 1003 watch sent 0 1000 1100 "
	    "in digest 6|");
	assert_string_equal(due_of(s, 1100, &b), "6 mail  digest queued 0 1100 0 |");

	/* the bound: 2 queued now (5 and 6); at most 3 */
	store_outbox_set_max(s, 3);
	queue(s, "mail", "1005", "act", 0);
	{
		struct store_outbox o = { .kind = "mail", .customer = "1006", .level = "act",
		    .payload = "p" };

		assert_int_equal(store_outbox_add(s, &o, &id, err, sizeof err), -1);
		assert_non_null(strstr(err, "the alert outbox is full (3 queued, at most 3)"));
		assert_int_equal(store_outbox_refused(s), 1);
		o.kind = "fax";
		assert_int_equal(store_outbox_add(s, &o, &id, err, sizeof err), -1);
	}
	assert_int_equal(store_outbox_queued(s, err, sizeof err), 3);
	/* prune: sent and failed rows only */
	assert_int_equal(store_outbox_prune(s, 1050, err, sizeof err), 4);
	assert_int_equal(store_flush(s, err, sizeof err), 0);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM outbox"), 3);
	store_close(s);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM outbox WHERE state = 'queued'"), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_migrate_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_from_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durable_across_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_from_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_traffic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_traffic_rounding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_plans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipstate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durable_commits_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_kill9, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox, setup, teardown),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
