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
 *  - Thread safety, by handle: a model (sinter_model_t) and a program
 *    (sinter_program_t) are immutable once open, so any number of threads may
 *    use one at once — tokenize with it, create sessions over it, run those
 *    sessions. A session (sinter_session_t) is used by one thread at a time;
 *    the usual shape is one session per thread over a shared program.
 *  - Threads: each session runs with its own thread count (`threads` at
 *    creation). Sessions running at once on different threads do not change
 *    each other's count; their pools share the machine's cores, so the sum of
 *    the counts of sessions running at the same moment should not exceed the
 *    cores given to the process. Idle pool threads sleep: after a run they
 *    spin at most through the gap the pool expects before the next one
 *    (learnt from the last gaps, at most 100 ms), then sleep.
 *
 * The objects: a model is the immutable description of a Hugging Face folder
 * (config, weights, tokenizer, sentence-transformers modules, labels); a
 * program is what the compiler made of a model (the plan and its pre-packed
 * weights), compiled here or read from a .sinter artifact; a session runs a
 * program (compiled) or a model's unfused graph (eager, the oracle).
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
  SINTER_POOL_LAST_TOKEN = 5,    /* the last token (decoder-style embedders) */
  SINTER_POOL_WEIGHTED_MEAN = 6, /* mean weighted by position 1, 2, ..., n */
  SINTER_POOL_SPLADE = 7,        /* max over tokens of log(1 + ReLU(x)): SPLADE over the MLM
                                    head's vocabulary logits, the `sparse` output only; never
                                    a run option for embeddings */
} sinter_pooling_t;

/* A loaded model: config, weights (mapped, not copied, where stored as F32),
 * sentence-transformers modules and labels. Immutable once open, so one model
 * may be shared by many sessions on many threads. */
typedef struct sinter_model sinter_model_t;

/* Facts about a model, borrowed from it: valid while the model is open. */
typedef struct sinter_model_info {
  const char *model_type;   /* the family: "bert", "distilbert", "roberta", "mpnet", ... */
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
  int32_t has_weights;    /* 1 for a folder; 0 for the description an artifact
                             carries: it runs compiled, never eager */
  int32_t gated_ffn;      /* 1: the feed-forward's input linear gives [input, gate], twice
                             intermediate_size wide (GeGLU) */
  int32_t sliding_layers; /* how many layers see only the keys within sliding_window */
  int32_t sliding_window; /* positions on each side of the query, in those layers */
  int32_t head_dim;       /* features per head (hidden_size / num_heads unless the config says) */
  int32_t num_kv_heads;   /* key/value heads: num_heads, or fewer (grouped-query attention) */
  int32_t has_mlm_head;   /* 1: a folder whose weights hold a complete masked-LM head, so
                             SPLADE sparse output can be compiled (sinter_compile_options_t) */
  int32_t embedding_dim;  /* width of the sentence embedding: hidden_size, or the last
                             sentence-transformers Dense module's out_features */
  int32_t dense_modules;  /* how many Dense modules follow the pooling (0: none) */
  int32_t causal;         /* 1: each token attends only to those before it (a decoder) */
} sinter_model_info_t;

/* The text of the folder's prompt `name` (config_sentence_transformers.json's
 * "prompts", prepended to a text before tokenizing it, as
 * sentence-transformers does), or NULL when it defines none of that name;
 * name NULL: the default_prompt_name's text, or NULL. Borrowed from the model.
 * A model opened from an artifact has no prompts. */
const char *sinter_model_prompt(const sinter_model_t *model, const char *name);

/* How many prompts the folder defines, the i-th one's name (NULL out of
 * range), and default_prompt_name (NULL: none). Borrowed. */
size_t sinter_model_prompt_count(const sinter_model_t *model);
const char *sinter_model_prompt_name(const sinter_model_t *model, size_t index);
const char *sinter_model_default_prompt_name(const sinter_model_t *model);

/* Opens the Hugging Face model folder `path` (config.json, model.safetensors or
 * a sharded index, optional tokenizer and sentence-transformers files), or,
 * when `path` is a .sinter artifact file, the model description it carries
 * (no weights: info, tokenize and labels work; to run it, open the artifact
 * with sinter_program_open). On success *out_model is a new handle owned by the
 * caller (release with sinter_model_close). Errors: IO (missing or unreadable
 * file), FORMAT (malformed file), UNSUPPORTED (model type or setting we do not
 * run), NOT_FOUND (missing tensor). Thread-safe. */
sinter_status_t sinter_model_open(const char *path, sinter_model_t **out_model,
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

/* Which side truncation cuts, or whether it may cut at all. */
typedef enum sinter_truncation {
  SINTER_TRUNCATE_RIGHT = 0, /* keep the start of each text (the default) */
  SINTER_TRUNCATE_LEFT = 1,  /* keep the end */
  SINTER_TRUNCATE_NONE = 2,  /* an input longer than max_length is an error */
} sinter_truncation_t;

/* Choices for sinter_model_tokenize_batch. Zero-initialise for the defaults. */
typedef struct sinter_tokenize_options {
  int32_t max_length; /* tokens per input, special tokens included; <= 0 or
                         above the model's max_seq_length: that limit */
  sinter_truncation_t truncation;
  int32_t without_special_tokens; /* 1: no [CLS]/[SEP] (TEI's add_special_tokens=false) */
  /* Pairs of a model with a reranker template (sinter_model_rerank_template):
   * the body to fill instead of the folder's (it must hold {query} and
   * {document}; INVALID_ARGUMENT otherwise), and the text of {instruction}
   * instead of the folder's. NULL: the folder's. Ignored for other models. */
  const char *rerank_template;
  const char *rerank_instruction;
} sinter_tokenize_options_t;

/* One tokenized input. Arrays have `length` entries and belong to the
 * encoding (release with sinter_encodings_free). */
typedef struct sinter_encoding {
  size_t length;
  int32_t *ids;
  int32_t *type_ids;
  uint32_t *offsets; /* [2 * length]: byte start and end of each token in its
                        text (text or pair); 0, 0 for special tokens */
  uint8_t *special;  /* 1 for tokens the post-processor added ([CLS], [SEP]) */
  uint8_t *in_pair;  /* 1 for tokens of the pair text, 0 otherwise */
  int32_t truncated; /* 1 when tokens were cut to fit max_length */
} sinter_encoding_t;

/* Tokenizes `count` texts, or text pairs when `pairs` is non-NULL, with the
 * model's tokenizer: special tokens added, truncated as `options` say (NULL:
 * defaults). `sizes` and `pair_sizes` give byte lengths (NULL: the strings are
 * NUL-terminated). out_encodings is caller storage of `count` entries; on OK
 * each is filled (release with sinter_encodings_free), on error none is.
 * Errors: NOT_FOUND (no tokenizer), INVALID_ARGUMENT (invalid UTF-8, naming
 * the input and byte offset), LIMIT (an input over max_length with
 * SINTER_TRUNCATE_NONE, naming the input and its token count), OUT_OF_MEMORY.
 * Consecutive inputs whose text is the same pointer (a reranker's query
 * paired with each document) tokenize that text once.
 * Runs on the calling thread; thread-safe: many threads may tokenize with one
 * model at once. */
sinter_status_t sinter_model_tokenize_batch(const sinter_model_t *model, size_t count,
                                            const char *const *texts, const size_t *sizes,
                                            const char *const *pairs, const size_t *pair_sizes,
                                            const sinter_tokenize_options_t *options,
                                            sinter_encoding_t *out_encodings,
                                            sinter_error_t *error);

/* The body of the model's reranker template (the folder's
 * rerank_template.json: "<Instruct>: {instruction}\n<Query>: {query}\n..."),
 * or NULL when it has none. With one, sinter_model_tokenize_batch turns each
 * (text, pair) into prefix + body + suffix, text as {query} and pair as
 * {document}, each part tokenized without special tokens and only the body
 * truncated, as Qwen3-Reranker's own code does; the model is then a
 * one-label cross-encoder whose score is sigmoid(logit) (for a decoder, the
 * logit is that of the true token minus the false token's). Borrowed. */
const char *sinter_model_rerank_template(const sinter_model_t *model);

/* Releases the arrays of `count` encodings and zeroes them. NULL is allowed. */
void sinter_encodings_free(sinter_encoding_t *encodings, size_t count);

/* Turns token ids back into text as Hugging Face's Tokenizer::decode does:
 * special tokens dropped when skip_special_tokens is set, WordPiece "##"
 * pieces joined, unknown ids skipped. *out_text is a new NUL-terminated
 * string (release with sinter_free). Errors: NOT_FOUND (no tokenizer),
 * OUT_OF_MEMORY. Thread-safe. */
sinter_status_t sinter_model_decode(const sinter_model_t *model, const int32_t *ids, size_t count,
                                    int skip_special_tokens, char **out_text,
                                    sinter_error_t *error);

/* The vocabulary string of token `id` (borrowed from the model), or NULL for
 * an id outside the vocabulary or a model without a tokenizer. Thread-safe. */
const char *sinter_model_token(const sinter_model_t *model, int32_t id);

/* Releases memory the library returned for the caller to free. NULL is allowed. */
void sinter_free(void *memory);

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
  /* int8: a text file, one sample per line, to calibrate on (the largest
   * activation channels of each linear stay fp32); NULL: built-in English
   * sentences. Its contents are part of the cache key. */
  const char *int8_calibration_file;
  /* 1: the program also computes SPLADE sparse vectors (sinter_outputs_t.sparse)
   * from the checkpoint's masked-LM head (a *ForMaskedLM folder; UNSUPPORTED
   * without one). Every run then pays for the vocabulary projection of every
   * token, so it is off unless asked; part of the cache key. The [tokens,
   * vocab] logits are never held whole (a chunk of rows at a time, pooled as
   * they come); a run holds at most ~64 MiB of [sequences, vocab] output, so
   * a batch of many sequences runs in parts. */
  int32_t sparse;
} sinter_compile_options_t;

/* A compiled program: the plan, its pre-packed weights and the description
 * of the model it runs. Immutable; shared freely between threads. */
typedef struct sinter_program sinter_program_t;

/* Compiles `model` in memory (graph passes, memory plan, pre-packed weights).
 * options NULL means the defaults. The program borrows `model`, which must
 * outlive it. On success *out_program is owned by the caller
 * (sinter_program_release). Errors: INVALID_ARGUMENT (an option out of range,
 * or a model without weights), UNSUPPORTED (an option this build or CPU
 * cannot do). Thread-safe: compiling reads the model only. */
sinter_status_t sinter_program_compile(const sinter_model_t *model,
                                       const sinter_compile_options_t *options,
                                       sinter_program_t **out_program, sinter_error_t *error);

/* How sinter_program_open finds or makes a program. Zero-initialise for the
 * defaults. */
typedef struct sinter_open_options {
  sinter_compile_options_t compile; /* used when a folder is compiled */
  const char *cache_dir;            /* local cache; NULL: $SINTER_CACHE_DIR, else
                                       $XDG_CACHE_HOME/sinter, else ~/.cache/sinter */
  const char *cache_url;            /* remote cache s3://bucket/prefix; NULL:
                                       $SINTER_CACHE_URL; "": local only */
} sinter_open_options_t;

/* Opens a program. A .sinter artifact file is loaded as it is (its weights
 * stay in the file's mapping). A model folder goes through the compile cache:
 * the local directory, then the remote, then compiling once (concurrent
 * processes compile once, under a per-key lock) and storing the artifact in
 * both. A remote that fails is a warning (sinter_program_warning), never an
 * error. The program owns the model description it runs
 * (sinter_program_model). On success *out_program is owned by the caller.
 * Errors: those of sinter_model_open and sinter_program_compile; FORMAT or
 * UNSUPPORTED for an artifact that fails its checks or suits another CPU; IO
 * when the local cache cannot be written. Thread-safe. */
sinter_status_t sinter_program_open(const char *path, const sinter_open_options_t *options,
                                    sinter_program_t **out_program, sinter_error_t *error);

/* Writes `program` as a .sinter artifact at `path`, atomically (a temporary
 * file, fsync, rename). Errors: IO naming the path. Thread-safe. */
sinter_status_t sinter_program_save(const sinter_program_t *program, const char *path,
                                    sinter_error_t *error);

/* Releases a program (and the model description it owns). Sessions over it
 * must be destroyed first. NULL is allowed. */
void sinter_program_release(sinter_program_t *program);

/* The model the program runs: borrowed, valid while the program lives. */
const sinter_model_t *sinter_program_model(const sinter_program_t *program);

/* Where a program came from. */
typedef enum sinter_program_origin {
  SINTER_PROGRAM_FROM_FILE = 0,         /* an artifact file, opened as it is */
  SINTER_PROGRAM_FROM_LOCAL_CACHE = 1,  /* found in the local compile cache */
  SINTER_PROGRAM_FROM_REMOTE_CACHE = 2, /* downloaded from the remote cache */
  SINTER_PROGRAM_COMPILED = 3,          /* compiled by this process */
} sinter_program_origin_t;

/* Facts about a program, borrowed from it: valid while it lives. */
typedef struct sinter_program_info {
  sinter_dtype_t dtype; /* matmul precision it was compiled with */
  int32_t max_tokens;   /* token budget of one packed run */
  int32_t max_seq;      /* longest sequence it takes */
  sinter_program_origin_t origin;
  double compile_seconds; /* > 0 only when compiled by this process */
  const char *source;     /* the folder or artifact the model came from */
  const char *path;       /* the artifact file it runs from, or NULL (in memory) */
  char content_key[65];   /* hex SHA-256 of its inputs; "" when unknown */
  int64_t arena_bytes;    /* working memory of one session */
  int32_t num_ops;        /* ops in the plan */
  int32_t sparse;         /* 1: its runs compute the SPLADE sparse output */
} sinter_program_info_t;

void sinter_program_get_info(const sinter_program_t *program, sinter_program_info_t *out_info);

/* Warnings collected while opening (cache and remote trouble, unexpected
 * tensors in the folder), and the i-th one (borrowed; NULL out of range). */
size_t sinter_program_warning_count(const sinter_program_t *program);
const char *sinter_program_warning(const sinter_program_t *program, size_t index);

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
  /* 1: also give the SPLADE sparse output. An eager session builds the
   * model's masked-LM head for it; a compiled one needs a program compiled
   * with sparse (which gives it whatever this says). UNSUPPORTED otherwise. */
  int32_t sparse;
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
  const float *embeddings;        /* [batch, embedding_dim] pooled (+ Dense) (+ normalized) */
  size_t num_labels;
  const float *logits; /* [batch, num_labels] or NULL */
  const float *scores; /* softmax(logits) or NULL */
  size_t vocab_size;
  /* [batch, vocab_size] SPLADE vectors, or NULL: max over each sequence's
   * tokens of log(1 + ReLU(MLM logits)); mostly zeros, so front ends list
   * the nonzero (index, value) pairs in index order. */
  const float *sparse;
  size_t embedding_dim; /* width of `embeddings`: hidden_size, or the last Dense module's
                           out_features */
} sinter_outputs_t;

/* An execution context: a compiled session runs a program, an eager session
 * interprets a model's unfused graph op by op (the correctness oracle). Not
 * thread-safe: use one per thread. Sessions over one shared program or model
 * run independently on different threads. */
typedef struct sinter_session sinter_session_t;

/* The CPUs this process may use: its affinity mask, capped by its cgroup's
 * CPU quota (a container's --cpus), not the host's count. What `threads` <= 0
 * means below. Thread-safe. */
int sinter_cpu_count(void);

/* Creates an eager session over `model` (borrowed: it must outlive the
 * session). `threads` <= 0 uses sinter_cpu_count(). Errors: INVALID_ARGUMENT for a
 * model without weights (an artifact's description). Thread-safe. */
sinter_status_t sinter_session_create_eager(const sinter_model_t *model, int threads,
                                            sinter_session_t **out_session, sinter_error_t *error);

/* Creates a compiled session over `program` (borrowed: it must outlive the
 * session): packed batches with no per-request graph work; batches above the
 * program's token budget are run in several parts. `threads` <= 0 uses
 * sinter_cpu_count(). The working memory (the planned arena) is allocated here, once.
 * Errors: UNSUPPORTED when the program's pre-packed weights do not suit this
 * CPU; OUT_OF_MEMORY. Thread-safe. */
sinter_status_t sinter_session_create_compiled(const sinter_program_t *program, int threads,
                                               sinter_session_t **out_session,
                                               sinter_error_t *error);

/* Releases a session. NULL is allowed. */
void sinter_session_destroy(sinter_session_t *session);

/* Runs `batch` through the session's program or model, with the session's
 * thread count, on the calling thread and its pool. Errors: INVALID_ARGUMENT
 * (empty sequence, too long, id out of vocabulary range, token type out of
 * range), LIMIT, OUT_OF_MEMORY; UNSUPPORTED for a pooling other than the
 * folder's on a model with sentence-transformers Dense modules (they follow
 * that pooling; normalize stays a per-run choice). */
sinter_status_t sinter_session_run(sinter_session_t *session, const sinter_batch_t *batch,
                                   const sinter_run_options_t *options,
                                   sinter_outputs_t *out_outputs, sinter_error_t *error);

#ifdef __cplusplus
}
#endif
#endif /* SINTER_H */
