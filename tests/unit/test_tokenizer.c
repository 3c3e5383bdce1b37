/*
 * test_tokenizer.c — the tokenizer against the Hugging Face `tokenizers`
 * library: every fixture line of every setting must agree exactly (ids, type
 * ids, attention mask, special-tokens mask, char offsets, decoded text,
 * errors), every code point must normalize and pre-tokenize as in Rust
 * (per-block digests), plus focused tests of input checking, limits, loader
 * refusals and the Rust-vs-utf8proc disagreements.
 *
 * Fixtures come from scripts/make_tokenizer_fixtures.py (see its header).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "test.h"
#include "tokenizer/internal.h"
#include "tokenizer/tokenizer.h"

#define FIX SN_TEST_FIXTURES "/tokenizer"

/* ------------------------------------------------------------ fixture helpers */

typedef struct corpus {
  char **text;
  size_t *len;
  size_t count;
} corpus_t;

static corpus_t g_corpus;

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Calls fn for each line of a text file (the buffer is modified in place). */
static char *read_text(const char *path, size_t *size) {
  char *data = NULL;
  sinter_error_t err;
  if (sn_file_read_all(path, 64u << 20, &data, size, &err) != SINTER_OK) {
    fprintf(stderr, "cannot read %s: %s\n", path, err.message);
    return NULL;
  }
  return data;
}

static int load_corpus(void) {
  if (g_corpus.count) return 1;
  size_t size;
  char *data = read_text(FIX "/corpus.jsonl", &size);
  if (!data) return 0;
  size_t lines = 0;
  for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
  g_corpus.text = calloc(lines, sizeof *g_corpus.text);
  g_corpus.len = calloc(lines, sizeof *g_corpus.len);
  char *p = data;
  while (*p) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = '\0';
    cJSON *j = cJSON_Parse(p);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "hex");
    size_t hl = cJSON_IsString(h) ? strlen(h->valuestring) : 0;
    char *t = malloc(hl / 2 + 1);
    for (size_t i = 0; i < hl / 2; i++) {
      t[i] = (char)(hexval(h->valuestring[2 * i]) * 16 + hexval(h->valuestring[2 * i + 1]));
    }
    t[hl / 2] = '\0';
    g_corpus.text[g_corpus.count] = t;
    g_corpus.len[g_corpus.count] = hl / 2;
    g_corpus.count++;
    cJSON_Delete(j);
    if (!nl) break;
    p = nl + 1;
  }
  free(data);
  return 1;
}

static void print_escaped(const char *s, size_t n) {
  fputc('"', stderr);
  for (size_t i = 0; i < n && i < 300; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') {
      fprintf(stderr, "\\x%02X", c);
    } else {
      fputc(c, stderr);
    }
  }
  fputc('"', stderr);
  if (n > 300) fprintf(stderr, "...(%zu bytes)", n);
}

static void print_tokens(const sn_tokenizer_t *tok, const int32_t *ids, size_t n) {
  fputc('[', stderr);
  for (size_t i = 0; i < n; i++) {
    const char *s = sn_tokenizer_id_to_token(tok, ids[i], NULL);
    fprintf(stderr, "%s%s", i ? " " : "", s ? s : "?");
  }
  fputs("]\n", stderr);
}

/* Compares one encoding with one expected row; returns 1 when equal. */
static int compare_row(const sn_tokenizer_t *tok, const char *setting, const cJSON *row,
                       const sn_encoding_t *enc, int got_error, const char *got_message) {
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(row, "a");
  const cJSON *b = cJSON_GetObjectItemCaseSensitive(row, "b");
  const cJSON *experr = cJSON_GetObjectItemCaseSensitive(row, "error");
  char why[256] = "";
  size_t first_diff = (size_t)-1;
  int32_t want_ids[4096];
  size_t want_n = 0;
  if (experr) {
    if (!got_error)
      snprintf(why, sizeof why, "expected error \"%s\", got success", experr->valuestring);
  } else if (got_error) {
    snprintf(why, sizeof why, "unexpected error: %.200s", got_message);
  } else {
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(row, "ids");
    const char *types = cJSON_GetObjectItemCaseSensitive(row, "types")->valuestring;
    const char *mask = cJSON_GetObjectItemCaseSensitive(row, "mask")->valuestring;
    const char *special = cJSON_GetObjectItemCaseSensitive(row, "special")->valuestring;
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(row, "offsets");
    for (const cJSON *x = ids->child; x && want_n < 4096; x = x->next) {
      want_ids[want_n++] = (int32_t)x->valuedouble;
    }
    const cJSON *o = offs->child;
    for (size_t i = 0; i < want_n || i < enc->length; i++) {
      if (i >= want_n || i >= enc->length) {
        snprintf(why, sizeof why, "length %zu, want %zu", enc->length, want_n);
        first_diff = i;
        break;
      }
      int os = o ? (int)o->valuedouble : -1;
      int oe = o && o->next ? (int)o->next->valuedouble : -1;
      if (o) o = o->next ? o->next->next : NULL;
      const char *field = NULL;
      if (enc->ids[i] != want_ids[i]) {
        field = "id";
      } else if (enc->type_ids[i] != types[i] - '0') {
        field = "type id";
      } else if (enc->attention_mask[i] != mask[i] - '0') {
        field = "attention mask";
      } else if (enc->special_tokens_mask[i] != special[i] - '0') {
        field = "special-tokens mask";
      } else if ((int)enc->char_offsets[i].start != os || (int)enc->char_offsets[i].end != oe) {
        snprintf(why, sizeof why, "char offsets (%u, %u), want (%d, %d)",
                 enc->char_offsets[i].start, enc->char_offsets[i].end, os, oe);
        first_diff = i;
        break;
      }
      if (field) {
        snprintf(why, sizeof why, "%s differs", field);
        first_diff = i;
        break;
      }
    }
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(row, "decoded");
    if (!why[0] && cJSON_IsString(dec)) {
      char *text = NULL;
      sinter_error_t err;
      if (sn_tokenizer_decode(tok, enc->ids, enc->length, 1, &text, NULL, &err) != SINTER_OK ||
          strcmp(text, dec->valuestring) != 0) {
        snprintf(why, sizeof why, "decode gives \"%.80s\", want \"%.80s\"", text ? text : "",
                 dec->valuestring);
      }
      free(text);
    }
  }
  if (!why[0]) return 1;
  int ai = (int)a->valuedouble;
  fprintf(stderr, "MISMATCH %s line %d", setting, ai);
  if (b) fprintf(stderr, " pair line %d", (int)b->valuedouble);
  fprintf(stderr, ": %s", why);
  if (first_diff != (size_t)-1) fprintf(stderr, " (first difference at token %zu)", first_diff);
  fprintf(stderr, "\n  text: ");
  print_escaped(g_corpus.text[ai], g_corpus.len[ai]);
  fprintf(stderr, "\n  want: ");
  print_tokens(tok, want_ids, want_n);
  fprintf(stderr, "  got:  ");
  print_tokens(tok, enc->ids, enc->length);
  return 0;
}

static void set_options(sn_tokenizer_t *tok, const cJSON *setting) {
  const cJSON *tr = cJSON_GetObjectItemCaseSensitive(setting, "truncation");
  const cJSON *pad = cJSON_GetObjectItemCaseSensitive(setting, "padding");
  const cJSON *load = cJSON_GetObjectItemCaseSensitive(setting, "load");
  if (cJSON_IsString(load) && strcmp(load->valuestring, "dir") == 0) return; /* as loaded */
  if (cJSON_IsObject(tr)) {
    sn_truncation_t t = {1, 0, SN_TRUNCATE_LONGEST_FIRST, SN_SIDE_RIGHT};
    t.max_length = (size_t)cJSON_GetObjectItemCaseSensitive(tr, "max_length")->valuedouble;
    const char *s = cJSON_GetObjectItemCaseSensitive(tr, "strategy")->valuestring;
    if (strcmp(s, "only_first") == 0) t.strategy = SN_TRUNCATE_ONLY_FIRST;
    if (strcmp(s, "only_second") == 0) t.strategy = SN_TRUNCATE_ONLY_SECOND;
    const char *d = cJSON_GetObjectItemCaseSensitive(tr, "direction")->valuestring;
    if (strcmp(d, "left") == 0) t.direction = SN_SIDE_LEFT;
    sn_tokenizer_set_truncation(tok, &t);
  } else {
    sn_tokenizer_set_truncation(tok, NULL);
  }
  if (cJSON_IsObject(pad)) {
    sn_padding_t p;
    memset(&p, 0, sizeof p);
    const cJSON *len = cJSON_GetObjectItemCaseSensitive(pad, "length");
    p.strategy = cJSON_IsNumber(len) ? SN_PAD_FIXED : SN_PAD_LONGEST;
    if (cJSON_IsNumber(len)) p.length = (size_t)len->valuedouble;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(pad, "pad_to_multiple_of");
    if (cJSON_IsNumber(m)) p.multiple_of = (size_t)m->valuedouble;
    const char *d = cJSON_GetObjectItemCaseSensitive(pad, "direction")->valuestring;
    if (strcmp(d, "left") == 0) p.direction = SN_SIDE_LEFT;
    p.pad_id = (int32_t)cJSON_GetObjectItemCaseSensitive(pad, "pad_id")->valuedouble;
    p.pad_type_id = (int32_t)cJSON_GetObjectItemCaseSensitive(pad, "pad_type_id")->valuedouble;
    sn_tokenizer_set_padding(tok, &p);
  } else {
    sn_tokenizer_set_padding(tok, NULL);
  }
}

/* Runs one setting; returns the number of mismatching rows. */
static size_t run_setting(const cJSON *setting, size_t *rows_out) {
  const char *name = cJSON_GetObjectItemCaseSensitive(setting, "name")->valuestring;
  const char *folder = cJSON_GetObjectItemCaseSensitive(setting, "folder")->valuestring;
  const char *expected = cJSON_GetObjectItemCaseSensitive(setting, "expected")->valuestring;
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", FIX, folder);
  sn_tokenizer_t *tok = NULL;
  sinter_error_t err;
  if (sn_tokenizer_load_dir(path, &tok, &err) != SINTER_OK) {
    fprintf(stderr, "setting %s: cannot load %s: %s\n", name, path, err.message);
    return 1;
  }
  set_options(tok, setting);
  snprintf(path, sizeof path, "%s/%s", FIX, expected);
  size_t size;
  char *data = read_text(path, &size);
  if (!data) {
    sn_tokenizer_destroy(tok);
    return 1;
  }
  size_t nrows = 0;
  for (size_t i = 0; i < size; i++) nrows += data[i] == '\n';
  cJSON **rows = calloc(nrows, sizeof *rows);
  size_t n = 0;
  for (char *p = data; *p && n < nrows;) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = '\0';
    rows[n++] = cJSON_Parse(p);
    if (!nl) break;
    p = nl + 1;
  }
  free(data);
  size_t bad = 0;
  sn_encoding_t encs[64];
  for (int i = 0; i < 64; i++) sn_encoding_init(&encs[i]);
  for (size_t r = 0; r < n;) {
    /* A group is one batch (rows sharing "batch") or a single row. */
    const cJSON *bt = cJSON_GetObjectItemCaseSensitive(rows[r], "batch");
    size_t g = 1;
    while (bt && r + g < n && g < 64) {
      const cJSON *nb = cJSON_GetObjectItemCaseSensitive(rows[r + g], "batch");
      if (!nb || nb->valuedouble != bt->valuedouble) break;
      g++;
    }
    const char *texts[64], *pairs[64];
    size_t lens[64], plens[64];
    int has_pair = cJSON_GetObjectItemCaseSensitive(rows[r], "b") != NULL;
    for (size_t k = 0; k < g; k++) {
      int a = (int)cJSON_GetObjectItemCaseSensitive(rows[r + k], "a")->valuedouble;
      texts[k] = g_corpus.text[a];
      lens[k] = g_corpus.len[a];
      const cJSON *b = cJSON_GetObjectItemCaseSensitive(rows[r + k], "b");
      pairs[k] = b ? g_corpus.text[(int)b->valuedouble] : NULL;
      plens[k] = b ? g_corpus.len[(int)b->valuedouble] : 0;
    }
    sinter_status_t st;
    if (bt) {
      st = sn_tokenizer_encode_batch(tok, g, texts, lens, has_pair ? pairs : NULL, plens, NULL,
                                     encs, &err);
    } else {
      st = sn_tokenizer_encode(tok, texts[0], lens[0], pairs[0], plens[0], NULL, &encs[0], &err);
    }
    for (size_t k = 0; k < g; k++) {
      if (!compare_row(tok, name, rows[r + k], &encs[k], st != SINTER_OK, err.message)) {
        bad++;
        if (bad > 8) break;
      }
    }
    if (bad > 8) {
      fprintf(stderr, "setting %s: too many mismatches, stopping\n", name);
      break;
    }
    r += g;
  }
  for (int i = 0; i < 64; i++) sn_encoding_deinit(&encs[i]);
  for (size_t i = 0; i < n; i++) cJSON_Delete(rows[i]);
  free(rows);
  sn_tokenizer_destroy(tok);
  *rows_out = n;
  return bad;
}

/* ------------------------------------------------------------ tests */

static void test_fixture_agreement(void) {
  SN_CHECK(load_corpus());
  SN_CHECK(g_corpus.count >= 5000);
  size_t size;
  char *data = read_text(FIX "/settings.json", &size);
  SN_CHECK(data != NULL);
  if (!data) return;
  cJSON *settings = cJSON_Parse(data);
  free(data);
  size_t total = 0;
  for (const cJSON *s = settings ? settings->child : NULL; s; s = s->next) {
    size_t rows = 0;
    size_t bad = run_setting(s, &rows);
    const char *name = cJSON_GetObjectItemCaseSensitive(s, "name")->valuestring;
    printf("  setting %-22s %5zu cases, %zu mismatches\n", name, rows, bad);
    SN_CHECK_MSG(bad == 0, "setting %s disagrees with Hugging Face tokenizers", name);
    SN_CHECK(rows > 0);
    total += rows;
  }
  SN_CHECK(total > 20000);
  cJSON_Delete(settings);
}

/* One code point through a BertNormalizer with the given flags, as hex. */
static void normalize_cp(uint32_t c, int lower, int strip, char *out, size_t cap) {
  sn_normalizer_t n;
  memset(&n, 0, sizeof n);
  n.count = 1;
  n.steps[0].kind = SN_NORM_BERT;
  n.steps[0].clean_text = 1;
  n.steps[0].handle_chinese = 1;
  n.steps[0].lowercase = (uint8_t)lower;
  n.steps[0].strip_accents = (uint8_t)strip;
  sn_text_t t = {0}, tmp = {0};
  sinter_error_t err;
  size_t w = 0;
  out[0] = '\0';
  if (sn_text_reserve(&t, 1, &err) == SINTER_OK) {
    sn_text_push(&t, c, 0, 4);
    if (sn_normalize(&n, &t, &tmp, NULL, NULL, &err) == SINTER_OK) {
      for (size_t i = 0; i < t.len && w + 12 < cap; i++) {
        w += (size_t)snprintf(out + w, cap - w, "%s%X", i ? " " : "", t.cp[i]);
      }
    }
  }
  sn_text_free(&t);
  sn_text_free(&tmp);
}

static void test_codepoint_digests(void) {
  size_t size;
  char *data = read_text(FIX "/codepoints.txt", &size);
  SN_CHECK(data != NULL);
  if (!data) return;
  size_t blocks = 0, bad = 0;
  char *p = data;
  while (*p) {
    unsigned block;
    unsigned long long want;
    if (sscanf(p, "%X %llx", &block, &want) != 2) break;
    uint64_t h = 0xCBF29CE484222325ULL;
    static char lines[256][300];
    int nl = 0;
    for (uint32_t c = block * 256u; c < block * 256u + 256u; c++) {
      if (c >= 0xD800 && c <= 0xDFFF) continue;
      char f[4][64];
      normalize_cp(c, 1, 1, f[0], sizeof f[0]);
      normalize_cp(c, 0, 0, f[1], sizeof f[1]);
      normalize_cp(c, 1, 0, f[2], sizeof f[2]);
      normalize_cp(c, 0, 1, f[3], sizeof f[3]);
      char bert = sn_uc_is_whitespace(c) ? 'W' : sn_uc_is_punctuation(c) ? 'P' : 'O';
      char ws = sn_uc_is_word(c) ? 'w' : sn_uc_is_whitespace(c) ? 's' : 'o';
      char line[300];
      snprintf(line, sizeof line, "%X|%s|%s|%s|%s|%c|%c\n", c, f[0], f[1], f[2], f[3], bert, ws);
      snprintf(lines[nl++], sizeof lines[0], "%s", line);
      for (const char *q = line; *q; q++) {
        h = (h ^ (unsigned char)*q) * 0x100000001B3ULL;
      }
    }
    if (h != want) {
      bad++;
      if (bad <= 3) {
        fprintf(stderr,
                "code point block %X (U+%04X..U+%04X) differs from the Rust library; "
                "ours (cp|lower+strip|cased|lower|strip|bert|ws):\n",
                block, block * 256, block * 256 + 255);
        for (int i = 0; i < nl && i < 256; i++) fprintf(stderr, "    %s", lines[i]);
      }
    }
    blocks++;
    char *nlp = strchr(p, '\n');
    if (!nlp) break;
    p = nlp + 1;
  }
  free(data);
  printf("  code point blocks: %zu checked, %zu differ\n", blocks, bad);
  SN_CHECK(blocks == 0x110000 / 256);
  SN_CHECK_MSG(bad == 0, "%zu blocks of code points differ", bad);
}

/* One code point through one normalizer kind: its output as "%X %X ...". */
static void form_cp(uint32_t c, sn_norm_kind_t kind, char *out, size_t cap) {
  sn_normalizer_t n;
  memset(&n, 0, sizeof n);
  n.count = 1;
  n.steps[0].kind = kind;
  sn_text_t t = {0}, tmp = {0};
  sinter_error_t err;
  size_t w = 0;
  out[0] = '\0';
  if (sn_text_reserve(&t, 1, &err) == SINTER_OK) {
    sn_text_push(&t, c, 0, 4);
    if (sn_normalize(&n, &t, &tmp, NULL, NULL, &err) == SINTER_OK) {
      for (size_t i = 0; i < t.len && w + 12 < cap; i++) {
        w += (size_t)snprintf(out + w, cap - w, "%s%X", i ? " " : "", t.cp[i]);
      }
    }
  }
  sn_text_free(&t);
  sn_text_free(&tmp);
}

/* NFC, NFKC and NFKD of every code point against the Rust library's
 * (unicode_forms.txt: digests per block of 256). */
static void test_unicode_form_digests(void) {
  size_t size;
  char *data = read_text(FIX "/unicode_forms.txt", &size);
  SN_CHECK(data != NULL);
  if (!data) return;
  size_t blocks = 0, bad = 0;
  for (char *p = data; *p;) {
    unsigned block;
    unsigned long long want;
    if (sscanf(p, "%X %llx", &block, &want) != 2) break;
    uint64_t h = 0xCBF29CE484222325ULL;
    for (uint32_t c = block * 256u; c < block * 256u + 256u; c++) {
      if (c >= 0xD800 && c <= 0xDFFF) continue;
      char f[3][160];
      form_cp(c, SN_NORM_NFC, f[0], sizeof f[0]);
      form_cp(c, SN_NORM_NFKC, f[1], sizeof f[1]);
      form_cp(c, SN_NORM_NFKD, f[2], sizeof f[2]);
      char line[520];
      snprintf(line, sizeof line, "%X|%s|%s|%s\n", c, f[0], f[1], f[2]);
      for (const char *q = line; *q; q++) h = (h ^ (unsigned char)*q) * 0x100000001B3ULL;
    }
    if (h != want) {
      bad++;
      if (bad <= 5) {
        fprintf(stderr, "unicode forms: block %X (U+%04X..U+%04X) differs from the Rust library\n",
                block, block * 256, block * 256 + 255);
      }
    }
    blocks++;
    char *nlp = strchr(p, '\n');
    if (!nlp) break;
    p = nlp + 1;
  }
  free(data);
  printf("  NFC/NFKC/NFKD blocks: %zu checked, %zu differ\n", blocks, bad);
  SN_CHECK(blocks == 0x110000 / 256);
  SN_CHECK_MSG(bad == 0, "%zu blocks of code points normalize differently", bad);
}

static sn_tokenizer_t *load_minilm(void) {
  sn_tokenizer_t *tok = NULL;
  sinter_error_t err;
  SN_CHECK_OK(sn_tokenizer_load_dir(FIX "/minilm", &tok, &err), &err);
  if (tok) {
    sn_tokenizer_set_truncation(tok, NULL);
    sn_tokenizer_set_padding(tok, NULL);
  }
  return tok;
}

static void test_loaded_settings(void) {
  sn_tokenizer_t *tok = NULL;
  sinter_error_t err;
  SN_CHECK_OK(sn_tokenizer_load_dir(FIX "/minilm", &tok, &err), &err);
  if (!tok) return;
  sn_truncation_t tr;
  sn_padding_t pad;
  sn_tokenizer_get_truncation(tok, &tr);
  sn_tokenizer_get_padding(tok, &pad);
  SN_CHECK(tr.enabled && tr.max_length == 128 && tr.strategy == SN_TRUNCATE_LONGEST_FIRST);
  SN_CHECK(pad.strategy == SN_PAD_FIXED && pad.length == 128 && pad.pad_id == 0);
  SN_CHECK(sn_tokenizer_vocab_size(tok) == 30522);
  SN_CHECK(sn_tokenizer_token_to_id(tok, "[CLS]", 5) == 101);
  SN_CHECK(sn_tokenizer_token_to_id(tok, "hello", 5) == 7592);
  SN_CHECK(sn_tokenizer_token_to_id(tok, "no-such-token", 13) == -1);
  SN_CHECK(strcmp(sn_tokenizer_id_to_token(tok, 102, NULL), "[SEP]") == 0);
  SN_CHECK(sn_tokenizer_id_to_token(tok, 999999, NULL) == NULL);
  SN_CHECK(strcmp(sn_tokenizer_model_name(tok), "WordPiece") == 0);
  sn_encoding_t enc;
  sn_encoding_init(&enc);
  SN_CHECK_OK(sn_tokenizer_encode(tok, "hi", 2, NULL, 0, NULL, &enc, &err), &err);
  SN_CHECK(enc.length == 128 && enc.attention_mask[2] == 1 && enc.attention_mask[3] == 0);
  sn_encoding_deinit(&enc);
  sn_tokenizer_destroy(tok);
}

static void test_invalid_utf8(void) {
  sn_tokenizer_t *tok = load_minilm();
  if (!tok) return;
  sn_encoding_t enc;
  sn_encoding_init(&enc);
  sinter_error_t err;
  SN_CHECK_ERR(sn_tokenizer_encode(tok,
                                   "ab\xff"
                                   "cd",
                                   5, NULL, 0, NULL, &enc, &err),
               SINTER_ERR_INVALID_ARGUMENT, &err, "byte offset 2");
  SN_CHECK_ERR(sn_tokenizer_encode(tok, "ok", 2, "x\xc3", 2, NULL, &enc, &err),
               SINTER_ERR_INVALID_ARGUMENT, &err, "pair text: invalid UTF-8 at byte offset 1");
  /* Overlong, surrogate and out-of-range sequences are invalid too. */
  SN_CHECK_ERR(sn_tokenizer_encode(tok, "\xc0\xaf", 2, NULL, 0, NULL, &enc, &err),
               SINTER_ERR_INVALID_ARGUMENT, &err, "byte offset 0");
  SN_CHECK_ERR(sn_tokenizer_encode(tok, "a\xed\xa0\x80", 4, NULL, 0, NULL, &enc, &err),
               SINTER_ERR_INVALID_ARGUMENT, &err, "byte offset 1");
  SN_CHECK_ERR(sn_tokenizer_encode(tok, "abc\xf4\x90\x80\x80", 7, NULL, 0, NULL, &enc, &err),
               SINTER_ERR_INVALID_ARGUMENT, &err, "byte offset 3");
  sn_encoding_deinit(&enc);
  sn_tokenizer_destroy(tok);
}

static void test_empty_text(void) {
  sn_tokenizer_t *tok = load_minilm();
  if (!tok) return;
  sn_encoding_t enc;
  sn_encoding_init(&enc);
  sinter_error_t err;
  SN_CHECK_OK(sn_tokenizer_encode(tok, "", 0, NULL, 0, NULL, &enc, &err), &err);
  SN_CHECK(enc.length == 2 && enc.ids[0] == 101 && enc.ids[1] == 102);
  SN_CHECK_OK(sn_tokenizer_encode(tok, "", 0, "", 0, NULL, &enc, &err), &err);
  SN_CHECK(enc.length == 3 && enc.type_ids[2] == 1);
  sn_encode_options_t o = sn_encode_options_default();
  o.add_special_tokens = 0;
  SN_CHECK_OK(sn_tokenizer_encode(tok, NULL, 0, NULL, 0, &o, &enc, &err), &err);
  SN_CHECK(enc.length == 0);
  sn_encoding_deinit(&enc);
  sn_tokenizer_destroy(tok);
}

static void test_huge_text(void) {
  sn_tokenizer_t *tok = load_minilm();
  if (!tok) return;
  const size_t n = 10u << 20;
  char *text = malloc(n);
  const char *unit = "The quick brown fox, naïve café 東京; ";
  size_t ul = strlen(unit);
  for (size_t i = 0; i < n; i++) text[i] = unit[i % ul];
  size_t end = n;
  while (end > 0 && ((unsigned char)text[end - 1] & 0xC0) == 0x80) end--;
  if (end > 0 && (unsigned char)text[end - 1] >= 0xC0) end--;
  sn_encoding_t enc;
  sn_encoding_init(&enc);
  sinter_error_t err;
  SN_CHECK_OK(sn_tokenizer_encode(tok, text, end, NULL, 0, NULL, &enc, &err), &err);
  SN_CHECK(enc.length > n / 8);
  SN_CHECK(enc.ids[0] == 101 && enc.ids[enc.length - 1] == 102);
  int monotonic = 1;
  for (size_t i = 2; i + 1 < enc.length; i++) {
    monotonic &= enc.offsets[i].start >= enc.offsets[i - 1].end;
  }
  SN_CHECK(monotonic);
  SN_CHECK(enc.offsets[enc.length - 2].end <= end);
  /* One 10 MB "word": a single [UNK], found without rescanning. */
  memset(text, 'a', n);
  SN_CHECK_OK(sn_tokenizer_encode(tok, text, n, NULL, 0, NULL, &enc, &err), &err);
  SN_CHECK(enc.length == 3 && enc.ids[1] == 100 && enc.offsets[1].end == n);
  /* Many words just over the per-word limit. */
  size_t m = n - n % 102;
  for (size_t i = 0; i < m; i++) text[i] = (i % 102 == 101) ? ' ' : 'b';
  SN_CHECK_OK(sn_tokenizer_encode(tok, text, m, NULL, 0, NULL, &enc, &err), &err);
  SN_CHECK(enc.length == 2 + m / 102 && enc.ids[1] == 100 && enc.ids[m / 102] == 100);
  free(text);
  sn_encoding_deinit(&enc);
  sn_tokenizer_destroy(tok);
}

static sinter_status_t load_str(const char *json, sn_tokenizer_t **tok, sinter_error_t *err) {
  return sn_tokenizer_load_json(json, strlen(json), "test.json", tok, err);
}

#define MODEL_OK "\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"[UNK]\":0,\"a\":1,\"##b\":2}}"

static void test_loader_refusals(void) {
  sn_tokenizer_t *tok = NULL;
  sinter_error_t err;
  SN_CHECK_ERR(load_str("{\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}", &tok, &err),
               SINTER_ERR_UNSUPPORTED, &err,
               "unsupported tokenizer model \"WordLevel\" in test.json");
  SN_CHECK_ERR(load_str("{\"model\":{\"type\":\"Unigram\"}}", &tok, &err), SINTER_ERR_FORMAT, &err,
               "\"model.vocab\" must be an array");
  SN_CHECK_ERR(load_str("{" MODEL_OK ",\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":["
                        "{\"type\":\"NFD\"},{\"type\":\"Replace\"}]}}",
                        &tok, &err),
               SINTER_ERR_FORMAT, &err, "normalizer Replace without \"content\"");
  SN_CHECK_ERR(load_str("{" MODEL_OK ",\"normalizer\":{\"type\":\"Replace\",\"content\":\"x\","
                        "\"pattern\":{\"Regex\":\"(a\"}}}",
                        &tok, &err),
               SINTER_ERR_FORMAT, &err, "normalizer.pattern: the pattern does not compile");
  SN_CHECK_ERR(load_str("{" MODEL_OK ",\"normalizer\":{\"type\":\"NFKC_Casefold\"}}", &tok, &err),
               SINTER_ERR_UNSUPPORTED, &err, "unsupported normalizer \"NFKC_Casefold\"");
  SN_CHECK_ERR(load_str("{" MODEL_OK ",\"normalizer\":{\"type\":\"Precompiled\","
                        "\"precompiled_charsmap\":\"@@@\"}}",
                        &tok, &err),
               SINTER_ERR_FORMAT, &err, "precompiled_charsmap");
  SN_CHECK_ERR(
      load_str("{" MODEL_OK ",\"pre_tokenizer\":{\"type\":\"CharDelimiterSplit\"}}", &tok, &err),
      SINTER_ERR_UNSUPPORTED, &err, "unsupported pre_tokenizer \"CharDelimiterSplit\"");
  SN_CHECK_ERR(load_str("{" MODEL_OK ",\"pre_tokenizer\":{\"type\":\"Metaspace\","
                        "\"prepend_scheme\":\"sometimes\"}}",
                        &tok, &err),
               SINTER_ERR_UNSUPPORTED, &err, "prepend_scheme \"sometimes\"");
  SN_CHECK_ERR(load_str("{" MODEL_OK ",\"pre_tokenizer\":{\"type\":\"Split\",\"behavior\":"
                        "\"Isolated\",\"pattern\":{\"Regex\":\"[\"}}}",
                        &tok, &err),
               SINTER_ERR_FORMAT, &err, "pre_tokenizer.pattern: the pattern does not compile");
  SN_CHECK_ERR(
      load_str("{" MODEL_OK ",\"post_processor\":{\"type\":\"TokenTypeProcessing\"}}", &tok, &err),
      SINTER_ERR_UNSUPPORTED, &err, "unsupported post_processor \"TokenTypeProcessing\"");
  SN_CHECK_ERR(load_str("{\"model\":{\"type\":\"Unigram\",\"vocab\":[[\"a\"]]}}", &tok, &err),
               SINTER_ERR_FORMAT, &err, "model.vocab[0] must be a [piece, score] pair");
  SN_CHECK_ERR(load_str("{\"model\":{\"type\":\"Unigram\",\"unk_id\":3,\"vocab\":[[\"a\",-1]]}}",
                        &tok, &err),
               SINTER_ERR_FORMAT, &err, "unk_id");
  SN_CHECK_ERR(load_str("{" MODEL_OK ",\"decoder\":{\"type\":\"Hieroglyph\"}}", &tok, &err),
               SINTER_ERR_UNSUPPORTED, &err, "unsupported decoder \"Hieroglyph\"");
  SN_CHECK_ERR(
      load_str("{" MODEL_OK ",\"truncation\":{\"max_length\":8,\"stride\":2}}", &tok, &err),
      SINTER_ERR_UNSUPPORTED, &err, "stride 2");
  SN_CHECK_ERR(load_str("{" MODEL_OK ",\"pre_tokenizer\":{\"type\":\"Punctuation\","
                        "\"behavior\":\"Sideways\"}}",
                        &tok, &err),
               SINTER_ERR_UNSUPPORTED, &err, "Punctuation behavior \"Sideways\"");
  SN_CHECK_ERR(load_str("{\"model\": [1,2", &tok, &err), SINTER_ERR_FORMAT, &err, "invalid JSON");
  SN_CHECK_ERR(load_str("{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":-1}}}", &tok, &err),
               SINTER_ERR_FORMAT, &err, "model.vocab");
  SN_CHECK_ERR(load_str("{" MODEL_OK ",\"added_tokens\":[{\"id\":5}]}", &tok, &err),
               SINTER_ERR_FORMAT, &err, "added_tokens[0] has no content");
  SN_CHECK_ERR(sn_tokenizer_load_dir(FIX "/no-such-dir", &tok, &err), SINTER_ERR_NOT_FOUND, &err,
               "no tokenizer.json or vocab.txt");
  SN_CHECK(tok == NULL);
  /* A minimal tokenizer works, and a missing [UNK] is reported when needed. */
  SN_CHECK_OK(
      load_str("{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":0,\"##b\":1}}}", &tok, &err),
      &err);
  if (tok) {
    sn_encoding_t enc;
    sn_encoding_init(&enc);
    SN_CHECK_OK(sn_tokenizer_encode(tok, "ab", 2, NULL, 0, NULL, &enc, &err), &err);
    SN_CHECK(enc.length == 2 && enc.ids[0] == 0 && enc.ids[1] == 1);
    SN_CHECK_ERR(sn_tokenizer_encode(tok, "zz", 2, NULL, 0, NULL, &enc, &err), SINTER_ERR_FORMAT,
                 &err, "unknown token \"[UNK]\" is missing");
    sn_encoding_deinit(&enc);
    sn_tokenizer_destroy(tok);
  }
}

/* ------------------------------------------------------------ files in memory */

/* Copies read_dir's files into buffers of exactly their size (no NUL), so that
 * ASan sees any read past the end, and any use after the caller frees them. */
static sn_tokenizer_file_t *copy_exact(const sn_tokenizer_file_t *files, size_t count) {
  sn_tokenizer_file_t *c = calloc(count ? count : 1, sizeof *c);
  for (size_t i = 0; c && i < count; i++) {
    char *d = malloc(files[i].size ? files[i].size : 1);
    if (d) memcpy(d, files[i].data, files[i].size);
    c[i] = (sn_tokenizer_file_t){files[i].name, d, files[i].size};
  }
  return c;
}

static void free_copy(sn_tokenizer_file_t *c, size_t count) {
  for (size_t i = 0; c && i < count; i++) free((char *)c[i].data);
  free(c);
}

/* Returns 1 when two tokenizers encode the first `n` corpus texts (alone and
 * as pairs) identically, with their own truncation and padding. */
static int same_encodings(const sn_tokenizer_t *a, const sn_tokenizer_t *b, size_t n) {
  if (!load_corpus()) return 0;
  if (n > g_corpus.count) n = g_corpus.count;
  sn_encoding_t ea, eb;
  sn_encoding_init(&ea);
  sn_encoding_init(&eb);
  int same = sn_tokenizer_vocab_size(a) == sn_tokenizer_vocab_size(b);
  for (size_t i = 0; same && i < n; i++) {
    const char *pair = i % 2 ? g_corpus.text[(i + 7) % g_corpus.count] : NULL;
    size_t pair_len = pair ? g_corpus.len[(i + 7) % g_corpus.count] : 0;
    sinter_error_t err_a, err_b;
    sinter_status_t sa = sn_tokenizer_encode(a, g_corpus.text[i], g_corpus.len[i], pair, pair_len,
                                             NULL, &ea, &err_a);
    sinter_status_t sb = sn_tokenizer_encode(b, g_corpus.text[i], g_corpus.len[i], pair, pair_len,
                                             NULL, &eb, &err_b);
    if (sa != sb || (sa != SINTER_OK && strcmp(err_a.message, err_b.message) != 0)) {
      same = 0;
    } else if (sa == SINTER_OK) {
      size_t len = ea.length;
      /* An empty encoding (no post-processor, empty text) has no arrays. */
      same = len == eb.length &&
             (len == 0 ||
              (!memcmp(ea.ids, eb.ids, len * sizeof *ea.ids) &&
               !memcmp(ea.type_ids, eb.type_ids, len * sizeof *ea.type_ids) &&
               !memcmp(ea.attention_mask, eb.attention_mask, len * sizeof *ea.attention_mask) &&
               !memcmp(ea.special_tokens_mask, eb.special_tokens_mask,
                       len * sizeof *ea.special_tokens_mask) &&
               !memcmp(ea.offsets, eb.offsets, len * sizeof *ea.offsets) &&
               !memcmp(ea.char_offsets, eb.char_offsets, len * sizeof *ea.char_offsets)));
    }
    if (!same) fprintf(stderr, "encodings differ at corpus text %zu\n", i);
  }
  sn_encoding_deinit(&ea);
  sn_encoding_deinit(&eb);
  return same;
}

/* Loads `folder` both ways and checks that read_dir returned the `want` files
 * (in sn_tokenizer_file_names order) and that both tokenizers agree. */
static void check_folder(const char *folder, const char *const *want, size_t want_count) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/%s", FIX, folder);
  sinter_error_t err;
  sn_tokenizer_t *from_dir = NULL, *from_files = NULL;
  sn_tokenizer_file_t *files = NULL;
  size_t count = 0;
  SN_CHECK_OK(sn_tokenizer_load_dir(dir, &from_dir, &err), &err);
  SN_CHECK_OK(sn_tokenizer_read_dir(dir, &files, &count, &err), &err);
  SN_CHECK_MSG(count == want_count, "%s: %zu files, want %zu", folder, count, want_count);
  for (size_t i = 0; i < count && i < want_count; i++)
    SN_CHECK_MSG(!strcmp(files[i].name, want[i]), "%s: file %zu is %s, want %s", folder, i,
                 files[i].name, want[i]);
  sn_tokenizer_file_t *copy = copy_exact(files, count);
  sn_tokenizer_files_free(files, count);
  SN_CHECK_OK(sn_tokenizer_load_files(copy, count, dir, &from_files, &err), &err);
  /* The bytes are borrowed for the call only: free them before encoding. */
  free_copy(copy, count);
  if (from_dir && from_files) {
    SN_CHECK_MSG(same_encodings(from_dir, from_files, 400), "%s: load_files differs", folder);
    sn_truncation_t ta, tb;
    sn_padding_t pa, pb;
    sn_tokenizer_get_truncation(from_dir, &ta);
    sn_tokenizer_get_truncation(from_files, &tb);
    sn_tokenizer_get_padding(from_dir, &pa);
    sn_tokenizer_get_padding(from_files, &pb);
    SN_CHECK(ta.enabled == tb.enabled && ta.max_length == tb.max_length &&
             ta.strategy == tb.strategy && ta.direction == tb.direction);
    SN_CHECK(pa.strategy == pb.strategy && pa.length == pb.length &&
             pa.multiple_of == pb.multiple_of && pa.direction == pb.direction &&
             pa.pad_id == pb.pad_id && pa.pad_type_id == pb.pad_type_id);
  }
  sn_tokenizer_destroy(from_dir);
  sn_tokenizer_destroy(from_files);
}

/* Writes `size` bytes to dir/name. */
static void write_file(const char *dir, const char *name, const char *data, size_t size) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  SN_CHECK(f != NULL);
  if (!f) return;
  SN_CHECK(fwrite(data, 1, size, f) == size);
  fclose(f);
}

/* load_dir's error on `dir` and load_files' on read_dir(dir) with label = dir
 * are the same status and byte-identical message; returns the status. */
static sinter_status_t check_same_error(const char *dir, const char *needle) {
  sinter_error_t e1, e2;
  sn_tokenizer_t *tok = NULL;
  sinter_status_t s1 = sn_tokenizer_load_dir(dir, &tok, &e1);
  SN_CHECK(tok == NULL);
  sn_tokenizer_file_t *files = NULL;
  size_t count = 0;
  SN_CHECK_OK(sn_tokenizer_read_dir(dir, &files, &count, &e2), &e2);
  sn_tokenizer_file_t *copy = copy_exact(files, count);
  sinter_status_t s2 = sn_tokenizer_load_files(copy, count, dir, &tok, &e2);
  SN_CHECK(tok == NULL);
  free_copy(copy, count);
  sn_tokenizer_files_free(files, count);
  SN_CHECK_MSG(s1 != SINTER_OK && s1 == s2 && !strcmp(e1.message, e2.message),
               "load_dir %d \"%s\" vs load_files %d \"%s\"", (int)s1, e1.message, (int)s2,
               e2.message);
  SN_CHECK_MSG(strstr(e2.message, needle) != NULL, "\"%s\" lacks \"%s\"", e2.message, needle);
  return s2;
}

static void test_load_files(void) {
  /* The set is exactly what the folder loader reads, in its stable order. */
  static const char *const names[] = {"tokenizer.json", "vocab.txt", "tokenizer_config.json",
                                      "special_tokens_map.json", "sentence_bert_config.json"};
  size_t n = 0;
  while (sn_tokenizer_file_names[n]) n++;
  SN_CHECK(n == 5);
  for (size_t i = 0; i < n && i < 5; i++) SN_CHECK(!strcmp(sn_tokenizer_file_names[i], names[i]));

  /* tokenizer.json (vocab.txt beside it is not read), the vocab.txt layout,
   * sentence-transformers settings, config overrides. */
  static const char *const minilm[] = {"tokenizer.json", "tokenizer_config.json",
                                       "special_tokens_map.json"};
  static const char *const vocab[] = {"vocab.txt", "tokenizer_config.json",
                                      "special_tokens_map.json"};
  static const char *const st[] = {"tokenizer.json", "tokenizer_config.json",
                                   "special_tokens_map.json", "sentence_bert_config.json"};
  static const char *const json_only[] = {"tokenizer.json"};
  check_folder("minilm", minilm, 3);
  check_folder("minilm_vocab", vocab, 3);
  check_folder("st", st, 4);
  check_folder("override", minilm, 3);
  check_folder("added", json_only, 1);
  static const char *const roberta[] = {"tokenizer.json", "tokenizer_config.json"};
  check_folder("roberta", roberta, 2);
  check_folder("bpe_fallback", json_only, 1);

  sinter_error_t err;
  sn_tokenizer_t *tok = NULL;
  sn_tokenizer_file_t *files = NULL;
  size_t count = 0;
  SN_CHECK_OK(sn_tokenizer_read_dir(FIX "/minilm", &files, &count, &err), &err);
  if (count != 3) {
    sn_tokenizer_files_free(files, count);
    return;
  }
  /* A name outside the set, a NULL name and a name given twice are refused. */
  sn_tokenizer_file_t bad[4] = {files[0], files[1], files[2], {"added_tokens.json", "{}", 2}};
  SN_CHECK_ERR(sn_tokenizer_load_files(bad, 4, "L", &tok, &err), SINTER_ERR_INVALID_ARGUMENT, &err,
               "L: tokenizer file \"added_tokens.json\" is unknown or given twice");
  bad[3] = (sn_tokenizer_file_t){"Tokenizer.json", files[0].data, files[0].size};
  SN_CHECK_ERR(sn_tokenizer_load_files(bad, 4, "L", &tok, &err), SINTER_ERR_INVALID_ARGUMENT, &err,
               "\"Tokenizer.json\"");
  bad[3] = (sn_tokenizer_file_t){NULL, "{}", 2};
  SN_CHECK_ERR(sn_tokenizer_load_files(bad, 4, "L", &tok, &err), SINTER_ERR_INVALID_ARGUMENT, &err,
               "(null)");
  bad[3] = files[2];
  SN_CHECK_ERR(sn_tokenizer_load_files(bad, 4, "L", &tok, &err), SINTER_ERR_INVALID_ARGUMENT, &err,
               "\"special_tokens_map.json\" is unknown or given twice");
  SN_CHECK_ERR(sn_tokenizer_load_files(files, count, NULL, &tok, &err), SINTER_ERR_INVALID_ARGUMENT,
               &err, "label");
  SN_CHECK_ERR(sn_tokenizer_load_files(NULL, 1, "L", &tok, &err), SINTER_ERR_INVALID_ARGUMENT, &err,
               "files");
  SN_CHECK(tok == NULL);

  /* No tokenizer.json and no vocab.txt: load_dir's message, with the label. */
  SN_CHECK_ERR(sn_tokenizer_load_files(files + 1, 2, "mem:x", &tok, &err), SINTER_ERR_NOT_FOUND,
               &err, "mem:x: no tokenizer.json or vocab.txt (a WordPiece tokenizer is needed)");
  /* Malformed JSON is named label/file, with no doubled '/'. */
  sn_tokenizer_file_t broken[2] = {{"tokenizer.json", "{\"model\": [1", 12}, files[1]};
  SN_CHECK_ERR(sn_tokenizer_load_files(broken, 2, "mem:x", &tok, &err), SINTER_ERR_FORMAT, &err,
               "mem:x/tokenizer.json: invalid JSON near byte offset");
  SN_CHECK(strncmp(err.message, "mem:x/tokenizer.json: ", 22) == 0);
  broken[0] = (sn_tokenizer_file_t){"tokenizer_config.json", "{", 1};
  SN_CHECK_ERR(sn_tokenizer_load_files(broken, 1, "mem:x/", &tok, &err), SINTER_ERR_FORMAT, &err,
               "mem:x/tokenizer_config.json: invalid JSON");
  SN_CHECK(strncmp(err.message, "mem:x/tokenizer_config.json", 27) == 0);
  SN_CHECK(tok == NULL);
  sn_tokenizer_files_free(files, count);

  /* Against load_dir on real folders: byte-identical errors. */
  char dir[] = "/tmp/sn-tok-files-XXXXXX";
  if (!mkdtemp(dir)) {
    SN_CHECK(0);
    return;
  }
  SN_CHECK_OK(sn_tokenizer_read_dir(dir, &files, &count, &err), &err);
  SN_CHECK(files == NULL && count == 0);
  SN_CHECK(check_same_error(dir, "no tokenizer.json or vocab.txt") == SINTER_ERR_NOT_FOUND);
  write_file(dir, "tokenizer.json", "{\"model\": [1,2", 14);
  SN_CHECK(check_same_error(dir, "/tokenizer.json: invalid JSON near byte offset") ==
           SINTER_ERR_FORMAT);
  write_file(dir, "tokenizer_config.json", "{\"do_lower_case\": ", 18);
  SN_CHECK(check_same_error(dir, "/tokenizer_config.json: invalid JSON") == SINTER_ERR_FORMAT);
  char slash[64];
  snprintf(slash, sizeof slash, "%s/", dir);
  SN_CHECK(check_same_error(slash, "/tokenizer_config.json: invalid JSON") == SINTER_ERR_FORMAT);
  static const char *const created[] = {"tokenizer.json", "tokenizer_config.json"};
  for (size_t i = 0; i < 2; i++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, created[i]);
    remove(path);
  }
  write_file(dir, "vocab.txt", "[PAD]\n\xff\n", 8);
  SN_CHECK(check_same_error(dir, "/vocab.txt") == SINTER_ERR_INVALID_ARGUMENT);
  char path[1024];
  snprintf(path, sizeof path, "%s/vocab.txt", dir);
  remove(path);
  rmdir(dir);
}

/* Encodes `text` with a tokenizer whose normalizer has the given flags and
 * returns the normalized code points (for the disagreement tests). */
static size_t norm(const char *text, int lower, int strip, uint32_t *out, size_t cap) {
  sn_normalizer_t n;
  memset(&n, 0, sizeof n);
  n.count = 1;
  n.steps[0].kind = SN_NORM_BERT;
  n.steps[0].clean_text = 1;
  n.steps[0].handle_chinese = 1;
  n.steps[0].lowercase = (uint8_t)lower;
  n.steps[0].strip_accents = (uint8_t)strip;
  sn_text_t t = {0}, tmp = {0};
  sinter_error_t err;
  size_t len = strlen(text), k = 0;
  sn_text_reserve(&t, len, &err);
  for (size_t i = 0; i < len;) {
    uint32_t c;
    size_t l = sn_utf8_decode((const unsigned char *)text + i, len - i, &c);
    sn_text_push(&t, c, (uint32_t)i, (uint32_t)(i + l));
    i += l;
  }
  sn_normalize(&n, &t, &tmp, NULL, NULL, &err);
  for (size_t i = 0; i < t.len && k < cap; i++) out[k++] = t.cp[i];
  sn_text_free(&t);
  sn_text_free(&tmp);
  return k;
}

/* Each case where Rust's tables and utf8proc 2.8 disagree, checked with the
 * value the Rust library produces. */
static void test_rust_vs_utf8proc(void) {
  uint32_t o[8];
  /* 'İ' lowercases to "i̇" in Rust's char::to_lowercase (utf8proc: 'i'). */
  SN_CHECK(norm("\xc4\xb0", 1, 0, o, 8) == 2 && o[0] == 'i' && o[1] == 0x307);
  /* ...and with strip_accents first, NFD + Mn removal leave just 'i'. */
  SN_CHECK(norm("\xc4\xb0", 1, 1, o, 8) == 1 && o[0] == 'i');
  /* Final sigma: Rust lowercases per character, always to σ. */
  SN_CHECK(norm("\xce\xa3", 1, 0, o, 8) == 1 && o[0] == 0x3C3);
  /* U+061D ARABIC END OF TEXT MARK is Po in Unicode 15 but not punctuation in
   * the Rust crate's older tables. */
  SN_CHECK(sn_uc_is_punctuation(0x61D) == 0);
  SN_CHECK(sn_uc_is_punctuation(0x2E43) == 0 && sn_uc_is_punctuation(0x2E42) == 1);
  /* U+166D and U+111C9 are still punctuation there (So / Mn in Unicode 15). */
  SN_CHECK(sn_uc_is_punctuation(0x166D) == 1 && sn_uc_is_punctuation(0x111C9) == 1);
  /* U+1734 is Mn for Rust (stripped), Mc for utf8proc; U+1ABF is Mn in Unicode
   * 15 but unknown to the crate (kept). */
  SN_CHECK(norm("a\xe1\x9c\xb4", 0, 1, o, 8) == 1 && o[0] == 'a');
  SN_CHECK(norm("a\xe1\xaa\xbf", 0, 1, o, 8) == 2 && o[1] == 0x1ABF);
  /* U+0890 (Cf, Unicode 14) is not a control character for Rust: kept. */
  SN_CHECK(norm("\xe0\xa2\x90", 0, 0, o, 8) == 1 && o[0] == 0x890);
  /* Unassigned code points are never dropped by clean_text. */
  SN_CHECK(norm("\xcd\xb8", 0, 0, o, 8) == 1 && o[0] == 0x378);
  /* U+200B ZERO WIDTH SPACE is Cf: dropped; U+00A0 is whitespace. */
  SN_CHECK(norm("a\xe2\x80\x8b"
                "b",
                0, 0, o, 8) == 2);
  SN_CHECK(norm("\xc2\xa0", 0, 0, o, 8) == 1 && o[0] == ' ');
  /* Unicode 16 lowercase mappings Rust has and utf8proc 2.8 lacks. */
  SN_CHECK(norm("\xe1\xb2\x89", 1, 0, o, 8) == 1 && o[0] == 0x1C8A);
  SN_CHECK(norm("\xea\x9f\x8b", 1, 0, o, 8) == 1 && o[0] == 0x264);
  /* U+11938's decomposition (Unicode 13) is unknown to the Rust NFD crate. */
  uint32_t d[8];
  SN_CHECK(sn_uc_decompose(0x11938, d) == 1 && d[0] == 0x11938);
  SN_CHECK(sn_uc_decompose(0xE9, d) == 2 && d[1] == 0x301);
  /* U+0898 has class 230 in Unicode 15 but is a starter for the NFD crate, so
   * "a\u0898\u0316" is not reordered (the offsets would differ). */
  SN_CHECK(sn_uc_combining_class(0x898) == 0 && sn_uc_combining_class(0x316) == 220);
  /* Unicode 16 letters are \w for the Rust regex crate. */
  SN_CHECK(sn_uc_is_word(0x105C0) == 1);
}

static void test_decode(void) {
  sn_tokenizer_t *tok = load_minilm();
  if (!tok) return;
  sn_encoding_t enc;
  sn_encoding_init(&enc);
  sinter_error_t err;
  const char *s = "Hello, WORLD! Tokenization isn't hard.";
  SN_CHECK_OK(sn_tokenizer_encode(tok, s, strlen(s), NULL, 0, NULL, &enc, &err), &err);
  char *text = NULL;
  SN_CHECK_OK(sn_tokenizer_decode(tok, enc.ids, enc.length, 1, &text, NULL, &err), &err);
  SN_CHECK_MSG(text && strcmp(text, "hello, world! tokenization isn ' t hard.") == 0, "got %s",
               text);
  free(text);
  SN_CHECK_OK(sn_tokenizer_decode(tok, enc.ids, enc.length, 0, &text, NULL, &err), &err);
  SN_CHECK(text && strncmp(text, "[CLS] hello", 11) == 0);
  free(text);
  int32_t bad[] = {-5, 7592, 1 << 30};
  SN_CHECK_OK(sn_tokenizer_decode(tok, bad, 3, 1, &text, NULL, &err), &err);
  SN_CHECK(text && strcmp(text, "hello") == 0);
  free(text);
  sn_encoding_deinit(&enc);
  sn_tokenizer_destroy(tok);
}

static void test_batch_and_options(void) {
  sn_tokenizer_t *tok = load_minilm();
  if (!tok) return;
  sinter_error_t err;
  sn_encoding_t encs[3];
  for (int i = 0; i < 3; i++) sn_encoding_init(&encs[i]);
  const char *texts[] = {"short", "a somewhat longer text here", "mid text"};
  sn_padding_t pad = {SN_PAD_LONGEST, 0, 0, SN_SIDE_RIGHT, 0, 0};
  sn_truncation_t tr = {1, 5, SN_TRUNCATE_LONGEST_FIRST, SN_SIDE_RIGHT};
  sn_encode_options_t o = sn_encode_options_default();
  o.padding = &pad;
  SN_CHECK_OK(sn_tokenizer_encode_batch(tok, 3, texts, NULL, NULL, NULL, &o, encs, &err), &err);
  SN_CHECK(encs[0].length == encs[1].length && encs[1].length == 7);
  SN_CHECK(encs[0].attention_mask[3] == 0 && encs[0].special_tokens_mask[3] == 1);
  o.truncation = &tr;
  SN_CHECK_OK(sn_tokenizer_encode_batch(tok, 3, texts, NULL, NULL, NULL, &o, encs, &err), &err);
  SN_CHECK(encs[1].length == 5 && encs[1].ids[4] == 102);
  /* only_second without a pair only fails when truncation is needed. */
  tr.strategy = SN_TRUNCATE_ONLY_SECOND;
  o.padding = NULL;
  SN_CHECK_OK(sn_tokenizer_encode(tok, "hi", 2, NULL, 0, &o, &encs[0], &err), &err);
  SN_CHECK_ERR(sn_tokenizer_encode(tok, texts[1], strlen(texts[1]), NULL, 0, &o, &encs[0], &err),
               SINTER_ERR_INVALID_ARGUMENT, &err, "only_second");
  const char *bad[] = {"fine", "bad\xff"};
  SN_CHECK_ERR(sn_tokenizer_encode_batch(tok, 2, bad, NULL, NULL, NULL, NULL, encs, &err),
               SINTER_ERR_INVALID_ARGUMENT, &err, "batch item 1");
  for (int i = 0; i < 3; i++) sn_encoding_deinit(&encs[i]);
  sn_tokenizer_destroy(tok);
}

int main(void) {
  SN_RUN(test_loaded_settings);
  SN_RUN(test_invalid_utf8);
  SN_RUN(test_empty_text);
  SN_RUN(test_loader_refusals);
  SN_RUN(test_load_files);
  SN_RUN(test_rust_vs_utf8proc);
  SN_RUN(test_decode);
  SN_RUN(test_batch_and_options);
  SN_RUN(test_huge_text);
  SN_RUN(test_codepoint_digests);
  SN_RUN(test_unicode_form_digests);
  SN_RUN(test_fixture_agreement);
  return SN_TEST_REPORT();
}
