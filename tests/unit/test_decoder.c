/*
 * test_decoder.c — the decoder chain (src/tokenizer/decoder.c) against the
 * Rust library's own outputs, and its load-time refusals.
 *
 *   - tests/fixtures/tokenizer/decoder_cases.json (from
 *     scripts/make_decoder_fixture.py, tokenizers 0.23.3): every decoder kind
 *     and the usual chains, each decoding hand-made and random token lists;
 *     every output must match byte for byte. Its "refused" values are ones the
 *     Rust library will not load; each must be refused here too.
 *   - the error codes and field paths of the refusals, the nesting limit, the
 *     no-decoder join, and long inputs that a quadratic step would not finish.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/file.h"
#include "test.h"
#include "tokenizer/decoder.h"

#define FIX SN_TEST_FIXTURES "/tokenizer"
#define NAME "t.json"

/* ------------------------------------------------------------ helpers */

/* Parses a decoder from JSON text (the tests' shorthand). */
static sinter_status_t load(const char *json, sn_decoder_t **d, sinter_error_t *err) {
  cJSON *j = cJSON_Parse(json);
  if (!j) {
    fprintf(stderr, "bad test JSON: %s\n", json);
    *d = NULL;
    return SINTER_ERR_INTERNAL;
  }
  sinter_status_t st = sn_decoder_from_json(j, NAME, d, err);
  cJSON_Delete(j);
  return st;
}

/* A fixture string: a JSON string, or {"hex": "..."} for text holding NUL.
 * Returns a malloc'd copy (NUL-terminated) and its length, or NULL. */
static char *fixture_str(const cJSON *v, size_t *n) {
  if (cJSON_IsString(v)) {
    *n = strlen(v->valuestring);
    char *s = malloc(*n + 1);
    if (s) memcpy(s, v->valuestring, *n + 1);
    return s;
  }
  const cJSON *h = cJSON_GetObjectItemCaseSensitive(v, "hex");
  if (!cJSON_IsString(h)) return NULL;
  size_t hl = strlen(h->valuestring);
  if (hl % 2) return NULL;
  char *s = malloc(hl / 2 + 1);
  if (!s) return NULL;
  for (size_t i = 0; i < hl / 2; i++) {
    unsigned x = 0;
    if (sscanf(h->valuestring + 2 * i, "%2x", &x) != 1) {
      free(s);
      return NULL;
    }
    s[i] = (char)x;
  }
  s[hl / 2] = '\0';
  *n = hl / 2;
  return s;
}

/* Prints s[0..n) with non-printable bytes escaped, for failure messages. */
static void print_escaped(const char *what, const char *s, size_t n) {
  fprintf(stderr, "  %s (%zu bytes): \"", what, n);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7F && c != '\\' && c != '"') {
      fputc(c, stderr);
    } else {
      fprintf(stderr, "\\x%02X", c);
    }
  }
  fprintf(stderr, "\"\n");
}

/* Decodes tokens (NULL-terminated array of C strings) and compares with
 * `want`. */
static void check_decode(const sn_decoder_t *d, const char *const *toks, const char *want,
                         size_t want_len) {
  size_t count = 0, lens[64];
  while (toks[count]) {
    lens[count] = strlen(toks[count]);
    count++;
  }
  char *out = NULL;
  size_t len = 0;
  sinter_error_t err;
  SN_CHECK_OK(sn_decoder_decode(d, toks, lens, count, &out, &len, &err), &err);
  SN_CHECK(out != NULL && len == want_len && memcmp(out, want, len) == 0 && out[len] == '\0');
  if (out && (len != want_len || memcmp(out, want, len) != 0)) {
    print_escaped("got ", out, len);
    print_escaped("want", want, want_len);
  }
  free(out);
}

/* ------------------------------------------------------------ fixture */

static cJSON *fixture;

/* Parses decoder_cases.json once for the tests that read it. */
static cJSON *load_fixture(void) {
  if (fixture) return fixture;
  char *data = NULL;
  size_t size = 0;
  sinter_error_t err;
  if (sn_file_read_all(FIX "/decoder_cases.json", 16u << 20, &data, &size, &err) != SINTER_OK) {
    fprintf(stderr, "cannot read decoder_cases.json: %s\n", err.message);
    return NULL;
  }
  fixture = cJSON_ParseWithLength(data, size);
  free(data);
  return fixture;
}

/* Every case of every decoder of the fixture, byte for byte. */
static void test_fixture_cases(void) {
  cJSON *doc = load_fixture();
  SN_CHECK(doc != NULL);
  if (!doc) return;
  const cJSON *lists = cJSON_GetObjectItemCaseSensitive(doc, "token_lists");
  const cJSON *decs = cJSON_GetObjectItemCaseSensitive(doc, "decoders");
  SN_CHECK(cJSON_IsArray(lists) && cJSON_IsArray(decs));
  if (!cJSON_IsArray(lists) || !cJSON_IsArray(decs)) return;
  int ndec = 0, ncases = 0, npanics = 0;
  const cJSON *dj;
  cJSON_ArrayForEach(dj, decs) {
    const char *name = cJSON_GetObjectItemCaseSensitive(dj, "name")->valuestring;
    sn_decoder_t *d = NULL;
    sinter_error_t err;
    sinter_status_t st =
        sn_decoder_from_json(cJSON_GetObjectItemCaseSensitive(dj, "decoder"), NAME, &d, &err);
    SN_CHECK_MSG(st == SINTER_OK, "%s: %s", name, err.message);
    if (st != SINTER_OK) continue;
    SN_CHECK_MSG((d == NULL) == (strcmp(name, "none") == 0), "%s", name);
    ndec++;
    int case_no = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(dj, "cases")) {
      int li = cJSON_GetObjectItemCaseSensitive(c, "tokens")->valueint;
      const cJSON *lst = cJSON_GetArrayItem(lists, li);
      size_t count = (size_t)cJSON_GetArraySize(lst);
      char **toks = calloc(count + 1, sizeof *toks);
      size_t *lens = calloc(count + 1, sizeof *lens);
      size_t want_len = 0;
      char *want = fixture_str(cJSON_GetObjectItemCaseSensitive(c, "expected"), &want_len);
      int ok = toks && lens && want;
      for (size_t i = 0; ok && i < count; i++) {
        toks[i] = fixture_str(cJSON_GetArrayItem(lst, (int)i), &lens[i]);
        ok = toks[i] != NULL;
      }
      SN_CHECK_MSG(ok, "%s case %d: cannot read the fixture", name, case_no);
      if (ok) {
        char *out = NULL;
        size_t len = 0;
        st = sn_decoder_decode(d, (const char *const *)toks, lens, count, &out, &len, &err);
        SN_CHECK_MSG(st == SINTER_OK, "%s case %d: %s", name, case_no, err.message);
        int same =
            st == SINTER_OK && len == want_len && memcmp(out, want, len) == 0 && out[len] == '\0';
        SN_CHECK_MSG(same, "%s case %d (token list %d)", name, case_no, li);
        if (!same && out) {
          for (size_t i = 0; i < count; i++) print_escaped("token", toks[i], lens[i]);
          print_escaped("got ", out, len);
          print_escaped("want", want, want_len);
        }
        free(out);
        ncases++;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "panics"))) npanics++;
      }
      for (size_t i = 0; toks && i < count; i++) free(toks[i]);
      free(toks);
      free(lens);
      free(want);
      case_no++;
    }
    sn_decoder_free(d);
  }
  printf("decoder fixture: %d decoders, %d cases (%d where Rust 0.23 panics)\n", ndec, ncases,
         npanics);
  SN_CHECK(ndec >= 40 && ncases >= 2500);
}

/* Every value the Rust library refuses is refused here, as FORMAT,
 * UNSUPPORTED or LIMIT, with a message naming the file. */
static void test_fixture_refused(void) {
  cJSON *doc = load_fixture();
  if (!doc) return;
  int n = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(doc, "refused")) {
    const char *name = cJSON_GetObjectItemCaseSensitive(r, "name")->valuestring;
    sn_decoder_t *d = NULL;
    sinter_error_t err;
    sn_error_clear(&err);
    sinter_status_t st =
        sn_decoder_from_json(cJSON_GetObjectItemCaseSensitive(r, "decoder"), NAME, &d, &err);
    SN_CHECK_MSG(st == SINTER_ERR_FORMAT || st == SINTER_ERR_UNSUPPORTED, "%s: status %d", name,
                 (int)st);
    SN_CHECK_MSG(d == NULL && strstr(err.message, NAME), "%s: %s", name, err.message);
    sn_decoder_free(d);
    n++;
  }
  SN_CHECK(n >= 30);
}

/* ------------------------------------------------------------ refusals */

/* Each refusal has its status code and names the file and the field path. */
static void test_errors(void) {
  sn_decoder_t *d = NULL;
  sinter_error_t err;
  struct {
    const char *json;
    sinter_status_t code;
    const char *needle;
  } cases[] = {
      {"{\"type\":\"Nope\"}", SINTER_ERR_UNSUPPORTED, "unsupported decoder \"Nope\" in t.json"},
      {"{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Fuse\"},{\"type\":\"Cyrillic\"}]}",
       SINTER_ERR_UNSUPPORTED, "unsupported decoder \"Cyrillic\" in t.json (decoder.decoders[1])"},
      {"{\"type\":\"Replace\",\"pattern\":{\"Regex\":\" +\"},\"content\":\" \"}",
       SINTER_ERR_UNSUPPORTED, "unsupported decoder \"Replace\" in t.json"},
      {"{\"type\":\"Replace\",\"pattern\":{\"Regex\":\" +\"},\"content\":\" \"}",
       SINTER_ERR_UNSUPPORTED, "\"decoder.pattern\" is a Regex"},
      {"{\"type\":\"Metaspace\",\"replacement\":\"_\",\"prepend_scheme\":\"sometimes\"}",
       SINTER_ERR_UNSUPPORTED, "unsupported decoder \"Metaspace\" in t.json"},
      {"{\"type\":\"Metaspace\",\"replacement\":\"_\",\"prepend_scheme\":\"sometimes\"}",
       SINTER_ERR_UNSUPPORTED, "\"decoder.prepend_scheme\" is \"sometimes\""},
      {"{\"type\":\"Metaspace\",\"replacement\":\"_\",\"prepend_scheme\":null}", SINTER_ERR_FORMAT,
       "t.json: field \"decoder.prepend_scheme\" must be a string"},
      {"{\"type\":\"Metaspace\",\"replacement\":\"_\",\"add_prefix_space\":false}",
       SINTER_ERR_FORMAT, "field \"decoder.add_prefix_space\" is false but prepend_scheme"},
      {"{\"type\":\"Metaspace\",\"replacement\":\"ab\"}", SINTER_ERR_FORMAT,
       "field \"decoder.replacement\" must be a string of one character"},
      {"{\"type\":\"Metaspace\",\"replacement\":\"\"}", SINTER_ERR_FORMAT,
       "field \"decoder.replacement\" must be a string of one character"},
      {"{\"type\":\"Metaspace\",\"replacement\":\"\\u00e9\",\"split\":\"yes\"}", SINTER_ERR_FORMAT,
       "field \"decoder.split\" must be a boolean"},
      {"{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Fuse\"},"
       "{\"type\":\"Strip\",\"content\":1,\"start\":0,\"stop\":0}]}",
       SINTER_ERR_FORMAT, "t.json: field \"decoder.decoders[1].content\" must be a string"},
      {"{\"type\":\"Strip\",\"content\":\" \",\"start\":-1,\"stop\":0}", SINTER_ERR_FORMAT,
       "field \"decoder.start\" must be a non-negative integer"},
      {"{\"type\":\"Strip\",\"content\":\" \",\"start\":0,\"stop\":0.5}", SINTER_ERR_FORMAT,
       "field \"decoder.stop\" must be a non-negative integer"},
      {"{\"type\":\"Strip\",\"content\":\" \",\"start\":0,\"stop\":1e30}", SINTER_ERR_FORMAT,
       "field \"decoder.stop\" must be a non-negative integer"},
      {"{\"type\":\"WordPiece\",\"prefix\":\"##\"}", SINTER_ERR_FORMAT,
       "field \"decoder.cleanup\" must be a boolean"},
      {"{\"type\":\"ByteLevel\",\"add_prefix_space\":true}", SINTER_ERR_FORMAT,
       "field \"decoder.trim_offsets\" must be a boolean"},
      {"{\"type\":\"BPEDecoder\"}", SINTER_ERR_FORMAT, "field \"decoder.suffix\" must be a string"},
      {"{\"type\":\"CTC\",\"pad_token\":\"<pad>\",\"word_delimiter_token\":7,\"cleanup\":true}",
       SINTER_ERR_FORMAT, "field \"decoder.word_delimiter_token\" must be a string"},
      {"{\"type\":\"Replace\",\"pattern\":{\"String\":\"a\",\"Regex\":\"b\"},\"content\":\"\"}",
       SINTER_ERR_FORMAT, "field \"decoder.pattern\" must be {\"String\": ...}"},
      {"{\"type\":\"Replace\",\"pattern\":{\"String\":\"a\"}}", SINTER_ERR_FORMAT,
       "field \"decoder.content\" must be a string"},
      {"{\"type\":\"Sequence\",\"decoders\":{}}", SINTER_ERR_FORMAT,
       "field \"decoder.decoders\" must be an array"},
      {"{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Sequence\",\"decoders\":[7]}]}",
       SINTER_ERR_FORMAT, "field \"decoder.decoders[0].decoders[0]\" must be an object"},
      {"[]", SINTER_ERR_FORMAT, "t.json: field \"decoder\" must be an object"},
      {"{\"prefix\":\"##\"}", SINTER_ERR_FORMAT, "field \"decoder.type\" must be a string"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    sn_error_clear(&err);
    SN_CHECK_ERR(load(cases[i].json, &d, &err), cases[i].code, &err, cases[i].needle);
    SN_CHECK_MSG(d == NULL, "%s", cases[i].json);
    sn_decoder_free(d);
  }
}

/* Sequences nest up to SN_DECODER_MAX_DEPTH decoder levels; one more is
 * LIMIT naming the path of the first decoder too deep. */
static void test_depth(void) {
  char json[1024];
  for (int depth = SN_DECODER_MAX_DEPTH; depth <= SN_DECODER_MAX_DEPTH + 1; depth++) {
    size_t n = 0;
    for (int i = 1; i < depth; i++) {
      n += (size_t)snprintf(json + n, sizeof json - n, "{\"type\":\"Sequence\",\"decoders\":[");
    }
    n += (size_t)snprintf(json + n, sizeof json - n, "{\"type\":\"Fuse\"}");
    for (int i = 1; i < depth; i++) n += (size_t)snprintf(json + n, sizeof json - n, "]}");
    sn_decoder_t *d = NULL;
    sinter_error_t err;
    sn_error_clear(&err);
    sinter_status_t st = load(json, &d, &err);
    if (depth == SN_DECODER_MAX_DEPTH) {
      SN_CHECK_OK(st, &err);
      const char *toks[] = {"a", "b", NULL};
      if (st == SINTER_OK) check_decode(d, toks, "ab", 2);
    } else {
      SN_CHECK_ERR(st, SINTER_ERR_LIMIT, &err,
                   "t.json: field \"decoder.decoders[0].decoders[0].decoders[0].decoders[0]."
                   "decoders[0].decoders[0].decoders[0].decoders[0]\": decoder Sequences nest "
                   "more than 8 levels deep");
    }
    sn_decoder_free(d);
  }
}

/* ------------------------------------------------------------ behaviour */

/* No decoder (NULL or JSON null): tokens joined with " "; an empty Sequence
 * joins with "". A NULL token pointer with length 0 is an empty token. */
static void test_no_decoder(void) {
  sn_decoder_t *d = (sn_decoder_t *)1;
  sinter_error_t err;
  SN_CHECK_OK(sn_decoder_from_json(NULL, NAME, &d, &err), &err);
  SN_CHECK(d == NULL);
  cJSON *null = cJSON_CreateNull();
  d = (sn_decoder_t *)1;
  SN_CHECK_OK(sn_decoder_from_json(null, NAME, &d, &err), &err);
  SN_CHECK(d == NULL);
  cJSON_Delete(null);
  const char *toks[] = {"a", "##b", "", "c", NULL};
  check_decode(NULL, toks, "a ##b  c", 8);
  const char *none[] = {NULL};
  check_decode(NULL, none, "", 0);

  SN_CHECK_OK(load("{\"type\":\"Sequence\",\"decoders\":[]}", &d, &err), &err);
  check_decode(d, toks, "a##bc", 5);
  const char *ptrs[] = {"x", NULL, "y"};
  size_t lens[] = {1, 0, 1};
  char *out = NULL;
  size_t len = 0;
  SN_CHECK_OK(sn_decoder_decode(d, ptrs, lens, 3, &out, &len, &err), &err);
  SN_CHECK(out && len == 2 && strcmp(out, "xy") == 0);
  free(out);
  SN_CHECK_OK(sn_decoder_decode(NULL, ptrs, lens, 3, &out, NULL, &err), &err);
  SN_CHECK(out && strcmp(out, "x  y") == 0);
  free(out);
  sn_decoder_free(d);
}

/* Hand-checked outputs of the Llama chain and of the details the fixture
 * relies on (so a regenerated fixture cannot hide a change). */
static void test_known_outputs(void) {
  sn_decoder_t *d = NULL;
  sinter_error_t err;
  SN_CHECK_OK(load("{\"type\":\"Sequence\",\"decoders\":["
                   "{\"type\":\"Replace\",\"pattern\":{\"String\":\"\\u2581\"},\"content\":\" \"},"
                   "{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},"
                   "{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}",
                   &d, &err),
              &err);
  const char *llama[] = {"\xE2\x96\x81Hello", "<0xE2>", "<0x82>", "<0xAC>",
                         "\xE2\x96\x81!",     "<0x+A>", "<0xE2>", NULL};
  check_decode(d, llama, "Hello\xE2\x82\xAC !\xEF\xBF\xBD\xEF\xBF\xBD", 16);
  sn_decoder_free(d);

  /* Strip where Rust 0.23 panics: the token becomes "" (later Rust). */
  SN_CHECK_OK(load("{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":3}", &d, &err),
              &err);
  const char *strip[] = {" ", "", "  ", " a  ", "    ", NULL};
  check_decode(d, strip, "a", 1);
  sn_decoder_free(d);

  /* Replace with an empty pattern: at every char boundary, but "" stays "". */
  SN_CHECK_OK(
      load("{\"type\":\"Replace\",\"pattern\":{\"String\":\"\"},\"content\":\"-\"}", &d, &err),
      &err);
  const char *rep[] = {"a\xC3\xA9", "", "b", NULL};
  check_decode(d, rep, "-a-\xC3\xA9--b-", 9);
  sn_decoder_free(d);
}

/* Seconds of CPU time, for the linearity checks. */
static double cpu_seconds(void) {
  return (double)clock() / CLOCKS_PER_SEC;
}

/* Decodes one long token; checks the output length and that it took well
 * under a second (a quadratic step would take minutes at this size). */
static void check_long(const char *json, const char *tok, size_t n, size_t want_len) {
  sn_decoder_t *d = NULL;
  sinter_error_t err;
  SN_CHECK_OK(load(json, &d, &err), &err);
  if (!d) return;
  const char *toks[] = {tok};
  char *out = NULL;
  size_t len = 0;
  double t0 = cpu_seconds();
  SN_CHECK_OK(sn_decoder_decode(d, toks, &n, 1, &out, &len, &err), &err);
  double dt = cpu_seconds() - t0;
  SN_CHECK_MSG(len == want_len, "%s: %zu bytes, want %zu", json, len, want_len);
  SN_CHECK_MSG(dt < 2.0, "%s: %.2f s", json, dt);
  free(out);
  sn_decoder_free(d);
}

/* Multi-megabyte tokens and a million tokens through the steps whose naive
 * versions are quadratic (literal search, repeated cleanup, byte runs). */
static void test_long_inputs(void) {
  const size_t n = 4u << 20;
  char *s = malloc(n + 1);
  SN_CHECK(s != NULL);
  if (!s) return;
  /* "aaa...a": the worst case of a naive search for "aaaaaaaaaaab" (KMP). */
  memset(s, 'a', n);
  s[n] = '\0';
  check_long("{\"type\":\"Replace\",\"pattern\":{\"String\":\"aaaaaaaaaaab\"},\"content\":\"x\"}",
             s, n, n);
  check_long("{\"type\":\"Replace\",\"pattern\":{\"String\":\"aaaab\"},\"content\":\"x\"}", s, n,
             n);
  check_long("{\"type\":\"Replace\",\"pattern\":{\"String\":\"aa\"},\"content\":\"b\"}", s, n,
             n / 2);
  check_long("{\"type\":\"BPEDecoder\",\"suffix\":\"aaaaaaaaaaaaaaaaab\"}", s, n, n);
  check_long("{\"type\":\"Strip\",\"content\":\"a\",\"start\":99999999,\"stop\":99999999}", s, n,
             0);
  /* " . . . ": every cleanup rule scans, one rewrites the whole token. */
  for (size_t i = 0; i + 1 < n; i += 2) memcpy(s + i, " .", 2);
  check_long("{\"type\":\"WordPiece\",\"prefix\":\"##\",\"cleanup\":true}", s, n, n / 2);
  check_long(
      "{\"type\":\"CTC\",\"pad_token\":\" \",\"word_delimiter_token\":\".\","
      "\"cleanup\":true}",
      s, n, n / 2);
  /* A million replacement chars (3 bytes each) in token 0: all dropped. */
  size_t m = n / 3 * 3;
  for (size_t i = 0; i < m; i += 3) memcpy(s + i, "\xE2\x96\x81", 3);
  check_long("{\"type\":\"Metaspace\",\"replacement\":\"\\u2581\",\"prepend_scheme\":\"always\"}",
             s, m, 0);
  free(s);

  /* Many tokens: a million byte tokens through ByteFallback and ByteLevel. */
  size_t count = 1u << 20;
  const char **toks = malloc(count * sizeof *toks);
  size_t *lens = malloc(count * sizeof *lens);
  SN_CHECK(toks && lens);
  if (toks && lens) {
    sn_decoder_t *d = NULL;
    sinter_error_t err;
    SN_CHECK_OK(load("{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"ByteFallback\"},"
                     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true}]}",
                     &d, &err),
                &err);
    for (size_t i = 0; i < count; i++) {
      toks[i] = i % 2 ? "<0xC3>" : "<0xA9>"; /* never valid: one U+FFFD each */
      lens[i] = 6;
    }
    char *out = NULL;
    size_t len = 0;
    double t0 = cpu_seconds();
    SN_CHECK_OK(sn_decoder_decode(d, toks, lens, count, &out, &len, &err), &err);
    SN_CHECK(cpu_seconds() - t0 < 2.0);
    /* The U+FFFD strings are not byte chars, so ByteLevel keeps them. */
    SN_CHECK(len == 3 * count && out && memcmp(out, "\xEF\xBF\xBD", 3) == 0);
    free(out);
    sn_decoder_free(d);
  }
  free(toks);
  free(lens);
}

int main(void) {
  SN_RUN(test_fixture_cases);
  SN_RUN(test_fixture_refused);
  SN_RUN(test_errors);
  SN_RUN(test_depth);
  SN_RUN(test_no_decoder);
  SN_RUN(test_known_outputs);
  SN_RUN(test_long_inputs);
  cJSON_Delete(fixture);
  return SN_TEST_REPORT();
}
