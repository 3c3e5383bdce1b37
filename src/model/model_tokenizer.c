/* model_tokenizer.c — attaching a tokenizer to a model. Until the tokenizer
 * module is wired in, models take token-id inputs only. */
#include <stdlib.h>

#include "model/model.h"

sinter_status_t sn_model_load_tokenizer(sinter_model_t *model, sinter_error_t *err) {
  (void)err;
  model->tokenizer = NULL;
  return SINTER_OK;
}

void sn_model_free_tokenizer(sinter_model_t *model) {
  model->tokenizer = NULL;
}

sinter_status_t sinter_model_tokenize(const sinter_model_t *model, const char *text, size_t size,
                                      int32_t **out_ids, int32_t **out_type_ids,
                                      size_t *out_length, sinter_error_t *error) {
  (void)text;
  (void)size;
  *out_ids = NULL;
  *out_type_ids = NULL;
  *out_length = 0;
  return sn_error_set(error, SINTER_ERR_NOT_FOUND,
                      "%s: no tokenizer is loaded for this model; pass token ids with --ids",
                      model->dir);
}
