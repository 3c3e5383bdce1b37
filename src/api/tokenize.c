/* tokenize.c — the public tokenize calls over a model's tokenizer. */
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

static sinter_status_t need_tokenizer(const sinter_model_t *model, sinter_error_t *err) {
  if (sn_model_tokenizer(model)) return SINTER_OK;
  return sn_error_set(err, SINTER_ERR_NOT_FOUND,
                      "%s: the model folder has no tokenizer (tokenizer.json or vocab.txt); "
                      "pass token ids with --ids",
                      sn_model_source(model));
}

sinter_status_t sinter_model_tokenize(const sinter_model_t *model, const char *text, size_t size,
                                      int32_t **out_ids, int32_t **out_type_ids, size_t *out_length,
                                      sinter_error_t *error) {
  *out_ids = NULL;
  *out_type_ids = NULL;
  *out_length = 0;
  SN_TRY(need_tokenizer(model, error));
  sn_encoding_t enc;
  sn_encoding_init(&enc);
  sn_encode_options_t opts = sn_encode_options_default();
  sinter_status_t st =
      sn_tokenizer_encode(sn_model_tokenizer(model), text, size, NULL, 0, &opts, &enc, error);
  if (!st) {
    size_t n = enc.length;
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids), *types = malloc((n ? n : 1) * sizeof *types);
    if (!ids || !types) {
      free(ids), free(types);
      st = sn_error_set(error, SINTER_ERR_OUT_OF_MEMORY, "token ids");
    } else {
      memcpy(ids, enc.ids, n * sizeof *ids);
      memcpy(types, enc.type_ids, n * sizeof *types);
      *out_ids = ids;
      *out_type_ids = types;
      *out_length = n;
    }
  }
  sn_encoding_deinit(&enc);
  return st;
}

/* Copies an encoding's arrays into a public one. */
static sinter_status_t export_encoding(const sn_encoding_t *enc, int truncated,
                                       sinter_encoding_t *out, sinter_error_t *err) {
  size_t n = enc->length, alloc = n ? n : 1;
  memset(out, 0, sizeof *out);
  out->ids = malloc(alloc * sizeof *out->ids);
  out->type_ids = malloc(alloc * sizeof *out->type_ids);
  out->offsets = malloc(2 * alloc * sizeof *out->offsets);
  out->special = malloc(alloc);
  out->in_pair = malloc(alloc);
  if (!out->ids || !out->type_ids || !out->offsets || !out->special || !out->in_pair) {
    sinter_encodings_free(out, 1);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "encodings");
  }
  out->length = n;
  out->truncated = truncated;
  memcpy(out->ids, enc->ids, n * sizeof *out->ids);
  memcpy(out->type_ids, enc->type_ids, n * sizeof *out->type_ids);
  for (size_t t = 0; t < n; t++) {
    out->offsets[2 * t] = enc->offsets[t].start;
    out->offsets[2 * t + 1] = enc->offsets[t].end;
    out->special[t] = (uint8_t)(enc->special_tokens_mask[t] != 0);
    out->in_pair[t] = (uint8_t)(enc->sequence_ids[t] == 1);
  }
  return SINTER_OK;
}

/* body with {query}, {document} and {instruction} filled in, into *out
 * (malloc'd; *out_len bytes, NUL-terminated). */
static sinter_status_t render_body(const char *body, const char *instr, size_t instr_len,
                                   const char *q, size_t q_len, const char *d, size_t d_len,
                                   char **out, size_t *out_len, sinter_error_t *err) {
  static const char *const names[3] = {"{query}", "{document}", "{instruction}"};
  const char *texts[3] = {q, d, instr};
  const size_t lens[3] = {q_len, d_len, instr_len};
  char *buf = NULL;
  size_t n = 0;
  for (int pass = 0; pass < 2; pass++) { /* measure, then write */
    n = 0;
    for (const char *p = body; *p;) {
      int k = 0;
      while (k < 3 && strncmp(p, names[k], strlen(names[k]))) k++;
      if (k < 3) {
        if (buf) memcpy(buf + n, texts[k], lens[k]);
        if (n + lens[k] < n) return sn_error_set(err, SINTER_ERR_LIMIT, "reranker input size");
        n += lens[k];
        p += strlen(names[k]);
      } else {
        if (buf) buf[n] = *p;
        n++, p++;
      }
    }
    if (!buf && !(buf = malloc(n + 1)))
      return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "reranker input");
  }
  buf[n] = '\0';
  *out = buf;
  *out_len = n;
  return SINTER_OK;
}

/* Appends enc's ids to e->ids from e->length on; special marks template tokens. */
static void append_ids(sinter_encoding_t *e, const int32_t *ids, size_t n, int special) {
  for (size_t t = 0; t < n; t++, e->length++) {
    e->ids[e->length] = ids[t];
    e->special[e->length] = (uint8_t)special;
  }
}

/* Pairs through the model's reranker template: prefix and suffix tokenized
 * once, each body (query, document, instruction filled in) on its own, all
 * without special tokens, and only the body cut to fit `limit`, as
 * Qwen3-Reranker's reference code does, so the last token is always the
 * template's. Offsets are zero: the tokens are not of the caller's texts. */
static sinter_status_t tokenize_reranked(const sinter_model_t *model,
                                         const sn_rerank_template_t *rt, size_t count,
                                         const char *const *texts, const size_t *sizes,
                                         const char *const *pairs, const size_t *pair_sizes,
                                         const sinter_tokenize_options_t *options, size_t limit,
                                         sinter_encoding_t *out, sinter_error_t *err) {
  const sn_tokenizer_t *tok = sn_model_tokenizer(model);
  const char *body = options->rerank_template ? options->rerank_template : rt->body;
  const char *instr = options->rerank_instruction ? options->rerank_instruction : rt->instruction;
  if (options->rerank_template && (!strstr(body, "{query}") || !strstr(body, "{document}")))
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                        "tokenize: the rerank template must hold both {query} and {document}");
  sn_truncation_t none = {0};
  sn_encode_options_t plain = sn_encode_options_default();
  plain.add_special_tokens = 0;
  plain.truncation = &none;
  sn_encoding_t pre, suf, enc;
  sn_encoding_init(&pre), sn_encoding_init(&suf), sn_encoding_init(&enc);
  sinter_status_t st =
      sn_tokenizer_encode(tok, rt->prefix, strlen(rt->prefix), NULL, 0, &plain, &pre, err);
  if (!st)
    st = sn_tokenizer_encode(tok, rt->suffix, strlen(rt->suffix), NULL, 0, &plain, &suf, err);
  size_t fixed = pre.length + suf.length, done = 0;
  if (!st && fixed >= limit)
    st = sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                      "tokenize: max_length %zu leaves no room for a query and document after the "
                      "reranker template's %zu tokens",
                      limit, fixed);
  for (; !st && done < count; done++) {
    const char *q = texts[done], *d = pairs[done];
    if (!q || !d) {
      st = sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "input %zu is NULL", done);
      break;
    }
    char *text = NULL;
    size_t len = 0;
    st = render_body(body, instr, strlen(instr), q, sizes ? sizes[done] : strlen(q), d,
                     pair_sizes ? pair_sizes[done] : strlen(d), &text, &len, err);
    if (!st) st = sn_tokenizer_encode(tok, text, len, NULL, 0, &plain, &enc, err);
    free(text);
    if (st) {
      sn_error_prefix(err, "input %zu", done);
      break;
    }
    size_t keep = enc.length, from = 0, budget = limit - fixed;
    if (keep > budget) {
      if (options->truncation == SINTER_TRUNCATE_NONE) {
        st = sn_error_set(err, SINTER_ERR_LIMIT,
                          "input %zu has %zu tokens; the limit is %zu (truncation is off)", done,
                          keep + fixed, limit);
        break;
      }
      from = options->truncation == SINTER_TRUNCATE_LEFT ? keep - budget : 0;
      keep = budget;
    }
    sinter_encoding_t *e = &out[done];
    size_t n = fixed + keep;
    memset(e, 0, sizeof *e);
    e->ids = malloc(n * sizeof *e->ids);
    e->type_ids = calloc(n, sizeof *e->type_ids);
    e->offsets = calloc(2 * n, sizeof *e->offsets);
    e->special = malloc(n);
    e->in_pair = calloc(n, 1);
    if (!e->ids || !e->type_ids || !e->offsets || !e->special || !e->in_pair) {
      sinter_encodings_free(e, 1);
      st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "encodings");
      break;
    }
    append_ids(e, pre.ids, pre.length, 1);
    append_ids(e, enc.ids + from, keep, 0);
    append_ids(e, suf.ids, suf.length, 1);
    e->truncated = keep < enc.length;
  }
  sn_encoding_deinit(&pre), sn_encoding_deinit(&suf), sn_encoding_deinit(&enc);
  if (st) sinter_encodings_free(out, done);
  return st;
}

sinter_status_t sinter_model_tokenize_batch(const sinter_model_t *model, size_t count,
                                            const char *const *texts, const size_t *sizes,
                                            const char *const *pairs, const size_t *pair_sizes,
                                            const sinter_tokenize_options_t *options,
                                            sinter_encoding_t *out, sinter_error_t *error) {
  sinter_error_t local;
  sinter_error_t *err = error ? error : &local;
  sn_error_clear(err);
  if (!model || (count && (!texts || !out)))
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "tokenize: NULL argument");
  SN_TRY(need_tokenizer(model, err));
  sinter_tokenize_options_t defaults = {0};
  if (!options) options = &defaults;
  if (options->truncation < SINTER_TRUNCATE_RIGHT || options->truncation > SINTER_TRUNCATE_NONE)
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "tokenize: unknown truncation %d",
                        (int)options->truncation);
  const sn_tokenizer_t *tok = sn_model_tokenizer(model);
  /* The model's limit (set when the tokenizer was loaded) bounds every request. */
  sn_truncation_t limit, cut, none = {0};
  sn_tokenizer_get_truncation(tok, &limit);
  cut = limit;
  if (options->max_length > 0 && (size_t)options->max_length < cut.max_length)
    cut.max_length = (size_t)options->max_length;
  if (options->max_length > 0) {
    /* Below the number of special tokens no truncation can be satisfied
     * (the Rust library wraps around and silently truncates nothing). */
    sn_encoding_t empty;
    sn_encoding_init(&empty);
    sn_encode_options_t specials_on = sn_encode_options_default();
    specials_on.add_special_tokens = !options->without_special_tokens;
    sinter_status_t est =
        sn_tokenizer_encode(tok, "", 0, pairs ? "" : NULL, 0, &specials_on, &empty, err);
    size_t specials = empty.length;
    sn_encoding_deinit(&empty);
    if (est) return est;
    if ((size_t)options->max_length < specials)
      return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                          "tokenize: max_length %d is less than the %zu special tokens every "
                          "input gets",
                          (int)options->max_length, specials);
  }
  const sn_rerank_template_t *rt = sn_model_rerank(model);
  if (rt && pairs)
    return tokenize_reranked(model, rt, count, texts, sizes, pairs, pair_sizes, options,
                             cut.max_length, out, err);
  if (options->truncation == SINTER_TRUNCATE_LEFT) cut.direction = SN_SIDE_LEFT;
  if (options->truncation == SINTER_TRUNCATE_RIGHT) cut.direction = SN_SIDE_RIGHT;
  sn_encode_options_t whole = sn_encode_options_default();
  whole.add_special_tokens = !options->without_special_tokens;
  whole.reuse_repeated_text = 1; /* the texts are const for this call */
  sn_encode_options_t cutting = whole;
  whole.truncation = &none;
  cutting.truncation = &cut;
  sn_encoding_t enc;
  sn_encoding_init(&enc);
  sinter_status_t st = SINTER_OK;
  size_t done = 0;
  for (; done < count && !st; done++) {
    const char *text = texts[done], *pair = pairs ? pairs[done] : NULL;
    size_t size = sizes ? sizes[done] : text ? strlen(text) : 0;
    size_t pair_size = pair ? (pair_sizes ? pair_sizes[done] : strlen(pair)) : 0;
    if (!text) {
      st = sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "input %zu is NULL", done);
      break;
    }
    /* Encode whole first: whether an input was cut is then known exactly,
     * and most inputs fit, so they are encoded once. */
    st = sn_tokenizer_encode(tok, text, size, pair, pair_size, &whole, &enc, err);
    int truncated = 0;
    if (!st && enc.length > cut.max_length) {
      if (options->truncation == SINTER_TRUNCATE_NONE) {
        st = sn_error_set(err, SINTER_ERR_LIMIT,
                          "input %zu has %zu tokens; the limit is %zu (truncation is off)", done,
                          enc.length, cut.max_length);
        break;
      }
      truncated = 1;
      st = sn_tokenizer_encode(tok, text, size, pair, pair_size, &cutting, &enc, err);
    }
    if (st) {
      sn_error_prefix(err, "input %zu", done);
      break;
    }
    st = export_encoding(&enc, truncated, &out[done], err);
  }
  sn_encoding_deinit(&enc);
  if (st) sinter_encodings_free(out, done);
  return st;
}

void sinter_encodings_free(sinter_encoding_t *encodings, size_t count) {
  for (size_t i = 0; encodings && i < count; i++) {
    sinter_encoding_t *e = &encodings[i];
    free(e->ids), free(e->type_ids), free(e->offsets), free(e->special), free(e->in_pair);
    memset(e, 0, sizeof *e);
  }
}

sinter_status_t sinter_model_decode(const sinter_model_t *model, const int32_t *ids, size_t count,
                                    int skip_special_tokens, char **out_text,
                                    sinter_error_t *error) {
  sinter_error_t local;
  sinter_error_t *err = error ? error : &local;
  sn_error_clear(err);
  if (!out_text) return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "decode: NULL argument");
  *out_text = NULL;
  if (!model || (count && !ids))
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "decode: NULL argument");
  SN_TRY(need_tokenizer(model, err));
  return sn_tokenizer_decode(sn_model_tokenizer(model), ids, count, skip_special_tokens, out_text,
                             NULL, err);
}

const char *sinter_model_token(const sinter_model_t *model, int32_t id) {
  const sn_tokenizer_t *tok = model ? sn_model_tokenizer(model) : NULL;
  return tok ? sn_tokenizer_id_to_token(tok, id, NULL) : NULL;
}

void sinter_free(void *memory) {
  free(memory);
}
