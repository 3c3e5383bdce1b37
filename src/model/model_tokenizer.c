/* model_tokenizer.c — a model's tokenizer: loading it with the model and
 * turning text into the token ids the model takes. */
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

static int has_file(const char *dir, const char *name) {
  char *path = sn_path_join(dir, name);
  int found = path && sn_file_exists(path);
  free(path);
  return found;
}

sinter_status_t sn_model_load_tokenizer_from(sinter_model_t *m, const char *dir,
                                             sinter_error_t *err) {
  m->tokenizer = NULL;
  if (!has_file(dir, "tokenizer.json") && !has_file(dir, "vocab.txt")) return SINTER_OK;
  sn_tokenizer_t *tok = NULL;
  SN_TRY(sn_tokenizer_load_dir(dir, &tok, err));
  /* Never produce more tokens than the model has positions for: when the
   * folder sets no (or a longer) truncation, cut at the model's limit. */
  sinter_model_info_t info;
  sinter_model_get_info(m, &info);
  sn_truncation_t t;
  sn_tokenizer_get_truncation(tok, &t);
  if (!t.enabled || t.max_length > (size_t)info.max_seq_length) {
    t.enabled = 1;
    t.max_length = (size_t)info.max_seq_length;
    sn_tokenizer_set_truncation(tok, &t);
  }
  /* One text at a time: no padding. */
  sn_tokenizer_set_padding(tok, NULL);
  m->tokenizer = tok;
  return SINTER_OK;
}

sinter_status_t sn_model_load_tokenizer(sinter_model_t *m, sinter_error_t *err) {
  return sn_model_load_tokenizer_from(m, m->dir, err);
}

void sn_model_free_tokenizer(sinter_model_t *m) {
  sn_tokenizer_destroy(m->tokenizer);
  m->tokenizer = NULL;
}

sinter_status_t sinter_model_tokenize(const sinter_model_t *model, const char *text, size_t size,
                                      int32_t **out_ids, int32_t **out_type_ids, size_t *out_length,
                                      sinter_error_t *error) {
  *out_ids = NULL;
  *out_type_ids = NULL;
  *out_length = 0;
  if (!model->tokenizer)
    return sn_error_set(error, SINTER_ERR_NOT_FOUND,
                        "%s: the model folder has no tokenizer (tokenizer.json or vocab.txt); "
                        "pass token ids with --ids",
                        model->dir);
  sn_encoding_t enc;
  sn_encoding_init(&enc);
  sn_encode_options_t opts = sn_encode_options_default();
  sinter_status_t st =
      sn_tokenizer_encode(model->tokenizer, text, size, NULL, 0, &opts, &enc, error);
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
