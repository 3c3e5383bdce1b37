/*
 * engine.h — the models a server runs and the work of one request on one of
 * them: tokenize (on the calling I/O thread), queue on the model's batcher,
 * and, when the batcher has finished, turn the outputs into what the request
 * asked (dimensions renormalised, probabilities, ranking). API-neutral: the
 * api_*.c writers format an sn_result_t in their API's shape.
 */
#ifndef SN_SERVER_ENGINE_H
#define SN_SERVER_ENGINE_H

#include "server/batcher.h"
#include "server/request.h"
#include "sinter.h"

/* One model being served. */
typedef struct sn_served {
  const char *name;
  const sinter_program_t *program; /* borrowed: outlives the server */
  const sinter_model_t *model;
  sinter_model_info_t info;
  sinter_program_info_t pinfo;
  int32_t max_input_tokens;        /* the longest input it takes */
  const char *default_prompt_name; /* used when a TEI request names none; NULL: none */
  /* --rerank-template / --rerank-instruction for a model with a reranker
   * template (sinter_tokenize_options_t); NULL: the folder's */
  const char *rerank_template, *rerank_instruction;
  sn_batcher_t *batcher;
} sn_served_t;

/* The memory that answers hold from admission until their last byte is sent
 * (or their connection drops): the computed outputs and the response text.
 * One per server, shared by its models; a request whose answer would not fit
 * the limit is refused before anything is computed or allocated for it. */
typedef struct sn_memory_budget {
  _Atomic long long held; /* bytes reserved now */
  long long limit;        /* bytes; > 0 */
} sn_memory_budget_t;

/* What a request computed. Owned by its sn_work_t. */
typedef struct sn_result {
  size_t count;        /* inputs */
  size_t width;        /* SN_OP_EMBED: floats per embedding (after `dimensions`) */
  float *embeddings;   /* [count * width] */
  size_t hidden;       /* SN_OP_EMBED_ALL: floats per token */
  float *token_states; /* [tokens * hidden] */
  size_t *starts;      /* [count] first row of each input in token_states */
  size_t *lengths;     /* [count] tokens of each input */
  size_t vocab;        /* SN_OP_EMBED_SPARSE: floats per SPLADE vector */
  float *sparse;       /* [count * vocab], mostly zeros (the writer lists the others) */
  size_t labels;       /* SN_OP_CLASSIFY, SN_OP_RERANK: scores per input */
  float *scores;       /* [count * labels]: probabilities, or logits when raw; for an
                          EMBED request with `similarity`, [count - 1] cosines */
  size_t *order;       /* SN_OP_RERANK: input indices best first, top_n of them */
  size_t n_order;
  sinter_encoding_t *enc; /* SN_OP_TOKENIZE: [count] */
  char **texts;           /* SN_OP_TOKENIZE with a prompt: the texts tokenized, which the
                             offsets index (owned), or NULL: the request's */
  char **decoded;         /* SN_OP_DECODE: [count] */
  size_t tokens;          /* tokens computed (usage) */
  double tokenize_seconds, queue_seconds, compute_seconds;
} sn_result_t;

/* One request's work on one model. Zero-initialise; release with
 * sn_work_free. The request is borrowed until then. */
typedef struct sn_work {
  const sn_request_t *req;
  const sn_served_t *model;
  sn_result_t res;
  sinter_encoding_t *enc; /* tokenized texts */
  const int32_t **ids, **types;
  size_t *lengths;
  float *raw; /* embeddings or logits as the batcher writes them */
  sn_job_t job;
  sn_memory_budget_t *budget; /* where `reserved` is counted; NULL: nowhere */
  long long reserved;         /* bytes this work holds of the budget (sn_work_free returns them) */
} sn_work_t;

/* The model a request runs on: the one named (NULL when no model has that
 * name), else the first that can do `op` (a classifier for CLASSIFY and
 * RERANK, an encoder without SPLADE output for EMBED), else the first. */
const sn_served_t *sn_engine_pick(const sn_served_t *models, size_t count, const char *name,
                                  sn_op_t op);

/* Checks the request against the model, tokenizes it, and reserves in
 * `budget` (NULL: none) a bound on the memory its answer holds until sent,
 * before allocating the outputs. Returns 1 when the work is complete without
 * compute (TOKENIZE, DECODE), 0 when it is ready to submit, -1 with *e
 * (422/413 naming the input, 424 when the model cannot do the operation, 413
 * when the answer alone exceeds the budget, 429 when the budget is taken by
 * answers in flight). Messages name the model, never a file. */
int sn_engine_prepare(const sn_served_t *m, const sn_request_t *req, sn_memory_budget_t *budget,
                      sn_work_t *w, sn_parse_error_t *e);

/* Queues prepared work. `deadline` (sn_batcher_now's clock; 0: none),
 * `cancelled`, `finished_fn` and `ctx` go to its batcher job. Returns as
 * sn_batcher_submit: 0, -1 (the queue is full), -2 (larger than the queue). */
int sn_engine_submit(sn_work_t *w, double deadline, int (*cancelled)(void *),
                     sn_job_finished_fn finished_fn, void *ctx);

/* Runs prepared work and waits for it (no finished_fn). Returns as submit. */
int sn_engine_run(sn_work_t *w, double deadline);

/* After the batcher finished the job: fills w->res. Returns 0, or -1 with
 * *e (504 when the deadline passed, 499 when the client left, 500). */
int sn_engine_finish(sn_work_t *w, sn_parse_error_t *e);

/* Releases the work's memory and returns its reservation to the budget. */
void sn_work_free(sn_work_t *w);

/* order[0..n) = indices of score, highest first; ties keep their order. */
void sn_order_by_score(const float *score, size_t *order, size_t n);

#endif
