/*
 * testfiles.h — a fresh folder per test and the files written into it, for the unit tests
 * of everything that reads a file (config, DNSBL lists, zone files, customers, prefixes,
 * the store). Header-only: each test binary includes it once, after <cmocka.h>; the
 * helpers are static inline so that a test using only some of them builds without warnings.
 * Never removes anything outside the folder testdir_make() made, and never follows a link.
 */
#ifndef RW_TEST_TESTFILES_H
#define RW_TEST_TESTFILES_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Makes /tmp/rw-test-NAME-XXXXXX into dir (len bytes). -1 when it cannot. */
static inline int
testdir_make(char *dir, size_t len, const char *name)
{
	int n = snprintf(dir, len, "/tmp/rw-test-%s-XXXXXX", name);

	if (n < 0 || (size_t)n >= len)
		return -1;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

/* Removes dir and everything below it (links themselves, not what they point to). */
static inline void
testdir_remove(const char *dir)
{
	char path[512];
	struct dirent *de;
	struct stat sb;
	DIR *d = opendir(dir);
	int n;

	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			n = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
			if (n < 0 || (size_t)n >= sizeof path)
				continue;
			if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
				testdir_remove(path);
			else
				unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* The usual fixture: a fresh folder and one file in it (not written yet). */
struct testfile {
	char dir[64];		/* /tmp/rw-test-NAME-XXXXXX */
	char *real;		/* realpath of dir */
	char path[128];		/* dir/FILE */
};

/* For a cmocka setup: a new struct testfile for NAME and FILE in *state. -1 when it
 * cannot. */
static inline int
testfile_setup(void **state, const char *name, const char *file)
{
	struct testfile *t = calloc(1, sizeof *t);
	int n;

	if (t == NULL)
		return -1;
	if (testdir_make(t->dir, sizeof t->dir, name) == -1) {
		free(t);
		return -1;
	}
	n = snprintf(t->path, sizeof t->path, "%s/%s", t->dir, file);
	if (n < 0 || (size_t)n >= sizeof t->path || (t->real = realpath(t->dir, NULL)) == NULL) {
		testdir_remove(t->dir);
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

/* cmocka's teardown for testfile_setup: the folder and everything in it, then the struct. */
static inline int
testfile_teardown(void **state)
{
	struct testfile *t = *state;

	testdir_remove(t->dir);
	free(t->real);
	free(t);
	return 0;
}

/* Writes len bytes of data to path, replacing it (len 0: data is a string, all of it). */
static inline void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	if (len == 0)
		len = strlen(data);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Makes path a sparse file of size bytes (no disk used) that starts with head and holds no
 * newline after it: a line of gigabytes. */
static inline void
write_sparse(const char *path, const char *head, off_t size)
{
	write_file(path, head, 0);
	assert_int_equal(truncate(path, size), 0);
}

/* Runs fn(arg) in a child whose address space is bounded to 1 GiB (not under ASan, whose
 * shadow memory needs more), so a reader that takes a whole multi-GB line into memory
 * fails there instead of eating the machine. The child's result: fn's return (0 good). */
static inline int
bounded_child(int (*fn)(void *), void *arg)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
#ifndef __SANITIZE_ADDRESS__
		struct rlimit rl = { 1ul << 30, 1ul << 30 };

		setrlimit(RLIMIT_AS, &rl);
#endif
		_exit(fn(arg) == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#endif
