/*
 * test_cache.c — the local compile cache (src/cache/cache.h): round trips,
 * corrupt entries, list/remove/prune order, per-key locks across processes,
 * no temporary files left after failures, and a remote that cannot be reached
 * (loopback only) degrading to warnings.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache.h"
#include "test.h"

static char g_root[256];
static int g_dir_counter;

/* A fresh, not yet existing cache directory (nested, so creation is mkdir -p). */
static void fresh_dir(char *out, size_t size) {
  snprintf(out, size, "%s/c%d/nested/cache", g_root, g_dir_counter++);
}

static void key_of(char c, char out[SN_CACHE_KEY_LEN + 1]) {
  memset(out, c, SN_CACHE_KEY_LEN);
  out[SN_CACHE_KEY_LEN] = '\0';
}

static void write_file(const char *path, const char *prefix, size_t size) {
  FILE *f = fopen(path, "wb");
  SN_CHECK(f != NULL);
  if (!f) return;
  size_t plen = strlen(prefix);
  for (size_t i = 0; i < size; i++) fputc(i < plen ? prefix[i] : (int)('a' + i % 26), f);
  fclose(f);
}

static long file_size(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* Validator: the file must start with the NUL-terminated prefix in ctx. */
static sinter_status_t validate_prefix(const char *path, void *ctx, sinter_error_t *err) {
  const char *want = ctx;
  char buf[64] = {0};
  FILE *f = fopen(path, "rb");
  if (!f) return sn_error_set(err, SINTER_ERR_IO, "%s: cannot open", path);
  size_t n = fread(buf, 1, strlen(want), f);
  fclose(f);
  if (n != strlen(want) || memcmp(buf, want, n) != 0) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: bad magic (test validator)", path);
  }
  return SINTER_OK;
}

/* Number of directory entries whose name contains `needle`. */
static int count_names(const char *dir, const char *needle) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) n += strstr(de->d_name, needle) != NULL;
  closedir(d);
  return n;
}

static sn_cache_t *open_cache(const char *dir) {
  sn_cache_t *c = NULL;
  sinter_error_t err;
  SN_CHECK_OK(sn_cache_create(dir, "", &c, &err), &err);
  return c;
}

static void test_key_validation(void) {
  char k[SN_CACHE_KEY_LEN + 1];
  key_of('a', k);
  SN_CHECK(sn_cache_key_is_valid(k));
  k[3] = 'A';
  SN_CHECK(!sn_cache_key_is_valid(k));
  SN_CHECK(!sn_cache_key_is_valid("abc"));
  SN_CHECK(!sn_cache_key_is_valid(NULL));
  char longer[SN_CACHE_KEY_LEN + 2];
  memset(longer, '0', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  SN_CHECK(!sn_cache_key_is_valid(longer));

  char dir[512];
  fresh_dir(dir, sizeof dir);
  sn_cache_t *c = open_cache(dir);
  if (!c) return;
  char *path = NULL;
  sinter_error_t err;
  SN_CHECK_ERR(sn_cache_lookup(c, "../../etc/passwd", NULL, NULL, &path, NULL, &err),
               SINTER_ERR_INVALID_ARGUMENT, &err, "64 lowercase hex");
  SN_CHECK(path == NULL);
  sn_cache_destroy(c);
}

static void test_directory_choice(void) {
  sn_cache_t *c = NULL;
  sinter_error_t err;
  setenv("SINTER_CACHE_DIR", "/tmp/sinter-test-explicit/", 1);
  SN_CHECK_OK(sn_cache_create(NULL, "", &c, &err), &err);
  if (c) SN_CHECK(strcmp(sn_cache_dir(c), "/tmp/sinter-test-explicit") == 0);
  sn_cache_destroy(c);

  unsetenv("SINTER_CACHE_DIR");
  setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
  SN_CHECK_OK(sn_cache_create(NULL, "", &c, &err), &err);
  if (c) SN_CHECK(strcmp(sn_cache_dir(c), "/tmp/xdg/sinter") == 0);
  sn_cache_destroy(c);

  setenv("XDG_CACHE_HOME", "relative/ignored", 1);
  setenv("HOME", "/tmp/home", 1);
  SN_CHECK_OK(sn_cache_create(NULL, "", &c, &err), &err);
  if (c) SN_CHECK(strcmp(sn_cache_dir(c), "/tmp/home/.cache/sinter") == 0);
  sn_cache_destroy(c);

  unsetenv("XDG_CACHE_HOME");
  unsetenv("HOME");
  SN_CHECK_ERR(sn_cache_create(NULL, "", &c, &err), SINTER_ERR_NOT_FOUND, &err, "SINTER_CACHE_DIR");
  SN_CHECK(c == NULL);

  /* Creating a handle touches nothing on disk. */
  char dir[512];
  fresh_dir(dir, sizeof dir);
  c = open_cache(dir);
  struct stat sb;
  SN_CHECK(stat(dir, &sb) != 0);
  sn_cache_destroy(c);
}

static void test_remote_url_checked(void) {
  char dir[512];
  fresh_dir(dir, sizeof dir);
  sn_cache_t *c = NULL;
  sinter_error_t err;
  SN_CHECK_ERR(sn_cache_create(dir, "http://bucket/x", &c, &err), SINTER_ERR_INVALID_ARGUMENT, &err,
               "expected s3://BUCKET[/PREFIX]");
  SN_CHECK_ERR(sn_cache_create(dir, "s3://", &c, &err), SINTER_ERR_INVALID_ARGUMENT, &err,
               "bucket name");
  SN_CHECK_ERR(sn_cache_create(dir, "s3://b/a//c", &c, &err), SINTER_ERR_INVALID_ARGUMENT, &err,
               "empty path segment");
  SN_CHECK(c == NULL);

  /* The URL argument wins over SINTER_CACHE_URL; "" turns the remote off. */
  setenv("SINTER_CACHE_URL", "s3://env-bucket/env/prefix/", 1);
  setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret", 1);
  SN_CHECK_OK(sn_cache_create(dir, NULL, &c, &err), &err);
  if (c) {
    SN_CHECK(sn_cache_remote_url(c) &&
             strcmp(sn_cache_remote_url(c), "s3://env-bucket/env/prefix") == 0);
  }
  sn_cache_destroy(c);
  SN_CHECK_OK(sn_cache_create(dir, "s3://arg-bucket", &c, &err), &err);
  if (c) SN_CHECK(sn_cache_remote_url(c) && strcmp(sn_cache_remote_url(c), "s3://arg-bucket") == 0);
  sn_cache_destroy(c);
  SN_CHECK_OK(sn_cache_create(dir, "", &c, &err), &err);
  if (c) SN_CHECK(sn_cache_remote_url(c) == NULL);
  sn_cache_destroy(c);

  unsetenv("AWS_SECRET_ACCESS_KEY");
  SN_CHECK_ERR(sn_cache_create(dir, NULL, &c, &err), SINTER_ERR_INVALID_ARGUMENT, &err,
               "AWS_SECRET_ACCESS_KEY is not");
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("SINTER_CACHE_URL");
}

static void test_put_lookup_round_trip(void) {
  char dir[512], src[600];
  fresh_dir(dir, sizeof dir);
  snprintf(src, sizeof src, "%s/artifact-%d.bin", g_root, g_dir_counter);
  write_file(src, "GOOD", 3 * 1024 * 1024 + 17);
  sn_cache_t *c = open_cache(dir);
  if (!c) return;
  char key[SN_CACHE_KEY_LEN + 1];
  key_of('1', key);
  sinter_error_t err;
  char *path = (char *)1;
  sn_cache_origin_t origin = SN_CACHE_LOCAL;
  SN_CHECK_ERR(sn_cache_lookup(c, key, validate_prefix, "GOOD", &path, &origin, &err),
               SINTER_ERR_NOT_FOUND, &err, "is not in");
  SN_CHECK(path == NULL && origin == SN_CACHE_MISS);

  char *stored = NULL;
  SN_CHECK_OK(sn_cache_put(c, key, src, SN_CACHE_PUT_COPY, &stored, &err), &err);
  SN_CHECK(stored && strstr(stored, key) && strstr(stored, ".sinter"));
  SN_CHECK(file_size(src) == 3 * 1024 * 1024 + 17); /* copy keeps the source */
  struct stat sb;
  SN_CHECK(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode));

  SN_CHECK_OK(sn_cache_lookup(c, key, validate_prefix, "GOOD", &path, &origin, &err), &err);
  SN_CHECK(origin == SN_CACHE_LOCAL);
  SN_CHECK(path && stored && strcmp(path, stored) == 0);
  SN_CHECK(path && file_size(path) == 3 * 1024 * 1024 + 17);
  SN_CHECK(sn_cache_warning_count(c) == 0);
  free(path);
  free(stored);

  /* Move mode: the source is renamed into the cache. */
  char key2[SN_CACHE_KEY_LEN + 1];
  key_of('2', key2);
  SN_CHECK_OK(sn_cache_put(c, key2, src, SN_CACHE_PUT_MOVE, NULL, &err), &err);
  SN_CHECK(access(src, F_OK) != 0);
  SN_CHECK_OK(sn_cache_lookup(c, key2, NULL, NULL, &path, NULL, &err), &err);
  SN_CHECK(path && file_size(path) == 3 * 1024 * 1024 + 17);
  free(path);

  /* A put replaces an existing entry. */
  write_file(src, "GOOD", 10);
  SN_CHECK_OK(sn_cache_put(c, key2, src, SN_CACHE_PUT_COPY, NULL, &err), &err);
  SN_CHECK_OK(sn_cache_lookup(c, key2, NULL, NULL, &path, NULL, &err), &err);
  SN_CHECK(path && file_size(path) == 10);
  free(path);
  SN_CHECK(count_names(dir, ".tmp.") == 0);
  sn_cache_destroy(c);
}

static void test_corrupt_entry_is_a_miss(void) {
  char dir[512], src[600];
  fresh_dir(dir, sizeof dir);
  snprintf(src, sizeof src, "%s/corrupt-%d.bin", g_root, g_dir_counter);
  write_file(src, "GOOD", 4096);
  sn_cache_t *c = open_cache(dir);
  if (!c) return;
  char key[SN_CACHE_KEY_LEN + 1];
  key_of('c', key);
  sinter_error_t err;
  char *stored = NULL;
  SN_CHECK_OK(sn_cache_put(c, key, src, SN_CACHE_PUT_COPY, &stored, &err), &err);
  /* Truncate the entry behind the cache's back. */
  if (stored) SN_CHECK(truncate(stored, 2) == 0);
  char *path = NULL;
  sn_cache_origin_t origin = SN_CACHE_LOCAL;
  SN_CHECK_ERR(sn_cache_lookup(c, key, validate_prefix, "GOOD", &path, &origin, &err),
               SINTER_ERR_NOT_FOUND, &err, key);
  SN_CHECK(path == NULL && origin == SN_CACHE_MISS);
  SN_CHECK(stored && access(stored, F_OK) != 0); /* removed */
  SN_CHECK(sn_cache_warning_count(c) == 1);
  const char *w = sn_cache_warning(c, 0);
  SN_CHECK_MSG(w && strstr(w, "corrupt and was removed") && strstr(w, "bad magic"), "%s",
               w ? w : "(none)");
  SN_CHECK(sn_cache_warning(c, 1) == NULL);
  sn_cache_clear_warnings(c);
  SN_CHECK(sn_cache_warning_count(c) == 0);
  free(stored);
  sn_cache_destroy(c);
}

static void set_mtime(const char *dir, const char *key, time_t when) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s.sinter", dir, key);
  struct timespec ts[2] = {{when, 0}, {when, 0}};
  SN_CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
}

static void test_list_remove_prune_order(void) {
  char dir[512], src[600];
  fresh_dir(dir, sizeof dir);
  snprintf(src, sizeof src, "%s/lru-%d.bin", g_root, g_dir_counter);
  sn_cache_t *c = open_cache(dir);
  if (!c) return;
  sinter_error_t err;
  char ka[65], kb[65], kc[65];
  key_of('a', ka);
  key_of('b', kb);
  key_of('c', kc);
  const char *keys[3] = {ka, kb, kc};
  for (int i = 0; i < 3; i++) {
    write_file(src, "GOOD", (size_t)(100 * (i + 1)));
    SN_CHECK_OK(sn_cache_put(c, keys[i], src, SN_CACHE_PUT_COPY, NULL, &err), &err);
  }
  /* a is the oldest, then b, then c ... */
  time_t t0 = time(NULL) - 1000;
  set_mtime(dir, ka, t0);
  set_mtime(dir, kb, t0 + 10);
  set_mtime(dir, kc, t0 + 20);
  /* ... until a lookup hit makes a the most recently used. */
  char *path = NULL;
  SN_CHECK_OK(sn_cache_lookup(c, ka, NULL, NULL, &path, NULL, &err), &err);
  free(path);

  sn_cache_entry_t *list = NULL;
  size_t n = 0;
  SN_CHECK_OK(sn_cache_list(c, &list, &n, &err), &err);
  SN_CHECK(n == 3);
  if (n == 3) {
    SN_CHECK(strcmp(list[0].key, ka) == 0 && list[0].size == 100);
    SN_CHECK(strcmp(list[1].key, kc) == 0 && list[1].size == 300);
    SN_CHECK(strcmp(list[2].key, kb) == 0 && list[2].size == 200);
    SN_CHECK(list[2].mtime.tv_sec == t0 + 10);
  }
  free(list);

  /* 600 bytes, limit 450: b (least recently used) goes, 400 remain. */
  sn_cache_prune_result_t r;
  SN_CHECK_OK(sn_cache_prune(c, 450, &r, &err), &err);
  SN_CHECK(r.removed == 1 && r.removed_bytes == 200 && r.kept == 2 && r.kept_bytes == 400);
  SN_CHECK_OK(sn_cache_list(c, &list, &n, &err), &err);
  SN_CHECK(n == 2 && strcmp(list[0].key, ka) == 0 && strcmp(list[1].key, kc) == 0);
  free(list);

  /* Already within the limit: nothing to do. */
  SN_CHECK_OK(sn_cache_prune(c, 400, &r, &err), &err);
  SN_CHECK(r.removed == 0 && r.kept == 2);

  SN_CHECK_OK(sn_cache_remove(c, kc, &err), &err);
  SN_CHECK_ERR(sn_cache_remove(c, kc, &err), SINTER_ERR_NOT_FOUND, &err, "is not in");
  SN_CHECK_OK(sn_cache_list(c, &list, &n, &err), &err);
  SN_CHECK(n == 1 && strcmp(list[0].key, ka) == 0);
  free(list);

  /* Limit 0 empties the cache. */
  SN_CHECK_OK(sn_cache_prune(c, 0, &r, &err), &err);
  SN_CHECK(r.removed == 1 && r.kept == 0 && r.kept_bytes == 0);
  SN_CHECK_OK(sn_cache_list(c, &list, &n, &err), &err);
  SN_CHECK(n == 0 && list == NULL);
  sn_cache_destroy(c);

  /* A cache whose directory does not exist yet lists as empty. */
  char missing[512];
  fresh_dir(missing, sizeof missing);
  c = open_cache(missing);
  if (!c) return;
  SN_CHECK_OK(sn_cache_list(c, &list, &n, &err), &err);
  SN_CHECK(n == 0);
  sn_cache_destroy(c);
}

static void test_lock_excludes_other_process(void) {
  char dir[512], marker[600];
  fresh_dir(dir, sizeof dir);
  snprintf(marker, sizeof marker, "%s/released-%d", g_root, g_dir_counter);
  char key[SN_CACHE_KEY_LEN + 1];
  key_of('9', key);
  int ready[2];
  SN_CHECK(pipe(ready) == 0);
  fflush(NULL);
  pid_t pid = fork();
  SN_CHECK(pid >= 0);
  if (pid == 0) {
    /* Child: take the lock, tell the parent, hold it 300 ms, leave a marker
     * just before releasing. */
    sn_cache_t *c = NULL;
    sinter_error_t err;
    sn_cache_lock_t lock;
    if (sn_cache_create(dir, "", &c, &err) != SINTER_OK) _exit(2);
    if (sn_cache_acquire(c, key, &lock, &err) != SINTER_OK) _exit(3);
    if (write(ready[1], "L", 1) != 1) _exit(4);
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    FILE *f = fopen(marker, "w");
    if (!f) _exit(5);
    fclose(f);
    sn_cache_release(&lock);
    sn_cache_destroy(c);
    _exit(0);
  }
  close(ready[1]);
  char b = 0;
  SN_CHECK(read(ready[0], &b, 1) == 1 && b == 'L');
  close(ready[0]);
  sn_cache_t *c = open_cache(dir);
  if (!c) return;
  sinter_error_t err;
  sn_cache_lock_t lock = {-1};
  SN_CHECK(access(marker, F_OK) != 0);
  SN_CHECK_OK(sn_cache_acquire(c, key, &lock, &err), &err);
  /* We only got the lock after the child had finished its critical section. */
  SN_CHECK(access(marker, F_OK) == 0);
  SN_CHECK(lock.fd >= 0);
  sn_cache_release(&lock);
  SN_CHECK(lock.fd == -1);
  sn_cache_release(&lock); /* releasing twice is harmless */
  int status = 0;
  SN_CHECK(waitpid(pid, &status, 0) == pid);
  SN_CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);

  /* Same process, two handles: the second acquire must wait too, so only
   * check that a released lock can be taken again and that locks of
   * different keys are independent. */
  char other[SN_CACHE_KEY_LEN + 1];
  key_of('8', other);
  sn_cache_lock_t l1 = {-1}, l2 = {-1};
  SN_CHECK_OK(sn_cache_acquire(c, key, &l1, &err), &err);
  SN_CHECK_OK(sn_cache_acquire(c, other, &l2, &err), &err);
  sn_cache_release(&l1);
  sn_cache_release(&l2);
  SN_CHECK_OK(sn_cache_acquire(c, key, &l1, &err), &err);
  sn_cache_release(&l1);
  sn_cache_destroy(c);
}

static void test_no_temp_files_after_failures(void) {
  char dir[512], src[600];
  fresh_dir(dir, sizeof dir);
  snprintf(src, sizeof src, "%s/fail-%d.bin", g_root, g_dir_counter);
  write_file(src, "GOOD", 70000);
  sn_cache_t *c = open_cache(dir);
  if (!c) return;
  sinter_error_t err;
  char key[SN_CACHE_KEY_LEN + 1];
  key_of('f', key);

  /* A missing source: IO naming the path. */
  char missing[700];
  snprintf(missing, sizeof missing, "%s/does-not-exist", g_root);
  SN_CHECK_ERR(sn_cache_put(c, key, missing, SN_CACHE_PUT_COPY, NULL, &err), SINTER_ERR_IO, &err,
               "does-not-exist");
  /* A directory as source. */
  SN_CHECK_ERR(sn_cache_put(c, key, g_root, SN_CACHE_PUT_COPY, NULL, &err), SINTER_ERR_IO, &err,
               "not a regular file");

  /* The final rename fails (a non-empty directory sits at the entry's name):
   * the data was fully written to a temporary file, which must be removed. */
  char blocker[700], inner[800];
  snprintf(blocker, sizeof blocker, "%s/%s.sinter", dir, key);
  snprintf(inner, sizeof inner, "%s/x", blocker);
  SN_CHECK(mkdir(blocker, 0755) == 0);
  write_file(inner, "", 1);
  SN_CHECK_ERR(sn_cache_put(c, key, src, SN_CACHE_PUT_COPY, NULL, &err), SINTER_ERR_IO, &err,
               "cannot rename");
  SN_CHECK(count_names(dir, ".tmp.") == 0);
  SN_CHECK_ERR(sn_cache_put(c, key, src, SN_CACHE_PUT_MOVE, NULL, &err), SINTER_ERR_IO, &err,
               "cannot rename");
  SN_CHECK(file_size(src) == 70000); /* a failed move leaves the source alone */
  SN_CHECK(count_names(dir, ".tmp.") == 0);

  /* Lookup of a name that is not a file is an error, not a crash or a hit. */
  char *path = NULL;
  SN_CHECK_ERR(sn_cache_lookup(c, key, NULL, NULL, &path, NULL, &err), SINTER_ERR_IO, &err,
               "not a regular file");
  SN_CHECK(path == NULL);
  sn_cache_destroy(c);
}

static void test_prune_sweeps_leftovers(void) {
  char dir[512], src[600];
  fresh_dir(dir, sizeof dir);
  snprintf(src, sizeof src, "%s/sweep-%d.bin", g_root, g_dir_counter);
  write_file(src, "GOOD", 10);
  sn_cache_t *c = open_cache(dir);
  if (!c) return;
  sinter_error_t err;
  char key[SN_CACHE_KEY_LEN + 1], gone[SN_CACHE_KEY_LEN + 1];
  key_of('d', key);
  key_of('e', gone);
  SN_CHECK_OK(sn_cache_put(c, key, src, SN_CACHE_PUT_COPY, NULL, &err), &err);
  /* A lock file of an absent entry, an abandoned and a live temporary file. */
  sn_cache_lock_t lock;
  SN_CHECK_OK(sn_cache_acquire(c, gone, &lock, &err), &err);
  sn_cache_release(&lock);
  char old_tmp[800], new_tmp[800];
  snprintf(old_tmp, sizeof old_tmp, "%s/%s.sinter.tmp.99999.00000000deadbeef", dir, key);
  snprintf(new_tmp, sizeof new_tmp, "%s/%s.sinter.tmp.99999.00000000feedface", dir, key);
  write_file(old_tmp, "", 5);
  write_file(new_tmp, "", 5);
  struct timespec ts[2] = {{time(NULL) - 7200, 0}, {time(NULL) - 7200, 0}};
  SN_CHECK(utimensat(AT_FDCWD, old_tmp, ts, 0) == 0);
  sn_cache_prune_result_t r;
  SN_CHECK_OK(sn_cache_prune(c, UINT64_MAX, &r, &err), &err);
  SN_CHECK(r.removed == 0 && r.kept == 1 && r.stale_temps == 1);
  SN_CHECK(access(old_tmp, F_OK) != 0);
  SN_CHECK(access(new_tmp, F_OK) == 0);
  SN_CHECK(count_names(dir, ".lock") == 0);
  /* Temporary files are never listed as entries. */
  sn_cache_entry_t *list = NULL;
  size_t n = 0;
  SN_CHECK_OK(sn_cache_list(c, &list, &n, &err), &err);
  SN_CHECK(n == 1);
  free(list);
  sn_cache_destroy(c);
}

static void test_verify(void) {
  char dir[512], src[600];
  fresh_dir(dir, sizeof dir);
  snprintf(src, sizeof src, "%s/verify-%d.bin", g_root, g_dir_counter);
  sn_cache_t *c = open_cache(dir);
  if (!c) return;
  sinter_error_t err;
  char good1[65], good2[65], bad[65];
  key_of('1', good1);
  key_of('2', good2);
  key_of('3', bad);
  write_file(src, "GOOD", 50);
  SN_CHECK_OK(sn_cache_put(c, good1, src, SN_CACHE_PUT_COPY, NULL, &err), &err);
  SN_CHECK_OK(sn_cache_put(c, good2, src, SN_CACHE_PUT_COPY, NULL, &err), &err);
  write_file(src, "EVIL", 50);
  SN_CHECK_OK(sn_cache_put(c, bad, src, SN_CACHE_PUT_COPY, NULL, &err), &err);

  size_t checked = 0, np = 0;
  sn_cache_problem_t *problems = NULL;
  SN_CHECK_ERR(sn_cache_verify(c, NULL, NULL, 0, &checked, &problems, &np, &err),
               SINTER_ERR_INVALID_ARGUMENT, &err, "validator");
  SN_CHECK_OK(sn_cache_verify(c, validate_prefix, "GOOD", 0, &checked, &problems, &np, &err), &err);
  SN_CHECK(checked == 3 && np == 1);
  if (np == 1) {
    SN_CHECK(strcmp(problems[0].key, bad) == 0 && !problems[0].removed);
    SN_CHECK(strstr(problems[0].message, "bad magic") != NULL);
  }
  free(problems);
  SN_CHECK_OK(sn_cache_verify(c, validate_prefix, "GOOD", 1, &checked, &problems, &np, &err), &err);
  SN_CHECK(checked == 3 && np == 1 && problems && problems[0].removed);
  free(problems);
  SN_CHECK_OK(sn_cache_verify(c, validate_prefix, "GOOD", 1, &checked, &problems, &np, &err), &err);
  SN_CHECK(checked == 2 && np == 0 && problems == NULL);
  sn_cache_destroy(c);
}

/* A remote that refuses connections (a closed loopback port) must not fail
 * put or lookup: the work is done locally and a warning says why. */
static void test_unreachable_remote_degrades(void) {
  char dir[512], src[600];
  fresh_dir(dir, sizeof dir);
  snprintf(src, sizeof src, "%s/remote-%d.bin", g_root, g_dir_counter);
  write_file(src, "GOOD", 1000);
  setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "secret-that-must-not-leak", 1);
  setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
  setenv("SINTER_S3_ATTEMPTS", "2", 1);
  sn_cache_t *c = NULL;
  sinter_error_t err;
  SN_CHECK_OK(sn_cache_create(dir, "s3://bucket/some/prefix", &c, &err), &err);
  if (c) {
    char key[65], miss[65];
    key_of('7', key);
    key_of('6', miss);
    SN_CHECK_OK(sn_cache_put(c, key, src, SN_CACHE_PUT_COPY, NULL, &err), &err);
    SN_CHECK(sn_cache_warning_count(c) == 1);
    const char *w = sn_cache_warning(c, 0);
    SN_CHECK_MSG(w && strstr(w, "s3://bucket/some/prefix/") &&
                     strstr(w, "could not connect to http://127.0.0.1:1 (Connection refused)") &&
                     strstr(w, "after 2 attempts") && !strstr(w, "secret-that-must-not-leak"),
                 "%s", w ? w : "(none)");
    char *path = NULL;
    SN_CHECK_OK(sn_cache_lookup(c, key, validate_prefix, "GOOD", &path, NULL, &err), &err);
    free(path);
    sn_cache_origin_t origin = SN_CACHE_LOCAL;
    SN_CHECK_ERR(sn_cache_lookup(c, miss, validate_prefix, "GOOD", &path, &origin, &err),
                 SINTER_ERR_NOT_FOUND, &err, "s3://bucket/some/prefix");
    SN_CHECK(origin == SN_CACHE_MISS && path == NULL);
    SN_CHECK(sn_cache_warning_count(c) == 2);
    w = sn_cache_warning(c, 1);
    SN_CHECK_MSG(w && strstr(w, "S3 GET") && strstr(w, "Connection refused"), "%s",
                 w ? w : "(none)");
    SN_CHECK(count_names(dir, ".tmp.") == 0);
  }
  sn_cache_destroy(c);
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  unsetenv("AWS_ENDPOINT_URL");
  unsetenv("SINTER_S3_ATTEMPTS");
}

int main(void) {
  snprintf(g_root, sizeof g_root, "/tmp/sinter-cache-test-XXXXXX");
  if (!mkdtemp(g_root)) {
    perror("mkdtemp");
    return 1;
  }
  unsetenv("SINTER_CACHE_URL");
  unsetenv("AWS_ENDPOINT_URL");
  unsetenv("AWS_ENDPOINT_URL_S3");
  SN_RUN(test_key_validation);
  SN_RUN(test_directory_choice);
  SN_RUN(test_remote_url_checked);
  SN_RUN(test_put_lookup_round_trip);
  SN_RUN(test_corrupt_entry_is_a_miss);
  SN_RUN(test_list_remove_prune_order);
  SN_RUN(test_lock_excludes_other_process);
  SN_RUN(test_no_temp_files_after_failures);
  SN_RUN(test_prune_sweeps_leftovers);
  SN_RUN(test_verify);
  SN_RUN(test_unreachable_remote_degrades);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_root);
  return SN_TEST_REPORT();
}
