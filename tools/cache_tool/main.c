/*
 * main.c — sinter-cache-tool: drives the compile cache (src/cache/cache.h)
 * and its S3 client from the command line, for tests and for poking at a
 * cache by hand (`sinter cache` is the user-facing command).
 *
 * Built by CMake as build/sinter-cache-tool.
 *
 * Exit status: 0 success (or hit), 1 error, 2 usage, 3 miss / not found.
 * Warnings (remote failures, corrupt entries) go to stderr as "warning: ...".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/cache.h"
#include "cache/s3.h"

#define EXIT_MISS 3
#define EXIT_USAGE 2

static const char usage[] =
    "usage: sinter-cache-tool [--dir DIR] [--cache s3://BUCKET/PREFIX] [--require-prefix TEXT]\n"
    "                         COMMAND [ARGS]\n"
    "commands:\n"
    "  put KEY FILE [--move]   store FILE as entry KEY (and upload it)\n"
    "  get KEY [DEST]          look KEY up (local, then remote); print where it came from\n"
    "                          and its path; copy it to DEST when given\n"
    "  ensure KEY FILE [--delay-ms N]\n"
    "                          the compiler's flow: lookup, else lock, lookup again, else\n"
    "                          \"compile\" (wait N ms, copy FILE) and put; prints \"hit local\",\n"
    "                          \"hit remote\" or \"compiled\"\n"
    "  head KEY                S3 HEAD of KEY.sinter in the remote; print its size\n"
    "  ls                      list entries: KEY SIZE MTIME, most recently used first\n"
    "  rm KEY                  remove the local entry\n"
    "  prune MAX_BYTES         remove least recently used entries down to MAX_BYTES\n"
    "  verify [--remove]       validate every entry; list (and remove) corrupt ones\n"
    "  lock KEY MS             hold KEY's lock for MS milliseconds\n"
    "--require-prefix makes entries valid only when they start with TEXT (a stand-in for\n"
    "the artifact's own checks); without it any file is valid.\n";

/* Stand-in validator: the file must start with the NUL-terminated ctx. */
static sinter_status_t validate_prefix(const char *path, void *ctx, sinter_error_t *err) {
  const char *want = ctx;
  size_t n = strlen(want);
  FILE *f = fopen(path, "rb");
  if (!f) return sn_error_set(err, SINTER_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  char *buf = malloc(n + 1);
  if (!buf) {
    fclose(f);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
  }
  size_t got = fread(buf, 1, n, f);
  fclose(f);
  int ok = got == n && memcmp(buf, want, n) == 0;
  free(buf);
  if (!ok) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: does not start with \"%s\"", path, want);
  }
  return SINTER_OK;
}

static void print_warnings(sn_cache_t *c) {
  for (size_t i = 0; i < sn_cache_warning_count(c); i++) {
    fprintf(stderr, "warning: %s\n", sn_cache_warning(c, i));
  }
  sn_cache_clear_warnings(c);
}

static int fail(const sinter_error_t *err) {
  fprintf(stderr, "error: %s\n", err->message);
  return err->status == SINTER_ERR_NOT_FOUND ? EXIT_MISS : 1;
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-') return 0;
  *out = v;
  return 1;
}

static void sleep_ms(uint64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static const char *origin_name(sn_cache_origin_t o) {
  return o == SN_CACHE_LOCAL ? "local" : o == SN_CACHE_REMOTE ? "remote" : "miss";
}

static int copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb");
  FILE *out = in ? fopen(to, "wb") : NULL;
  int ok = in && out;
  char buf[65536];
  size_t n;
  while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) ok = fwrite(buf, 1, n, out) == n;
  if (in) {
    if (ferror(in)) ok = 0;
    fclose(in);
  }
  if (out && fclose(out) != 0) ok = 0;
  if (!ok) fprintf(stderr, "error: cannot copy %s to %s: %s\n", from, to, strerror(errno));
  return ok;
}

int main(int argc, char **argv) {
  const char *dir = NULL, *url = NULL, *prefix = NULL;
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    if (i + 1 >= argc) break;
    if (strcmp(argv[i], "--dir") == 0) {
      dir = argv[++i];
    } else if (strcmp(argv[i], "--cache") == 0) {
      url = argv[++i];
    } else if (strcmp(argv[i], "--require-prefix") == 0) {
      prefix = argv[++i];
    } else {
      break;
    }
  }
  if (i >= argc) {
    fputs(usage, stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[i++];
  int nargs = argc - i;
  char **args = argv + i;
  sn_cache_validate_fn validate = prefix ? validate_prefix : NULL;
  void *vctx = (void *)prefix;

  sinter_error_t err;
  sn_error_clear(&err);
  sn_cache_t *c = NULL;
  if (sn_cache_create(dir, url, &c, &err) != SINTER_OK) return fail(&err);
  int rc = 0;

  if (strcmp(cmd, "put") == 0 && (nargs == 2 || (nargs == 3 && !strcmp(args[2], "--move")))) {
    char *path = NULL;
    sn_cache_put_mode_t mode = nargs == 3 ? SN_CACHE_PUT_MOVE : SN_CACHE_PUT_COPY;
    if (sn_cache_put(c, args[0], args[1], mode, &path, &err) != SINTER_OK) {
      rc = fail(&err);
    } else {
      printf("stored %s\n", path);
      free(path);
    }
  } else if (strcmp(cmd, "get") == 0 && (nargs == 1 || nargs == 2)) {
    char *path = NULL;
    sn_cache_origin_t origin;
    if (sn_cache_lookup(c, args[0], validate, vctx, &path, &origin, &err) != SINTER_OK) {
      print_warnings(c);
      rc = fail(&err);
    } else {
      printf("hit %s %s\n", origin_name(origin), path);
      if (nargs == 2 && !copy_file(path, args[1])) rc = 1;
      free(path);
    }
  } else if (strcmp(cmd, "ensure") == 0 &&
             (nargs == 2 || (nargs == 4 && !strcmp(args[2], "--delay-ms")))) {
    uint64_t delay = 0;
    if (nargs == 4 && !parse_u64(args[3], &delay)) {
      fputs(usage, stderr);
      rc = EXIT_USAGE;
      goto out;
    }
    char *path = NULL;
    sn_cache_origin_t origin;
    sinter_status_t st = sn_cache_lookup(c, args[0], validate, vctx, &path, &origin, &err);
    if (st == SINTER_ERR_NOT_FOUND) {
      sn_cache_lock_t lock;
      if (sn_cache_acquire(c, args[0], &lock, &err) != SINTER_OK) {
        rc = fail(&err);
        goto out;
      }
      st = sn_cache_lookup(c, args[0], validate, vctx, &path, &origin, &err);
      if (st == SINTER_ERR_NOT_FOUND) {
        sleep_ms(delay); /* the "compile" */
        st = sn_cache_put(c, args[0], args[1], SN_CACHE_PUT_COPY, &path, &err);
        if (st == SINTER_OK) printf("compiled %s\n", path);
      } else if (st == SINTER_OK) {
        printf("hit %s %s\n", origin_name(origin), path);
      }
      sn_cache_release(&lock);
    } else if (st == SINTER_OK) {
      printf("hit %s %s\n", origin_name(origin), path);
    }
    free(path);
    if (st != SINTER_OK) rc = fail(&err);
  } else if (strcmp(cmd, "head") == 0 && nargs == 1) {
    const char *remote = sn_cache_remote_url(c);
    if (!remote) {
      fprintf(stderr, "error: head needs a remote: --cache s3://... or SINTER_CACHE_URL\n");
      rc = EXIT_USAGE;
      goto out;
    }
    sn_s3_client_t *s3 = NULL;
    char name[SN_CACHE_KEY_LEN + 16];
    snprintf(name, sizeof name, "%s.sinter", args[0]);
    uint64_t size = 0;
    if (!sn_cache_key_is_valid(args[0])) {
      fprintf(stderr, "error: \"%s\" is not a cache key\n", args[0]);
      rc = EXIT_USAGE;
    } else if (sn_s3_client_create(remote, NULL, &s3, &err) != SINTER_OK ||
               sn_s3_head(s3, name, &size, &err) != SINTER_OK) {
      rc = fail(&err);
    } else {
      printf("%" PRIu64 "\n", size);
    }
    sn_s3_client_destroy(s3);
  } else if (strcmp(cmd, "ls") == 0 && nargs == 0) {
    sn_cache_entry_t *list = NULL;
    size_t n = 0;
    if (sn_cache_list(c, &list, &n, &err) != SINTER_OK) {
      rc = fail(&err);
    } else {
      for (size_t k = 0; k < n; k++) {
        printf("%s %" PRIu64 " %lld.%09ld\n", list[k].key, list[k].size,
               (long long)list[k].mtime.tv_sec, list[k].mtime.tv_nsec);
      }
      free(list);
    }
  } else if (strcmp(cmd, "rm") == 0 && nargs == 1) {
    if (sn_cache_remove(c, args[0], &err) != SINTER_OK) rc = fail(&err);
  } else if (strcmp(cmd, "prune") == 0 && nargs == 1) {
    uint64_t max = 0;
    sn_cache_prune_result_t r;
    if (!parse_u64(args[0], &max)) {
      fputs(usage, stderr);
      rc = EXIT_USAGE;
    } else if (sn_cache_prune(c, max, &r, &err) != SINTER_OK) {
      rc = fail(&err);
    } else {
      printf("removed %zu entries (%" PRIu64 " bytes), kept %zu (%" PRIu64
             " bytes), removed %zu stale temporary files\n",
             r.removed, r.removed_bytes, r.kept, r.kept_bytes, r.stale_temps);
    }
  } else if (strcmp(cmd, "verify") == 0 &&
             (nargs == 0 || (nargs == 1 && !strcmp(args[0], "--remove")))) {
    size_t checked = 0, np = 0;
    sn_cache_problem_t *problems = NULL;
    sn_cache_validate_fn v = validate ? validate : validate_prefix;
    void *ctx = validate ? vctx : (void *)"";
    if (sn_cache_verify(c, v, ctx, nargs == 1, &checked, &problems, &np, &err) != SINTER_OK) {
      rc = fail(&err);
    } else {
      for (size_t k = 0; k < np; k++) {
        printf("corrupt %s%s: %s\n", problems[k].key, problems[k].removed ? " (removed)" : "",
               problems[k].message);
      }
      printf("checked %zu entries, %zu corrupt\n", checked, np);
      free(problems);
      if (np) rc = 1;
    }
  } else if (strcmp(cmd, "lock") == 0 && nargs == 2) {
    uint64_t ms = 0;
    sn_cache_lock_t lock;
    if (!parse_u64(args[1], &ms)) {
      fputs(usage, stderr);
      rc = EXIT_USAGE;
    } else if (sn_cache_acquire(c, args[0], &lock, &err) != SINTER_OK) {
      rc = fail(&err);
    } else {
      printf("locked\n");
      fflush(stdout);
      sleep_ms(ms);
      sn_cache_release(&lock);
    }
  } else {
    fputs(usage, stderr);
    rc = EXIT_USAGE;
  }
out:
  print_warnings(c);
  sn_cache_destroy(c);
  return rc;
}
