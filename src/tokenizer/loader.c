/*
 * loader.c — builds a tokenizer from tokenizer.json (the Rust library's
 * serialization) or from the older vocab.txt + tokenizer_config.json +
 * special_tokens_map.json folder layout, and applies the transformers and
 * sentence-transformers rules that change a tokenizer at load time.
 *
 * Every feature we do not implement exactly is refused by name (UNSUPPORTED),
 * never approximated: a silently different tokenizer is worse than none.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "tokenizer/decoder.h"
#include "tokenizer/internal.h"
#include "tokenizer/precompiled.h"

#define SN_TOKENIZER_JSON_MAX (512u * 1024 * 1024)
#define SN_SMALL_JSON_MAX (16u * 1024 * 1024)

/* ------------------------------------------------------------ JSON helpers */

static int is_null(const cJSON *j) {
  return j == NULL || cJSON_IsNull(j);
}

static sinter_status_t get_bool(const cJSON *obj, const char *key, int def, int *out,
                                const char *name, const char *where, sinter_error_t *err) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (is_null(j)) {
    *out = def;
    return SINTER_OK;
  }
  if (!cJSON_IsBool(j)) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"%s.%s\" must be a boolean", name,
                        where, key);
  }
  *out = cJSON_IsTrue(j) ? 1 : 0;
  return SINTER_OK;
}

static sinter_status_t as_size(const cJSON *j, size_t max, size_t *out, const char *name,
                               const char *where, const char *key, sinter_error_t *err) {
  if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > (double)max ||
      j->valuedouble != (double)(size_t)j->valuedouble) {
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: field \"%s.%s\" must be an integer in [0, %zu]", name, where, key,
                        max);
  }
  *out = (size_t)j->valuedouble;
  return SINTER_OK;
}

static sinter_status_t get_size(const cJSON *obj, const char *key, size_t def, size_t max,
                                size_t *out, const char *name, const char *where,
                                sinter_error_t *err) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (is_null(j)) {
    *out = def;
    return SINTER_OK;
  }
  return as_size(j, max, out, name, where, key, err);
}

static sinter_status_t get_string(const cJSON *obj, const char *key, const char *def,
                                  const char **out, const char *name, const char *where,
                                  sinter_error_t *err) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (is_null(j)) {
    *out = def;
    return SINTER_OK;
  }
  if (!cJSON_IsString(j)) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"%s.%s\" must be a string", name, where,
                        key);
  }
  *out = j->valuestring;
  return SINTER_OK;
}

static const char *type_of(const cJSON *obj) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "type");
  return cJSON_IsString(t) ? t->valuestring : NULL;
}

/* Reads a {"String": s} or {"Regex": r} pattern into re. */
static sinter_status_t get_pattern(const cJSON *obj, const char *name, const char *where,
                                   sn_regex_t *re, sinter_error_t *err) {
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, "pattern");
  const cJSON *str = cJSON_IsObject(p) ? cJSON_GetObjectItemCaseSensitive(p, "String") : NULL;
  const cJSON *rx = cJSON_IsObject(p) ? cJSON_GetObjectItemCaseSensitive(p, "Regex") : NULL;
  const cJSON *v = cJSON_IsString(str) ? str : rx;
  if (!cJSON_IsString(v) || (str && rx)) {
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: field \"%s.pattern\" must be {\"String\": s} or {\"Regex\": r}", name,
                        where);
  }
  char what[256];
  snprintf(what, sizeof what, "%s: %s.pattern", name, where);
  return sn_regex_compile(re, v->valuestring, strlen(v->valuestring), v == str, what, err);
}

/* The code points of a (valid UTF-8) string, malloc'd. */
static sinter_status_t to_code_points(const char *s, const char *name, const char *where,
                                      uint32_t **out, size_t *out_len, sinter_error_t *err) {
  size_t n = strlen(s);
  *out = NULL;
  *out_len = 0;
  SN_TRY(sn_utf8_validate(s, n, name, err));
  uint32_t *cp = malloc((n + 1) * sizeof *cp);
  if (!cp) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: %s: out of memory", name, where);
  size_t k = 0;
  for (size_t i = 0; i < n;) {
    uint32_t c = 0;
    size_t w = sn_utf8_decode((const unsigned char *)s + i, n - i, &c);
    if (!w) break;
    cp[k++] = c;
    i += w;
  }
  *out = cp;
  *out_len = k;
  return SINTER_OK;
}

/* One character of a string field (Metaspace's replacement). */
static sinter_status_t get_char(const cJSON *obj, const char *key, uint32_t def, uint32_t *out,
                                const char *name, const char *where, sinter_error_t *err) {
  const char *s = NULL;
  SN_TRY(get_string(obj, key, NULL, &s, name, where, err));
  if (!s) {
    *out = def;
    return SINTER_OK;
  }
  uint32_t c = 0;
  size_t n = strlen(s);
  size_t k = n ? sn_utf8_decode((const unsigned char *)s, n, &c) : 0;
  if (k == 0 || k != n) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"%s.%s\" must be one character", name,
                        where, key);
  }
  *out = c;
  return SINTER_OK;
}

/* A SplitDelimiterBehavior name. */
static sinter_status_t get_behavior(const cJSON *obj, const char *def, sn_split_behavior_t *out,
                                    const char *name, const char *where, sinter_error_t *err) {
  static const struct {
    const char *name;
    sn_split_behavior_t b;
  } names[] = {{"Removed", SN_SPLIT_REMOVED},
               {"Isolated", SN_SPLIT_ISOLATED},
               {"MergedWithPrevious", SN_SPLIT_MERGED_WITH_PREVIOUS},
               {"MergedWithNext", SN_SPLIT_MERGED_WITH_NEXT},
               {"Contiguous", SN_SPLIT_CONTIGUOUS}};
  const char *b = NULL;
  SN_TRY(get_string(obj, "behavior", def, &b, name, where, err));
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (strcmp(b, names[i].name) == 0) {
      *out = names[i].b;
      return SINTER_OK;
    }
  }
  return sn_error_set(err, SINTER_ERR_UNSUPPORTED, "unsupported %s behavior \"%s\" in %s", where, b,
                      name);
}

/* Case-insensitive search of the NUL-terminated ASCII needle in s[0..n). */
static int memmem_nocase(const char *s, size_t n, const char *needle) {
  size_t m = strlen(needle);
  for (size_t i = 0; i + m <= n; i++) {
    if (strncasecmp(s + i, needle, m) == 0) return 1;
  }
  return 0;
}

/* ------------------------------------------------------------ escaped NULs */

/* cJSON ends a string at an escaped NUL ("\u0000"), which a vocabulary
 * trained on raw text may hold (the Unigram and BPE trainers keep every
 * character they see). Before parsing, each such escape becomes a private-use
 * character the file does not otherwise contain (the sentinel, U+10FFFD or
 * below); vocabulary pieces and merges read from the model turn it back into
 * a NUL byte. Other fields keep the sentinel: a NUL there has no meaning. */
static _Thread_local uint32_t nul_sentinel;

/* The bytes of a vocabulary string: s itself, or with each sentinel turned
 * back into a NUL in *buf (grown; the caller frees it). NULL when out of
 * memory. */
static const char *file_string(const char *s, size_t *len, char **buf) {
  size_t n = strlen(s);
  *len = n;
  if (!nul_sentinel) return s;
  unsigned char enc[4];
  size_t k = sn_utf8_encode(nul_sentinel, enc);
  if (!memmem(s, n, enc, k)) return s;
  char *b = realloc(*buf, n + 1);
  if (!b) return NULL;
  *buf = b;
  size_t w = 0;
  for (size_t i = 0; i < n;) {
    if (i + k <= n && memcmp(s + i, enc, k) == 0) {
      b[w++] = '\0';
      i += k;
    } else {
      b[w++] = s[i++];
    }
  }
  *len = w;
  return b;
}

/* Rewrites every "\u0000" escape of json[0..len) into the sentinel's
 * surrogate-pair escape; *out is NULL when the file has none. */
static sinter_status_t escape_nuls(const char *json, size_t len, const char *name, char **out,
                                   size_t *out_len, sinter_error_t *err) {
  *out = NULL;
  nul_sentinel = 0;
  size_t count = 0;
  for (size_t i = 0; i + 5 < len; i++) {
    if (json[i] != '\\') continue;
    if (json[i + 1] == 'u' && memcmp(json + i + 2, "0000", 4) == 0) count++;
    i++; /* the escaped character is never the start of an escape */
  }
  if (count == 0) return SINTER_OK;
  /* A sentinel neither written as UTF-8 nor escaped anywhere in the file. */
  for (uint32_t c = 0x10FFFD; c >= 0x10FF00 && !nul_sentinel; c--) {
    unsigned char enc[4];
    size_t k = sn_utf8_encode(c, enc);
    char esc[16];
    snprintf(esc, sizeof esc, "\\u%04X\\u%04X", 0xD800 + ((c - 0x10000) >> 10),
             0xDC00 + ((c - 0x10000) & 0x3FF));
    if (memmem(json, len, enc, k) || memmem_nocase(json, len, esc)) continue;
    nul_sentinel = c;
  }
  if (!nul_sentinel) {
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED, "%s: escaped NULs and every sentinel in use",
                        name);
  }
  char esc[16];
  snprintf(esc, sizeof esc, "\\u%04X\\u%04X", 0xD800 + ((nul_sentinel - 0x10000) >> 10),
           0xDC00 + ((nul_sentinel - 0x10000) & 0x3FF));
  char *b = malloc(len + count * 6 + 1);
  if (!b) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
  size_t w = 0;
  for (size_t i = 0; i < len;) {
    if (json[i] == '\\' && i + 5 < len && json[i + 1] == 'u' &&
        memcmp(json + i + 2, "0000", 4) == 0) {
      memcpy(b + w, esc, 12);
      w += 12;
      i += 6;
    } else if (json[i] == '\\' && i + 1 < len) {
      b[w++] = json[i++];
      b[w++] = json[i++];
    } else {
      b[w++] = json[i++];
    }
  }
  b[w] = '\0';
  *out = b;
  *out_len = w;
  return SINTER_OK;
}

/* ------------------------------------------------------------ model */

static sinter_status_t load_wordpiece(sn_tokenizer_t *tok, const cJSON *model, const char *name,
                                      sinter_error_t *err) {
  const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
  if (!cJSON_IsObject(vocab)) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"model.vocab\" must be an object",
                        name);
  }
  const char *unk = NULL, *prefix = NULL;
  size_t max_chars = 0;
  SN_TRY(get_string(model, "unk_token", "[UNK]", &unk, name, "model", err));
  SN_TRY(get_string(model, "continuing_subword_prefix", "##", &prefix, name, "model", err));
  SN_TRY(get_size(model, "max_input_chars_per_word", 100, SIZE_MAX / 8, &max_chars, name, "model",
                  err));
  sn_vocab_t v;
  memset(&v, 0, sizeof v);
  v.max_id = -1;
  char *buf = NULL;
  for (const cJSON *e = vocab->child; e; e = e->next) {
    size_t id = 0, len = 0;
    sinter_status_t st = as_size(e, INT32_MAX, &id, name, "model.vocab", e->string, err);
    const char *key = st == SINTER_OK ? file_string(e->string, &len, &buf) : NULL;
    if (st == SINTER_OK && !key) st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == SINTER_OK) {
      st = sn_vocab_put(&v, key, len, (int32_t)id, err);
      if (st != SINTER_OK) sn_error_prefix(err, "%s: model.vocab entry \"%s\"", name, e->string);
    }
    if (st != SINTER_OK) {
      free(buf);
      sn_vocab_free(&v);
      return st;
    }
  }
  free(buf);
  sn_wordpiece_t *wp;
  SN_TRY(sn_wordpiece_create(&v, unk, prefix, max_chars, &wp, err));
  tok->model_vt = &sn_wordpiece_vtable;
  tok->model = wp;
  return SINTER_OK;
}

/* Reads model.vocab ({token: id}) into v. */
static sinter_status_t load_vocab_object(const cJSON *model, const char *name, sn_vocab_t *v,
                                         sinter_error_t *err) {
  const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
  if (!cJSON_IsObject(vocab)) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"model.vocab\" must be an object",
                        name);
  }
  char *buf = NULL;
  for (const cJSON *e = vocab->child; e; e = e->next) {
    size_t id = 0, len = 0;
    sinter_status_t st = as_size(e, INT32_MAX, &id, name, "model.vocab", e->string, err);
    const char *key = st == SINTER_OK ? file_string(e->string, &len, &buf) : NULL;
    if (st == SINTER_OK && !key) st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == SINTER_OK) {
      st = sn_vocab_put(v, key, len, (int32_t)id, err);
      if (st != SINTER_OK) sn_error_prefix(err, "%s: model.vocab entry \"%s\"", name, e->string);
    }
    if (st != SINTER_OK) {
      free(buf);
      return st;
    }
  }
  free(buf);
  return SINTER_OK;
}

/* One merge of model.merges: "a b" (the legacy format: exactly one space) or
 * ["a", "b"]. Both formats are what `tokenizers` writes; one file uses one. */
static sinter_status_t parse_merge(const cJSON *e, int legacy, size_t index, const char *name,
                                   const char **a, size_t *alen, const char **b, size_t *blen,
                                   sinter_error_t *err) {
  if (legacy) {
    const char *line = e->valuestring;
    const char *sp = strchr(line, ' ');
    if (!sp || strchr(sp + 1, ' ')) {
      return sn_error_set(
          err, SINTER_ERR_FORMAT,
          "%s: model.merges[%zu] \"%.80s\" is not two tokens separated by one space", name, index,
          line);
    }
    *a = line;
    *alen = (size_t)(sp - line);
    *b = sp + 1;
    *blen = strlen(sp + 1);
    return SINTER_OK;
  }
  const cJSON *x = cJSON_GetArrayItem(e, 0), *y = cJSON_GetArrayItem(e, 1);
  if (cJSON_GetArraySize(e) != 2 || !cJSON_IsString(x) || !cJSON_IsString(y)) {
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: model.merges[%zu] must be a pair of strings like the others", name,
                        index);
  }
  *a = x->valuestring;
  *alen = strlen(x->valuestring);
  *b = y->valuestring;
  *blen = strlen(y->valuestring);
  return SINTER_OK;
}

/* An optional string field of the model: NULL when absent or null. */
static sinter_status_t get_opt_string(const cJSON *obj, const char *key, const char **out,
                                      const char *name, sinter_error_t *err) {
  return get_string(obj, key, NULL, out, name, "model", err);
}

static sinter_status_t load_bpe(sn_tokenizer_t *tok, const cJSON *model, const char *name,
                                sinter_error_t *err) {
  const cJSON *dropout = cJSON_GetObjectItemCaseSensitive(model, "dropout");
  if (!is_null(dropout)) {
    /* Dropout makes encoding random; a served model must not be. */
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "unsupported BPE model option \"dropout\" (only null) in %s", name);
  }
  sn_bpe_options_t opt;
  memset(&opt, 0, sizeof opt);
  SN_TRY(get_opt_string(model, "unk_token", &opt.unk_token, name, err));
  SN_TRY(get_opt_string(model, "continuing_subword_prefix", &opt.continuing_subword_prefix, name,
                        err));
  SN_TRY(get_opt_string(model, "end_of_word_suffix", &opt.end_of_word_suffix, name, err));
  SN_TRY(get_bool(model, "fuse_unk", 0, &opt.fuse_unk, name, "model", err));
  SN_TRY(get_bool(model, "byte_fallback", 0, &opt.byte_fallback, name, "model", err));
  SN_TRY(get_bool(model, "ignore_merges", 0, &opt.ignore_merges, name, "model", err));
  if (opt.byte_fallback && (opt.continuing_subword_prefix || opt.end_of_word_suffix)) {
    /* The Rust library then counts the prefix's bytes into the offsets of the
     * fallback tokens, which drift off the word; refuse rather than guess. */
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "unsupported BPE model in %s: byte_fallback together with a "
                        "continuing_subword_prefix or end_of_word_suffix",
                        name);
  }
  const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
  if (!cJSON_IsArray(merges)) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"model.merges\" must be an array",
                        name);
  }
  /* The list is all strings (legacy) or all pairs, as the Rust untagged enum
   * accepts. */
  int legacy = merges->child && cJSON_IsString(merges->child);
  sn_vocab_t v;
  memset(&v, 0, sizeof v);
  v.max_id = -1;
  sinter_status_t st = load_vocab_object(model, name, &v, err);
  if (st != SINTER_OK) {
    sn_vocab_free(&v);
    return st;
  }
  sn_bpe_t *bpe;
  SN_TRY(sn_bpe_create(&v, &opt, (size_t)cJSON_GetArraySize(merges), &bpe, err));
  tok->model_vt = &sn_bpe_vtable;
  tok->model = bpe;
  size_t index = 0, rank = 0;
  for (const cJSON *e = merges->child; e; e = e->next, index++) {
    if (legacy != cJSON_IsString(e) || (!legacy && !cJSON_IsArray(e))) {
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: model.merges[%zu]: merges must be all \"a b\" strings or all "
                          "[\"a\", \"b\"] pairs",
                          name, index);
    }
    if (legacy && strncmp(e->valuestring, "#version", 8) == 0) continue;
    const char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    SN_TRY(parse_merge(e, legacy, index, name, &a, &alen, &b, &blen, err));
    if (rank >= UINT32_MAX) {
      return sn_error_set(err, SINTER_ERR_LIMIT, "%s: more than %u merges", name, UINT32_MAX);
    }
    st = sn_bpe_add_merge(bpe, a, alen, b, blen, (uint32_t)rank, err);
    if (st != SINTER_OK) {
      sn_error_prefix(err, "%s: model.merges[%zu]", name, index);
      return st;
    }
    rank++;
  }
  return SINTER_OK;
}

/* Unigram: model.vocab is a list of [piece, score]; ids are positions. */
static sinter_status_t load_unigram(sn_tokenizer_t *tok, const cJSON *model, const char *name,
                                    sinter_error_t *err) {
  const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
  if (!cJSON_IsArray(vocab)) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"model.vocab\" must be an array", name);
  }
  size_t count = (size_t)cJSON_GetArraySize(vocab);
  if (count == 0) return sn_error_set(err, SINTER_ERR_FORMAT, "%s: model.vocab is empty", name);
  if (count > INT32_MAX)
    return sn_error_set(err, SINTER_ERR_LIMIT, "%s: model.vocab too large", name);
  size_t unk = 0;
  const cJSON *uj = cJSON_GetObjectItemCaseSensitive(model, "unk_id");
  int has_unk = !is_null(uj);
  if (has_unk) SN_TRY(as_size(uj, count - 1, &unk, name, "model", "unk_id", err));
  int byte_fallback = 0;
  SN_TRY(get_bool(model, "byte_fallback", 0, &byte_fallback, name, "model", err));
  double *scores = malloc(count * sizeof *scores);
  if (!scores) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
  sn_vocab_t v;
  memset(&v, 0, sizeof v);
  v.max_id = -1;
  size_t i = 0;
  sinter_status_t st = SINTER_OK;
  char *buf = NULL;
  for (const cJSON *e = vocab->child; e && st == SINTER_OK; e = e->next, i++) {
    const cJSON *piece = cJSON_GetArrayItem(e, 0), *score = cJSON_GetArrayItem(e, 1);
    if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2 || !cJSON_IsString(piece) ||
        !cJSON_IsNumber(score)) {
      st = sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: model.vocab[%zu] must be a [piece, score] pair", name, i);
      break;
    }
    size_t len = 0;
    const char *key = file_string(piece->valuestring, &len, &buf);
    if (!key) st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
    if (st == SINTER_OK) st = sn_utf8_validate(key, len, name, err);
    if (st == SINTER_OK) st = sn_vocab_put(&v, key, len, (int32_t)i, err);
    scores[i] = score->valuedouble;
  }
  free(buf);
  if (st != SINTER_OK) {
    free(scores);
    sn_vocab_free(&v);
    return st;
  }
  sn_unigram_t *u;
  SN_TRY(sn_unigram_create(&v, scores, count, has_unk ? (int32_t)unk : -1, byte_fallback, &u, err));
  tok->model_vt = &sn_unigram_vtable;
  tok->model = u;
  return SINTER_OK;
}

/* ------------------------------------------------------------ normalizer */

static sinter_status_t add_norm_step(sn_tokenizer_t *tok, sn_norm_step_t step, const char *name,
                                     sinter_error_t *err) {
  if (tok->normalizer.count >= SN_NORM_MAX_STEPS) {
    sn_regex_free(&step.pattern);
    free(step.content);
    sn_precompiled_free(step.precompiled);
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED, "%s: more than %d normalizers in a sequence",
                        name, SN_NORM_MAX_STEPS);
  }
  tok->normalizer.steps[tok->normalizer.count++] = step;
  return SINTER_OK;
}

static sinter_status_t load_normalizer(sn_tokenizer_t *tok, const cJSON *n, const char *name,
                                       int depth, sinter_error_t *err) {
  if (is_null(n)) return SINTER_OK;
  if (!cJSON_IsObject(n) || depth > 4) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"normalizer\" must be an object", name);
  }
  const char *type = type_of(n);
  if (!type) return sn_error_set(err, SINTER_ERR_FORMAT, "%s: normalizer without a type", name);
  sn_norm_step_t step;
  memset(&step, 0, sizeof step);
  if (strcmp(type, "BertNormalizer") == 0) {
    int clean = 0, chinese = 0, lower = 0;
    SN_TRY(get_bool(n, "clean_text", 1, &clean, name, "normalizer", err));
    SN_TRY(get_bool(n, "handle_chinese_chars", 1, &chinese, name, "normalizer", err));
    SN_TRY(get_bool(n, "lowercase", 1, &lower, name, "normalizer", err));
    const cJSON *sa = cJSON_GetObjectItemCaseSensitive(n, "strip_accents");
    int raw = -1;
    if (!is_null(sa)) {
      if (!cJSON_IsBool(sa)) {
        return sn_error_set(err, SINTER_ERR_FORMAT,
                            "%s: field \"normalizer.strip_accents\" must be a boolean or null",
                            name);
      }
      raw = cJSON_IsTrue(sa) ? 1 : 0;
    }
    step.kind = SN_NORM_BERT;
    step.clean_text = (uint8_t)clean;
    step.handle_chinese = (uint8_t)chinese;
    step.lowercase = (uint8_t)lower;
    step.strip_accents_raw = (int8_t)raw;
    /* Like the Rust library: strip_accents defaults to the lowercase setting. */
    step.strip_accents = (uint8_t)(raw < 0 ? lower : raw);
    return add_norm_step(tok, step, name, err);
  }
  if (strcmp(type, "Sequence") == 0) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(n, "normalizers");
    if (!cJSON_IsArray(list)) {
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: field \"normalizer.normalizers\" must be an array", name);
    }
    for (const cJSON *e = list->child; e; e = e->next) {
      SN_TRY(load_normalizer(tok, e, name, depth + 1, err));
    }
    return SINTER_OK;
  }
  if (strcmp(type, "NFD") == 0) {
    step.kind = SN_NORM_NFD;
  } else if (strcmp(type, "NFC") == 0) {
    step.kind = SN_NORM_NFC;
  } else if (strcmp(type, "NFKC") == 0) {
    step.kind = SN_NORM_NFKC;
  } else if (strcmp(type, "NFKD") == 0) {
    step.kind = SN_NORM_NFKD;
  } else if (strcmp(type, "Replace") == 0 || strcmp(type, "Prepend") == 0) {
    int is_replace = type[0] == 'R';
    const char *content = NULL;
    SN_TRY(
        get_string(n, is_replace ? "content" : "prepend", NULL, &content, name, "normalizer", err));
    if (!content) {
      return sn_error_set(err, SINTER_ERR_FORMAT, "%s: normalizer %s without \"%s\"", name, type,
                          is_replace ? "content" : "prepend");
    }
    step.kind = is_replace ? SN_NORM_REPLACE : SN_NORM_PREPEND;
    SN_TRY(to_code_points(content, name, "normalizer", &step.content, &step.content_len, err));
    if (is_replace) {
      sinter_status_t st = get_pattern(n, name, "normalizer", &step.pattern, err);
      if (st != SINTER_OK) {
        free(step.content);
        return st;
      }
    }
  } else if (strcmp(type, "Precompiled") == 0) {
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(n, "precompiled_charsmap");
    if (!cJSON_IsString(map)) {
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: field \"normalizer.precompiled_charsmap\" must be a string", name);
    }
    char where[256];
    snprintf(where, sizeof where, "%s: normalizer.precompiled_charsmap", name);
    step.kind = SN_NORM_PRECOMPILED;
    SN_TRY(sn_precompiled_parse(map->valuestring, strlen(map->valuestring), where,
                                &step.precompiled, err));
  } else if (strcmp(type, "Lowercase") == 0) {
    step.kind = SN_NORM_LOWERCASE;
  } else if (strcmp(type, "StripAccents") == 0) {
    step.kind = SN_NORM_STRIP_ACCENTS;
  } else if (strcmp(type, "Strip") == 0) {
    int left = 0, right = 0;
    SN_TRY(get_bool(n, "strip_left", 1, &left, name, "normalizer", err));
    SN_TRY(get_bool(n, "strip_right", 1, &right, name, "normalizer", err));
    step.kind = SN_NORM_STRIP;
    step.clean_text = (uint8_t)left;
    step.handle_chinese = (uint8_t)right;
  } else {
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED, "unsupported normalizer \"%s\" in %s", type,
                        name);
  }
  return add_norm_step(tok, step, name, err);
}

/* ------------------------------------------------------------ pre-tokenizer */

static sinter_status_t load_pretokenizer(sn_tokenizer_t *tok, const cJSON *p, const char *name,
                                         int depth, sinter_error_t *err) {
  if (is_null(p)) return SINTER_OK;
  if (!cJSON_IsObject(p) || depth > 4) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"pre_tokenizer\" must be an object",
                        name);
  }
  const char *type = type_of(p);
  if (!type) return sn_error_set(err, SINTER_ERR_FORMAT, "%s: pre_tokenizer without a type", name);
  sn_pretok_kind_t kind;
  if (strcmp(type, "Sequence") == 0) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(p, "pretokenizers");
    if (!cJSON_IsArray(list)) {
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: field \"pre_tokenizer.pretokenizers\" must be an array", name);
    }
    for (const cJSON *e = list->child; e; e = e->next) {
      SN_TRY(load_pretokenizer(tok, e, name, depth + 1, err));
    }
    return SINTER_OK;
  }
  if (tok->pretokenizer.has_bytelevel) {
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "unsupported pre_tokenizer \"%s\" after ByteLevel in %s (ByteLevel must "
                        "come last)",
                        type, name);
  }
  if (tok->pretokenizer.count >= SN_PRETOK_MAX_STEPS) {
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: more than %d pre-tokenizers in a sequence", name, SN_PRETOK_MAX_STEPS);
  }
  if (strcmp(type, "Metaspace") == 0) {
    if (tok->pretokenizer.has_metaspace) {
      return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                          "unsupported: two Metaspace pre_tokenizers in %s", name);
    }
    sn_metaspace_t *ms = &tok->pretokenizer.metaspace;
    SN_TRY(get_char(p, "replacement", 0x2581, &ms->replacement, name, "pre_tokenizer", err));
    const char *scheme = NULL;
    SN_TRY(get_string(p, "prepend_scheme", NULL, &scheme, name, "pre_tokenizer", err));
    int split = 1;
    SN_TRY(get_bool(p, "split", 1, &split, name, "pre_tokenizer", err));
    ms->split = (uint8_t)split;
    if (!scheme) {
      /* Files from before prepend_scheme: add_prefix_space true or false. */
      int prefix = 1;
      SN_TRY(get_bool(p, "add_prefix_space", 1, &prefix, name, "pre_tokenizer", err));
      ms->prepend = prefix ? SN_PREPEND_ALWAYS : SN_PREPEND_NEVER;
    } else if (strcmp(scheme, "always") == 0) {
      ms->prepend = SN_PREPEND_ALWAYS;
    } else if (strcmp(scheme, "first") == 0) {
      ms->prepend = SN_PREPEND_FIRST;
    } else if (strcmp(scheme, "never") == 0) {
      ms->prepend = SN_PREPEND_NEVER;
    } else {
      return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                          "unsupported Metaspace prepend_scheme \"%s\" in %s", scheme, name);
    }
    tok->pretokenizer.has_metaspace = 1;
    tok->pretokenizer.steps[tok->pretokenizer.count++].kind = SN_PRETOK_METASPACE;
    return SINTER_OK;
  }
  if (strcmp(type, "ByteLevel") == 0) {
    int prefix = 0, trim = 0, regex = 1;
    const cJSON *ap = cJSON_GetObjectItemCaseSensitive(p, "add_prefix_space");
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(p, "trim_offsets");
    /* Both are required fields of the Rust struct. */
    if (!cJSON_IsBool(ap) || !cJSON_IsBool(to)) {
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: pre_tokenizer ByteLevel needs boolean \"add_prefix_space\" and "
                          "\"trim_offsets\"",
                          name);
    }
    SN_TRY(get_bool(p, "add_prefix_space", 0, &prefix, name, "pre_tokenizer", err));
    SN_TRY(get_bool(p, "trim_offsets", 0, &trim, name, "pre_tokenizer", err));
    SN_TRY(get_bool(p, "use_regex", 1, &regex, name, "pre_tokenizer", err));
    tok->pretokenizer.has_bytelevel = 1;
    tok->pretokenizer.bytelevel.add_prefix_space = (uint8_t)prefix;
    tok->pretokenizer.bytelevel.use_regex = (uint8_t)regex;
    return SINTER_OK;
  }
  sn_pretok_step_t step;
  memset(&step, 0, sizeof step);
  step.behavior = SN_SPLIT_ISOLATED;
  if (strcmp(type, "BertPreTokenizer") == 0) {
    kind = SN_PRETOK_BERT;
  } else if (strcmp(type, "Whitespace") == 0) {
    kind = SN_PRETOK_WHITESPACE;
  } else if (strcmp(type, "WhitespaceSplit") == 0) {
    kind = SN_PRETOK_WHITESPACE_SPLIT;
  } else if (strcmp(type, "Punctuation") == 0) {
    SN_TRY(get_behavior(p, "Isolated", &step.behavior, name, "Punctuation", err));
    kind = SN_PRETOK_PUNCTUATION;
  } else if (strcmp(type, "Digits") == 0) {
    int individual = 0;
    SN_TRY(get_bool(p, "individual_digits", 0, &individual, name, "pre_tokenizer", err));
    step.behavior = individual ? SN_SPLIT_ISOLATED : SN_SPLIT_CONTIGUOUS;
    kind = SN_PRETOK_DIGITS;
  } else if (strcmp(type, "Split") == 0) {
    int invert = 0;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(p, "behavior");
    if (!cJSON_IsString(b)) {
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: field \"pre_tokenizer.behavior\" of Split must be a string", name);
    }
    SN_TRY(get_behavior(p, NULL, &step.behavior, name, "Split", err));
    SN_TRY(get_bool(p, "invert", 0, &invert, name, "pre_tokenizer", err));
    step.invert = (uint8_t)invert;
    SN_TRY(get_pattern(p, name, "pre_tokenizer", &step.pattern, err));
    kind = SN_PRETOK_SPLIT;
  } else {
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED, "unsupported pre_tokenizer \"%s\" in %s", type,
                        name);
  }
  step.kind = kind;
  tok->pretokenizer.steps[tok->pretokenizer.count++] = step;
  return SINTER_OK;
}

/* ------------------------------------------------------------ post-processor */

static sinter_status_t add_special(sn_post_t *post, const char *sname, const int32_t *ids, size_t n,
                                   int *index, sinter_error_t *err) {
  for (size_t i = 0; i < post->specials_len; i++) {
    if (strcmp(post->specials[i].name, sname) == 0) {
      *index = (int)i;
      return SINTER_OK;
    }
  }
  sn_special_entry_t *v = realloc(post->specials, (post->specials_len + 1) * sizeof *v);
  if (!v) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "post-processor: out of memory");
  post->specials = v;
  sn_special_entry_t *e = &v[post->specials_len];
  e->name = sn_tok_strndup(sname, strlen(sname));
  e->ids = malloc((n ? n : 1) * sizeof *e->ids);
  e->count = n;
  if (!e->name || !e->ids) {
    free(e->name);
    free(e->ids);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "post-processor: out of memory");
  }
  if (n) memcpy(e->ids, ids, n * sizeof *ids);
  *index = (int)post->specials_len++;
  return SINTER_OK;
}

static sinter_status_t load_template(sn_post_t *post, const cJSON *list, int is_pair,
                                     const cJSON *specials, const char *name, sinter_error_t *err) {
  const char *field = is_pair ? "post_processor.pair" : "post_processor.single";
  if (!cJSON_IsArray(list)) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"%s\" must be an array", name, field);
  }
  size_t n = (size_t)cJSON_GetArraySize(list);
  sn_template_piece_t *v = calloc(n ? n : 1, sizeof *v);
  if (!v) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "post-processor: out of memory");
  if (is_pair) {
    post->pair = v;
    post->pair_len = n;
  } else {
    post->single = v;
    post->single_len = n;
  }
  size_t i = 0;
  for (const cJSON *e = list->child; e; e = e->next, i++) {
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "Sequence");
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(e, "SpecialToken");
    const cJSON *body = seq ? seq : sp;
    if (!cJSON_IsObject(body)) {
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: %s[%zu] must be a Sequence or SpecialToken piece", name, field, i);
    }
    const char *id = NULL;
    size_t type_id = 0;
    SN_TRY(get_string(body, "id", NULL, &id, name, field, err));
    SN_TRY(get_size(body, "type_id", 0, INT32_MAX, &type_id, name, field, err));
    if (!id) return sn_error_set(err, SINTER_ERR_FORMAT, "%s: %s[%zu] has no id", name, field, i);
    v[i].type_id = (int32_t)type_id;
    if (seq) {
      v[i].is_sequence = 1;
      if (strcmp(id, "A") == 0) {
        v[i].sequence = 0;
      } else if (strcmp(id, "B") == 0 && is_pair) {
        v[i].sequence = 1;
      } else {
        return sn_error_set(err, SINTER_ERR_FORMAT, "%s: %s[%zu]: unexpected sequence \"%s\"", name,
                            field, i, id);
      }
      continue;
    }
    const cJSON *entry = cJSON_GetObjectItemCaseSensitive(specials, id);
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(entry, "ids");
    if (!cJSON_IsArray(ids)) {
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: special token \"%s\" used in %s is missing from "
                          "post_processor.special_tokens",
                          name, id, field);
    }
    int32_t buf[64];
    size_t k = 0;
    for (const cJSON *x = ids->child; x; x = x->next) {
      size_t val = 0;
      if (k >= 64) {
        return sn_error_set(err, SINTER_ERR_UNSUPPORTED, "%s: special token \"%s\" has > 64 ids",
                            name, id);
      }
      SN_TRY(as_size(x, INT32_MAX, &val, name, "post_processor.special_tokens", id, err));
      buf[k++] = (int32_t)val;
    }
    SN_TRY(add_special(post, id, buf, k, &v[i].special_index, err));
  }
  return SINTER_OK;
}

/* Sets up [CLS] $A [SEP] / [CLS] $A [SEP] $B:1 [SEP]:1 (BertProcessing and the
 * template transformers builds for BERT). */
static sinter_status_t bert_template(sn_post_t *post, const char *cls, int32_t cls_id,
                                     const char *sep, int32_t sep_id, sinter_error_t *err) {
  int ci = 0, si = 0;
  SN_TRY(add_special(post, cls, &cls_id, 1, &ci, err));
  SN_TRY(add_special(post, sep, &sep_id, 1, &si, err));
  post->single = calloc(3, sizeof *post->single);
  post->pair = calloc(5, sizeof *post->pair);
  if (!post->single || !post->pair) {
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "post-processor: out of memory");
  }
  sn_template_piece_t s[5] = {
      {0, 0, 0, ci}, {1, 0, 0, 0}, {0, 0, 0, si}, {1, 1, 1, 0}, {0, 0, 1, si}};
  memcpy(post->single, s, 3 * sizeof *s);
  memcpy(post->pair, s, 5 * sizeof *s);
  post->single_len = 3;
  post->pair_len = 5;
  post->kind = 1;
  return SINTER_OK;
}

/* RobertaProcessing: <s> $A </s> / <s> $A </s> </s> $B </s>, every type id 0
 * (the Rust processor sets them all to 0, with or without special tokens). */
static sinter_status_t roberta_template(sn_post_t *post, const char *cls, int32_t cls_id,
                                        const char *sep, int32_t sep_id, sinter_error_t *err) {
  int ci = 0, si = 0;
  SN_TRY(add_special(post, cls, &cls_id, 1, &ci, err));
  SN_TRY(add_special(post, sep, &sep_id, 1, &si, err));
  post->single = calloc(3, sizeof *post->single);
  post->pair = calloc(6, sizeof *post->pair);
  if (!post->single || !post->pair) {
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "post-processor: out of memory");
  }
  sn_template_piece_t s[6] = {{0, 0, 0, ci}, {1, 0, 0, 0}, {0, 0, 0, si},
                              {0, 0, 0, si}, {1, 1, 0, 0}, {0, 0, 0, si}};
  memcpy(post->single, s, 3 * sizeof *s);
  memcpy(post->pair, s, 6 * sizeof *s);
  post->single_len = 3;
  post->pair_len = 6;
  post->kind = 1;
  post->zero_type_ids = 1;
  return SINTER_OK;
}

/* A post-processor's special token given as [token, id] ("cls", "sep"). */
typedef struct special_pair {
  const char *token; /* borrowed from the JSON */
  int32_t id;
} special_pair_t;

static sinter_status_t special_pair(const cJSON *p, const char *field, const char *type,
                                    const char *name, special_pair_t *out, sinter_error_t *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, field);
  if (cJSON_GetArraySize(v) != 2 || !cJSON_IsString(cJSON_GetArrayItem(v, 0)))
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: %s needs \"sep\" and \"cls\" as [token, id]",
                        name, type);
  size_t id = 0;
  SN_TRY(as_size(cJSON_GetArrayItem(v, 1), INT32_MAX, &id, name, "post_processor", field, err));
  out->token = cJSON_GetArrayItem(v, 0)->valuestring;
  out->id = (int32_t)id;
  return SINTER_OK;
}

static sinter_status_t load_post(sn_tokenizer_t *tok, const cJSON *p, const char *name, int depth,
                                 sinter_error_t *err) {
  if (is_null(p)) return SINTER_OK;
  const char *type = cJSON_IsObject(p) ? type_of(p) : NULL;
  if (!type) return sn_error_set(err, SINTER_ERR_FORMAT, "%s: post_processor without a type", name);
  if (strcmp(type, "Sequence") == 0) {
    /* Each processor in turn: ByteLevel ones only trim offsets, so the
     * chain is one template plus the trimming, as long as at most one
     * member adds special tokens (Qwen's [ByteLevel, TemplateProcessing]). */
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(p, "processors");
    if (!cJSON_IsArray(list) || depth > 4) {
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: field \"post_processor.processors\" must be an array", name);
    }
    for (const cJSON *e = list->child; e; e = e->next) {
      SN_TRY(load_post(tok, e, name, depth + 1, err));
    }
    return SINTER_OK;
  }
  if (tok->post.kind != 0 && strcmp(type, "ByteLevel") != 0) {
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "unsupported post_processor Sequence in %s: two processors add special "
                        "tokens",
                        name);
  }
  if (strcmp(type, "TemplateProcessing") == 0) {
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(p, "special_tokens");
    SN_TRY(load_template(&tok->post, cJSON_GetObjectItemCaseSensitive(p, "single"), 0, specials,
                         name, err));
    SN_TRY(load_template(&tok->post, cJSON_GetObjectItemCaseSensitive(p, "pair"), 1, specials, name,
                         err));
    tok->post.kind = 1;
    return SINTER_OK;
  }
  if (strcmp(type, "BertProcessing") == 0) {
    special_pair_t cls, sep;
    SN_TRY(special_pair(p, "cls", type, name, &cls, err));
    SN_TRY(special_pair(p, "sep", type, name, &sep, err));
    return bert_template(&tok->post, cls.token, cls.id, sep.token, sep.id, err);
  }
  if (strcmp(type, "RobertaProcessing") == 0 || strcmp(type, "ByteLevel") == 0) {
    int trim = 1, prefix = 1;
    SN_TRY(get_bool(p, "trim_offsets", 1, &trim, name, "post_processor", err));
    SN_TRY(get_bool(p, "add_prefix_space", 1, &prefix, name, "post_processor", err));
    tok->post.trim_offsets = trim;
    tok->post.trim_add_prefix_space = prefix;
    if (strcmp(type, "ByteLevel") == 0) return SINTER_OK; /* adds no tokens */
    special_pair_t cls, sep;
    SN_TRY(special_pair(p, "cls", type, name, &cls, err));
    SN_TRY(special_pair(p, "sep", type, name, &sep, err));
    return roberta_template(&tok->post, cls.token, cls.id, sep.token, sep.id, err);
  }
  return sn_error_set(err, SINTER_ERR_UNSUPPORTED, "unsupported post_processor \"%s\" in %s", type,
                      name);
}

/* ------------------------------------------------------------ decoder */

/* ------------------------------------------------------------ added tokens */

static sinter_status_t push_added(sn_tokenizer_t *tok, const char *content, int32_t id, int special,
                                  int normalized, int lstrip, int rstrip, int single_word,
                                  sinter_error_t *err) {
  /* A content already present is updated in place (the Rust map keeps one). */
  for (size_t i = 0; i < tok->added_len; i++) {
    if (strcmp(tok->added[i].content, content) == 0) {
      sn_added_token_t *a = &tok->added[i];
      a->id = id;
      a->special = (uint8_t)special;
      a->normalized = (uint8_t)normalized;
      a->lstrip = (uint8_t)lstrip;
      a->rstrip = (uint8_t)rstrip;
      a->single_word = (uint8_t)single_word;
      return SINTER_OK;
    }
  }
  sn_added_token_t *v = realloc(tok->added, (tok->added_len + 1) * sizeof *v);
  if (!v) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "added tokens: out of memory");
  tok->added = v;
  sn_added_token_t *a = &v[tok->added_len];
  a->len = strlen(content);
  a->content = sn_tok_strndup(content, a->len);
  if (!a->content) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "out of memory");
  a->id = id;
  a->special = (uint8_t)special;
  a->normalized = (uint8_t)normalized;
  a->lstrip = (uint8_t)lstrip;
  a->rstrip = (uint8_t)rstrip;
  a->single_word = (uint8_t)single_word;
  tok->added_len++;
  return SINTER_OK;
}

static sinter_status_t load_added(sn_tokenizer_t *tok, const cJSON *list, const char *name,
                                  sinter_error_t *err) {
  if (is_null(list)) return SINTER_OK;
  if (!cJSON_IsArray(list)) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"added_tokens\" must be an array",
                        name);
  }
  size_t i = 0;
  for (const cJSON *e = list->child; e; e = e->next, i++) {
    char where[64];
    snprintf(where, sizeof where, "added_tokens[%zu]", i);
    const char *content = NULL;
    size_t id = 0;
    int special = 0, normalized = 0, lstrip = 0, rstrip = 0, single_word = 0;
    SN_TRY(get_string(e, "content", NULL, &content, name, where, err));
    if (!content) {
      return sn_error_set(err, SINTER_ERR_FORMAT, "%s: %s has no content", name, where);
    }
    const cJSON *jid = cJSON_GetObjectItemCaseSensitive(e, "id");
    SN_TRY(as_size(jid, INT32_MAX, &id, name, where, "id", err));
    SN_TRY(get_bool(e, "special", 0, &special, name, where, err));
    SN_TRY(get_bool(e, "normalized", !special, &normalized, name, where, err));
    SN_TRY(get_bool(e, "lstrip", 0, &lstrip, name, where, err));
    SN_TRY(get_bool(e, "rstrip", 0, &rstrip, name, where, err));
    SN_TRY(get_bool(e, "single_word", 0, &single_word, name, where, err));
    SN_TRY(sn_utf8_validate(content, strlen(content), name, err));
    SN_TRY(push_added(tok, content, (int32_t)id, special, normalized, lstrip, rstrip, single_word,
                      err));
  }
  return SINTER_OK;
}

/* ------------------------------------------------------------ truncation, padding */

/* "Right" or "Left", as truncation and padding name their side. */
static sinter_status_t parse_side(const char *direction, const char *name, const char *what,
                                  sn_side_t *out, sinter_error_t *err) {
  if (strcmp(direction, "Right") == 0) {
    *out = SN_SIDE_RIGHT;
  } else if (strcmp(direction, "Left") == 0) {
    *out = SN_SIDE_LEFT;
  } else {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: unknown %s direction \"%s\"", name, what,
                        direction);
  }
  return SINTER_OK;
}

static sinter_status_t load_truncation(sn_tokenizer_t *tok, const cJSON *t, const char *name,
                                       sinter_error_t *err) {
  if (is_null(t)) return SINTER_OK;
  if (!cJSON_IsObject(t)) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"truncation\" must be an object", name);
  }
  size_t max_length = 0, stride = 0;
  const char *strategy = NULL, *direction = NULL;
  SN_TRY(get_size(t, "max_length", 512, INT32_MAX, &max_length, name, "truncation", err));
  SN_TRY(get_size(t, "stride", 0, INT32_MAX, &stride, name, "truncation", err));
  SN_TRY(get_string(t, "strategy", "LongestFirst", &strategy, name, "truncation", err));
  SN_TRY(get_string(t, "direction", "Right", &direction, name, "truncation", err));
  if (stride != 0) {
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED, "unsupported truncation stride %zu in %s",
                        stride, name);
  }
  sn_truncation_t tr = {1, max_length, SN_TRUNCATE_LONGEST_FIRST, SN_SIDE_RIGHT};
  if (strcmp(strategy, "LongestFirst") == 0) {
    tr.strategy = SN_TRUNCATE_LONGEST_FIRST;
  } else if (strcmp(strategy, "OnlyFirst") == 0) {
    tr.strategy = SN_TRUNCATE_ONLY_FIRST;
  } else if (strcmp(strategy, "OnlySecond") == 0) {
    tr.strategy = SN_TRUNCATE_ONLY_SECOND;
  } else {
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED, "unsupported truncation strategy \"%s\" in %s",
                        strategy, name);
  }
  SN_TRY(parse_side(direction, name, "truncation", &tr.direction, err));
  tok->truncation = tr;
  return SINTER_OK;
}

static sinter_status_t load_padding(sn_tokenizer_t *tok, const cJSON *p, const char *name,
                                    sinter_error_t *err) {
  if (is_null(p)) return SINTER_OK;
  if (!cJSON_IsObject(p)) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"padding\" must be an object", name);
  }
  sn_padding_t pad;
  memset(&pad, 0, sizeof pad);
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(p, "strategy");
  if (cJSON_IsString(s) && strcmp(s->valuestring, "BatchLongest") == 0) {
    pad.strategy = SN_PAD_LONGEST;
  } else if (cJSON_IsObject(s) && cJSON_GetObjectItemCaseSensitive(s, "Fixed")) {
    pad.strategy = SN_PAD_FIXED;
    SN_TRY(as_size(cJSON_GetObjectItemCaseSensitive(s, "Fixed"), SN_TOKENIZER_MAX_PADDED,
                   &pad.length, name, "padding.strategy", "Fixed", err));
  } else {
    return sn_error_set(
        err, SINTER_ERR_UNSUPPORTED,
        "%s: unsupported padding strategy (want \"BatchLongest\" or {\"Fixed\": n})", name);
  }
  const char *direction = NULL;
  size_t pad_id = 0, pad_type_id = 0;
  SN_TRY(get_string(p, "direction", "Right", &direction, name, "padding", err));
  SN_TRY(get_size(p, "pad_to_multiple_of", 0, SN_TOKENIZER_MAX_PADDED, &pad.multiple_of, name,
                  "padding", err));
  SN_TRY(get_size(p, "pad_id", 0, INT32_MAX, &pad_id, name, "padding", err));
  SN_TRY(get_size(p, "pad_type_id", 0, INT32_MAX, &pad_type_id, name, "padding", err));
  pad.pad_id = (int32_t)pad_id;
  pad.pad_type_id = (int32_t)pad_type_id;
  SN_TRY(parse_side(direction, name, "padding", &pad.direction, err));
  tok->padding = pad;
  return SINTER_OK;
}

/* ------------------------------------------------------------ tokenizer.json */

static sinter_status_t build_from_json(sn_tokenizer_t *tok, const cJSON *root, const char *name,
                                       sinter_error_t *err) {
  if (!cJSON_IsObject(root)) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: the top level must be an object", name);
  }
  const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
  if (!cJSON_IsObject(model)) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"model\" must be an object", name);
  }
  const char *mtype = type_of(model);
  if (!mtype) return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"model.type\" missing", name);
  if (strcmp(mtype, "WordPiece") == 0) {
    SN_TRY(load_wordpiece(tok, model, name, err));
  } else if (strcmp(mtype, "BPE") == 0) {
    SN_TRY(load_bpe(tok, model, name, err));
  } else if (strcmp(mtype, "Unigram") == 0) {
    SN_TRY(load_unigram(tok, model, name, err));
  } else {
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED, "unsupported tokenizer model \"%s\" in %s",
                        mtype, name);
  }
  SN_TRY(load_normalizer(tok, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), name, 0, err));
  SN_TRY(load_pretokenizer(tok, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), name, 0,
                           err));
  SN_TRY(load_post(tok, cJSON_GetObjectItemCaseSensitive(root, "post_processor"), name, 0, err));
  SN_TRY(sn_decoder_from_json(cJSON_GetObjectItemCaseSensitive(root, "decoder"), name,
                              &tok->decoder, err));
  SN_TRY(load_added(tok, cJSON_GetObjectItemCaseSensitive(root, "added_tokens"), name, err));
  SN_TRY(load_truncation(tok, cJSON_GetObjectItemCaseSensitive(root, "truncation"), name, err));
  SN_TRY(load_padding(tok, cJSON_GetObjectItemCaseSensitive(root, "padding"), name, err));
  if (tok->pretokenizer.has_bytelevel)
    SN_TRY(sn_bytelevel_compile(&tok->pretokenizer.bytelevel, name, err));
  return SINTER_OK;
}

sinter_status_t sn_tokenizer_load_json(const char *json, size_t len, const char *name,
                                       sn_tokenizer_t **out, sinter_error_t *err) {
  *out = NULL;
  if (!name) name = "tokenizer.json";
  char *escaped = NULL;
  size_t escaped_len = 0;
  SN_TRY(escape_nuls(json, len, name, &escaped, &escaped_len, err));
  if (escaped) {
    json = escaped;
    len = escaped_len;
  }
  cJSON *root = cJSON_ParseWithLength(json, len);
  if (!root) {
    const char *at = cJSON_GetErrorPtr();
    size_t off = (at && at >= json && at <= json + len) ? (size_t)(at - json) : 0;
    free(escaped);
    nul_sentinel = 0;
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: invalid JSON near byte offset %zu", name, off);
  }
  free(escaped);
  sn_tokenizer_t *tok = sn_tokenizer_alloc();
  if (!tok) {
    cJSON_Delete(root);
    nul_sentinel = 0;
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
  }
  sinter_status_t st = build_from_json(tok, root, name, err);
  cJSON_Delete(root);
  nul_sentinel = 0;
  if (st == SINTER_OK) st = sn_tokenizer_finish_added(tok, err);
  if (st != SINTER_OK) {
    sn_tokenizer_destroy(tok);
    return st;
  }
  *out = tok;
  return SINTER_OK;
}

/* ------------------------------------------------------------ model folders */

/* Every file the folder loader reads (a new one also goes into read_dir's
 * reading order). Artifacts and cache keys depend on this order: only append. */
const char *const sn_tokenizer_file_names[] = {"tokenizer.json",
                                               "vocab.txt",
                                               "tokenizer_config.json",
                                               "special_tokens_map.json",
                                               "sentence_bert_config.json",
                                               NULL};

/* The files of one load, by name; `label` stands for their folder. */
typedef struct file_set {
  const sn_tokenizer_file_t *files;
  size_t count;
  const char *label;
} file_set_t;

/* The file called `name` in the set, or NULL. */
static const sn_tokenizer_file_t *find_file(const file_set_t *fs, const char *name) {
  for (size_t i = 0; i < fs->count; i++)
    if (!strcmp(fs->files[i].name, name)) return &fs->files[i];
  return NULL;
}

/* Parses the file `name`; *out is NULL (and OK) when the set lacks it. */
static sinter_status_t read_json_file(const file_set_t *fs, const char *name, cJSON **out,
                                      sinter_error_t *err) {
  *out = NULL;
  const sn_tokenizer_file_t *f = find_file(fs, name);
  if (!f) return SINTER_OK;
  *out = cJSON_ParseWithLength(f->data, f->size);
  if (*out) return SINTER_OK;
  /* sn_path_join, as the folder loader always named the file: no doubled '/'. */
  char *path = sn_path_join(fs->label, name);
  if (!path) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "out of memory");
  sn_error_set(err, SINTER_ERR_FORMAT, "%s: invalid JSON", path);
  free(path);
  return SINTER_ERR_FORMAT;
}

/* A special token given as "str" or {"content": "str", ...} in the configs. */
static const char *token_content(const cJSON *j) {
  if (cJSON_IsString(j)) return j->valuestring;
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "content");
  return cJSON_IsString(c) ? c->valuestring : NULL;
}

static int token_flag(const cJSON *j, const char *key, int def) {
  const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, key);
  return cJSON_IsBool(f) ? cJSON_IsTrue(f) : def;
}

/* Looks a special token name up in special_tokens_map.json, then in
 * tokenizer_config.json, then falls back to BERT's default. */
static const cJSON *special_entry(const cJSON *map, const cJSON *cfg, const char *key) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(map, key);
  if (token_content(j)) return j;
  j = cJSON_GetObjectItemCaseSensitive(cfg, key);
  if (token_content(j)) return j;
  return NULL;
}

/* Fills `v` from the set's vocab.txt, one token per line, id = line number. */
static sinter_status_t load_vocab_txt(const file_set_t *fs, sn_vocab_t *v, sinter_error_t *err) {
  const sn_tokenizer_file_t *f = find_file(fs, "vocab.txt");
  char *path = sn_path_join(fs->label, "vocab.txt");
  if (!path) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "out of memory");
  const char *data = f ? f->data : "";
  size_t size = f ? f->size : 0;
  sinter_status_t st = sn_utf8_validate(data, size, path, err);
  /* Python's universal newlines: "\r\n", "\r" and "\n" all end a line. */
  size_t line = 0, i = 0;
  while (st == SINTER_OK && i < size) {
    size_t j = i;
    while (j < size && data[j] != '\n' && data[j] != '\r') j++;
    st = sn_vocab_put(v, data + i, j - i, (int32_t)line, err);
    if (st != SINTER_OK) sn_error_prefix(err, "%s: line %zu", path, line + 1);
    line++;
    if (j < size && data[j] == '\r' && j + 1 < size && data[j + 1] == '\n') j++;
    i = j + 1;
  }
  free(path);
  return st;
}

/* Builds the BertTokenizer of the vocab.txt layout: WordPiece over vocab.txt,
 * special and added tokens from the two JSON configs, [CLS]/[SEP] template. */
static sinter_status_t build_from_vocab_dir(sn_tokenizer_t *tok, const file_set_t *fs,
                                            const cJSON *cfg, const cJSON *map,
                                            sinter_error_t *err) {
  const char *dir = fs->label;
  sn_vocab_t v;
  memset(&v, 0, sizeof v);
  v.max_id = -1;
  SN_TRY(load_vocab_txt(fs, &v, err));
  int32_t next_id = v.max_id + 1;
  static const char *const keys[] = {"unk_token", "sep_token", "pad_token", "cls_token",
                                     "mask_token"};
  static const char *const defaults[] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};
  const char *names[5];
  const cJSON *entries[5];
  for (int i = 0; i < 5; i++) {
    entries[i] = special_entry(map, cfg, keys[i]);
    names[i] = entries[i] ? token_content(entries[i]) : defaults[i];
  }
  sn_wordpiece_t *wp;
  /* Keep a copy of the vocab lookups we need after ownership moves. */
  SN_TRY(sn_wordpiece_create(&v, names[0], "##", 100, &wp, err));
  tok->model_vt = &sn_wordpiece_vtable;
  tok->model = wp;

  int lower = 1, chinese = 1, strip_raw = -1;
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(cfg, "do_lower_case");
  if (cJSON_IsBool(j)) lower = cJSON_IsTrue(j);
  j = cJSON_GetObjectItemCaseSensitive(cfg, "tokenize_chinese_chars");
  if (cJSON_IsBool(j)) chinese = cJSON_IsTrue(j);
  j = cJSON_GetObjectItemCaseSensitive(cfg, "strip_accents");
  if (cJSON_IsBool(j)) strip_raw = cJSON_IsTrue(j);
  sn_norm_step_t step;
  memset(&step, 0, sizeof step);
  step.kind = SN_NORM_BERT;
  step.clean_text = 1;
  step.handle_chinese = (uint8_t)chinese;
  step.strip_accents = (uint8_t)(strip_raw < 0 ? lower : strip_raw);
  step.lowercase = (uint8_t)lower;
  step.strip_accents_raw = (int8_t)strip_raw;
  tok->normalizer.steps[0] = step;
  tok->normalizer.count = 1;
  tok->pretokenizer.steps[0].kind = SN_PRETOK_BERT;
  tok->pretokenizer.count = 1;
  /* BertTokenizer's decoder: WordPiece with "##" and the cleanup. */
  cJSON *dec = cJSON_CreateObject();
  if (!dec || !cJSON_AddStringToObject(dec, "type", "WordPiece") ||
      !cJSON_AddStringToObject(dec, "prefix", "##") || !cJSON_AddTrueToObject(dec, "cleanup")) {
    cJSON_Delete(dec);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "out of memory");
  }
  sinter_status_t dst = sn_decoder_from_json(dec, "vocab.txt", &tok->decoder, err);
  cJSON_Delete(dec);
  SN_TRY(dst);

  /* added_tokens_decoder (transformers >= 4.34) lists every added token with
   * its flags and id. */
  const cJSON *atd = cJSON_GetObjectItemCaseSensitive(cfg, "added_tokens_decoder");
  if (atd && !cJSON_IsObject(atd)) {
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s/tokenizer_config.json: field \"added_tokens_decoder\" must be an "
                        "object {id: token}",
                        dir);
  }
  for (const cJSON *e = atd ? atd->child : NULL; e; e = e->next) {
    const char *content = token_content(e);
    char *endp;
    long id = strtol(e->string, &endp, 10);
    if (!content || *endp || id < 0 || id > INT32_MAX) {
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s/tokenizer_config.json: bad added_tokens_decoder entry \"%s\"", dir,
                          e->string);
    }
    int special = token_flag(e, "special", 0);
    SN_TRY(push_added(tok, content, (int32_t)id, special, token_flag(e, "normalized", !special),
                      token_flag(e, "lstrip", 0), token_flag(e, "rstrip", 0),
                      token_flag(e, "single_word", 0), err));
    /* Ids go up to INT32_MAX: the next free id saturates there, no wrap. */
    if (id >= next_id) next_id = id == INT32_MAX ? INT32_MAX : (int32_t)id + 1;
  }
  /* The named special tokens and additional_special_tokens are special added
   * tokens with normalized = false. */
  const cJSON *extra = cJSON_GetObjectItemCaseSensitive(map, "additional_special_tokens");
  if (!extra) extra = cJSON_GetObjectItemCaseSensitive(cfg, "additional_special_tokens");
  size_t n_extra = cJSON_IsArray(extra) ? (size_t)cJSON_GetArraySize(extra) : 0;
  for (size_t i = 0; i < 5 + n_extra; i++) {
    const cJSON *ent = i < 5 ? entries[i] : cJSON_GetArrayItem(extra, (int)(i - 5));
    const char *content = i < 5 ? names[i] : token_content(ent);
    if (!content || !*content) continue;
    int known = 0;
    for (size_t k = 0; k < tok->added_len; k++)
      known |= strcmp(tok->added[k].content, content) == 0;
    if (known) continue;
    int32_t id = sn_vocab_get(&wp->vocab, content, strlen(content));
    if (id < 0) {
      if (next_id == INT32_MAX)
        return sn_error_set(err, SINTER_ERR_LIMIT,
                            "%s: no token id is left for special token \"%s\"", dir, content);
      id = next_id++;
    }
    SN_TRY(push_added(tok, content, id, 1, token_flag(ent, "normalized", 0),
                      token_flag(ent, "lstrip", 0), token_flag(ent, "rstrip", 0),
                      token_flag(ent, "single_word", 0), err));
  }
  int32_t cls_id = sn_vocab_get(&wp->vocab, names[3], strlen(names[3]));
  int32_t sep_id = sn_vocab_get(&wp->vocab, names[1], strlen(names[1]));
  for (size_t k = 0; k < tok->added_len; k++) {
    if (strcmp(tok->added[k].content, names[3]) == 0) cls_id = tok->added[k].id;
    if (strcmp(tok->added[k].content, names[1]) == 0) sep_id = tok->added[k].id;
  }
  return bert_template(&tok->post, names[3], cls_id >= 0 ? cls_id : 2, names[1],
                       sep_id >= 0 ? sep_id : 3, err);
}

/* transformers' RobertaTokenizer(Fast) rule: the ByteLevel pre-tokenizer's
 * add_prefix_space and RobertaProcessing's add_prefix_space and trim_offsets
 * come from tokenizer_config.json (defaults false and true), whatever
 * tokenizer.json says (4.x rewrites the states that differ, 5.x rebuilds
 * both), so a folder loads as `AutoTokenizer` loads it. */
static void apply_roberta_overrides(sn_tokenizer_t *tok, const cJSON *cfg) {
  const cJSON *cls = cJSON_GetObjectItemCaseSensitive(cfg, "tokenizer_class");
  if (!cJSON_IsString(cls) || (strcmp(cls->valuestring, "RobertaTokenizer") != 0 &&
                               strcmp(cls->valuestring, "RobertaTokenizerFast") != 0))
    return;
  if (!tok->pretokenizer.has_bytelevel || !tok->post.zero_type_ids) return;
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(cfg, "add_prefix_space");
  int prefix = cJSON_IsBool(j) ? cJSON_IsTrue(j) : 0;
  j = cJSON_GetObjectItemCaseSensitive(cfg, "trim_offsets");
  int trim = cJSON_IsBool(j) ? cJSON_IsTrue(j) : 1;
  tok->pretokenizer.bytelevel.add_prefix_space = (uint8_t)prefix;
  tok->post.trim_add_prefix_space = prefix;
  tok->post.trim_offsets = trim;
}

/* transformers' BertTokenizerFast.__init__ rule: when tokenizer_config.json's
 * do_lower_case / strip_accents / tokenize_chinese_chars (defaults true / null /
 * true) differ from a BertNormalizer's, the normalizer is rebuilt with them. */
static void apply_config_overrides(sn_tokenizer_t *tok, const cJSON *cfg) {
  apply_roberta_overrides(tok, cfg);
  if (!cfg || tok->normalizer.count != 1 || tok->normalizer.steps[0].kind != SN_NORM_BERT) return;
  int lower = 1, chinese = 1, strip_raw = -1;
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(cfg, "do_lower_case");
  if (cJSON_IsBool(j)) lower = cJSON_IsTrue(j);
  j = cJSON_GetObjectItemCaseSensitive(cfg, "tokenize_chinese_chars");
  if (cJSON_IsBool(j)) chinese = cJSON_IsTrue(j);
  j = cJSON_GetObjectItemCaseSensitive(cfg, "strip_accents");
  if (cJSON_IsBool(j)) strip_raw = cJSON_IsTrue(j);
  sn_norm_step_t *s = &tok->normalizer.steps[0];
  if (s->lowercase == lower && s->handle_chinese == chinese && s->strip_accents_raw == strip_raw) {
    return;
  }
  s->lowercase = (uint8_t)lower;
  s->handle_chinese = (uint8_t)chinese;
  s->strip_accents_raw = (int8_t)strip_raw;
  s->strip_accents = (uint8_t)(strip_raw < 0 ? lower : strip_raw);
}

/* sentence-transformers' do_lower_case (6.x, the version the tests pin): a
 * Lowercase normalizer put first when the normalizer has none at its top
 * level (a BertNormalizer's own lowercase does not count, as there). Before
 * the added tokens' tries, which normalize with it. The text itself is
 * given to the tokenizer as it is: 6.x no longer strips it. */
static sinter_status_t apply_sentence_bert_lowercase(sn_tokenizer_t *tok, const cJSON *sb,
                                                     const char *dir, sinter_error_t *err) {
  if (!sb || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sb, "do_lower_case"))) return SINTER_OK;
  sn_normalizer_t *n = &tok->normalizer;
  for (int i = 0; i < n->count; i++)
    if (n->steps[i].kind == SN_NORM_LOWERCASE) return SINTER_OK;
  if (n->count >= SN_NORM_MAX_STEPS)
    return sn_error_set(err, SINTER_ERR_LIMIT,
                        "%s: sentence_bert_config.json's do_lower_case needs a normalizer step "
                        "beyond the %d the tokenizer may have",
                        dir, SN_NORM_MAX_STEPS);
  memmove(&n->steps[1], &n->steps[0], (size_t)n->count * sizeof n->steps[0]);
  memset(&n->steps[0], 0, sizeof n->steps[0]);
  n->steps[0].kind = SN_NORM_LOWERCASE;
  n->count++;
  return SINTER_OK;
}

/* sentence-transformers' Transformer module: truncation to max_seq_length
 * and padding to the longest. */
static sinter_status_t apply_sentence_bert(sn_tokenizer_t *tok, const cJSON *sb, const cJSON *cfg,
                                           const char *dir, sinter_error_t *err) {
  if (!sb) return SINTER_OK;
  const cJSON *ml = cJSON_GetObjectItemCaseSensitive(sb, "max_seq_length");
  const char *tside = "right", *pside = "right";
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(cfg, "truncation_side");
  if (cJSON_IsString(t)) tside = t->valuestring;
  t = cJSON_GetObjectItemCaseSensitive(cfg, "padding_side");
  if (cJSON_IsString(t)) pside = t->valuestring;
  if (!is_null(ml)) {
    size_t max_len = 0;
    SN_TRY(
        as_size(ml, INT32_MAX, &max_len, "sentence_bert_config.json", dir, "max_seq_length", err));
    sn_truncation_t tr = {1, max_len, SN_TRUNCATE_LONGEST_FIRST,
                          strcmp(tside, "left") == 0 ? SN_SIDE_LEFT : SN_SIDE_RIGHT};
    tok->truncation = tr;
  }
  sn_padding_t pad;
  memset(&pad, 0, sizeof pad);
  pad.strategy = SN_PAD_LONGEST;
  pad.direction = strcmp(pside, "left") == 0 ? SN_SIDE_LEFT : SN_SIDE_RIGHT;
  const cJSON *pt = cJSON_GetObjectItemCaseSensitive(cfg, "pad_token");
  const char *pad_token = token_content(pt) ? token_content(pt) : "[PAD]";
  int32_t pid = sn_tokenizer_token_to_id(tok, pad_token, strlen(pad_token));
  pad.pad_id = pid >= 0 ? pid : 0;
  tok->padding = pad;
  return SINTER_OK;
}

sinter_status_t sn_tokenizer_load_files(const sn_tokenizer_file_t *files, size_t count,
                                        const char *label, sn_tokenizer_t **out,
                                        sinter_error_t *err) {
  *out = NULL;
  if (!label || (count && !files))
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "tokenizer files: %s is NULL",
                        label ? "files" : "label");
  for (size_t i = 0; i < count; i++) {
    int known = 0;
    for (size_t k = 0; sn_tokenizer_file_names[k]; k++)
      known |= files[i].name && !strcmp(files[i].name, sn_tokenizer_file_names[k]);
    for (size_t j = 0; known && j < i; j++)
      if (!strcmp(files[j].name, files[i].name)) known = 0;
    if (!known)
      return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                          "%s: tokenizer file \"%s\" is unknown or given twice", label,
                          files[i].name ? files[i].name : "(null)");
  }
  const file_set_t set = {files, count, label}, *fs = &set;
  const char *dir = label;
  cJSON *cfg = NULL, *map = NULL, *sb = NULL;
  sn_tokenizer_t *tok = NULL;
  char *path = sn_path_join(dir, "tokenizer.json");
  const sn_tokenizer_file_t *json = find_file(fs, "tokenizer.json");
  sinter_status_t st =
      path ? SINTER_OK : sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "out of memory");
  if (st == SINTER_OK) st = read_json_file(fs, "tokenizer_config.json", &cfg, err);
  if (st == SINTER_OK) st = read_json_file(fs, "special_tokens_map.json", &map, err);
  if (st == SINTER_OK) st = read_json_file(fs, "sentence_bert_config.json", &sb, err);
  if (st == SINTER_OK && json) {
    st = sn_tokenizer_load_json(json->data, json->size, path, &tok, err);
    if (st == SINTER_OK) apply_config_overrides(tok, cfg);
  } else if (st == SINTER_OK) {
    if (!find_file(fs, "vocab.txt")) {
      st =
          sn_error_set(err, SINTER_ERR_NOT_FOUND,
                       "%s: no tokenizer.json or vocab.txt (a WordPiece tokenizer is needed)", dir);
    } else {
      tok = sn_tokenizer_alloc();
      if (!tok) st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "out of memory");
      if (st == SINTER_OK) st = build_from_vocab_dir(tok, fs, cfg, map, err);
    }
  }
  /* Normalizer overrides change what normalized added tokens look like. */
  if (st == SINTER_OK) st = apply_sentence_bert_lowercase(tok, sb, dir, err);
  if (st == SINTER_OK) st = sn_tokenizer_finish_added(tok, err);
  if (st == SINTER_OK) st = apply_sentence_bert(tok, sb, cfg, dir, err);
  free(path);
  cJSON_Delete(cfg);
  cJSON_Delete(map);
  cJSON_Delete(sb);
  if (st != SINTER_OK) {
    sn_tokenizer_destroy(tok);
    return st;
  }
  *out = tok;
  return SINTER_OK;
}

/* The cap the folder loader applies to a file: tokenizer.json and vocab.txt
 * may be large, the JSON configs are small. */
static size_t file_cap(const char *name) {
  return !strcmp(name, "tokenizer.json") || !strcmp(name, "vocab.txt") ? SN_TOKENIZER_JSON_MAX
                                                                       : SN_SMALL_JSON_MAX;
}

sinter_status_t sn_tokenizer_read_dir(const char *dir, sn_tokenizer_file_t **out_files,
                                      size_t *out_count, sinter_error_t *err) {
  *out_files = NULL;
  *out_count = 0;
  size_t n = 0;
  while (sn_tokenizer_file_names[n]) n++;
  sn_tokenizer_file_t *slot = calloc(n, sizeof *slot);
  if (!slot) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "out of memory");
  /* Read in the order the folder loader always read (the configs, then
   * tokenizer.json, then vocab.txt), so that the first error is the same. */
  static const char *const order[] = {"tokenizer_config.json", "special_tokens_map.json",
                                      "sentence_bert_config.json", "tokenizer.json", "vocab.txt"};
  sinter_status_t st = SINTER_OK;
  int have_json = 0;
  for (size_t o = 0; o < sizeof order / sizeof order[0] && st == SINTER_OK; o++) {
    size_t i = 0;
    while (i < n && strcmp(sn_tokenizer_file_names[i], order[o])) i++;
    /* vocab.txt is not read beside a tokenizer.json: the loader would ignore
     * it, and a model must keep only the bytes that were parsed. */
    if (i == n || (have_json && !strcmp(order[o], "vocab.txt"))) continue;
    char *path = sn_path_join(dir, order[o]);
    if (!path) {
      st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "out of memory");
      break;
    }
    if (sn_path_exists(path)) {
      char *data = NULL;
      size_t size = 0;
      st = sn_file_read_all(path, file_cap(order[o]), &data, &size, err);
      if (st == SINTER_OK) {
        slot[i] = (sn_tokenizer_file_t){sn_tokenizer_file_names[i], data, size};
        have_json |= !strcmp(order[o], "tokenizer.json");
      }
    }
    free(path);
  }
  /* The array lists the files in sn_tokenizer_file_names order. */
  size_t count = 0;
  for (size_t i = 0; i < n; i++)
    if (slot[i].name) slot[count++] = slot[i];
  if (st != SINTER_OK) {
    sn_tokenizer_files_free(slot, count);
    return st;
  }
  if (!count) {
    free(slot);
    return SINTER_OK;
  }
  *out_files = slot;
  *out_count = count;
  return SINTER_OK;
}

void sn_tokenizer_files_free(sn_tokenizer_file_t *files, size_t count) {
  for (size_t i = 0; files && i < count; i++) free((char *)files[i].data);
  free(files);
}

sinter_status_t sn_tokenizer_load_dir(const char *dir, sn_tokenizer_t **out, sinter_error_t *err) {
  *out = NULL;
  sn_tokenizer_file_t *files = NULL;
  size_t count = 0;
  SN_TRY(sn_tokenizer_read_dir(dir, &files, &count, err));
  sinter_status_t st = sn_tokenizer_load_files(files, count, dir, out, err);
  sn_tokenizer_files_free(files, count);
  return st;
}
