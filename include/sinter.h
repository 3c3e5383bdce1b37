/*
 * sinter.h — the public C API of sinter, an ahead-of-time compiler and runtime
 * for transformer-encoder (BERT-family) inference.
 *
 * Conventions
 *  - Every fallible call returns a sinter_status_t (SINTER_OK is 0) and, when an
 *    error pointer is given, fills it with a message naming what failed and where
 *    (file, tensor, field, byte offset) and what was expected.
 *  - Handles are opaque. Each open or create call pairs with a close or destroy; the caller
 *    owns every handle it receives and must release it exactly once.
 *  - Unless a comment says otherwise, a handle may be used by one thread at a
 *    time; distinct handles are independent.
 */
#ifndef SINTER_H
#define SINTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SINTER_VERSION_STRING "0.1.0"

/* Status codes. Stable numeric values: they appear in logs and exit paths. */
typedef enum sinter_status {
  SINTER_OK = 0,
  SINTER_ERR_INVALID_ARGUMENT = 1, /* a caller-supplied value is out of range */
  SINTER_ERR_IO = 2,               /* a file could not be opened, read or mapped */
  SINTER_ERR_FORMAT = 3,           /* a file's content is malformed or inconsistent */
  SINTER_ERR_UNSUPPORTED = 4,      /* well-formed, but a feature we do not support */
  SINTER_ERR_OUT_OF_MEMORY = 5,    /* an allocation failed */
  SINTER_ERR_LIMIT = 6,            /* a size or count exceeds a documented limit */
  SINTER_ERR_NOT_FOUND = 7,        /* a required file, tensor or field is absent */
  SINTER_ERR_INTERNAL = 8,         /* a bug: an internal invariant did not hold */
} sinter_status_t;

/* Error context, caller-owned storage. `message` is always NUL-terminated. */
typedef struct sinter_error {
  sinter_status_t status;
  char message[1024];
} sinter_error_t;

/* A short constant name for a status ("ok", "format", ...). Never NULL. */
const char *sinter_status_name(sinter_status_t status);

/* ---------------------------------------------------------------- models */

/* How sentence embeddings are pooled from the last hidden state. */
typedef enum sinter_pooling {
  SINTER_POOL_DEFAULT = 0, /* the model folder's choice (cls when it has none) */
  SINTER_POOL_CLS = 1,
  SINTER_POOL_MEAN = 2,
  SINTER_POOL_MAX = 3,
  SINTER_POOL_MEAN_SQRT_LEN = 4,
} sinter_pooling_t;

/* A loaded model: config, weights (mapped, not copied, where stored as F32),
 * sentence-transformers modules and labels. Immutable once open, so one model
 * may be shared by many sessions on many threads. */
typedef struct sinter_model sinter_model_t;

/* Facts about a model, borrowed from it: valid while the model is open. */
typedef struct sinter_model_info {
  const char *model_type;   /* "bert" or "distilbert" */
  const char *architecture; /* e.g. "BertModel", "BertForSequenceClassification" */
  int32_t vocab_size;
  int32_t hidden_size;
  int32_t num_layers;
  int32_t num_heads;
  int32_t intermediate_size;
  int32_t max_position_embeddings;
  int32_t type_vocab_size; /* 0 for models without token types */
  const char *hidden_act;
  float layer_norm_eps;
  int64_t parameter_count;
  int32_t has_pooler;        /* 1 when pooler_output is available */
  sinter_pooling_t pooling;  /* the folder's pooling for sentence embeddings */
  int32_t normalize;         /* 1 when the folder L2-normalises embeddings */
  int32_t max_seq_length;    /* sentence-transformers limit, or max positions */
  int32_t num_labels;        /* 0 when the model has no classification head */
  const char *const *labels; /* num_labels names, index = class id */
  int32_t pad_token_id;
} sinter_model_info_t;

/* Opens the Hugging Face model folder `dir` (config.json, model.safetensors or a
 * sharded index, optional sentence-transformers files). On success *out_model
 * is a new handle owned by the caller (release with sinter_model_close).
 * Errors: IO (missing or unreadable file), FORMAT (malformed file), UNSUPPORTED
 * (model type or setting we do not run), NOT_FOUND (missing tensor). */
sinter_status_t sinter_model_open(const char *dir, sinter_model_t **out_model,
                                  sinter_error_t *error);

/* Releases a model and everything it mapped. NULL is allowed. */
void sinter_model_close(sinter_model_t *model);

/* Fills *out_info with facts borrowed from `model`. */
void sinter_model_get_info(const sinter_model_t *model, sinter_model_info_t *out_info);

/* Number of warnings collected while loading (e.g. unexpected tensors), and
 * the i-th one (borrowed). */
size_t sinter_model_warning_count(const sinter_model_t *model);
const char *sinter_model_warning(const sinter_model_t *model, size_t index);

/* Tokenizes `size` bytes of UTF-8 `text` with the model folder's tokenizer:
 * special tokens added, truncated to the model's max_seq_length. On success
 * *out_ids and *out_type_ids are new arrays of *out_length entries owned by
 * the caller (release with free()). Errors: NOT_FOUND when the folder has no
 * tokenizer files, INVALID_ARGUMENT for invalid UTF-8 (with its byte offset).
 * Thread-safe: a model may tokenize on many threads at once. */
sinter_status_t sinter_model_tokenize(const sinter_model_t *model, const char *text, size_t size,
                                      int32_t **out_ids, int32_t **out_type_ids, size_t *out_length,
                                      sinter_error_t *error);

/* ---------------------------------------------------------------- compiling */

typedef enum sinter_dtype {
  SINTER_DTYPE_F32 = 0,
  SINTER_DTYPE_BF16 = 1,
  SINTER_DTYPE_INT8 = 2,
} sinter_dtype_t;

/* Compile options. Zero-initialise for the defaults. */
typedef struct sinter_compile_options {
  sinter_dtype_t dtype; /* matmul precision; LayerNorm and softmax stay f32 */
  int32_t max_tokens;   /* token budget of one packed run (default 8192) */
  int32_t max_seq;      /* longest sequence (default: the model's max_seq_length) */
} sinter_compile_options_t;

/* Compiles `model` in memory (graph passes, memory plan, pre-packed weights)
 * so that compiled sessions can run it. Not thread-safe with other uses of
 * the model. Errors: UNSUPPORTED for an option this build or CPU cannot do. */
sinter_status_t sinter_model_compile(sinter_model_t *model, const sinter_compile_options_t *options,
                                     sinter_error_t *error);

/* ---------------------------------------------------------------- running */

/* A batch of token-id sequences of any lengths (1..max positions each). Arrays
 * are borrowed for the duration of the call. token_type_ids may be NULL (all
 * zero), as may any of its entries. */
typedef struct sinter_batch {
  size_t count;
  const int32_t *const *input_ids;
  const int32_t *const *token_type_ids;
  const size_t *lengths;
} sinter_batch_t;

/* Per-run choices. Zero-initialise for the defaults. */
typedef struct sinter_run_options {
  sinter_pooling_t pooling; /* SINTER_POOL_DEFAULT: the folder's pooling */
  int32_t normalize;        /* -1 never, 0 the folder's choice, 1 always */
} sinter_run_options_t;

/* Results of one run, owned by the session and valid until its next run or
 * destruction. Arrays are row-major; absent outputs are NULL. Token outputs
 * are packed: sequence i owns rows offsets[i] .. offsets[i+1]-1, no padding. */
typedef struct sinter_outputs {
  size_t batch;          /* number of sequences */
  size_t total_tokens;   /* sum of the sequence lengths */
  const size_t *offsets; /* [batch + 1] row offsets of each sequence */
  size_t hidden_size;
  const float *last_hidden_state; /* [total_tokens, hidden] */
  const float *pooler_output;     /* [batch, hidden] or NULL */
  const float *embeddings;        /* [batch, hidden] pooled (+ normalized) */
  size_t num_labels;
  const float *logits; /* [batch, num_labels] or NULL */
  const float *scores; /* softmax(logits) or NULL */
} sinter_outputs_t;

/* An execution context over a model. The eager session interprets the unfused
 * graph op by op: the correctness oracle. Not thread-safe; use one per thread. */
typedef struct sinter_session sinter_session_t;

/* Creates an eager session over `model` (borrowed: it must outlive the
 * session). `threads` <= 0 uses all cores. */
sinter_status_t sinter_session_create_eager(const sinter_model_t *model, int threads,
                                            sinter_session_t **out_session, sinter_error_t *error);

/* Creates a compiled session: it runs the model's compiled plan (the model
 * came from an artifact, or sinter_model_compile ran) on packed batches with
 * no per-request graph work; batches above the plan's token budget are run
 * in several parts. Errors: INVALID_ARGUMENT when the model is not compiled,
 * UNSUPPORTED when its pre-packed weights do not suit this CPU. */
sinter_status_t sinter_session_create_compiled(const sinter_model_t *model, int threads,
                                               sinter_session_t **out_session,
                                               sinter_error_t *error);

/* Releases a session. NULL is allowed. */
void sinter_session_destroy(sinter_session_t *session);

/* Runs `batch` through the model. Errors: INVALID_ARGUMENT (empty sequence,
 * too long, id out of vocabulary range, token type out of range). */
sinter_status_t sinter_session_run(sinter_session_t *session, const sinter_batch_t *batch,
                                   const sinter_run_options_t *options,
                                   sinter_outputs_t *out_outputs, sinter_error_t *error);

#ifdef __cplusplus
}
#endif
#endif /* SINTER_H */
