/*
 * batcher.h — continuous batching for the server: requests' token-id inputs
 * are queued and packed, without padding, into runs of at most a token budget
 * on one compiled session; a run starts as soon as the session is free (no
 * fixed delay), and a request with many inputs is spread over as many runs as
 * the budget needs. The queue is bounded in tokens: past it a submit is
 * refused at once (the server answers 429), so memory never grows with load.
 *
 * Uses the public API only (sinter.h). Thread-safe: any number of threads
 * submit and wait; one worker thread owns the session.
 */
#ifndef SN_SERVER_BATCHER_H
#define SN_SERVER_BATCHER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sinter.h"

/* One request's inputs and, when finished, its embeddings (normalised or
 * not as `normalize` says: a run holds jobs of one kind only). Caller-owned; the arrays are
 * borrowed until sn_batcher_wait returns. */
typedef struct sn_job {
  size_t count;
  const int32_t *const *ids;
  const int32_t *const *type_ids; /* NULL: all zero (text pairs set them) */
  const size_t *lengths;
  float *embeddings; /* [count * hidden], caller-allocated; NULL: not wanted */
  float *logits;     /* [count * num_labels] of a classifier; NULL: not wanted */
  size_t tokens;     /* sum of lengths */
  int normalize;     /* 1: L2-normalised embeddings; 0: as pooled */
  /* filled by the batcher */
  sinter_status_t status;
  char message[512];
  double queue_seconds, compute_seconds;
  /* private to the batcher */
  size_t next, done;
  double queued_at;
  int finished;
  struct sn_job *link;
} sn_job_t;

typedef struct sn_batcher sn_batcher_t;

/* Starts the worker over a compiled session on `program` (borrowed: it
 * outlives the batcher) with `threads` compute threads. Errors: those of
 * sinter_session_create_compiled; OUT_OF_MEMORY. */
sinter_status_t sn_batcher_create(const sinter_program_t *program, int threads,
                                  int64_t max_batch_tokens, int64_t max_queue_tokens,
                                  sn_batcher_t **out, sinter_error_t *err);

/* Queues `job`. Returns 0, or -1 when the queued tokens would pass the
 * limit (the job is not queued) or the batcher is stopping. */
int sn_batcher_submit(sn_batcher_t *b, sn_job_t *job);

/* Blocks until `job` is finished (job->status says how). */
void sn_batcher_wait(sn_batcher_t *b, sn_job_t *job);

/* Tokens queued and not yet run (for /metrics and admission). */
int64_t sn_batcher_queued_tokens(sn_batcher_t *b);

/* Finishes the queued work, stops the worker and releases everything.
 * NULL is allowed. */
void sn_batcher_destroy(sn_batcher_t *b);

#endif
