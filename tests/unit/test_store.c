/*
 * test_store.c — unit tests of the SQLite store: creating the state directory and the
 * database, migrating, reopening; events durable across a close without a flush and across
 * a child process killed with SIGKILL right after store_listing_event() returned; batches
 * invisible to other connections until store_flush(); a text file, a corrupt database,
 * someone else's database and a newer schema all refused with a clear error and left
 * byte for byte as they were. Each test works in a fresh mkdtemp() folder.
 */
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

	assert_int_equal(sql_int(fx->db, "SELECT max(version) FROM schema_version"), 1);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM schema_version"), 1);
	/* WAL is a property of the file: a fresh connection sees it */
	assert_int_equal(sql_int(fx->db, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"),
	    1);

	/* reopening applies nothing twice */
	s = open_ok(fx);
	put(s, "l1", "192.0.2.7", 1, 100);
	store_close(s);
	assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM schema_version"), 1);
	s = open_ok(fx);
	assert_string_equal(listings_of(s, &d), "l1|192.0.2.7|1|127.0.0.2|listed: spam|100|100|100\n");
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
	assert_int_equal(sql_int(fx->db, "SELECT max(version) FROM schema_version"), 1);
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
	expect_refused(fx, "schema version 999 is newer than this rangewatch knows (1)");
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
		cmocka_unit_test_setup_teardown(test_foreign_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_dir, setup, teardown),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
