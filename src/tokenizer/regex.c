/*
 * regex.c — the patterns a tokenizer.json names (Split pre-tokenizers,
 * Replace normalizers, GPT-2's ByteLevel split) on Oniguruma, the engine the
 * Rust `tokenizers` library runs them on, and the matching that follows the
 * Rust Pattern::find_matches rules.
 *
 * Unicode version: `tokenizers` 0.23 bundles an Oniguruma with Unicode 16
 * tables while Debian 12 ships 6.9.8, whose tables lack the letters and digits
 * added since. \p{L} and \p{N} in every pattern are therefore rewritten to
 * classes that add exactly those code points (EXTRA_L, EXTRA_N: every code
 * point where the two disagree, found by classifying all of them with both;
 * harmless with a newer library). test_bpe.c checks the classes of every code
 * point against the Rust library's (bytelevel_classes.txt).
 *
 * Literal patterns (a Replace or Split {"String": s}) are matched here on code
 * points, without a regex: the Rust library's &str pattern and its escaped
 * regex find the same leftmost, non-overlapping occurrences.
 */
#include <oniguruma.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/internal.h"

#define EXTRA_L                                                                                  \
  "\\x{1C89}-\\x{1C8A}\\x{A7CB}-\\x{A7CD}\\x{A7DA}-\\x{A7DC}\\x{105C0}-\\x{105F3}"               \
  "\\x{10D4A}-\\x{10D65}\\x{10D6F}-\\x{10D85}\\x{10EC2}-\\x{10EC4}\\x{1123F}-\\x{11240}"         \
  "\\x{11380}-\\x{11389}\\x{1138B}\\x{1138E}\\x{11390}-\\x{113B5}\\x{113B7}\\x{113D1}\\x{113D3}" \
  "\\x{11BC0}-\\x{11BE0}\\x{11F02}\\x{11F04}-\\x{11F10}\\x{11F12}-\\x{11F33}\\x{1342F}"          \
  "\\x{13441}-\\x{13446}\\x{13460}-\\x{143FA}\\x{16100}-\\x{1611D}\\x{16D40}-\\x{16D6C}"         \
  "\\x{18CFF}\\x{1B132}\\x{1B155}\\x{1DF25}-\\x{1DF2A}\\x{1E030}-\\x{1E06D}"                     \
  "\\x{1E4D0}-\\x{1E4EB}\\x{1E5D0}-\\x{1E5ED}\\x{1E5F0}\\x{2B739}\\x{2EBF0}-\\x{2EE5D}"          \
  "\\x{31350}-\\x{323AF}"
#define EXTRA_N                                                                          \
  "\\x{10D40}-\\x{10D49}\\x{116D0}-\\x{116E3}\\x{11BF0}-\\x{11BF9}\\x{11F50}-\\x{11F59}" \
  "\\x{16130}-\\x{16139}\\x{16D70}-\\x{16D79}\\x{1CCF0}-\\x{1CCF9}\\x{1D2C0}-\\x{1D2D3}" \
  "\\x{1E4F0}-\\x{1E4F9}\\x{1E5F1}-\\x{1E5FA}"

/* Patterns longer than this are refused when the tokenizer is opened. */
#define SN_REGEX_MAX_PATTERN 65536

static pthread_once_t onig_once = PTHREAD_ONCE_INIT;
static int onig_init_status;

/* onig_initialize is not thread-safe; tokenizers may be opened on several
 * threads at once. */
static void onig_init_once(void) {
  OnigEncoding enc = ONIG_ENCODING_UTF8;
  onig_init_status = onig_initialize(&enc, 1);
}

/* Growable byte buffer for the rewritten pattern. */
typedef struct pbuf {
  char *p;
  size_t len, cap;
} pbuf_t;

static int pb_put(pbuf_t *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return 0;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 1;
}

/* Rewrites \p{L} / \p{N} (and their \P negations) into classes that carry
 * the Unicode 16 additions; everything else, escapes included, is copied. */
static int rewrite(const char *pat, size_t n, pbuf_t *out) {
  static const struct {
    const char *from, *to;
  } subst[] = {
      {"\\p{L}", "[\\p{L}" EXTRA_L "]"},
      {"\\p{N}", "[\\p{N}" EXTRA_N "]"},
      {"\\P{L}", "[^\\p{L}" EXTRA_L "]"},
      {"\\P{N}", "[^\\p{N}" EXTRA_N "]"},
  };
  for (size_t i = 0; i < n;) {
    if (pat[i] != '\\' || i + 1 >= n) {
      if (!pb_put(out, pat + i, 1)) return 0;
      i++;
      continue;
    }
    size_t k;
    for (k = 0; k < sizeof subst / sizeof subst[0]; k++) {
      size_t fl = strlen(subst[k].from);
      if (i + fl <= n && memcmp(pat + i, subst[k].from, fl) == 0) {
        if (!pb_put(out, subst[k].to, strlen(subst[k].to))) return 0;
        i += fl;
        break;
      }
    }
    if (k < sizeof subst / sizeof subst[0]) continue;
    /* Any other escape: the backslash and the escaped character, so that
     * "\\p{L}" (a literal backslash then "p{L}") is never rewritten. */
    if (!pb_put(out, pat + i, 2)) return 0;
    i += 2;
  }
  return out->p != NULL || pb_put(out, "", 0);
}

sinter_status_t sn_regex_compile(sn_regex_t *re, const char *pattern, size_t len, int literal,
                                 const char *what, sinter_error_t *err) {
  memset(re, 0, sizeof *re);
  if (len > SN_REGEX_MAX_PATTERN) {
    return sn_error_set(err, SINTER_ERR_LIMIT, "%s: pattern of %zu bytes (limit %d)", what, len,
                        SN_REGEX_MAX_PATTERN);
  }
  SN_TRY(sn_utf8_validate(pattern, len, what, err));
  if (literal) {
    /* Code points of the literal, matched by sn_regex_find directly. */
    re->lit = malloc((len + 1) * sizeof *re->lit);
    if (!re->lit) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    size_t i = 0;
    while (i < len) {
      uint32_t c = 0;
      size_t k = sn_utf8_decode((const unsigned char *)pattern + i, len - i, &c);
      if (!k) break; /* validated above */
      re->lit[re->lit_len++] = c;
      i += k;
    }
    re->literal = 1;
    return SINTER_OK;
  }
  pthread_once(&onig_once, onig_init_once);
  if (onig_init_status != ONIG_NORMAL) {
    return sn_error_set(err, SINTER_ERR_INTERNAL, "%s: Oniguruma failed to initialise (%d)", what,
                        onig_init_status);
  }
  pbuf_t b = {0};
  if (!rewrite(pattern, len, &b)) {
    free(b.p);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
  }
  OnigRegex onig = NULL;
  OnigErrorInfo info;
  /* ONIG_SYNTAX_DEFAULT and no options: what the Rust onig crate's
   * Regex::new uses. */
  int r = onig_new(&onig, (const UChar *)b.p, (const UChar *)b.p + b.len, ONIG_OPTION_NONE,
                   ONIG_ENCODING_UTF8, ONIG_SYNTAX_DEFAULT, &info);
  free(b.p);
  if (r != ONIG_NORMAL) {
    UChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(msg, r, &info);
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: the pattern does not compile: %s", what,
                        (const char *)msg);
  }
  re->onig = onig;
  return SINTER_OK;
}

void sn_regex_free(sn_regex_t *re) {
  if (re->onig) onig_free((OnigRegex)re->onig);
  free(re->lit);
  memset(re, 0, sizeof *re);
}

void sn_regex_scratch_free(sn_regex_scratch_t *sc) {
  free(sc->utf8);
  free(sc->cp_at);
  if (sc->region) onig_region_free((OnigRegion *)sc->region, 1);
  memset(sc, 0, sizeof *sc);
}

sinter_status_t sn_regex_search(const sn_regex_t *re, const unsigned char *s, size_t n, size_t from,
                                sn_regex_scratch_t *sc, int *found, size_t *ms, size_t *me,
                                sinter_error_t *err) {
  *found = 0;
  if (!sc->region) {
    sc->region = onig_region_new();
    if (!sc->region) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "regex: out of memory");
  }
  OnigRegion *region = sc->region;
  int r = onig_search((OnigRegex)re->onig, s, s + n, s + from, s + n, region, ONIG_OPTION_NONE);
  if (r == ONIG_MISMATCH) return SINTER_OK;
  if (r < 0) {
    UChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(msg, r);
    return sn_error_set(err, SINTER_ERR_LIMIT, "regex search failed: %s", (const char *)msg);
  }
  *ms = (size_t)region->beg[0];
  *me = (size_t)region->end[0];
  *found = 1;
  return SINTER_OK;
}

/* Leftmost non-overlapping occurrences of the literal in t[r]. An empty
 * literal matches nothing (the Rust &str pattern's rule). */
static sinter_status_t find_literal(const sn_regex_t *re, const sn_text_t *t, sn_span_t r,
                                    sn_spans_t *out, sinter_error_t *err) {
  size_t m = re->lit_len;
  if (m == 0) return SINTER_OK;
  for (uint32_t i = r.start; i + m <= r.end;) {
    if (t->cp[i] == re->lit[0] && memcmp(t->cp + i, re->lit, m * sizeof *re->lit) == 0) {
      SN_TRY(sn_spans_push(out, i, (uint32_t)(i + m), err));
      i += (uint32_t)m;
    } else {
      i++;
    }
  }
  return SINTER_OK;
}

sinter_status_t sn_regex_find(const sn_regex_t *re, const sn_text_t *t, sn_span_t r,
                              sn_regex_scratch_t *sc, sn_spans_t *out, sinter_error_t *err) {
  if (r.start >= r.end) return SINTER_OK;
  if (re->literal) return find_literal(re, t, r, out, err);
  /* UTF-8 of the span, and for every byte offset the index of the code
   * point starting there (cp_at[n] = r.end). */
  size_t need = 1;
  for (uint32_t i = r.start; i < r.end; i++) {
    uint32_t c = t->cp[i];
    need += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  if (need > sc->cap) {
    unsigned char *u = realloc(sc->utf8, need);
    if (u) sc->utf8 = u;
    uint32_t *a = u ? realloc(sc->cp_at, need * sizeof *a) : NULL;
    if (a) sc->cp_at = a;
    if (!u || !a) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "regex: out of memory");
    sc->cap = need;
  }
  size_t n = 0;
  for (uint32_t i = r.start; i < r.end; i++) {
    unsigned char b[4];
    size_t k = sn_utf8_encode(t->cp[i], b);
    for (size_t j = 0; j < k; j++) {
      sc->cp_at[n] = i;
      sc->utf8[n++] = b[j];
    }
  }
  sc->cp_at[n] = r.end;
  /* The onig crate's find_iter: an empty match moves the next search one
   * character on, and an empty match right where the previous match ended
   * is not reported. */
  size_t pos = 0;
  long last_end = -1;
  while (pos <= n) {
    size_t ms = 0, me = 0;
    int found = 0;
    SN_TRY(sn_regex_search(re, sc->utf8, n, pos, sc, &found, &ms, &me, err));
    if (!found) break;
    if (me == ms) {
      if (ms >= n) {
        pos = n + 1;
      } else {
        pos = ms + 1;
        while (pos < n && (sc->utf8[pos] & 0xC0) == 0x80) pos++;
      }
      if ((long)me == last_end) continue;
    } else {
      pos = me;
    }
    last_end = (long)me;
    SN_TRY(sn_spans_push(out, sc->cp_at[ms], sc->cp_at[me], err));
  }
  return SINTER_OK;
}
