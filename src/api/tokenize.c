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
