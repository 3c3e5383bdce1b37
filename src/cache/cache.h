/*
 * cache.h — the compile cache: compiled artifacts (.sinter files, opaque here)
 * stored by key in a local directory, optionally backed by an S3 bucket.
 *
 * Keys are 64 lowercase hex characters (a SHA-256 the caller computes).
 *
 * Local layout, in the cache directory:
 *   <key>.sinter                        an entry
 *   <key>.lock                          the per-key lock file (flock), empty
 *   <key>.sinter.tmp.<pid>.<random>     a write or download in progress
 *   <key>.sinter.tmp.<pid>.compile[...]  a compile in progress (the compiler's)
 * The directory is SINTER_CACHE_DIR when set, else $XDG_CACHE_HOME/sinter, else
 * $HOME/.cache/sinter; it is created (mkdir -p, mode 0755) by the first call
 * that writes. Entries appear atomically: data goes to a temporary file in
 * the same directory, which is fsync'd, renamed into place, and the directory
 * fsync'd. Readers therefore see a whole entry or none; many processes may
 * share one directory.
 *
 * Remote: with an s3://bucket/prefix URL (the create call's argument, else
 * SINTER_CACHE_URL) entries are also stored as s3://bucket/prefix/<key>.sinter
 * (see s3.h for credentials and endpoint). The remote is best effort: when S3
 * is unreachable, slow or refuses, the call still succeeds from the local
 * cache alone (a lookup misses, a put stays local) and the reason is recorded
 * as a warning (sn_cache_warning) for the caller to print.
 *
 * The intended use by a compiler:
 *   lookup → hit: use it
 *          → miss: acquire(key) → lookup again (another process may have
 *            finished meanwhile) → hit: release, use it
 *                                  → miss: compile → put → release
 *
 * LRU: a lookup hit sets the entry's mtime to now; prune removes the entries
 * with the oldest mtime first (atime is not used: noatime/relatime mounts
 * make it unreliable).
 *
 * Thread-safety: a cache handle is used by one thread at a time (it owns the
 * warnings list and one S3 connection). Distinct handles, in one process or
 * many, may use the same directory concurrently.
 */
#ifndef SN_CACHE_CACHE_H
#define SN_CACHE_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/status.h"

#define SN_CACHE_KEY_LEN 64

/* A cache handle. Opaque. */
typedef struct sn_cache sn_cache_t;

/* Checks that the file at `path` is a complete, uncorrupted artifact (e.g. its
 * internal checksums). Returns OK, or a non-OK status with a message in err.
 * `ctx` is the caller's pointer passed through unchanged. */
typedef sinter_status_t (*sn_cache_validate_fn)(const char *path, void *ctx, sinter_error_t *err);

/* Where a lookup found its entry. */
typedef enum sn_cache_origin {
  SN_CACHE_MISS = 0,   /* not found (or found corrupt, or the remote failed) */
  SN_CACHE_LOCAL = 1,  /* in the local directory */
  SN_CACHE_REMOTE = 2, /* downloaded from S3 into the local directory */
} sn_cache_origin_t;

/* How sn_cache_put takes its source file. */
typedef enum sn_cache_put_mode {
  SN_CACHE_PUT_COPY = 0, /* copy; the source is left as it was */
  SN_CACHE_PUT_MOVE = 1, /* rename into the cache (copy + unlink across file systems) */
} sn_cache_put_mode_t;

/* One local entry, as listed. */
typedef struct sn_cache_entry {
  char key[SN_CACHE_KEY_LEN + 1];
  uint64_t size;         /* bytes */
  struct timespec mtime; /* last put or lookup hit */
} sn_cache_entry_t;

/* What sn_cache_prune did. */
typedef struct sn_cache_prune_result {
  size_t removed;         /* entries removed */
  uint64_t removed_bytes; /* their total size */
  size_t kept;            /* entries left */
  uint64_t kept_bytes;    /* their total size (<= max_bytes unless a removal failed) */
  size_t stale_temps;     /* abandoned temporary files removed (older than 1 hour) */
} sn_cache_prune_result_t;

/* One entry that failed validation in sn_cache_verify. */
typedef struct sn_cache_problem {
  char key[SN_CACHE_KEY_LEN + 1];
  char message[1024]; /* the validator's message */
  int removed;        /* 1 when the entry was removed */
} sn_cache_problem_t;

/* A per-key lock held by sn_cache_acquire. Caller-owned storage. */
typedef struct sn_cache_lock {
  int fd; /* -1 when not held */
} sn_cache_lock_t;

/* 1 when `key` is exactly 64 characters of [0-9a-f], else 0. Thread-safe. */
int sn_cache_key_is_valid(const char *key);

/* Creates a cache handle. `dir` overrides the directory (NULL: the
 * environment as above). `remote_url` selects the remote: NULL reads
 * SINTER_CACHE_URL, "" means local only, otherwise an s3:// URL. Creates no
 * directory and makes no network request. On success *out_cache is owned by the
 * caller (sn_cache_destroy). Errors: NOT_FOUND when no directory can be chosen
 * (none of SINTER_CACHE_DIR, XDG_CACHE_HOME, HOME set); INVALID_ARGUMENT for a
 * malformed URL or incomplete AWS credentials (see sn_s3_client_create);
 * OUT_OF_MEMORY. */
sinter_status_t sn_cache_create(const char *dir, const char *remote_url, sn_cache_t **out_cache,
                                sinter_error_t *err);

/* Releases a cache handle (it must hold no lock: locks are separate and are
 * released by sn_cache_release). NULL is allowed. */
void sn_cache_destroy(sn_cache_t *cache);

/* Caps what a remote download may write (0: no cap): the caller knows how
 * large the entry it looks for can be. A larger object is a miss with a
 * warning, and is never written past the cap. */
void sn_cache_set_max_download(sn_cache_t *cache, uint64_t max_bytes);

/* The cache directory (borrowed, valid while the handle lives). */
const char *sn_cache_dir(const sn_cache_t *cache);

/* The remote, "s3://bucket/prefix", or NULL when local only (borrowed). */
const char *sn_cache_remote_url(const sn_cache_t *cache);

/* Number of warnings recorded since creation or the last clear, and the i-th
 * (borrowed, valid until the next clear or destroy; NULL when out of range).
 * Warnings say what went wrong with the remote or which entry was corrupt;
 * they never contain credentials. */
size_t sn_cache_warning_count(const sn_cache_t *cache);
const char *sn_cache_warning(const sn_cache_t *cache, size_t index);
void sn_cache_clear_warnings(sn_cache_t *cache);

/* Finds entry `key`. `validate` (may be NULL: no check) is called with the
 * path of the candidate file and `validate_ctx`.
 *  - A local entry that validates is a hit: its mtime is set to now.
 *  - A local entry that fails validation is removed, a warning recorded, and
 *    the lookup goes on as for a missing entry.
 *  - With a remote (asked once per key and handle: a second lookup of a key
 *    the remote lacked is local only), the object is downloaded into a temporary file in the
 *    cache directory, validated, and renamed into place: a hit. A missing
 *    object is a miss; a failed download or validation is a miss plus a
 *    warning (the temporary file is removed).
 * Returns OK on a hit, with *out_path a new string naming the local file
 * (caller frees with free()); NOT_FOUND on a miss, with *out_path NULL.
 * *out_origin (may be NULL) says which. Other errors: INVALID_ARGUMENT (bad
 * key); IO when the local entry exists but cannot be examined; OUT_OF_MEMORY.
 * The remote never causes an error. */
sinter_status_t sn_cache_lookup(sn_cache_t *cache, const char *key, sn_cache_validate_fn validate,
                                void *validate_ctx, char **out_path, sn_cache_origin_t *out_origin,
                                sinter_error_t *err);

/* Stores the regular file `src_path` as entry `key`, atomically replacing any
 * entry of that key, then uploads it to the remote when one is configured
 * (skipped when the object already exists with the same size). An upload
 * failure is a warning, not an error. On OK, *out_path (may be NULL) is a new
 * string naming the entry (caller frees). Errors: INVALID_ARGUMENT (bad key);
 * IO naming the path and the OS reason (unreadable source, cannot create the
 * directory, disk full, ...; no temporary file is left behind, and with MOVE
 * the source stays in place); OUT_OF_MEMORY. */
sinter_status_t sn_cache_put(sn_cache_t *cache, const char *key, const char *src_path,
                             sn_cache_put_mode_t mode, char **out_path, sinter_error_t *err);

/* Blocks until this process holds the exclusive lock of `key` (flock on
 * <dir>/<key>.lock, created when missing, together with the directory). Locks
 * are per open file: another handle or thread taking the same key's lock
 * blocks too. The lock goes away when released or when the process exits.
 * Holding it, the caller finds no compile temporaries of `key` left by a
 * process that died (sn_cache_compile_temp_path): they are removed, with a
 * warning.
 * Errors: INVALID_ARGUMENT (bad key); IO (cannot create or lock the file). */
sinter_status_t sn_cache_acquire(sn_cache_t *cache, const char *key, sn_cache_lock_t *out_lock,
                                 sinter_error_t *err);

/* The temporary file a compile of `key` writes its artifact to:
 * <dir>/<key>.sinter.tmp.<pid>.compile (a new string the caller frees; NULL
 * when out of memory). Such files are made, and renamed or removed, only by a
 * process holding the key's lock; so whoever takes the lock and finds some
 * knows their compile died (killed, crashed) and sn_cache_acquire removes
 * them. */
char *sn_cache_compile_temp_path(const sn_cache_t *cache, const char *key);

/* Releases a lock taken by sn_cache_acquire and sets lock->fd to -1. A lock
 * not held (fd -1) is ignored. */
void sn_cache_release(sn_cache_lock_t *lock);

/* Lists the local entries, most recently used first (ties by key). On OK,
 * *out_entries is a new array of *out_count entries (caller frees with
 * free(); NULL when empty). A missing directory is an empty cache. Files that
 * are not entries are ignored. Errors: IO (cannot read the directory),
 * OUT_OF_MEMORY. */
sinter_status_t sn_cache_list(sn_cache_t *cache, sn_cache_entry_t **out_entries, size_t *out_count,
                              sinter_error_t *err);

/* Removes local entry `key` (never the remote object). Errors:
 * INVALID_ARGUMENT (bad key); NOT_FOUND (no such entry); IO. */
sinter_status_t sn_cache_remove(sn_cache_t *cache, const char *key, sinter_error_t *err);

/* Removes the least recently used local entries (oldest mtime first) until
 * their total size is at most `max_bytes`, plus temporary files abandoned for
 * over an hour and lock files of absent entries that nobody holds.
 * *out_result (may be NULL) says what was done. Errors: IO (cannot read the
 * directory or remove an entry; entries removed before the failure stay
 * removed), OUT_OF_MEMORY. */
sinter_status_t sn_cache_prune(sn_cache_t *cache, uint64_t max_bytes,
                               sn_cache_prune_result_t *out_result, sinter_error_t *err);

/* Validates every local entry with `validate` (required). Entries that fail
 * are reported in *out_problems, a new array of *out_problem_count items
 * (caller frees with free(); NULL when none), and removed when
 * `remove_corrupt` is non-zero. *out_checked (may be NULL) is the number of
 * entries validated. Errors: INVALID_ARGUMENT (no validator); IO;
 * OUT_OF_MEMORY. A corrupt entry is not an error. Every temporary file in
 * the directory (in progress, or left by a killed process) is reported as a
 * warning. */
sinter_status_t sn_cache_verify(sn_cache_t *cache, sn_cache_validate_fn validate,
                                void *validate_ctx, int remove_corrupt, size_t *out_checked,
                                sn_cache_problem_t **out_problems, size_t *out_problem_count,
                                sinter_error_t *err);

#endif
