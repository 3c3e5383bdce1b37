/* cmd_cache.c — `sinter cache ls | verify | rm KEY | prune --max-size SIZE`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "artifact/artifact.h"
#include "base/file.h"
#include "cache/cache.h"
#include "cli.h"

static const char usage[] =
    "usage: sinter cache ls\n"
    "       sinter cache verify [--remove]\n"
    "       sinter cache rm KEY\n"
    "       sinter cache prune --max-size SIZE     (SIZE like 500M, 2G or bytes)\n\n"
    "The local compile cache is $SINTER_CACHE_DIR, else $XDG_CACHE_HOME/sinter,\n"
    "else ~/.cache/sinter. --cache URL (or SINTER_CACHE_URL) names the remote.\n";

/* An entry is valid when it is a sound artifact compiled for the key its
 * file name says (DIR/<key>.sinter). */
static sinter_status_t validate(const char *path, void *ctx, sinter_error_t *err) {
  (void)ctx;
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  uint8_t key[32];
  int named = strlen(base) == SN_CACHE_KEY_LEN + strlen(".sinter");
  for (int i = 0; named && i < 32; i++) {
    unsigned v;
    named = sscanf(base + 2 * i, "%2x", &v) == 1;
    key[i] = (uint8_t)v;
  }
  sn_mapped_file_t map;
  SN_TRY(sn_file_map(path, &map, err));
  sinter_status_t st = sn_artifact_check(map.data, map.size, path, named ? key : NULL, err);
  sn_file_unmap(&map);
  return st;
}

static int parse_size(const char *s, uint64_t *out) {
  /* Plain decimal only: strtod alone would take "0x10", "inf", "nan" and
   * "1e30", whose casts to uint64_t are meaningless. */
  size_t digits = strspn(s, "0123456789."), dots = 0;
  for (size_t i = 0; i < digits; i++) dots += s[i] == '.';
  if (digits == 0 || dots > 1 || (digits == 1 && dots == 1)) return -1;
  char *end = NULL;
  double v = strtod(s, &end);
  if (end != s + digits || v < 0) return -1;
  double mult = 1;
  switch (*end) {
    case 'k':
    case 'K':
      mult = 1024.0;
      end++;
      break;
    case 'm':
    case 'M':
      mult = 1024.0 * 1024;
      end++;
      break;
    case 'g':
    case 'G':
      mult = 1024.0 * 1024 * 1024;
      end++;
      break;
    case 't':
    case 'T':
      mult = 1024.0 * 1024 * 1024 * 1024;
      end++;
      break;
    default: break;
  }
  if (*end == 'B' || *end == 'b') end++;
  if (*end) return -1;
  if (!(v * mult < 18446744073709551616.0)) return -2; /* 2^64: uint64_t holds less */
  *out = (uint64_t)(v * mult);
  return 0;
}

int sn_cmd_cache(int argc, char **argv) {
  const char *action = NULL, *key = NULL, *url = NULL, *max_size = NULL;
  int remove_bad = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) return printf("%s", usage), 0;
    if (!strcmp(a, "--cache") && i + 1 < argc) {
      url = argv[++i];
    } else if (!strcmp(a, "--max-size") && i + 1 < argc) {
      max_size = argv[++i];
    } else if (!strcmp(a, "--remove")) {
      remove_bad = 1;
    } else if (!action) {
      action = a;
    } else if (!key) {
      key = a;
    } else {
      return cli_usage_error(usage, "unexpected argument \"%s\"", a);
    }
  }
  if (!action) return cli_usage_error(usage, "an action is required");
  sinter_error_t err;
  sn_cache_t *cache = NULL;
  if (sn_cache_create(NULL, url, &cache, &err)) return cli_fail(&err);
  int rc = SN_EXIT_OK;
  if (!strcmp(action, "ls")) {
    sn_cache_entry_t *entries = NULL;
    size_t n = 0;
    if (sn_cache_list(cache, &entries, &n, &err)) {
      rc = cli_fail(&err);
    } else {
      uint64_t total = 0;
      printf("%-64s %12s  %s\n", "key", "bytes", "last used");
      for (size_t i = 0; i < n; i++) {
        char when[32];
        struct tm tm;
        time_t t = entries[i].mtime.tv_sec;
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
        printf("%s %12llu  %s\n", entries[i].key, (unsigned long long)entries[i].size, when);
        total += entries[i].size;
      }
      printf("%zu entries, %llu bytes in %s\n", n, (unsigned long long)total, sn_cache_dir(cache));
      free(entries);
    }
  } else if (!strcmp(action, "verify")) {
    size_t checked = 0, n_bad = 0;
    sn_cache_problem_t *bad = NULL;
    if (sn_cache_verify(cache, validate, NULL, remove_bad, &checked, &bad, &n_bad, &err)) {
      rc = cli_fail(&err);
    } else {
      for (size_t i = 0; i < n_bad; i++)
        printf("CORRUPT %s: %s%s\n", bad[i].key, bad[i].message,
               bad[i].removed ? " (removed)" : "");
      for (size_t i = 0; i < sn_cache_warning_count(cache); i++)
        printf("warning: %s\n", sn_cache_warning(cache, i));
      printf("%zu entries checked, %zu corrupt\n", checked, n_bad);
      if (n_bad) rc = SN_EXIT_FAILURE;
      free(bad);
    }
  } else if (!strcmp(action, "rm")) {
    if (!key) {
      rc = cli_usage_error(usage, "rm needs a KEY");
    } else if (sn_cache_remove(cache, key, &err)) {
      rc = cli_fail(&err);
    } else {
      printf("removed %s\n", key);
    }
  } else if (!strcmp(action, "prune")) {
    uint64_t limit = 0;
    int parsed = max_size ? parse_size(max_size, &limit) : -1;
    if (parsed == -2) {
      rc = cli_usage_error(usage, "--max-size %s is more bytes than a cache can hold (2^64)",
                           max_size);
    } else if (parsed != 0) {
      rc = cli_usage_error(usage,
                           "prune needs --max-size SIZE: a decimal number of bytes, or with "
                           "K, M, G or T (\"%s\" is not)",
                           max_size ? max_size : "");
    } else {
      sn_cache_prune_result_t r;
      if (sn_cache_prune(cache, limit, &r, &err)) {
        rc = cli_fail(&err);
      } else {
        printf("removed %zu entries (%llu bytes); kept %zu (%llu bytes)\n", r.removed,
               (unsigned long long)r.removed_bytes, r.kept, (unsigned long long)r.kept_bytes);
      }
    }
  } else {
    rc = cli_usage_error(usage, "unknown action \"%s\"", action);
  }
  for (size_t i = 0; i < sn_cache_warning_count(cache); i++)
    fprintf(stderr, "sinter: warning: %s\n", sn_cache_warning(cache, i));
  sn_cache_destroy(cache);
  return rc;
}
