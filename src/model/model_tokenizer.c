/* model_tokenizer.c — a model's tokenizer: loading it (from the folder or
 * from the files an artifact carries) and turning text into token ids. */
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "tokenizer/tokenizer.h"

/* The model keeps its own copies of the files, so that an artifact can embed
 * exactly what was parsed. */
static sinter_status_t copy_files(sinter_model_t *m, const sn_tokenizer_file_t *files, size_t count,
                                  sinter_error_t *err) {
  m->tokenizer_files = calloc(count ? count : 1, sizeof *m->tokenizer_files);
  if (!m->tokenizer_files) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "tokenizer files");
  for (size_t i = 0; i < count; i++) {
    char *name = strdup(files[i].name), *data = malloc(files[i].size + 1);
    if (!name || !data) {
      free(name), free(data);
      return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "tokenizer files");
    }
    memcpy(data, files[i].data, files[i].size);
    data[files[i].size] = '\0';
    m->tokenizer_files[i] = (sn_tokenizer_file_t){name, data, files[i].size};
    m->tokenizer_file_count = i + 1;
  }
  return SINTER_OK;
}

static int has_file(const sn_tokenizer_file_t *files, size_t count, const char *name) {
  for (size_t i = 0; i < count; i++)
    if (!strcmp(files[i].name, name)) return 1;
  return 0;
}

sinter_status_t sn_model_load_tokenizer_files(sinter_model_t *m, const sn_tokenizer_file_t *files,
                                              size_t count, const char *label,
                                              sinter_error_t *err) {
  m->tokenizer = NULL;
  if (!has_file(files, count, "tokenizer.json") && !has_file(files, count, "vocab.txt"))
    return SINTER_OK;
  sn_tokenizer_t *tok = NULL;
  SN_TRY(sn_tokenizer_load_files(files, count, label, &tok, err));
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
  return copy_files(m, files, count, err);
}

sinter_status_t sn_model_load_tokenizer(sinter_model_t *m, sinter_error_t *err) {
  sn_tokenizer_file_t *files = NULL;
  size_t count = 0;
  SN_TRY(sn_tokenizer_read_dir(m->dir, &files, &count, err));
  sinter_status_t st = sn_model_load_tokenizer_files(m, files, count, m->dir, err);
  sn_tokenizer_files_free(files, count);
  return st;
}

void sn_model_free_tokenizer(sinter_model_t *m) {
  sn_tokenizer_destroy(m->tokenizer);
  m->tokenizer = NULL;
  for (size_t i = 0; i < m->tokenizer_file_count; i++) {
    free((char *)m->tokenizer_files[i].name);
    free((char *)m->tokenizer_files[i].data);
  }
  free(m->tokenizer_files);
  m->tokenizer_files = NULL;
  m->tokenizer_file_count = 0;
}

const sn_tokenizer_t *sn_model_tokenizer(const sinter_model_t *m) {
  return m->tokenizer;
}

const sn_tokenizer_file_t *sn_model_tokenizer_files(const sinter_model_t *m, size_t *out_count) {
  *out_count = m->tokenizer ? m->tokenizer_file_count : 0;
  return m->tokenizer_files;
}
