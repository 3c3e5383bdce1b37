/*
 * cache.c — the compile cache: a local directory of <key>.sinter entries with
 * atomic writes, per-key flock locks, LRU pruning by mtime, and an optional
 * best-effort S3 remote (s3.h).
 *
 * Crash safety rests on one rule: an entry name only ever appears through
 * rename() of a complete, fsync'd temporary file from the same directory,
 * followed by an fsync of the directory. A crash leaves at most a temporary
 * file, which prune removes once it is an hour old.
 */
#include "cache/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/str.h"
#include "cache/s3.h"

#define ENTRY_SUFFIX ".sinter"
#define LOCK_SUFFIX ".lock"
#define TEMP_MARK ".sinter.tmp."
#define STALE_TEMP_SECONDS 3600
#define COPY_CHUNK (1u << 20)
#define MAX_WARNINGS 256

struct sn_cache {
  char *dir;
  sn_s3_client_t *remote; /* NULL: local only */
  sn_strlist_t warnings;
  char remote_missed[SN_CACHE_KEY_LEN + 1]; /* the key the remote last lacked */
};

/* ---------------------------------------------------------------- helpers */

/* Records a warning. Warnings beyond MAX_WARNINGS, or that cannot be
 * allocated, are dropped: they are advice, never a reason to fail. */
static void warn(sn_cache_t *c, const char *fmt, ...) SN_PRINTF(2, 3);
static void warn(sn_cache_t *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sn_strlist_vaddf(&c->warnings, MAX_WARNINGS, fmt, ap);
  va_end(ap);
}

int sn_cache_key_is_valid(const char *key) {
  if (!key) return 0;
  size_t i = 0;
  for (; key[i]; i++) {
    char ch = key[i];
    if (i >= SN_CACHE_KEY_LEN || !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return 0;
  }
  return i == SN_CACHE_KEY_LEN;
}

static sinter_status_t check_key(const char *key, sinter_error_t *err) {
  if (sn_cache_key_is_valid(key)) return SINTER_OK;
  return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                      "cache key \"%.80s\": expected %d lowercase hex characters (a SHA-256)",
                      key ? key : "(null)", SN_CACHE_KEY_LEN);
}

/* <dir>/<key><suffix> as a new string, or NULL on allocation failure. */
static char *key_path(const sn_cache_t *c, const char *key, const char *suffix) {
  return sn_format("%s/%s%s", c->dir, key, suffix);
}

static sinter_status_t oom(sinter_error_t *err, const char *what) {
  return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "cache: out of memory (%s)", what);
}

/* mkdir -p with mode 0755 for the components it creates. */
static sinter_status_t make_dirs(const char *path, sinter_error_t *err) {
  char *p = strdup(path);
  if (!p) return oom(err, path);
  sinter_status_t st = SINTER_OK;
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0') continue;
    char saved = *s;
    *s = '\0';
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
      st = sn_error_set(err, SINTER_ERR_IO, "cannot create cache directory %s: %s", p,
                        strerror(errno));
      break;
    }
    *s = saved;
    if (saved == '\0') break;
  }
  free(p);
  if (st != SINTER_OK) return st;
  struct stat sb;
  if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    return sn_error_set(err, SINTER_ERR_IO, "cache directory %s: not a directory", path);
  }
  return SINTER_OK;
}

static sinter_status_t fsync_dir(const char *dir, sinter_error_t *err) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return sn_error_set(err, SINTER_ERR_IO, "cannot open cache directory %s: %s", dir,
                        strerror(errno));
  }
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  if (rc != 0) {
    return sn_error_set(err, SINTER_ERR_IO, "cannot fsync cache directory %s: %s", dir,
                        strerror(e));
  }
  return SINTER_OK;
}

/* Creates <dir>/<key>.sinter.tmp.<pid>.<random> exclusively. On OK the caller
 * owns *out_path (free) and *out_fd (open for writing). */
static sinter_status_t temp_create(const sn_cache_t *c, const char *key, char **out_path,
                                   int *out_fd, sinter_error_t *err) {
  *out_path = NULL;
  *out_fd = -1;
  for (int tries = 0; tries < 16; tries++) {
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      r = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)tries << 56);
    }
    char *path = sn_format("%s/%s%s%ld.%016" PRIx64, c->dir, key, TEMP_MARK, (long)getpid(), r);
    if (!path) return oom(err, "temporary file name");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      *out_path = path;
      *out_fd = fd;
      return SINTER_OK;
    }
    int e = errno;
    if (e != EEXIST) {
      sinter_status_t st = sn_error_set(err, SINTER_ERR_IO, "cannot create temporary file %s: %s",
                                        path, strerror(e));
      free(path);
      return st;
    }
    free(path);
  }
  return sn_error_set(err, SINTER_ERR_IO, "cannot create a temporary file in %s: names taken",
                      c->dir);
}

/* Copies all of in_fd to out_fd. */
static sinter_status_t copy_fd(int in_fd, const char *in_path, int out_fd, const char *out_path,
                               sinter_error_t *err) {
  char *buf = malloc(COPY_CHUNK);
  if (!buf) return oom(err, "copy buffer");
  sinter_status_t st = SINTER_OK;
  uint64_t done = 0;
  for (;;) {
    ssize_t r = read(in_fd, buf, COPY_CHUNK);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      st = sn_error_set(err, SINTER_ERR_IO, "cannot read %s at byte %" PRIu64 ": %s", in_path, done,
                        strerror(errno));
      break;
    }
    if (r == 0) break;
    for (ssize_t w = 0; w < r;) {
      ssize_t n = write(out_fd, buf + w, (size_t)(r - w));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        st = sn_error_set(err, SINTER_ERR_IO, "cannot write %s at byte %" PRIu64 ": %s", out_path,
                          done + (uint64_t)w, n < 0 ? strerror(errno) : "no progress");
        goto out;
      }
      w += n;
    }
    done += (uint64_t)r;
  }
out:
  free(buf);
  return st;
}

/* Renames a complete temporary file onto `final_path` and makes the rename
 * durable. The temporary file is removed when the rename fails. */
static sinter_status_t install(const sn_cache_t *c, const char *tmp, const char *final_path,
                               sinter_error_t *err) {
  if (rename(tmp, final_path) != 0) {
    int e = errno;
    unlink(tmp);
    return sn_error_set(err, SINTER_ERR_IO, "cannot rename %s to %s: %s", tmp, final_path,
                        strerror(e));
  }
  return fsync_dir(c->dir, err);
}

/* Unlinks `path` only while it is still the file `before` described, so that
 * a fresh entry renamed in meanwhile by another process survives. */
static int unlink_if_same(const char *path, const struct stat *before) {
  struct stat now;
  if (stat(path, &now) != 0) return errno == ENOENT ? 0 : -1;
  if (now.st_ino != before->st_ino || now.st_dev != before->st_dev ||
      now.st_mtim.tv_sec != before->st_mtim.tv_sec ||
      now.st_mtim.tv_nsec != before->st_mtim.tv_nsec) {
    return 0;
  }
  return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* ---------------------------------------------------------------- lifetime */

static sinter_status_t resolve_dir(const char *override, char **out, sinter_error_t *err) {
  *out = NULL;
  const char *v = override && override[0] ? override : getenv("SINTER_CACHE_DIR");
  char *dir = NULL;
  if (v && v[0]) {
    dir = strdup(v);
  } else if ((v = getenv("XDG_CACHE_HOME")) && v[0] == '/') {
    /* The XDG spec says relative values are invalid and must be ignored. */
    dir = sn_format("%s/sinter", v);
  } else if ((v = getenv("HOME")) && v[0]) {
    dir = sn_format("%s/.cache/sinter", v);
  } else {
    return sn_error_set(err, SINTER_ERR_NOT_FOUND,
                        "cannot choose a cache directory: set SINTER_CACHE_DIR (or "
                        "XDG_CACHE_HOME or HOME)");
  }
  if (!dir) return oom(err, "cache directory name");
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') dir[--n] = '\0';
  *out = dir;
  return SINTER_OK;
}

sinter_status_t sn_cache_create(const char *dir, const char *remote_url, sn_cache_t **out_cache,
                                sinter_error_t *err) {
  *out_cache = NULL;
  sn_cache_t *c = calloc(1, sizeof *c);
  if (!c) return oom(err, "cache handle");
  sinter_status_t st = resolve_dir(dir, &c->dir, err);
  if (st != SINTER_OK) goto fail;
  const char *url = remote_url ? remote_url : getenv("SINTER_CACHE_URL");
  if (url && url[0]) {
    st = sn_s3_client_create(url, NULL, &c->remote, err);
    if (st != SINTER_OK) goto fail;
  }
  *out_cache = c;
  return SINTER_OK;
fail:
  sn_cache_destroy(c);
  return st;
}

void sn_cache_destroy(sn_cache_t *c) {
  if (!c) return;
  sn_cache_clear_warnings(c);
  sn_s3_client_destroy(c->remote);
  free(c->dir);
  free(c);
}

void sn_cache_set_max_download(sn_cache_t *c, uint64_t max_bytes) {
  if (c->remote) sn_s3_client_set_max_get_bytes(c->remote, max_bytes);
}

const char *sn_cache_dir(const sn_cache_t *c) {
  return c->dir;
}

const char *sn_cache_remote_url(const sn_cache_t *c) {
  return c->remote ? sn_s3_client_url(c->remote) : NULL;
}

size_t sn_cache_warning_count(const sn_cache_t *c) {
  return c->warnings.count;
}

const char *sn_cache_warning(const sn_cache_t *c, size_t index) {
  return sn_strlist_at(&c->warnings, index);
}

void sn_cache_clear_warnings(sn_cache_t *c) {
  sn_strlist_clear(&c->warnings);
}

/* ---------------------------------------------------------------- lookup */

/* Runs the validator, if any, on path. */
static sinter_status_t run_validate(sn_cache_validate_fn validate, void *ctx, const char *path,
                                    sinter_error_t *verr) {
  sn_error_clear(verr);
  if (!validate) return SINTER_OK;
  sinter_status_t st = validate(path, ctx, verr);
  if (st != SINTER_OK && !verr->message[0]) {
    snprintf(verr->message, sizeof verr->message, "%s", sinter_status_name(st));
  }
  return st;
}

/* Tries the remote. Returns 1 on a hit (the entry is then at final_path), 0
 * on a miss; never fails, failures become warnings. */
static int fetch_remote(sn_cache_t *c, const char *key, const char *final_path,
                        sn_cache_validate_fn validate, void *ctx) {
  char name[SN_CACHE_KEY_LEN + sizeof ENTRY_SUFFIX];
  snprintf(name, sizeof name, "%s%s", key, ENTRY_SUFFIX);
  const char *remote = sn_s3_client_url(c->remote);
  sinter_error_t e;
  sn_error_clear(&e);
  char *tmp = NULL;
  int fd = -1;
  if (make_dirs(c->dir, &e) != SINTER_OK || temp_create(c, key, &tmp, &fd, &e) != SINTER_OK) {
    warn(c, "cannot download %s/%s: %s", remote, name, e.message);
    return 0;
  }
  close(fd);
  sinter_status_t st = sn_s3_get_file(c->remote, name, tmp, NULL, &e);
  if (st == SINTER_ERR_NOT_FOUND) {
    unlink(tmp);
    free(tmp);
    return 0;
  }
  if (st != SINTER_OK) {
    unlink(tmp);
    free(tmp);
    warn(c, "%s; continuing without the remote cache", e.message);
    return 0;
  }
  if (run_validate(validate, ctx, tmp, &e) != SINTER_OK) {
    unlink(tmp);
    free(tmp);
    warn(c, "%s/%s is corrupt and was not used: %s", remote, name, e.message);
    return 0;
  }
  st = install(c, tmp, final_path, &e);
  free(tmp);
  if (st != SINTER_OK) {
    warn(c, "cannot store the download of %s/%s: %s", remote, name, e.message);
    return 0;
  }
  return 1;
}

sinter_status_t sn_cache_lookup(sn_cache_t *c, const char *key, sn_cache_validate_fn validate,
                                void *validate_ctx, char **out_path, sn_cache_origin_t *out_origin,
                                sinter_error_t *err) {
  *out_path = NULL;
  if (out_origin) *out_origin = SN_CACHE_MISS;
  SN_TRY(check_key(key, err));
  char *path = key_path(c, key, ENTRY_SUFFIX);
  if (!path) return oom(err, "entry path");
  struct stat sb;
  if (stat(path, &sb) == 0) {
    if (!S_ISREG(sb.st_mode)) {
      sinter_status_t st =
          sn_error_set(err, SINTER_ERR_IO, "cache entry %s is not a regular file", path);
      free(path);
      return st;
    }
    sinter_error_t verr;
    if (run_validate(validate, validate_ctx, path, &verr) == SINTER_OK) {
      /* Mark as recently used for prune; a read-only cache simply keeps its times. */
      utimensat(AT_FDCWD, path, NULL, 0);
      *out_path = path;
      if (out_origin) *out_origin = SN_CACHE_LOCAL;
      return SINTER_OK;
    }
    if (unlink_if_same(path, &sb) == 0) {
      warn(c, "cache entry %s is corrupt and was removed: %s", path, verr.message);
    } else {
      warn(c, "cache entry %s is corrupt and could not be removed (%s): %s", path, strerror(errno),
           verr.message);
    }
  } else if (errno != ENOENT && errno != ENOTDIR) {
    sinter_status_t st = sn_error_set(err, SINTER_ERR_IO, "cannot examine cache entry %s: %s", path,
                                      strerror(errno));
    free(path);
    return st;
  }
  /* One remote lookup per miss: the lookup again under the compile lock
   * (see the intended use above) is local only, so a slow or failing remote
   * is paid and reported once. */
  if (c->remote && strcmp(c->remote_missed, key) != 0) {
    if (fetch_remote(c, key, path, validate, validate_ctx)) {
      *out_path = path;
      if (out_origin) *out_origin = SN_CACHE_REMOTE;
      return SINTER_OK;
    }
    memcpy(c->remote_missed, key, sizeof c->remote_missed);
  }
  free(path);
  if (c->remote) {
    return sn_error_set(err, SINTER_ERR_NOT_FOUND, "cache entry %s is not in %s nor in %s", key,
                        c->dir, sn_s3_client_url(c->remote));
  }
  return sn_error_set(err, SINTER_ERR_NOT_FOUND, "cache entry %s is not in %s", key, c->dir);
}

/* ---------------------------------------------------------------- put */

/* Uploads the entry at path unless the remote already has it; failures are
 * warnings. */
static void upload(sn_cache_t *c, const char *key, const char *path) {
  char name[SN_CACHE_KEY_LEN + sizeof ENTRY_SUFFIX];
  snprintf(name, sizeof name, "%s%s", key, ENTRY_SUFFIX);
  struct stat sb;
  if (stat(path, &sb) != 0) {
    warn(c, "cannot upload %s: %s", path, strerror(errno));
    return;
  }
  sinter_error_t e;
  uint64_t remote_size = 0;
  sinter_status_t st = sn_s3_head(c->remote, name, &remote_size, &e);
  if (st == SINTER_OK && remote_size == (uint64_t)sb.st_size) return;
  if (st != SINTER_OK && st != SINTER_ERR_NOT_FOUND &&
      sn_s3_client_last_http_status(c->remote) == 0) {
    /* No server answered: a PUT would only wait as long again. */
    warn(c, "%s; the entry stays in the local cache only", e.message);
    return;
  }
  /* A refusal of the HEAD carries no reason; the PUT's error body does. */
  if (sn_s3_put_file(c->remote, name, path, &e) != SINTER_OK) {
    warn(c, "%s; the entry stays in the local cache only", e.message);
  }
}

static sinter_status_t open_source(const char *src_path, int *out_fd, sinter_error_t *err) {
  *out_fd = -1;
  int fd = open(src_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return sn_error_set(err, SINTER_ERR_IO, "cannot open %s to cache it: %s", src_path,
                        strerror(errno));
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return sn_error_set(err, SINTER_ERR_IO, "cannot cache %s: not a regular file", src_path);
  }
  *out_fd = fd;
  return SINTER_OK;
}

/* Copies src into a temporary file and installs it as final_path. */
static sinter_status_t copy_in(sn_cache_t *c, const char *key, const char *src_path,
                               const char *final_path, sinter_error_t *err) {
  int in = -1;
  SN_TRY(open_source(src_path, &in, err));
  char *tmp = NULL;
  int out = -1;
  sinter_status_t st = temp_create(c, key, &tmp, &out, err);
  if (st != SINTER_OK) {
    close(in);
    return st;
  }
  st = copy_fd(in, src_path, out, tmp, err);
  close(in);
  if (st == SINTER_OK && fsync(out) != 0) {
    st = sn_error_set(err, SINTER_ERR_IO, "cannot fsync %s: %s", tmp, strerror(errno));
  }
  if (close(out) != 0 && st == SINTER_OK) {
    st = sn_error_set(err, SINTER_ERR_IO, "cannot close %s: %s", tmp, strerror(errno));
  }
  if (st == SINTER_OK) {
    st = install(c, tmp, final_path, err); /* removes tmp itself on failure */
  } else {
    unlink(tmp);
  }
  free(tmp);
  return st;
}

/* Moves src onto final_path with rename(); *out_cross_device is set when the
 * two are on different file systems (nothing was done then). */
static sinter_status_t move_in(sn_cache_t *c, const char *src_path, const char *final_path,
                               int *out_cross_device, sinter_error_t *err) {
  *out_cross_device = 0;
  int fd = -1;
  SN_TRY(open_source(src_path, &fd, err));
  /* The producer may not have synced: the entry must be durable before it is visible. */
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  if (rc != 0)
    return sn_error_set(err, SINTER_ERR_IO, "cannot fsync %s: %s", src_path, strerror(e));
  if (rename(src_path, final_path) != 0) {
    if (errno == EXDEV) {
      *out_cross_device = 1;
      return SINTER_OK;
    }
    return sn_error_set(err, SINTER_ERR_IO, "cannot rename %s to %s: %s", src_path, final_path,
                        strerror(errno));
  }
  return fsync_dir(c->dir, err);
}

sinter_status_t sn_cache_put(sn_cache_t *c, const char *key, const char *src_path,
                             sn_cache_put_mode_t mode, char **out_path, sinter_error_t *err) {
  if (out_path) *out_path = NULL;
  SN_TRY(check_key(key, err));
  SN_TRY(make_dirs(c->dir, err));
  char *final_path = key_path(c, key, ENTRY_SUFFIX);
  if (!final_path) return oom(err, "entry path");
  sinter_status_t st = SINTER_OK;
  int copy = 1;
  if (mode == SN_CACHE_PUT_MOVE) {
    int cross = 0;
    st = move_in(c, src_path, final_path, &cross, err);
    copy = st == SINTER_OK && cross;
  }
  if (st == SINTER_OK && copy) {
    st = copy_in(c, key, src_path, final_path, err);
    if (st == SINTER_OK && mode == SN_CACHE_PUT_MOVE && unlink(src_path) != 0) {
      warn(c, "cached %s but could not remove it: %s", src_path, strerror(errno));
    }
  }
  if (st != SINTER_OK) {
    free(final_path);
    return st;
  }
  if (c->remote) upload(c, key, final_path);
  if (out_path) {
    *out_path = final_path;
  } else {
    free(final_path);
  }
  return SINTER_OK;
}

/* ---------------------------------------------------------------- locks */

#define COMPILE_MARK ".compile"

char *sn_cache_compile_temp_path(const sn_cache_t *c, const char *key) {
  return sn_format("%s/%s%s%ld%s", c->dir, key, TEMP_MARK, (long)getpid(), COMPILE_MARK);
}

/* Removes the compile temporaries of `key` (and the writer's own temporaries
 * beside them, whose names extend theirs). Called holding the key's lock:
 * their compile is dead. */
static void remove_dead_compiles(sn_cache_t *c, const char *key) {
  DIR *d = opendir(c->dir);
  if (!d) return;
  char prefix[SN_CACHE_KEY_LEN + sizeof TEMP_MARK];
  snprintf(prefix, sizeof prefix, "%s%s", key, TEMP_MARK);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    const char *name = de->d_name;
    struct stat sb;
    if (strncmp(name, prefix, strlen(prefix)) != 0 || !strstr(name, COMPILE_MARK) ||
        fstatat(dirfd(d), name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
      continue;
    if (unlinkat(dirfd(d), name, 0) == 0)
      warn(c, "removed %s (%lld bytes), left by a compile that did not finish", name,
           (long long)sb.st_size);
  }
  closedir(d);
}

sinter_status_t sn_cache_acquire(sn_cache_t *c, const char *key, sn_cache_lock_t *out_lock,
                                 sinter_error_t *err) {
  out_lock->fd = -1;
  SN_TRY(check_key(key, err));
  SN_TRY(make_dirs(c->dir, err));
  char *path = key_path(c, key, LOCK_SUFFIX);
  if (!path) return oom(err, "lock path");
  sinter_status_t st = SINTER_OK;
  for (;;) {
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      st = sn_error_set(err, SINTER_ERR_IO, "cannot open lock file %s: %s", path, strerror(errno));
      break;
    }
    int rc;
    while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
      st = sn_error_set(err, SINTER_ERR_IO, "cannot lock %s: %s", path, strerror(errno));
      close(fd);
      break;
    }
    /* Prune may have unlinked the file while we waited: a lock on a file no
     * longer at that name excludes nobody, so start again. */
    struct stat held, now;
    if (fstat(fd, &held) == 0 && stat(path, &now) == 0 && held.st_ino == now.st_ino &&
        held.st_dev == now.st_dev) {
      out_lock->fd = fd;
      remove_dead_compiles(c, key);
      break;
    }
    close(fd);
  }
  free(path);
  return st;
}

void sn_cache_release(sn_cache_lock_t *lock) {
  if (!lock || lock->fd < 0) return;
  flock(lock->fd, LOCK_UN);
  close(lock->fd);
  lock->fd = -1;
}

/* Removes the lock file of `key` if nobody holds it (the lock is taken while
 * unlinking, and acquirers re-check the name, so this is race-free). */
static void remove_idle_lock(const sn_cache_t *c, const char *key) {
  char *path = key_path(c, key, LOCK_SUFFIX);
  if (!path) return;
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      struct stat held;
      if (fstat(fd, &held) == 0) unlink_if_same(path, &held);
    }
    close(fd);
  }
  free(path);
}

/* ---------------------------------------------------------------- management */

static int newest_first(const void *pa, const void *pb) {
  const sn_cache_entry_t *a = pa, *b = pb;
  if (a->mtime.tv_sec != b->mtime.tv_sec) return a->mtime.tv_sec > b->mtime.tv_sec ? -1 : 1;
  if (a->mtime.tv_nsec != b->mtime.tv_nsec) return a->mtime.tv_nsec > b->mtime.tv_nsec ? -1 : 1;
  return strcmp(a->key, b->key);
}

/* If name is "<key>.sinter", copies the key into key_out and returns 1. */
static int entry_key(const char *name, char key_out[SN_CACHE_KEY_LEN + 1]) {
  size_t n = strlen(name);
  if (n != SN_CACHE_KEY_LEN + strlen(ENTRY_SUFFIX)) return 0;
  if (strcmp(name + SN_CACHE_KEY_LEN, ENTRY_SUFFIX) != 0) return 0;
  memcpy(key_out, name, SN_CACHE_KEY_LEN);
  key_out[SN_CACHE_KEY_LEN] = '\0';
  return sn_cache_key_is_valid(key_out);
}

sinter_status_t sn_cache_list(sn_cache_t *c, sn_cache_entry_t **out_entries, size_t *out_count,
                              sinter_error_t *err) {
  *out_entries = NULL;
  *out_count = 0;
  DIR *d = opendir(c->dir);
  if (!d) {
    if (errno == ENOENT) return SINTER_OK;
    return sn_error_set(err, SINTER_ERR_IO, "cannot read cache directory %s: %s", c->dir,
                        strerror(errno));
  }
  sn_cache_entry_t *list = NULL;
  size_t count = 0, cap = 0;
  sinter_status_t st = SINTER_OK;
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (!de) {
      if (errno != 0) {
        st = sn_error_set(err, SINTER_ERR_IO, "cannot read cache directory %s: %s", c->dir,
                          strerror(errno));
      }
      break;
    }
    char key[SN_CACHE_KEY_LEN + 1];
    if (!entry_key(de->d_name, key)) continue;
    struct stat sb;
    if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode)) {
      continue; /* removed meanwhile, or not ours */
    }
    if (count == cap) {
      size_t ncap = cap ? 2 * cap : 16;
      sn_cache_entry_t *n = realloc(list, ncap * sizeof *n);
      if (!n) {
        st = oom(err, "entry list");
        break;
      }
      list = n;
      cap = ncap;
    }
    memcpy(list[count].key, key, sizeof key);
    list[count].size = (uint64_t)sb.st_size;
    list[count].mtime = sb.st_mtim;
    count++;
  }
  closedir(d);
  if (st != SINTER_OK) {
    free(list);
    return st;
  }
  if (count > 1) qsort(list, count, sizeof *list, newest_first);
  *out_entries = list;
  *out_count = count;
  return SINTER_OK;
}

sinter_status_t sn_cache_remove(sn_cache_t *c, const char *key, sinter_error_t *err) {
  SN_TRY(check_key(key, err));
  char *path = key_path(c, key, ENTRY_SUFFIX);
  if (!path) return oom(err, "entry path");
  sinter_status_t st = SINTER_OK;
  if (unlink(path) != 0) {
    st = errno == ENOENT || errno == ENOTDIR
             ? sn_error_set(err, SINTER_ERR_NOT_FOUND, "cache entry %s is not in %s", key, c->dir)
             : sn_error_set(err, SINTER_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
  }
  free(path);
  if (st == SINTER_OK) remove_idle_lock(c, key);
  return st;
}

/* Removes temporary files older than STALE_TEMP_SECONDS and idle lock files
 * of absent entries. */
static size_t sweep_leftovers(sn_cache_t *c) {
  DIR *d = opendir(c->dir);
  if (!d) return 0;
  size_t removed = 0;
  time_t now = time(NULL);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    const char *name = de->d_name;
    size_t n = strlen(name);
    char key[SN_CACHE_KEY_LEN + 1];
    if (n > SN_CACHE_KEY_LEN &&
        strncmp(name + SN_CACHE_KEY_LEN, TEMP_MARK, strlen(TEMP_MARK)) == 0) {
      struct stat sb;
      if (fstatat(dirfd(d), name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
          now - sb.st_mtim.tv_sec > STALE_TEMP_SECONDS && unlinkat(dirfd(d), name, 0) == 0) {
        removed++;
      }
    } else if (n == SN_CACHE_KEY_LEN + strlen(LOCK_SUFFIX) &&
               strcmp(name + SN_CACHE_KEY_LEN, LOCK_SUFFIX) == 0) {
      memcpy(key, name, SN_CACHE_KEY_LEN);
      key[SN_CACHE_KEY_LEN] = '\0';
      char entry[SN_CACHE_KEY_LEN + sizeof ENTRY_SUFFIX];
      snprintf(entry, sizeof entry, "%s%s", key, ENTRY_SUFFIX);
      struct stat sb;
      if (sn_cache_key_is_valid(key) && fstatat(dirfd(d), entry, &sb, 0) != 0 && errno == ENOENT) {
        remove_idle_lock(c, key);
      }
    }
  }
  closedir(d);
  return removed;
}

sinter_status_t sn_cache_prune(sn_cache_t *c, uint64_t max_bytes,
                               sn_cache_prune_result_t *out_result, sinter_error_t *err) {
  sn_cache_prune_result_t r = {0};
  if (out_result) *out_result = r;
  sn_cache_entry_t *list = NULL;
  size_t count = 0;
  SN_TRY(sn_cache_list(c, &list, &count, err));
  uint64_t total = 0;
  for (size_t i = 0; i < count; i++) total += list[i].size;
  sinter_status_t st = SINTER_OK;
  /* The list is newest first: walk it from the end. */
  size_t i = count;
  while (i > 0 && total > max_bytes) {
    sn_cache_entry_t *e = &list[--i];
    char *path = key_path(c, e->key, ENTRY_SUFFIX);
    if (!path) {
      st = oom(err, "entry path");
      break;
    }
    if (unlink(path) == 0 || errno == ENOENT) {
      total -= e->size;
      r.removed++;
      r.removed_bytes += e->size;
      remove_idle_lock(c, e->key);
    } else if (st == SINTER_OK) {
      st = sn_error_set(err, SINTER_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    }
    free(path);
  }
  r.kept = count - r.removed;
  r.kept_bytes = total;
  free(list);
  r.stale_temps = sweep_leftovers(c);
  if (out_result) *out_result = r;
  return st;
}

/* A warning for each temporary file in the directory: a write, download or
 * compile in progress, or one a killed process left behind. */
static void report_temps(sn_cache_t *c) {
  DIR *d = opendir(c->dir);
  if (!d) return;
  time_t now = time(NULL);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    const char *name = de->d_name;
    struct stat sb;
    if (strlen(name) > SN_CACHE_KEY_LEN &&
        strncmp(name + SN_CACHE_KEY_LEN, TEMP_MARK, strlen(TEMP_MARK)) == 0 &&
        fstatat(dirfd(d), name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode))
      warn(c,
           "temporary file %s (%lld bytes, %lld s old) is in progress or left over; prune "
           "removes it once it is %d s old",
           name, (long long)sb.st_size, (long long)(now - sb.st_mtim.tv_sec), STALE_TEMP_SECONDS);
  }
  closedir(d);
}

sinter_status_t sn_cache_verify(sn_cache_t *c, sn_cache_validate_fn validate, void *validate_ctx,
                                int remove_corrupt, size_t *out_checked,
                                sn_cache_problem_t **out_problems, size_t *out_problem_count,
                                sinter_error_t *err) {
  if (out_checked) *out_checked = 0;
  *out_problems = NULL;
  *out_problem_count = 0;
  if (!validate) {
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "cache verify: no validator given");
  }
  sn_cache_entry_t *list = NULL;
  size_t count = 0;
  SN_TRY(sn_cache_list(c, &list, &count, err));
  report_temps(c);
  sn_cache_problem_t *problems = NULL;
  size_t nproblems = 0, checked = 0;
  sinter_status_t st = SINTER_OK;
  for (size_t i = 0; i < count; i++) {
    char *path = key_path(c, list[i].key, ENTRY_SUFFIX);
    if (!path) {
      st = oom(err, "entry path");
      break;
    }
    struct stat sb;
    if (stat(path, &sb) != 0) { /* removed meanwhile */
      free(path);
      continue;
    }
    checked++;
    sinter_error_t verr;
    if (run_validate(validate, validate_ctx, path, &verr) != SINTER_OK) {
      sn_cache_problem_t *n = realloc(problems, (nproblems + 1) * sizeof *n);
      if (!n) {
        free(path);
        st = oom(err, "problem list");
        break;
      }
      problems = n;
      sn_cache_problem_t *p = &problems[nproblems++];
      memcpy(p->key, list[i].key, sizeof p->key);
      snprintf(p->message, sizeof p->message, "%s", verr.message);
      p->removed = remove_corrupt && unlink_if_same(path, &sb) == 0;
    }
    free(path);
  }
  free(list);
  if (st != SINTER_OK) {
    free(problems);
    return st;
  }
  if (out_checked) *out_checked = checked;
  *out_problems = problems;
  *out_problem_count = nproblems;
  return SINTER_OK;
}
