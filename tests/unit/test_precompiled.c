/*
 * test_precompiled.c — the Precompiled normalizer (SentencePiece's compiled
 * charsmap, precompiled.c) against the Hugging Face `tokenizers` library:
 * every recorded text must normalize to the same code points with the same
 * per-character original byte ranges, and every code point alone, after
 * "A\u0300", before it and before U+0301 must give the recorded per-block
 * digests (exhaustive check of the trie walk and of the grapheme classes).
 * Plus: base64 and blob refusals, values and indices out of range, mutated
 * and truncated blobs (never a crash; run under the ASan build too), the
 * ASCII fast path and the Rust bookkeeping quirks spelled out.
 *
 * Fixtures come from scripts/make_precompiled_fixture.py (see its header);
 * SN_PRECOMPILED_FIXTURE names another fixture file (local checks with
 * --cf or --json).
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "test.h"
#include "tokenizer/internal.h"
#include "tokenizer/precompiled.h"

#define FIX SN_TEST_FIXTURES "/tokenizer/precompiled_cases.json"

/* ------------------------------------------------------------ helpers */

static cJSON *g_fixture;

/* The fixture document (loaded once), or NULL after reporting why. */
static cJSON *fixture(void) {
  if (g_fixture) return g_fixture;
  const char *path = getenv("SN_PRECOMPILED_FIXTURE");
  if (!path || !*path) path = FIX;
  char *data = NULL;
  size_t size = 0;
  sinter_error_t err;
  if (sn_file_read_all(path, 64u << 20, &data, &size, &err) != SINTER_OK) {
    fprintf(stderr, "cannot read %s: %s\n", path, err.message);
    return NULL;
  }
  g_fixture = cJSON_ParseWithLength(data, size);
  free(data);
  if (!g_fixture) fprintf(stderr, "%s: not JSON\n", path);
  return g_fixture;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decodes a hex string into a malloc'd buffer (*n bytes). */
static unsigned char *unhex(const char *h, size_t *n) {
  size_t len = strlen(h) / 2;
  unsigned char *b = malloc(len + 1);
  for (size_t i = 0; i < len; i++) {
    b[i] = (unsigned char)(hexval(h[2 * i]) * 16 + hexval(h[2 * i + 1]));
  }
  *n = len;
  return b;
}

/* The text s[0..n) (valid UTF-8) as code points with their byte ranges. */
static void to_text(const unsigned char *s, size_t n, sn_text_t *t) {
  sinter_error_t err;
  t->len = 0;
  if (sn_text_reserve(t, n + 1, &err) != SINTER_OK) abort();
  for (size_t i = 0; i < n;) {
    uint32_t cp = 0xFFFD;
    size_t k = sn_utf8_decode(s + i, n - i, &cp);
    if (k == 0) k = 1;
    sn_text_push(t, cp, (uint32_t)i, (uint32_t)(i + k));
    i += k;
  }
}

/* UTF-8 of t's code points into a malloc'd buffer (*n bytes). */
static unsigned char *to_utf8(const sn_text_t *t, size_t *n) {
  unsigned char *b = malloc(t->len * 4 + 1);
  size_t w = 0;
  for (size_t i = 0; i < t->len; i++) w += sn_utf8_encode(t->cp[i], b + w);
  *n = w;
  return b;
}

/* Normalizes the C string s with pc; returns the result's UTF-8 (malloc'd)
 * and leaves the text in *t. */
static char *norm_str(const sn_precompiled_t *pc, const char *s, size_t n, sn_text_t *t,
                      sn_text_t *tmp) {
  sinter_error_t err;
  to_text((const unsigned char *)s, n, t);
  if (sn_precompiled_normalize(pc, t, tmp, &err) != SINTER_OK) {
    fprintf(stderr, "normalize failed: %s\n", err.message);
    return NULL;
  }
  size_t m;
  char *u = (char *)to_utf8(t, &m);
  u[m] = '\0';
  return u;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard base64 with padding of b[0..n) (malloc'd, NUL-terminated). */
static char *b64(const uint8_t *b, size_t n) {
  char *o = malloc((n + 2) / 3 * 4 + 1);
  size_t w = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)b[i] << 16;
    if (i + 1 < n) v |= (uint32_t)b[i + 1] << 8;
    if (i + 2 < n) v |= b[i + 2];
    o[w++] = B64[v >> 18 & 63];
    o[w++] = B64[v >> 12 & 63];
    o[w++] = i + 1 < n ? B64[v >> 6 & 63] : '=';
    o[w++] = i + 2 < n ? B64[v & 63] : '=';
  }
  o[w] = '\0';
  return o;
}

/* The named charsmap of the fixture, parsed (NULL when absent). */
static sn_precompiled_t *fixture_map(const char *name) {
  cJSON *doc = fixture();
  if (!doc) return NULL;
  const cJSON *maps = cJSON_GetObjectItemCaseSensitive(doc, "charsmaps");
  const cJSON *m;
  cJSON_ArrayForEach(m, maps) {
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(m, "name");
    if (!cJSON_IsString(nm) || strcmp(nm->valuestring, name) != 0) continue;
    const char *cm = cJSON_GetObjectItemCaseSensitive(m, "charsmap")->valuestring;
    sn_precompiled_t *pc = NULL;
    sinter_error_t err;
    SN_CHECK_OK(sn_precompiled_parse(cm, strlen(cm), name, &pc, &err), &err);
    return pc;
  }
  fprintf(stderr, "fixture has no charsmap %s\n", name);
  return NULL;
}

/* The raw blob of the named fixture charsmap (malloc'd). */
static uint8_t *fixture_blob(const char *name, size_t *n) {
  cJSON *doc = fixture();
  if (!doc) return NULL;
  const cJSON *m;
  cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(doc, "charsmaps")) {
    if (strcmp(cJSON_GetObjectItemCaseSensitive(m, "name")->valuestring, name) != 0) continue;
    const char *s = cJSON_GetObjectItemCaseSensitive(m, "charsmap")->valuestring;
    size_t len = strlen(s);
    uint8_t *out = malloc(len / 4 * 3 + 1);
    size_t w = 0;
    for (size_t i = 0; i + 4 <= len; i += 4) {
      uint32_t v = 0;
      int pad = 0;
      for (int k = 0; k < 4; k++) {
        const char *p = strchr(B64, s[i + k]);
        v = v << 6 | (s[i + k] == '=' || !p ? 0u : (uint32_t)(p - B64));
        pad += s[i + k] == '=';
      }
      out[w++] = (uint8_t)(v >> 16);
      if (pad < 2) out[w++] = (uint8_t)(v >> 8);
      if (pad < 1) out[w++] = (uint8_t)v;
    }
    *n = w;
    return out;
  }
  return NULL;
}

/* ------------------------------------------------------------ fixture cases */

/* Every recorded text of every charsmap: same code points, same offsets. */
static void test_fixture_cases(void) {
  cJSON *doc = fixture();
  SN_CHECK(doc != NULL);
  if (!doc) return;
  sn_text_t t = {0}, tmp = {0};
  size_t total = 0, maps = 0;
  const cJSON *m;
  cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(doc, "charsmaps")) {
    const char *name = cJSON_GetObjectItemCaseSensitive(m, "name")->valuestring;
    const char *cm = cJSON_GetObjectItemCaseSensitive(m, "charsmap")->valuestring;
    sn_precompiled_t *pc = NULL;
    sinter_error_t err;
    SN_CHECK_OK(sn_precompiled_parse(cm, strlen(cm), name, &pc, &err), &err);
    if (!pc) continue;
    maps++;
    int failures = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(m, "cases")) {
      size_t tn, nn;
      unsigned char *text = unhex(cJSON_GetObjectItemCaseSensitive(c, "text")->valuestring, &tn);
      unsigned char *want =
          unhex(cJSON_GetObjectItemCaseSensitive(c, "normalized")->valuestring, &nn);
      const cJSON *offs = cJSON_GetObjectItemCaseSensitive(c, "offsets");
      to_text(text, tn, &t);
      SN_CHECK_OK(sn_precompiled_normalize(pc, &t, &tmp, &err), &err);
      size_t gn;
      unsigned char *got = to_utf8(&t, &gn);
      int ok =
          gn == nn && memcmp(got, want, nn) == 0 && (size_t)cJSON_GetArraySize(offs) == 2 * t.len;
      for (size_t i = 0; ok && i < t.len; i++) {
        ok = (uint32_t)cJSON_GetArrayItem(offs, (int)(2 * i))->valueint == t.start[i] &&
             (uint32_t)cJSON_GetArrayItem(offs, (int)(2 * i + 1))->valueint == t.end[i];
      }
      if (!ok && failures++ < 10) {
        fprintf(stderr, "%s: text %s: want %s, got %.*s with offsets", name,
                cJSON_GetObjectItemCaseSensitive(c, "text")->valuestring,
                cJSON_GetObjectItemCaseSensitive(c, "normalized")->valuestring, (int)gn, got);
        for (size_t i = 0; i < t.len; i++) fprintf(stderr, " %u-%u", t.start[i], t.end[i]);
        fputc('\n', stderr);
      }
      SN_CHECK(ok);
      total++;
      free(text);
      free(want);
      free(got);
    }
    sn_precompiled_free(pc);
  }
  SN_CHECK(maps >= 2 && total > 500);
  printf("precompiled: %zu cases over %zu charsmaps\n", total, maps);
  sn_text_free(&t);
  sn_text_free(&tmp);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001B3ull;
  return h;
}

/* The exhaustive digests: PREFIX + c + SUFFIX for every scalar value c. */
static void test_digests(void) {
  cJSON *doc = fixture();
  SN_CHECK(doc != NULL);
  if (!doc) return;
  static const struct {
    const char *name;
    uint32_t pre[2], suf[2];
    int npre, nsuf;
  } sets[] = {{"single", {0}, {0}, 0, 0},
              {"after", {'A', 0x300}, {0}, 2, 0},
              {"before", {0}, {'A', 0x300}, 0, 2},
              {"mark", {0}, {0x301}, 0, 1}};
  const uint32_t block = (uint32_t)cJSON_GetObjectItemCaseSensitive(doc, "block")->valueint;
  sn_text_t t = {0}, tmp = {0};
  sinter_error_t err;
  size_t checked = 0;
  const cJSON *m;
  cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(doc, "charsmaps")) {
    const cJSON *dg = cJSON_GetObjectItemCaseSensitive(m, "digests");
    if (!cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(dg, "single"))) continue;
    const char *name = cJSON_GetObjectItemCaseSensitive(m, "name")->valuestring;
    const char *cm = cJSON_GetObjectItemCaseSensitive(m, "charsmap")->valuestring;
    sn_precompiled_t *pc = NULL;
    SN_CHECK_OK(sn_precompiled_parse(cm, strlen(cm), name, &pc, &err), &err);
    if (!pc) continue;
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
      const cJSON *want = cJSON_GetObjectItemCaseSensitive(dg, sets[s].name);
      SN_CHECK((uint32_t)cJSON_GetArraySize(want) == 0x110000 / block);
      int bad = 0;
      for (uint32_t b = 0; b < 0x110000 / block; b++) {
        uint64_t h = 0xCBF29CE484222325ull;
        for (uint32_t c = b * block; c < (b + 1) * block; c++) {
          if (c >= 0xD800 && c < 0xE000) continue;
          uint32_t cps[5];
          int n = 0;
          for (int k = 0; k < sets[s].npre; k++) cps[n++] = sets[s].pre[k];
          cps[n++] = c;
          for (int k = 0; k < sets[s].nsuf; k++) cps[n++] = sets[s].suf[k];
          t.len = 0;
          if (sn_text_reserve(&t, 8, &err) != SINTER_OK) abort();
          uint32_t pos = 0;
          for (int k = 0; k < n; k++) {
            unsigned char u[4];
            uint32_t len = (uint32_t)sn_utf8_encode(cps[k], u);
            sn_text_push(&t, cps[k], pos, pos + len);
            pos += len;
          }
          if (sn_precompiled_normalize(pc, &t, &tmp, &err) != SINTER_OK) abort();
          unsigned char u[4];
          for (size_t i = 0; i < t.len; i++) h = fnv(h, u, sn_utf8_encode(t.cp[i], u));
          h = fnv(h, "\xff", 1);
          for (size_t i = 0; i < t.len; i++) {
            unsigned char le[8] = {
                (unsigned char)t.start[i],         (unsigned char)(t.start[i] >> 8),
                (unsigned char)(t.start[i] >> 16), (unsigned char)(t.start[i] >> 24),
                (unsigned char)t.end[i],           (unsigned char)(t.end[i] >> 8),
                (unsigned char)(t.end[i] >> 16),   (unsigned char)(t.end[i] >> 24)};
            h = fnv(h, le, 8);
          }
          h = fnv(h, "\xfe", 1);
        }
        char hex[17];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
        const cJSON *w = cJSON_GetArrayItem(want, (int)b);
        if (!cJSON_IsString(w) || strcmp(w->valuestring, hex) != 0) {
          if (bad++ < 5) {
            fprintf(stderr, "%s/%s: block U+%04X..U+%04X differs from Rust\n", name, sets[s].name,
                    b * block, (b + 1) * block - 1);
          }
        }
        checked++;
      }
      SN_CHECK_MSG(bad == 0, "%s/%s: %d blocks differ", name, sets[s].name, bad);
    }
    sn_precompiled_free(pc);
  }
  SN_CHECK(checked >= 4 * 272);
  sn_text_free(&t);
  sn_text_free(&tmp);
}

/* ------------------------------------------------------------ semantics */

/* The Rust quirks, spelled out on the real nmt_nfkc map. */
static void test_rust_semantics(void) {
  sn_precompiled_t *pc = fixture_map("nmt_nfkc");
  if (!pc) return;
  sn_text_t t = {0}, tmp = {0};
  const char *r;
  size_t rn;
  /* transform: the crate's own test values. */
  SN_CHECK(sn_precompiled_transform(pc, (const unsigned char *)"\xef\xac\x81", 3, &r, &rn) &&
           rn == 2 && memcmp(r, "fi", 2) == 0);
  SN_CHECK(!sn_precompiled_transform(pc, (const unsigned char *)" ", 1, &r, &rn));
  SN_CHECK(!sn_precompiled_transform(pc, (const unsigned char *)"", 0, &r, &rn));
  /* The search stops at NUL: "\0\t" has no match though "\t" has. */
  SN_CHECK(!sn_precompiled_transform(pc, (const unsigned char *)"\0\t", 2, &r, &rn));
  SN_CHECK(sn_precompiled_transform(pc, (const unsigned char *)"\t", 1, &r, &rn) && rn == 1);

  /* "ﬁx": 'f' replaces ﬁ, 'i' is inserted with ﬁ's range. */
  char *s = norm_str(pc, "\xef\xac\x81x", 4, &t, &tmp);
  SN_CHECK(s && strcmp(s, "fix") == 0);
  SN_CHECK(t.len == 3 && t.start[0] == 0 && t.end[0] == 3 && t.start[1] == 0 && t.end[1] == 3 &&
           t.start[2] == 3 && t.end[2] == 4);
  free(s);
  /* "\x1eg": the removal at the start is lost, 'g' takes \x1e's range. */
  s = norm_str(pc, "\x1eg", 2, &t, &tmp);
  SN_CHECK(s && strcmp(s, "g") == 0 && t.start[0] == 0 && t.end[0] == 1);
  free(s);
  /* "™\x1eg": the removal turns the inserted 'M' into a replacing char. */
  s = norm_str(pc, "\xe2\x84\xa2\x1eg", 5, &t, &tmp);
  SN_CHECK(s && strcmp(s, "TMg") == 0);
  SN_CHECK(t.len == 3 && t.start[0] == 0 && t.end[0] == 3 && t.start[1] == 3 && t.end[1] == 4 &&
           t.start[2] == 4 && t.end[2] == 5);
  free(s);
  /* "\r\n" is one cluster: the shortest key "\r" replaces both. */
  s = norm_str(pc, "a\r\nb", 4, &t, &tmp);
  SN_CHECK(s && strcmp(s, "a b") == 0 && t.start[1] == 1 && t.end[1] == 2 && t.start[2] == 3);
  free(s);
  /* A cluster of 6 bytes or more goes char by char. */
  s = norm_str(pc, "\xef\xbc\xa1\xcc\x81\xcc\x81", 7, &t, &tmp); /* Ａ + 2 acute */
  SN_CHECK(s && strcmp(s, "A\xcc\x81\xcc\x81") == 0);
  free(s);
  s = norm_str(pc, "\xef\xbc\xa1\xcc\x81", 5, &t, &tmp); /* Ａ + acute: 5 bytes */
  SN_CHECK(s && strcmp(s, "A") == 0 && t.len == 1 && t.start[0] == 0 && t.end[0] == 3);
  free(s);
  /* Empty text. */
  s = norm_str(pc, "", 0, &t, &tmp);
  SN_CHECK(s && t.len == 0);
  free(s);
  sn_text_free(&t);
  sn_text_free(&tmp);
  sn_precompiled_free(pc);
}

/* Plain ASCII that no key maps is left alone without a copy. */
static void test_ascii_fast_path(void) {
  sn_precompiled_t *pc = fixture_map("nmt_nfkc");
  if (!pc) return;
  sn_text_t t = {0}, tmp = {0};
  sinter_error_t err;
  const char *txt = "The quick brown fox, 1234 <=> ~!";
  to_text((const unsigned char *)txt, strlen(txt), &t);
  uint32_t *before = t.cp;
  SN_CHECK_OK(sn_precompiled_normalize(pc, &t, &tmp, &err), &err);
  SN_CHECK(t.cp == before && t.len == strlen(txt) && tmp.len == 0);
  /* A tab maps to a space: the slow path runs. */
  to_text((const unsigned char *)"a\tb", 3, &t);
  SN_CHECK_OK(sn_precompiled_normalize(pc, &t, &tmp, &err), &err);
  SN_CHECK(t.len == 3 && t.cp[1] == ' ');
  /* "\r\n" alone in ASCII text. */
  to_text((const unsigned char *)"x\r\ny", 4, &t);
  SN_CHECK_OK(sn_precompiled_normalize(pc, &t, &tmp, &err), &err);
  SN_CHECK(t.len == 3 && t.cp[1] == ' ' && t.start[1] == 1 && t.end[1] == 2);
  sn_text_free(&t);
  sn_text_free(&tmp);
  sn_precompiled_free(pc);
}

/* ------------------------------------------------------------ refusals */

static void test_base64_refusals(void) {
  sinter_error_t err;
  sn_precompiled_t *pc = (sn_precompiled_t *)1;
  const char *w = "tokenizer.json: normalizer.precompiled_charsmap";
  SN_CHECK_ERR(sn_precompiled_parse("", 0, w, &pc, &err), SINTER_ERR_FORMAT, &err,
               "shorter than 4 bytes");
  SN_CHECK(pc == NULL);
  SN_CHECK_ERR(sn_precompiled_parse("QUJD", 4, w, &pc, &err), SINTER_ERR_FORMAT, &err,
               "tokenizer.json: normalizer.precompiled_charsmap: charsmap of 3 bytes");
  SN_CHECK_ERR(sn_precompiled_parse("QUJDRA", 6, w, &pc, &err), SINTER_ERR_FORMAT, &err,
               "not a multiple of 4");
  SN_CHECK_ERR(sn_precompiled_parse("QUJ*RA==", 8, w, &pc, &err), SINTER_ERR_FORMAT, &err,
               "bad base64 at byte 3");
  SN_CHECK_ERR(sn_precompiled_parse("QU=DRA==", 8, w, &pc, &err), SINTER_ERR_FORMAT, &err,
               "bad base64 at byte 2");
  SN_CHECK_ERR(sn_precompiled_parse("QUJDRA===", 9, w, &pc, &err), SINTER_ERR_FORMAT, &err,
               "not a multiple of 4");
  SN_CHECK_ERR(sn_precompiled_parse("QUJD====", 8, w, &pc, &err), SINTER_ERR_FORMAT, &err,
               "bad base64 at byte 4");
  SN_CHECK_ERR(sn_precompiled_parse("QUJDRB==", 8, w, &pc, &err), SINTER_ERR_FORMAT, &err,
               "trailing bits");
  SN_CHECK_ERR(sn_precompiled_parse("QUJDREF=", 8, w, &pc, &err), SINTER_ERR_FORMAT, &err,
               "trailing bits");
  SN_CHECK_ERR(sn_precompiled_parse("QUJD RA=", 8, w, &pc, &err), SINTER_ERR_FORMAT, &err,
               "bad base64 at byte 4");
  /* "QUJDRA==" is "ABCD" + 'D' (5 bytes): base64 fine, trie size 0x44434241. */
  SN_CHECK_ERR(sn_precompiled_parse("QUJDRA==", 8, w, &pc, &err), SINTER_ERR_FORMAT, &err,
               "not a multiple of 4");
  SN_CHECK(pc == NULL);
}

static void test_blob_refusals(void) {
  sinter_error_t err;
  sn_precompiled_t *pc = NULL;
  const char *w = "where";
  uint8_t b[16] = {0};
  SN_CHECK_ERR(sn_precompiled_from_blob(b, 3, w, &pc, &err), SINTER_ERR_FORMAT, &err,
               "where: charsmap of 3 bytes is shorter than 4 bytes");
  SN_CHECK_ERR(sn_precompiled_from_blob(b, 16, w, &pc, &err), SINTER_ERR_FORMAT, &err,
               "where: the trie is empty");
  b[0] = 6;
  SN_CHECK_ERR(sn_precompiled_from_blob(b, 16, w, &pc, &err), SINTER_ERR_FORMAT, &err,
               "trie size 6 is not a multiple of 4");
  b[0] = 16;
  SN_CHECK_ERR(sn_precompiled_from_blob(b, 16, w, &pc, &err), SINTER_ERR_FORMAT, &err,
               "trie size 16 is beyond the charsmap (12 bytes after the size)");
  b[0] = 0xFC;
  b[3] = 0xFF;
  SN_CHECK_ERR(sn_precompiled_from_blob(b, 16, w, &pc, &err), SINTER_ERR_FORMAT, &err,
               "trie size 4278190332 is beyond");
  b[0] = 8;
  b[3] = 0;
  b[12] = 'x';
  b[13] = 0xC3; /* truncated two-byte sequence at blob byte 13 */
  b[14] = 0x28;
  SN_CHECK_ERR(sn_precompiled_from_blob(b, 16, w, &pc, &err), SINTER_ERR_FORMAT, &err,
               "not valid UTF-8 at byte 13");
  b[13] = 0xED; /* a surrogate */
  b[14] = 0xA0;
  b[15] = 0x80;
  SN_CHECK_ERR(sn_precompiled_from_blob(b, 16, w, &pc, &err), SINTER_ERR_FORMAT, &err,
               "not valid UTF-8 at byte 13");
  /* Only the trie (no strings) is fine; NUL bytes in the strings too. */
  SN_CHECK_OK(sn_precompiled_from_blob(b, 12, w, &pc, &err), &err);
  sn_precompiled_free(pc);
  b[13] = 0;
  b[14] = 'y';
  b[15] = 0;
  SN_CHECK_OK(sn_precompiled_from_blob(b, 16, w, &pc, &err), &err);
  sn_precompiled_free(pc);
  sn_precompiled_free(NULL);
}

/* ------------------------------------------------------------ robustness */

/* Writes u into the blob's unit i. */
static void put_unit(uint8_t *blob, size_t i, uint32_t u) {
  uint8_t *p = blob + 4 + 4 * i;
  p[0] = (uint8_t)u;
  p[1] = (uint8_t)(u >> 8);
  p[2] = (uint8_t)(u >> 16);
  p[3] = (uint8_t)(u >> 24);
}

/* Texts with their byte lengths (one holds a NUL). */
#define T(lit) \
  { lit, sizeof(lit) - 1 }
static const struct {
  const char *s;
  size_t n;
} k_texts[] = {
    T("abc"),
    T("ab"),
    T("a\xcc\x80"),
    T("\x01"
      "a"),
    T("Zk\xcc\x81\xcc\x81"),
    T("\r\n"),
    T("\xef\xac\x81"),
    T("\xc2\xa0x"),
    T("\xf0\x9f\x98\x80"),
    T("\xe2\x84\xa2\x01\x02g"),
    T("AB"),
    T("e\xcc\x81"),
    T("\xc3\xa9"),
    T("x\0y"),
    T("\xef\xbc\xa1\xcc\x81"),
    T("\xd8\xa7\xd9\x93"),
    T("\xe0\xb8\x81\xe0\xb8\xb3"),
    T("\xe2\x80\x8d"),
    T(""),
    T("d\xcc\x81"
      "c"),
};
#undef T

/* Normalizes every k_text with pc: must not crash, offsets stay in range. */
static void exercise(const sn_precompiled_t *pc, sn_text_t *t, sn_text_t *tmp) {
  sinter_error_t err;
  for (size_t i = 0; i < sizeof k_texts / sizeof k_texts[0]; i++) {
    size_t n = k_texts[i].n;
    to_text((const unsigned char *)k_texts[i].s, n, t);
    sinter_status_t st = sn_precompiled_normalize(pc, t, tmp, &err);
    SN_CHECK(st == SINTER_OK || st == SINTER_ERR_LIMIT || st == SINTER_ERR_OUT_OF_MEMORY);
    for (size_t k = 0; st == SINTER_OK && k < t->len; k++) {
      SN_CHECK(t->start[k] <= t->end[k] && t->end[k] <= n);
    }
  }
}

/* Values past the strings or inside a character are no match (Rust would
 * panic); a value at the very end is the empty string. */
static void test_bad_values(void) {
  size_t n = 0;
  uint8_t *blob = fixture_blob("hand", &n);
  SN_CHECK(blob != NULL);
  if (!blob) return;
  uint32_t trie = (uint32_t)blob[0] | (uint32_t)blob[1] << 8 | (uint32_t)blob[2] << 16;
  size_t nunits = trie / 4, nstr = n - 4 - trie;
  sinter_error_t err;
  sn_text_t t = {0}, tmp = {0};
  sn_precompiled_t *pc = NULL;
  SN_CHECK_OK(sn_precompiled_from_blob(blob, n, "hand", &pc, &err), &err);
  const char *r;
  size_t rn;
  /* Find the leaf unit of key "a" (value of "x") by walking like the crate. */
  SN_CHECK(sn_precompiled_transform(pc, (const unsigned char *)"a", 1, &r, &rn) && rn == 1 &&
           *r == 'x');
  uint32_t u0 =
      blob[4] | (uint32_t)blob[5] << 8 | (uint32_t)blob[6] << 16 | (uint32_t)blob[7] << 24;
  size_t pos = (u0 >> 10) ^ 'a';
  const uint8_t *pu = blob + 4 + 4 * pos;
  uint32_t ua = pu[0] | (uint32_t)pu[1] << 8 | (uint32_t)pu[2] << 16 | (uint32_t)pu[3] << 24;
  size_t leaf = pos ^ (ua >> 10);
  SN_CHECK(leaf < nunits);
  sn_precompiled_free(pc);
  /* Past the end, far past, inside "é" (its second byte), at the very end. */
  const char *e_acute = memmem(blob + 4 + trie, nstr, "\xc3\xa9", 2);
  SN_CHECK(e_acute != NULL);
  uint32_t inside = (uint32_t)((const uint8_t *)e_acute + 1 - (blob + 4 + trie));
  const uint32_t values[] = {(uint32_t)nstr + 1, 0x7FFFFFFF, inside, (uint32_t)nstr};
  for (int v = 0; v < 4; v++) {
    put_unit(blob, leaf, 0x80000000u | values[v]);
    SN_CHECK_OK(sn_precompiled_from_blob(blob, n, "hand", &pc, &err), &err);
    if (!pc) continue;
    int hit = sn_precompiled_transform(pc, (const unsigned char *)"a", 1, &r, &rn);
    SN_CHECK(v == 3 ? hit && rn == 0 : !hit);
    char *s = norm_str(pc, "ab", 2, &t, &tmp);
    /* Key "a" is the shortest of "ab": no match keeps 'a', empty removes it. */
    SN_CHECK(s && strcmp(s, v == 3 ? "bbb" : "abbb") == 0);
    free(s);
    exercise(pc, &t, &tmp);
    sn_precompiled_free(pc);
  }
  /* Without the final NUL the last string runs to the end of the blob. */
  SN_CHECK(blob[n - 1] == 0);
  SN_CHECK_OK(sn_precompiled_from_blob(blob, n - 1, "hand", &pc, &err), &err);
  if (pc) {
    exercise(pc, &t, &tmp);
    sn_precompiled_free(pc);
  }
  free(blob);
  sn_text_free(&t);
  sn_text_free(&tmp);
}

/* Units whose offsets point anywhere, truncated tries, random bytes: the
 * search must stay inside the array and the strings. */
static void test_mutated_blobs(void) {
  size_t n = 0;
  uint8_t *orig = fixture_blob("hand", &n);
  SN_CHECK(orig != NULL);
  if (!orig) return;
  uint8_t *blob = malloc(n);
  sinter_error_t err;
  sn_text_t t = {0}, tmp = {0};
  uint64_t rng = 0x9E3779B97F4A7C15ull;
  size_t parsed = 0;
  for (int iter = 0; iter < 3000; iter++) {
    memcpy(blob, orig, n);
    int flips = 1 + iter % 8;
    for (int f = 0; f < flips; f++) {
      rng ^= rng << 13;
      rng ^= rng >> 7;
      rng ^= rng << 17;
      size_t at = 4 + (size_t)(rng % (n - 4));
      if (iter % 3 == 0) {
        blob[at] = (uint8_t)(rng >> 32); /* any byte */
      } else if (iter % 3 == 1 && at / 4 * 4 + 4 <= n) {
        uint8_t *p = blob + at / 4 * 4; /* a whole unit with a huge offset */
        uint32_t u = (uint32_t)(rng >> 16) | 0x100u;
        p[0] = (uint8_t)u;
        p[1] = (uint8_t)(u >> 8);
        p[2] = (uint8_t)(u >> 16);
        p[3] = (uint8_t)(u >> 24);
      } else {
        blob[at] ^= (uint8_t)(1u << (rng % 8));
      }
    }
    sn_precompiled_t *pc = NULL;
    if (sn_precompiled_from_blob(blob, n, "fuzz", &pc, &err) == SINTER_OK) {
      parsed++;
      exercise(pc, &t, &tmp);
      sn_precompiled_free(pc);
    }
  }
  SN_CHECK(parsed > 1000);
  /* Truncated tries: shrink trie_size (the strings start earlier). */
  uint32_t trie = (uint32_t)orig[0] | (uint32_t)orig[1] << 8 | (uint32_t)orig[2] << 16;
  for (uint32_t sz = 4; sz < trie; sz += 4 * 37) {
    memcpy(blob, orig, n);
    blob[0] = (uint8_t)sz;
    blob[1] = (uint8_t)(sz >> 8);
    blob[2] = (uint8_t)(sz >> 16);
    sn_precompiled_t *pc = NULL;
    /* Units read as strings may not be UTF-8: then refused, else exercised. */
    if (sn_precompiled_from_blob(blob, n, "trunc", &pc, &err) == SINTER_OK) {
      exercise(pc, &t, &tmp);
      sn_precompiled_free(pc);
    } else {
      SN_CHECK(strstr(err.message, "UTF-8") != NULL);
    }
  }
  /* The real map with its trie cut to the first 1024 units: strings kept. */
  size_t rn = 0;
  uint8_t *real = fixture_blob("nmt_nfkc", &rn);
  if (real) {
    uint32_t rtrie = (uint32_t)real[0] | (uint32_t)real[1] << 8 | (uint32_t)real[2] << 16;
    size_t nstr = rn - 4 - rtrie;
    uint8_t *cut = malloc(4 + 4096 + nstr);
    memcpy(cut + 4, real + 4, 4096);
    memcpy(cut + 4 + 4096, real + 4 + rtrie, nstr);
    cut[0] = 0;
    cut[1] = 0x10;
    cut[2] = cut[3] = 0;
    sn_precompiled_t *pc = NULL;
    SN_CHECK_OK(sn_precompiled_from_blob(cut, 4 + 4096 + nstr, "cut", &pc, &err), &err);
    if (pc) {
      exercise(pc, &t, &tmp);
      sn_precompiled_free(pc);
    }
    free(cut);
    free(real);
  }
  free(blob);
  free(orig);
  sn_text_free(&t);
  sn_text_free(&tmp);
}

/* The base64 entry and the blob entry agree; the fixture's text is base64
 * of the blob. */
static void test_parse_roundtrip(void) {
  size_t n = 0;
  uint8_t *blob = fixture_blob("hand", &n);
  if (!blob) return;
  char *s = b64(blob, n);
  sinter_error_t err;
  sn_precompiled_t *a = NULL, *b = NULL;
  SN_CHECK_OK(sn_precompiled_parse(s, strlen(s), "b64", &a, &err), &err);
  SN_CHECK_OK(sn_precompiled_from_blob(blob, n, "raw", &b, &err), &err);
  if (a && b) {
    sn_text_t t = {0}, tmp = {0};
    char *x = norm_str(a, "\xef\xac\x81\x01Zab", 7, &t, &tmp);
    char *y = norm_str(b, "\xef\xac\x81\x01Zab", 7, &t, &tmp);
    SN_CHECK(x && y && strcmp(x, y) == 0 &&
             strcmp(x,
                    "fiZZZZZZZZx"
                    "bbb") == 0);
    free(x);
    free(y);
    sn_text_free(&t);
    sn_text_free(&tmp);
  }
  sn_precompiled_free(a);
  sn_precompiled_free(b);
  free(s);
  free(blob);
}

int main(void) {
  SN_RUN(test_fixture_cases);
  SN_RUN(test_rust_semantics);
  SN_RUN(test_ascii_fast_path);
  SN_RUN(test_base64_refusals);
  SN_RUN(test_blob_refusals);
  SN_RUN(test_bad_values);
  SN_RUN(test_mutated_blobs);
  SN_RUN(test_parse_roundtrip);
  SN_RUN(test_digests);
  cJSON_Delete(g_fixture);
  return SN_TEST_REPORT();
}
