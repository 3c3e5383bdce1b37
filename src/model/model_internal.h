/*
 * model_internal.h — the insides of a model, seen only by the files of
 * src/model/ (SQLite's btreeInt.h is the pattern). Everyone else goes through
 * model/model.h.
 */
#ifndef SN_MODEL_MODEL_INTERNAL_H
#define SN_MODEL_MODEL_INTERNAL_H

#include <pthread.h>

#include "base/str.h"
#include "model/model.h"

struct sinter_model {
  char *dir; /* the folder, or the artifact a description came from */
  char *config_json;
  size_t config_json_size;
  sn_config_t config;
  sn_st_modules_t modules;
  struct sn_st_archive *archive; /* NULL for a description */
  /* Each Dense module's <path>/model.safetensors (modules.dense order) */
  struct sn_st_archive *dense_archives[SN_ST_MAX_DENSE];
  sn_weight_t *weights;
  size_t weight_count;
  int has_pooler;
  int64_t parameter_count;
  sn_strlist_t warnings;
  sn_strlist_t sources;                 /* files read, relative to dir (see sn_model_source_file) */
  sn_tokenizer_t *tokenizer;            /* NULL when the folder has no tokenizer files */
  sn_tokenizer_file_t *tokenizer_files; /* owned copies of what the tokenizer was read from */
  size_t tokenizer_file_count;
  /* config_sentence_transformers.json's prompts (names and texts, in file
   * order) and default_prompt_name (NULL: none). */
  sn_strlist_t prompt_names, prompt_texts;
  char *default_prompt;
  int has_mlm_head; /* 1: the folder's weights hold a complete masked-LM head (SPLADE) */
  sn_rerank_template_t *rerank;     /* rerank_template.json (rerank.c), or NULL */
  pthread_mutex_t materialize_lock; /* sn_model_materialize */
  int materialized;                 /* 1: no weight is pending */
};

/* Loads the tokenizer from files (borrowed; copied into the model) into
 * m->tokenizer, truncating at the model's limit; no files is no tokenizer.
 * `label` names the folder in messages. */
sinter_status_t sn_model_load_tokenizer_files(sinter_model_t *m, const sn_tokenizer_file_t *files,
                                              size_t count, const char *label, sinter_error_t *err);

/* Reads the folder's tokenizer files and loads them as above. */
sinter_status_t sn_model_load_tokenizer(sinter_model_t *m, sinter_error_t *err);

/* Frees the tokenizer and its files (NULL allowed). */
void sn_model_free_tokenizer(sinter_model_t *m);

#endif
