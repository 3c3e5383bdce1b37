/*
 * model.h — a loaded Hugging Face model folder: config, sentence-transformers
 * modules and weights under their canonical names (the names of the
 * `transformers` module without the "bert."/"distilbert." prefix).
 *
 * Weights stored as F32 and 4-byte aligned are used in place from the mmap;
 * F16, BF16 (and unaligned F32) tensors are converted once into owned
 * buffers. The model is immutable after loading.
 */
#ifndef SN_MODEL_MODEL_H
#define SN_MODEL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "model/config.h"
#include "sinter.h"

struct sn_st_archive;
struct sn_tokenizer;

/* One weight tensor in float32. `data` points into the mapping or into an
 * owned conversion buffer; either way the model owns it. */
typedef struct sn_weight {
  char *name; /* canonical name, owned */
  int rank;
  int64_t shape[2];
  int64_t numel;
  const float *data;
  float *owned; /* non-NULL when converted */
} sn_weight_t;

struct sinter_model {
  char *dir;
  sn_config_t config;
  sn_st_modules_t modules;
  struct sn_st_archive *archive;
  sn_weight_t *weights;
  size_t weight_count;
  int has_pooler;
  int64_t parameter_count;
  char **warnings;
  size_t warning_count;
  struct sn_tokenizer *tokenizer; /* NULL when the folder has no tokenizer files */
  /* Compiled models (an artifact, or compiled in memory): the packed plan and
   * the artifact mapping its weights live in; NULL otherwise. */
  struct sn_ir_graph *plan;
  struct sn_artifact *artifact;
};

/* Finds a weight by canonical name; NULL when absent. */
const sn_weight_t *sn_model_weight(const sinter_model_t *model, const char *name);

/* Maps a stored tensor name to its canonical name into buf (size cap):
 * strips "bert."/"distilbert." and renames LayerNorm gamma/beta to
 * weight/bias. Returns 0, or -1 when it does not fit. Exposed for tests. */
int sn_model_canonical_name(sn_model_type_t type, const char *stored, char *buf, size_t cap);

/* Loads the folder's tokenizer into model->tokenizer when tokenizer files are
 * present (left NULL otherwise). Errors from the tokenizer loader pass through. */
sinter_status_t sn_model_load_tokenizer(sinter_model_t *model, sinter_error_t *err);

/* Loads the tokenizer files found in `dir` (an artifact's unpacked copy)
 * into model->tokenizer; none is OK. */
sinter_status_t sn_model_load_tokenizer_from(sinter_model_t *model, const char *dir,
                                             sinter_error_t *err);

/* Frees model->tokenizer (NULL allowed). */
void sn_model_free_tokenizer(sinter_model_t *model);
#endif
