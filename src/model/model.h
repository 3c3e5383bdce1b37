/*
 * model.h — the model module's interface to the layers above: a loaded
 * Hugging Face model folder (config, sentence-transformers modules, weights
 * under their canonical names, tokenizer), or the description of one that an
 * artifact carries (the same, without weights).
 *
 * Weights stored as F32 and 4-byte aligned are used in place from the mmap;
 * F16, BF16 (and unaligned F32) tensors are converted once into owned
 * buffers. A model is immutable after loading, so every call here is
 * thread-safe on a shared model. The struct's fields are seen only by the
 * files of src/model/ (model_internal.h); other modules use these calls.
 */
#ifndef SN_MODEL_MODEL_H
#define SN_MODEL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "model/config.h"
#include "sinter.h"
#include "tokenizer/tokenizer.h"

struct sn_st_archive;

/* One weight tensor in float32. `data` points into the mapping or into an
 * owned conversion buffer; either way the model owns it. */
typedef struct sn_weight {
  char *name; /* canonical name, owned */
  int rank;
  int64_t shape[2];
  int64_t numel;
  const float *data; /* NULL until converted while `pending` */
  float *owned;      /* non-NULL when converted */
  /* The stored tensor (F16, BF16, or F32 at an unaligned offset) that data
   * is converted from on first use (sn_model_materialize), or NULL. */
  const struct sn_st_tensor *pending;
} sn_weight_t;

/* Converts the weights still in their stored form to float32, once, under
 * the model's lock (models are shared by threads). What reads weight values
 * calls it first (the graph builder, compile); opening a folder whose
 * program comes from the cache never pays for it (a 0.6B-parameter BF16
 * checkpoint: 2.4 GB and seconds). Errors: OUT_OF_MEMORY, FORMAT. */
sinter_status_t sn_model_materialize(const sinter_model_t *m, sinter_error_t *err);

/* Opens the Hugging Face model folder `dir`: config.json, model.safetensors
 * or a sharded index, sentence-transformers modules, tokenizer files. *out is
 * owned by the caller (sinter_model_close). Errors: IO, FORMAT, UNSUPPORTED,
 * NOT_FOUND (missing tensors, all named), as sinter_model_open documents. */
sinter_status_t sn_model_load_dir(const char *dir, sinter_model_t **out, sinter_error_t *err);

/* What an artifact records of the model it was compiled from (see
 * sn_model_create_described). Every pointer is borrowed for the call. */
typedef struct sn_model_description {
  const char *source;      /* path named in messages (the artifact file) */
  const char *config_json; /* the folder's config.json text */
  size_t config_json_size;
  sn_st_modules_t modules;
  int has_pooler;
  int64_t parameter_count;
  const sn_tokenizer_file_t *tokenizer_files; /* the files the folder's tokenizer was read from */
  size_t tokenizer_file_count;
  const struct sn_rerank_template *rerank; /* the folder's reranker template, or NULL */
} sn_model_description_t;

/* Creates a model from a description without weights: it can be tokenized
 * with and described, and a compiled program can run it; an eager session
 * cannot. The config text is parsed (and validated) again, the tokenizer is
 * loaded from the files' bytes in memory. *out is owned by the caller
 * (sinter_model_close). Errors: those of sn_config_parse and the tokenizer
 * loader, prefixed with `source`. */
/* Moves `from`'s prompts (config_sentence_transformers.json) to `to`: the
 * description a cached artifact carries has none, the folder it was made
 * for has them. */
void sn_model_move_prompts(sinter_model_t *to, sinter_model_t *from);

sinter_status_t sn_model_create_described(const sn_model_description_t *desc, sinter_model_t **out,
                                          sinter_error_t *err);

/* The folder path or artifact path the model came from (borrowed). */
const char *sn_model_source(const sinter_model_t *model);

/* The files of the folder the model was read from, relative to its source
 * folder: config.json, modules.json and the Pooling config it names, each
 * Dense module's config.json and model.safetensors, sentence_bert_config.json, the tokenizer files,
 * the weight files (index and shards). Exactly what the loader parsed, in a stable order: the
 * content key hashes these. None for a description. Index past the end: NULL. */
const char *sn_model_source_file(const sinter_model_t *model, size_t index);

/* The parsed config, the sentence-transformers modules (borrowed). */
const sn_config_t *sn_model_config(const sinter_model_t *model);
const sn_st_modules_t *sn_model_modules(const sinter_model_t *model);

/* 1 when the model has pooler weights (pooler_output is available). */
int sn_model_has_pooler(const sinter_model_t *model);

/* 1 when the folder's weights hold the family's complete masked-LM head
 * (names.mlm_*), so the SPLADE sparse output can be built; 0 for a
 * description (an artifact holds the head only in its plan). */
int sn_model_has_mlm_head(const sinter_model_t *model);

/* Number of parameters in the weights (as recorded, for a description). */
int64_t sn_model_parameter_count(const sinter_model_t *model);

/* The raw bytes of config.json the config was parsed from (borrowed). */
const char *sn_model_config_json(const sinter_model_t *model, size_t *out_size);

/* The tokenizer, or NULL when the folder has none (borrowed). */
const sn_tokenizer_t *sn_model_tokenizer(const sinter_model_t *model);

/* The tokenizer files the tokenizer was loaded from, exactly as parsed
 * (borrowed array of *out_count; none when the folder has no tokenizer). */
const sn_tokenizer_file_t *sn_model_tokenizer_files(const sinter_model_t *model, size_t *out_count);

/* The safetensors archive the weights came from; NULL for a description. */
const struct sn_st_archive *sn_model_archive(const sinter_model_t *model);

/* Finds a weight by canonical name; NULL when absent (always, for a
 * description). */
const sn_weight_t *sn_model_weight(const sinter_model_t *model, const char *name);

/* The weights, by index (0..count), for passes over all of them; NULL past
 * the end. */
size_t sn_model_weight_count(const sinter_model_t *model);
const sn_weight_t *sn_model_weight_at(const sinter_model_t *model, size_t index);

/* Maps a stored tensor name to its canonical name into buf (size cap):
 * strips the family's stored prefix ("bert.", "roberta.", ...) and renames
 * LayerNorm gamma/beta to weight/bias. Returns 0, or -1 when it does not
 * fit. Exposed for tests. */
struct sn_family;
int sn_model_canonical_name(const struct sn_family *family, const char *stored, char *buf,
                            size_t cap);

/* A reranker's template (rerank.c: rerank_template.json): a (query,
 * document) pair becomes prefix + body + suffix, tokenized apart without
 * special tokens, the body's {query}, {document} and {instruction} filled
 * in and only the body truncated. true_id/false_id: the tokens whose LM-head
 * rows were folded into the one-label score head (yes - no; yes alone when
 * false_id is -1), or true_id -1 when the model's own classifier scores. */
typedef struct sn_rerank_template {
  char *prefix, *body, *suffix, *instruction; /* owned */
  int32_t true_id, false_id;
} sn_rerank_template_t;

/* Reads DIR/rerank_template.json when present (after the weights and the
 * tokenizer): validates it, folds a decoder's LM head to the score row and
 * makes the model a one-label classifier. Errors: FORMAT (a body without
 * {query} or {document}, a token that is not one vocabulary entry, bad
 * JSON), NOT_FOUND (no tokenizer, no LM head), LIMIT, UNSUPPORTED. */
sinter_status_t sn_model_load_rerank(sinter_model_t *m, sinter_error_t *err);

/* Makes a model whose template folded the LM head a one-label classifier
 * (the description an artifact carries: its plan holds the folded row). */
sinter_status_t sn_model_apply_rerank(sinter_model_t *m, sinter_error_t *err);

/* The model's reranker template (borrowed), or NULL. */
const sn_rerank_template_t *sn_model_rerank(const sinter_model_t *m);

/* FORMAT naming `label` unless body holds {query} and {document}. */
sinter_status_t sn_rerank_check_body(const char *body, const char *label, sinter_error_t *err);

/* A deep copy of `from` into *out (free with sn_rerank_template_free). */
sinter_status_t sn_rerank_template_copy(const sn_rerank_template_t *from,
                                        sn_rerank_template_t **out, sinter_error_t *err);
void sn_rerank_template_free(sn_rerank_template_t *t);

#endif
