/*
 * batcher.h — continuous batching for the server: one scheduler per model.
 * Requests' token-id inputs are queued and packed, without padding, into runs
 * of at most a token budget on one compiled session; a run starts as soon as
 * the session is free (no fixed delay), and a request with many inputs is
 * spread over as many runs as the budget needs.
 *
 * Order: shortest first with ageing. A job's priority is its arrival time
 * plus the time its remaining tokens take at the measured token rate, and the
 * smallest goes first: a short request overtakes a long document that came
 * just before it, but not one that has waited longer than the difference.
 *
 * Admission: the queue is bounded in tokens; past it a submit is refused at
 * once (the server answers 429), so memory never grows with load. A job past
 * its deadline, or whose client went away, is dropped before it is computed.
 *
 * Schedulers of several models share one compute lock, so only one session
 * computes at a time and the compute threads never exceed the cores given.
 *
 * Uses the public API only (sinter.h). Thread-safe: any number of threads
 * submit; one worker thread per batcher owns its session.
 */
#ifndef SN_SERVER_BATCHER_H
#define SN_SERVER_BATCHER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sinter.h"

typedef enum sn_job_outcome {
  SN_JOB_DONE = 0,  /* computed (status says whether the session succeeded) */
  SN_JOB_EXPIRED,   /* its deadline passed before all of it was computed */
  SN_JOB_CANCELLED, /* its `cancelled` check said the client went away */
} sn_job_outcome_t;

struct sn_job;
typedef void (*sn_job_finished_fn)(struct sn_job *job, void *ctx);

/* One request's inputs and, when finished, its outputs. Caller-owned; the
 * arrays are borrowed until the job finishes. Zero-initialise, then fill the
 * inputs and the outputs wanted. */
typedef struct sn_job {
  size_t count;
  const int32_t *const *ids;
  const int32_t *const *type_ids; /* NULL: all zero (text pairs set them) */
  const size_t *lengths;
  float *embeddings;    /* [count * hidden]; NULL: not wanted */
  float *logits;        /* [count * num_labels] of a classifier; NULL: not wanted */
  float *token_states;  /* [tokens * hidden]: input i's rows start at row
                           starts[i]; NULL: not wanted */
  const size_t *starts; /* [count], with token_states */
  float *sparse;        /* [count * vocab] SPLADE vectors (a program with them); NULL: not
                           wanted */
  int normalize;        /* 1: L2-normalised embeddings; 0: as pooled */
  double deadline;      /* monotonic seconds (sinter's clock, sn_batcher_now); 0: none */
  /* Asked (from the worker, with the batcher's lock held: quick, and not
   * calling the batcher) before the job's inputs are run: nonzero drops the
   * job as cancelled. NULL: never. */
  int (*cancelled)(void *ctx);
  /* Called once when the job is finished, from the worker thread, after which
   * the batcher no longer touches the job. NULL: use sn_batcher_wait. */
  sn_job_finished_fn finished_fn;
  void *ctx;
  /* filled by the batcher */
  sn_job_outcome_t outcome;
  sinter_status_t status;
  char message[512];
  size_t tokens; /* sum of lengths */
  double queue_seconds, compute_seconds;
  /* private to the batcher */
  size_t next, done, remaining;
  double queued_at;
  int finished;
  struct sn_job *link;
} sn_job_t;

/* Counters of one batcher, for /metrics. */
typedef struct sn_batcher_stats {
  int64_t queued_tokens;    /* tokens waiting (not yet run) */
  int64_t queued_jobs;      /* requests waiting or partly run */
  uint64_t runs;            /* session runs */
  uint64_t run_tokens;      /* tokens computed */
  uint64_t run_inputs;      /* inputs computed */
  double busy_seconds;      /* time inside session runs */
  double tokens_per_second; /* the measured rate the ageing uses */
  int64_t last_run_tokens;  /* tokens of the last run (batch fill) */
  int64_t max_batch_tokens, max_queue_tokens;
  uint64_t expired, cancelled; /* jobs dropped */
} sn_batcher_stats_t;

typedef struct sn_batcher sn_batcher_t;

/* The clock deadlines are expressed in: monotonic seconds. */
double sn_batcher_now(void);

/* Starts the worker over a compiled session on `program` (borrowed: it
 * outlives the batcher) with `threads` compute threads. `compute_lock` (may be
 * NULL) is held around every session run; pass one lock to the batchers of
 * all models of a process. Errors: those of sinter_session_create_compiled;
 * OUT_OF_MEMORY. */
sinter_status_t sn_batcher_create(const sinter_program_t *program, int threads,
                                  int64_t max_batch_tokens, int64_t max_queue_tokens,
                                  pthread_mutex_t *compute_lock, sn_batcher_t **out,
                                  sinter_error_t *err);

/* Queues `job`. Returns 0; -1 when the queued tokens would pass the limit
 * or the batcher is stopping (try later); -2 when the job alone has more
 * tokens than the queue holds (it never fits). On -1 and -2 the job is not
 * queued and finished_fn is not called. A job of zero inputs finishes at once. */
int sn_batcher_submit(sn_batcher_t *b, sn_job_t *job);

/* Blocks until `job` (submitted without finished_fn) is finished. */
void sn_batcher_wait(sn_batcher_t *b, sn_job_t *job);

/* A snapshot of the counters. */
void sn_batcher_get_stats(sn_batcher_t *b, sn_batcher_stats_t *out);

/* Finishes the queued work, stops the worker and releases everything.
 * NULL is allowed. */
void sn_batcher_destroy(sn_batcher_t *b);

#endif
