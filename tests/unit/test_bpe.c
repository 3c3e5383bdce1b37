/*
 * test_bpe.c — the BPE model and the byte-level components, beyond the
 * corpus settings that test_tokenizer.c runs (roberta*, bytelevel_post,
 * bpe_options, bpe_fallback in tests/fixtures/tokenizer/settings.json):
 *
 *   - GPT-2's byte table, and the split regex's class of every code point
 *     against the Rust library's (bytelevel_classes.txt);
 *   - merge order on a vocabulary built so that most tokens can be made by
 *     several pairs (bpe_merges.json, outputs of the Rust library);
 *   - both merges formats, loader refusals, lossy UTF-8 decoding as Rust's,
 *     a megabyte without a space, and the shared cache under two threads.
 *
 * Fixtures come from scripts/make_tokenizer_fixtures.py (--bpe-only).
 */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/file.h"
#include "test.h"
#include "tokenizer/internal.h"
#include "tokenizer/tokenizer.h"

#define FIX SN_TEST_FIXTURES "/tokenizer"

static char *read_text(const char *path, size_t *size) {
  char *data = NULL;
  sinter_error_t err;
  if (sn_file_read_all(path, 64u << 20, &data, size, &err) != SINTER_OK) {
    fprintf(stderr, "cannot read %s: %s\n", path, err.message);
    return NULL;
  }
  return data;
}

static sinter_status_t load_str(const char *json, sn_tokenizer_t **tok, sinter_error_t *err) {
  return sn_tokenizer_load_json(json, strlen(json), "test.json", tok, err);
}

/* ------------------------------------------------------------ byte level */

static void test_byte_table(void) {
  int seen[0x200] = {0};
  for (int b = 0; b < 256; b++) {
    uint32_t c = sn_bytelevel_char((uint8_t)b);
    SN_CHECK(c < 0x200);
    if (c >= 0x200) continue;
    SN_CHECK(!seen[c]);
    seen[c] = 1;
    SN_CHECK(sn_bytelevel_byte(c) == b);
  }
  SN_CHECK(sn_bytelevel_char(' ') == 0x120);  /* Ġ */
  SN_CHECK(sn_bytelevel_char('\n') == 0x10A); /* Ċ */
  SN_CHECK(sn_bytelevel_char('a') == 'a');
  SN_CHECK(sn_bytelevel_char(0x7F) == 0x121);
  SN_CHECK(sn_bytelevel_char(0xAD) == 0x143);
  SN_CHECK(sn_bytelevel_char(0xE9) == 0xE9);
  SN_CHECK(sn_bytelevel_byte(0x144) == -1 && sn_bytelevel_byte(' ') == -1);
}

/* The class the split regex gives c: as the fixture script asks the Rust
 * library, by whether "a"+c, "1"+c or "!"+c stays one piece. */
static char regex_class(const sn_bytelevel_t *bl, sn_bytelevel_scratch_t *sc, uint32_t c) {
  static const uint32_t lead[3] = {'a', '1', '!'};
  static const char cls[3] = {'L', 'N', 'O'};
  sn_text_t t = {0};
  uint32_t cp[2], st[2] = {0, 1}, en[2] = {1, 2};
  t.cp = cp;
  t.start = st;
  t.end = en;
  t.len = 2;
  cp[1] = c;
  for (int i = 0; i < 3; i++) {
    cp[0] = lead[i];
    sinter_error_t err;
    sn_span_t all = {0, 2};
    if (sn_bytelevel_split(bl, &t, all, sc, &err) != SINTER_OK) return '?';
    if (sc->pieces.len == 1) return cls[i];
  }
  return 'S';
}

static void test_regex_classes(void) {
  size_t size;
  char *data = read_text(FIX "/bytelevel_classes.txt", &size);
  SN_CHECK(data != NULL);
  if (!data) return;
  sn_bytelevel_t bl;
  memset(&bl, 0, sizeof bl);
  bl.use_regex = 1;
  sinter_error_t err;
  SN_CHECK_OK(sn_bytelevel_compile(&bl, "test", &err), &err);
  sn_bytelevel_scratch_t sc;
  memset(&sc, 0, sizeof sc);
  size_t blocks = 0, bad = 0;
  for (char *p = data; bl.regex.onig && *p;) {
    unsigned block;
    unsigned long long want;
    if (sscanf(p, "%X %llx", &block, &want) != 2) break;
    uint64_t h = 0xCBF29CE484222325ULL;
    for (uint32_t c = block * 4096u; c < block * 4096u + 4096u; c++) {
      char k = (c >= 0xD800 && c <= 0xDFFF) ? 'x' : regex_class(&bl, &sc, c);
      h = (h ^ (unsigned char)k) * 0x100000001B3ULL;
    }
    if (h != want && ++bad <= 3) {
      fprintf(stderr, "ByteLevel regex classes of U+%04X..U+%04X differ from the Rust library's\n",
              block * 4096, block * 4096 + 4095);
    }
    blocks++;
    char *nl = strchr(p, '\n');
    if (!nl) break;
    p = nl + 1;
  }
  printf("  regex class blocks: %zu checked, %zu differ\n", blocks, bad);
  SN_CHECK(blocks == 272);
  SN_CHECK(bad == 0);
  sn_bytelevel_scratch_free(&sc);
  sn_bytelevel_free(&bl);
  free(data);
}

static void test_utf8_lossy(void) {
  static const struct {
    const char *in;
    size_t n;
    const char *want;
  } cases[] = {
      {"abc", 3, "abc"},
      {"\xC3\xA9", 2, "\xC3\xA9"},
      {"a\xC3", 2, "a\xEF\xBF\xBD"},
      {"\xF0\x9F\x98", 3, "\xEF\xBF\xBD"},         /* a truncated emoji: one U+FFFD */
      {"\xF0\x9F\x98x", 4, "\xEF\xBF\xBDx"},       /* cut short by another byte */
      {"\xE0\x80", 2, "\xEF\xBF\xBD\xEF\xBF\xBD"}, /* E0 needs A0..BF next */
      {"\xED\xA0\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* a surrogate */
      {"\xC0\xAF", 2, "\xEF\xBF\xBD\xEF\xBF\xBD"},                 /* overlong */
      {"\xF4\x90\x80\x80", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"\xFF", 1, "\xEF\xBF\xBD"},
      {"\xF0\x9F\x98\x80", 4, "\xF0\x9F\x98\x80"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char out[64];
    size_t n = sn_utf8_lossy((const unsigned char *)cases[i].in, cases[i].n, out);
    SN_CHECK_MSG(n == strlen(cases[i].want) && memcmp(out, cases[i].want, n) == 0, "case %zu", i);
  }
}

/* ------------------------------------------------------------ merges */

static void test_merge_order(void) {
  size_t size;
  char *data = read_text(FIX "/bpe_merges.json", &size);
  SN_CHECK(data != NULL);
  if (!data) return;
  cJSON *root = cJSON_ParseWithLength(data, size);
  free(data);
  char *json = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(root, "tokenizer"));
  sn_tokenizer_t *tok = NULL;
  sinter_error_t err;
  SN_CHECK_OK(load_str(json, &tok, &err), &err);
  free(json);
  size_t n = 0, bad = 0;
  sn_encoding_t enc;
  sn_encoding_init(&enc);
  const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
  for (const cJSON *c = cases ? cases->child : NULL; tok && c; c = c->next, n++) {
    const char *text = cJSON_GetObjectItemCaseSensitive(c, "text")->valuestring;
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(c, "ids");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(c, "offsets")->child;
    int ok = sn_tokenizer_encode(tok, text, strlen(text), NULL, 0, NULL, &enc, &err) == SINTER_OK;
    ok = ok && enc.length == (size_t)cJSON_GetArraySize(ids);
    size_t i = 0;
    for (const cJSON *x = ids->child; ok && x; x = x->next, i++) {
      ok = enc.ids[i] == (int32_t)x->valuedouble &&
           enc.char_offsets[i].start == (uint32_t)off->valuedouble &&
           enc.char_offsets[i].end == (uint32_t)off->next->valuedouble;
      off = off->next->next;
    }
    if (!ok && ++bad <= 3) fprintf(stderr, "merge order differs on \"%s\"\n", text);
  }
  printf("  merge cases: %zu checked, %zu differ\n", n, bad);
  SN_CHECK(n == 250 && bad == 0);
  sn_encoding_deinit(&enc);
  sn_tokenizer_destroy(tok);
  cJSON_Delete(root);
}

#define BPE_HEAD \
  "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2,\"c\":3,\"abc\":4}"

/* Encodes text with a tokenizer loaded from json; writes the ids. */
static size_t encode_ids(const char *json, const char *text, int32_t *ids, size_t cap) {
  sn_tokenizer_t *tok = NULL;
  sinter_error_t err;
  if (load_str(json, &tok, &err) != SINTER_OK) {
    fprintf(stderr, "load: %s\n", err.message);
    return (size_t)-1;
  }
  sn_encoding_t enc;
  sn_encoding_init(&enc);
  size_t n = (size_t)-1;
  if (sn_tokenizer_encode(tok, text, strlen(text), NULL, 0, NULL, &enc, &err) == SINTER_OK) {
    n = enc.length;
    for (size_t i = 0; i < n && i < cap; i++) ids[i] = enc.ids[i];
  }
  sn_encoding_deinit(&enc);
  sn_tokenizer_destroy(tok);
  return n;
}

static void test_merges_formats(void) {
  int32_t ids[8];
  /* Pairs, and the legacy strings with a "#version" line that does not count. */
  SN_CHECK(encode_ids(BPE_HEAD ",\"merges\":[[\"a\",\"b\"],[\"ab\",\"c\"]]}}", "abc", ids, 8) ==
               1 &&
           ids[0] == 4);
  SN_CHECK(encode_ids(BPE_HEAD ",\"merges\":[\"#version: 0.2\",\"a b\",\"ab c\"]}}", "abc", ids,
                      8) == 1 &&
           ids[0] == 4);
  SN_CHECK(encode_ids(BPE_HEAD ",\"merges\":[\"a b\"]}}", "abcab", ids, 8) == 3 && ids[0] == 2 &&
           ids[1] == 3 && ids[2] == 2);
  /* No unk token: an unknown character is dropped, as in Rust. */
  SN_CHECK(encode_ids(BPE_HEAD ",\"merges\":[]}}", "axb", ids, 8) == 2 && ids[0] == 0 &&
           ids[1] == 1);
  sn_tokenizer_t *tok = NULL;
  sinter_error_t err;
  SN_CHECK_ERR(load_str(BPE_HEAD ",\"merges\":[\"a b c\"]}}", &tok, &err), SINTER_ERR_FORMAT, &err,
               "model.merges[0]");
  SN_CHECK_ERR(load_str(BPE_HEAD ",\"merges\":[\"a b\",[\"ab\",\"c\"]]}}", &tok, &err),
               SINTER_ERR_FORMAT, &err, "all \"a b\" strings or all");
  SN_CHECK_ERR(load_str(BPE_HEAD ",\"merges\":[[\"a\",\"z\"]]}}", &tok, &err), SINTER_ERR_FORMAT,
               &err, "merge token \"z\" is not in the vocabulary");
  SN_CHECK_ERR(load_str(BPE_HEAD ",\"merges\":[[\"b\",\"c\"]]}}", &tok, &err), SINTER_ERR_FORMAT,
               &err, "merge token \"bc\" is not in the vocabulary");
  SN_CHECK_ERR(load_str(BPE_HEAD "}}", &tok, &err), SINTER_ERR_FORMAT, &err, "model.merges");
  SN_CHECK(tok == NULL);
}

static void test_refusals(void) {
  sn_tokenizer_t *tok = NULL;
  sinter_error_t err;
  SN_CHECK_ERR(load_str(BPE_HEAD ",\"merges\":[],\"dropout\":0.1}}", &tok, &err),
               SINTER_ERR_UNSUPPORTED, &err, "\"dropout\" (only null) in test.json");
  SN_CHECK_ERR(load_str(BPE_HEAD ",\"merges\":[],\"byte_fallback\":true,"
                                 "\"continuing_subword_prefix\":\"##\"}}",
                        &tok, &err),
               SINTER_ERR_UNSUPPORTED, &err, "byte_fallback together with");
  SN_CHECK_ERR(load_str(BPE_HEAD ",\"merges\":[]},\"pre_tokenizer\":{\"type\":\"Sequence\","
                                 "\"pretokenizers\":[{\"type\":\"ByteLevel\",\"add_prefix_space\":"
                                 "false,\"trim_offsets\":true},{\"type\":\"WhitespaceSplit\"}]}}",
                        &tok, &err),
               SINTER_ERR_UNSUPPORTED, &err,
               "unsupported pre_tokenizer \"WhitespaceSplit\" after ByteLevel in test.json");
  SN_CHECK_ERR(
      load_str(BPE_HEAD ",\"merges\":[]},\"pre_tokenizer\":{\"type\":\"ByteLevel\"}}", &tok, &err),
      SINTER_ERR_FORMAT, &err, "ByteLevel needs boolean");
  SN_CHECK_ERR(load_str(BPE_HEAD ",\"merges\":[]},\"post_processor\":{\"type\":"
                                 "\"RobertaProcessing\",\"sep\":[\"</s>\"]}}",
                        &tok, &err),
               SINTER_ERR_FORMAT, &err, "RobertaProcessing needs");
  SN_CHECK_ERR(
      load_str(BPE_HEAD ",\"merges\":[]},\"decoder\":{\"type\":\"BPEDecoder\"}}", &tok, &err),
      SINTER_ERR_FORMAT, &err, "decoder.suffix");
  SN_CHECK(tok == NULL);
  /* The unknown token is looked up when a word needs it, as in Rust. */
  SN_CHECK_OK(load_str(BPE_HEAD ",\"merges\":[],\"unk_token\":\"<unk>\"}}", &tok, &err), &err);
  if (tok) {
    sn_encoding_t enc;
    sn_encoding_init(&enc);
    SN_CHECK_OK(sn_tokenizer_encode(tok, "ab", 2, NULL, 0, NULL, &enc, &err), &err);
    SN_CHECK_ERR(sn_tokenizer_encode(tok, "az", 2, NULL, 0, NULL, &enc, &err), SINTER_ERR_FORMAT,
                 &err, "unknown token \"<unk>\" is missing");
    sn_encoding_deinit(&enc);
    sn_tokenizer_destroy(tok);
  }
}

/* ------------------------------------------------------------ the RoBERTa fixture */

static sn_tokenizer_t *load_roberta(void) {
  sn_tokenizer_t *tok = NULL;
  sinter_error_t err;
  if (sn_tokenizer_load_dir(FIX "/roberta", &tok, &err) != SINTER_OK) {
    fprintf(stderr, "cannot load the roberta fixture: %s\n", err.message);
    return NULL;
  }
  return tok;
}

static void test_roberta_basics(void) {
  sn_tokenizer_t *tok = load_roberta();
  SN_CHECK(tok != NULL);
  if (!tok) return;
  SN_CHECK(strcmp(sn_tokenizer_model_name(tok), "BPE") == 0);
  SN_CHECK(sn_tokenizer_token_to_id(tok, "<s>", 3) == 0);
  SN_CHECK(sn_tokenizer_token_to_id(tok, "</s>", 4) == 2);
  sn_encoding_t enc;
  sn_encoding_init(&enc);
  sinter_error_t err;
  /* Pair: <s> A </s></s> B </s>, every type id 0. */
  SN_CHECK_OK(sn_tokenizer_encode(tok, "Hello", 5, "world", 5, NULL, &enc, &err), &err);
  int zero = 1;
  for (size_t i = 0; i < enc.length; i++) zero &= enc.type_ids[i] == 0;
  SN_CHECK(zero && enc.ids[0] == 0 && enc.ids[enc.length - 1] == 2);
  /* Without special tokens, still all 0 (RobertaProcessing resets them). */
  sn_encode_options_t o = sn_encode_options_default();
  o.add_special_tokens = 0;
  SN_CHECK_OK(sn_tokenizer_encode(tok, "Hello", 5, "world", 5, &o, &enc, &err), &err);
  zero = 1;
  for (size_t i = 0; i < enc.length; i++) zero &= enc.type_ids[i] == 0;
  SN_CHECK(zero && enc.sequence_ids[enc.length - 1] == 1);
  /* Byte offsets and char offsets both trimmed: " é" is 'Ġ' + 2 byte chars. */
  const char *t = "x \xC3\xA9";
  SN_CHECK_OK(sn_tokenizer_encode(tok, t, strlen(t), NULL, 0, &o, &enc, &err), &err);
  SN_CHECK(enc.length >= 2 && enc.offsets[enc.length - 1].end == 4 &&
           enc.char_offsets[enc.length - 1].end == 3);
  /* Decoding joins bytes across tokens, then UTF-8 (lossy). */
  const char *s = "caf\xC3\xA9 \xE6\x9D\xB1\xE4\xBA\xAC <mask> \xF0\x9F\x98\x80!";
  SN_CHECK_OK(sn_tokenizer_encode(tok, s, strlen(s), NULL, 0, NULL, &enc, &err), &err);
  char *text = NULL;
  SN_CHECK_OK(sn_tokenizer_decode(tok, enc.ids, enc.length, 0, &text, NULL, &err), &err);
  SN_CHECK(text && strncmp(text, "<s>caf\xC3\xA9", 8) == 0);
  free(text);
  /* <mask> strips the space before it (lstrip), so skipping it drops both. */
  SN_CHECK_OK(sn_tokenizer_decode(tok, enc.ids + 1, enc.length - 2, 1, &text, NULL, &err), &err);
  const char *want = "caf\xC3\xA9 \xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x98\x80!";
  SN_CHECK_MSG(text && strcmp(text, want) == 0, "decoded \"%s\"", text ? text : "");
  free(text);
  /* A lone first byte of "é" decodes to U+FFFD. */
  int32_t c3 = sn_tokenizer_token_to_id(tok, "\xC3\x83", 2); /* 'Ã' = byte 0xC3 */
  SN_CHECK(c3 >= 0);
  SN_CHECK_OK(sn_tokenizer_decode(tok, &c3, 1, 0, &text, NULL, &err), &err);
  SN_CHECK(text && strcmp(text, "\xEF\xBF\xBD") == 0);
  free(text);
  sn_encoding_deinit(&enc);
  sn_tokenizer_destroy(tok);
}

/* tokenizer_config.json's add_prefix_space / trim_offsets win over
 * tokenizer.json for a RobertaTokenizer, as AutoTokenizer loads it; the ids
 * and offsets are transformers 5.23's for this folder and text. */
static void test_roberta_config_override(void) {
  size_t size;
  char *json = read_text(FIX "/roberta/tokenizer.json", &size);
  SN_CHECK(json != NULL);
  if (!json) return;
  static const char cfg[] =
      "{\"tokenizer_class\":\"RobertaTokenizer\",\"add_prefix_space\":true,"
      "\"trim_offsets\":false}";
  sn_tokenizer_file_t files[2] = {{"tokenizer.json", json, size},
                                  {"tokenizer_config.json", cfg, sizeof cfg - 1}};
  sn_tokenizer_t *tok = NULL;
  sinter_error_t err;
  SN_CHECK_OK(sn_tokenizer_load_files(files, 2, "mem", &tok, &err), &err);
  sn_encoding_t enc;
  sn_encoding_init(&enc);
  static const int32_t want[] = {0, 638, 1463, 225, 992, 2};
  static const uint32_t off[] = {0, 0, 0, 1, 1, 5, 5, 6, 6, 12, 0, 0};
  if (tok && sn_tokenizer_encode(tok, "Hello  world", 12, NULL, 0, NULL, &enc, &err) == SINTER_OK) {
    int ok = enc.length == 6;
    for (size_t i = 0; ok && i < 6; i++)
      ok = enc.ids[i] == want[i] && enc.char_offsets[i].start == off[2 * i] &&
           enc.char_offsets[i].end == off[2 * i + 1];
    SN_CHECK(ok);
  } else {
    SN_CHECK(0);
  }
  sn_tokenizer_destroy(tok);
  /* Without the class, tokenizer.json's own settings hold. */
  SN_CHECK_OK(sn_tokenizer_load_files(files, 1, "mem", &tok, &err), &err);
  if (tok && sn_tokenizer_encode(tok, "Hello  world", 12, NULL, 0, NULL, &enc, &err) == SINTER_OK)
    SN_CHECK(enc.length == 6 && enc.ids[1] == 44 && enc.char_offsets[3].start == 6);
  sn_tokenizer_destroy(tok);
  sn_encoding_deinit(&enc);
  free(json);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One megabyte without a space is one regex piece and one BPE word: the
 * merge queue keeps it O(n log n). The times are printed, never asserted. */
static void test_huge_word(void) {
  sn_tokenizer_t *tok = load_roberta();
  SN_CHECK(tok != NULL);
  if (!tok) return;
  size_t n = 1u << 20;
  char *text = malloc(n);
  sn_encoding_t enc;
  sn_encoding_init(&enc);
  sinter_error_t err;
  static const char *const names[] = {"letters", "one letter", "CJK", "digits and dots"};
  for (int kind = 0; kind < 4; kind++) {
    size_t len = n;
    if (kind == 0) {
      uint32_t r = 12345;
      for (size_t i = 0; i < n; i++) {
        r = r * 1103515245u + 12345u;
        text[i] = (char)('a' + (r >> 16) % 26);
      }
    } else if (kind == 1) {
      memset(text, 'a', n);
    } else if (kind == 2) {
      len = n - n % 3;
      for (size_t i = 0; i < len; i += 3) memcpy(text + i, "\xE6\x9D\xB1", 3);
    } else {
      for (size_t i = 0; i < n; i++) text[i] = i % 3 == 2 ? '.' : (char)('0' + i % 10);
    }
    double t0 = now_s();
    SN_CHECK_OK(sn_tokenizer_encode(tok, text, len, NULL, 0, NULL, &enc, &err), &err);
    double t1 = now_s();
    int ok = enc.length > 2 && enc.offsets[1].start == 0;
    for (size_t i = 2; ok && i + 1 < enc.length; i++)
      ok = enc.offsets[i].start >= enc.offsets[i - 1].start;
    SN_CHECK(ok && enc.offsets[enc.length - 2].end == len);
    printf("  1 MiB of %-15s %7zu tokens in %.3f s\n", names[kind], enc.length, t1 - t0);
  }
  free(text);
  sn_encoding_deinit(&enc);
  sn_tokenizer_destroy(tok);
}

/* ------------------------------------------------------------ threads */

typedef struct worker {
  const sn_tokenizer_t *tok;
  uint32_t sum;
  int failed;
} worker_t;

static const char *const WORDS[] = {
    "hello",   "world",    "byte", "level", "tokenizer", "caf\xC3\xA9", "\xE6\x9D\xB1\xE4\xBA\xAC",
    "licence", "software", "the"};

static void *work(void *p) {
  worker_t *w = p;
  sn_encoding_t enc;
  sn_encoding_init(&enc);
  sinter_error_t err;
  char text[256];
  uint32_t r = 1;
  for (int it = 0; it < 20000; it++) {
    size_t len = 0;
    for (int k = 0; k < 4; k++) {
      r = r * 1103515245u + 12345u;
      len += (size_t)snprintf(text + len, sizeof text - len, " %s", WORDS[(r >> 16) % 10]);
    }
    if (sn_tokenizer_encode(w->tok, text, len, NULL, 0, NULL, &enc, &err) != SINTER_OK) {
      w->failed = 1;
      break;
    }
    for (size_t i = 0; i < enc.length; i++) w->sum = w->sum * 31u + (uint32_t)enc.ids[i];
  }
  sn_encoding_deinit(&enc);
  return NULL;
}

/* Two threads share a tokenizer (and so the BPE cache): each must get what
 * one thread alone gets. */
static void test_shared_cache(void) {
  sn_tokenizer_t *tok = load_roberta();
  SN_CHECK(tok != NULL);
  if (!tok) return;
  worker_t alone = {tok, 0, 0}, w[2] = {{tok, 0, 0}, {tok, 0, 0}};
  work(&alone);
  pthread_t th[2];
  for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, work, &w[i]);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  SN_CHECK(!alone.failed && !w[0].failed && !w[1].failed);
  SN_CHECK(w[0].sum == alone.sum && w[1].sum == alone.sum);
  sn_tokenizer_destroy(tok);
}

int main(void) {
  SN_RUN(test_byte_table);
  SN_RUN(test_utf8_lossy);
  SN_RUN(test_merges_formats);
  SN_RUN(test_refusals);
  SN_RUN(test_merge_order);
  SN_RUN(test_roberta_basics);
  SN_RUN(test_roberta_config_override);
  SN_RUN(test_shared_cache);
  SN_RUN(test_huge_word);
  SN_RUN(test_regex_classes);
  return SN_TEST_REPORT();
}
