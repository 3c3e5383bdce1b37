/* batcher.c — continuous batching by token budget (see batcher.h). */
#include "server/batcher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The token rate assumed before the first run is measured. */
#define INITIAL_TOKENS_PER_SECOND 10000.0

struct sn_batcher {
  sinter_session_t *session;
  pthread_mutex_t *compute_lock;
  int64_t max_batch_tokens, max_queue_tokens;
  size_t hidden;
  size_t embedding_dim;  /* width of an embedding row (Dense modules change it) */
  sn_job_t *head, *tail; /* unfinished jobs, in arrival order */
  int stopping;
  sn_batcher_stats_t stats;
  pthread_mutex_t lock;
  pthread_cond_t work, done;
  pthread_t worker;
  /* one run's inputs, reused */
  const int32_t **ids, **types;
  size_t *lengths;
  sn_job_t **owner;
  size_t *row;
  size_t cap;
  int normalize; /* of the run being gathered */
  size_t vocab;  /* width of a SPLADE row (programs compiled with sparse output) */
};

double sn_batcher_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Drops what is left of `j` (its deadline passed or its client left). */
static void drop(sn_batcher_t *b, sn_job_t *j, sn_job_outcome_t why) {
  j->outcome = why;
  b->stats.queued_tokens -= (int64_t)j->remaining;
  j->remaining = 0;
  j->done += j->count - j->next;
  j->next = j->count;
  if (why == SN_JOB_EXPIRED)
    b->stats.expired++;
  else
    b->stats.cancelled++;
}

/* Fills the run's inputs: repeatedly the waiting job of the smallest
 * priority (arrival + remaining tokens at the measured rate) gives its next
 * inputs while they fit the budget; a job whose next input does not fit sits
 * out this run. Jobs past their deadline or cancelled are dropped first.
 * Called with the lock held; returns the number of inputs taken. */
static size_t gather(sn_batcher_t *b) {
  double now = sn_batcher_now();
  double rate =
      b->stats.tokens_per_second > 0 ? b->stats.tokens_per_second : INITIAL_TOKENS_PER_SECOND;
  for (sn_job_t *j = b->head; j; j = j->link) {
    if (j->next == j->count) continue;
    if (j->deadline > 0 && now > j->deadline)
      drop(b, j, SN_JOB_EXPIRED);
    else if (j->cancelled && j->cancelled(j->ctx))
      drop(b, j, SN_JOB_CANCELLED);
  }
  size_t n = 0;
  int64_t tokens = 0;
  b->normalize = -1;
  /* `finished` doubles as "sits out this run" for unfinished jobs here. */
  for (;;) {
    sn_job_t *best = NULL;
    double best_key = 0;
    for (sn_job_t *j = b->head; j; j = j->link) {
      if (j->next == j->count || j->finished) continue;
      if (b->normalize >= 0 && j->normalize != b->normalize) continue;
      double key = j->queued_at + (double)j->remaining / rate;
      if (!best || key < best_key) best = j, best_key = key;
    }
    if (!best || n == b->cap) break;
    if (b->normalize < 0) b->normalize = best->normalize;
    while (best->next < best->count && n < b->cap) {
      int64_t len = (int64_t)best->lengths[best->next];
      if (n > 0 && tokens + len > b->max_batch_tokens) break;
      b->ids[n] = best->ids[best->next];
      b->types[n] = best->type_ids ? best->type_ids[best->next] : NULL;
      b->lengths[n] = (size_t)len;
      b->owner[n] = best;
      b->row[n] = best->next;
      if (best->next == 0) best->queue_seconds = now - best->queued_at;
      best->next++;
      best->remaining -= (size_t)len;
      tokens += len;
      n++;
    }
    if (best->next < best->count) best->finished = -1; /* full for this run */
  }
  for (sn_job_t *j = b->head; j; j = j->link)
    if (j->finished < 0) j->finished = 0;
  return n;
}

/* 1 when some queued input has not been run yet. */
static int pending(const sn_batcher_t *b) {
  for (const sn_job_t *j = b->head; j; j = j->link)
    if (j->next < j->count) return 1;
  return 0;
}

/* Copies run row i's outputs into its job. */
static void deliver(sn_batcher_t *b, size_t i, const sinter_outputs_t *out) {
  sn_job_t *j = b->owner[i];
  size_t r = b->row[i], h = b->hidden;
  size_t e = b->embedding_dim;
  if (j->embeddings) memcpy(j->embeddings + r * e, out->embeddings + i * e, e * sizeof(float));
  if (j->logits && out->logits)
    memcpy(j->logits + r * out->num_labels, out->logits + i * out->num_labels,
           out->num_labels * sizeof(float));
  if (j->token_states)
    memcpy(j->token_states + j->starts[r] * h, out->last_hidden_state + out->offsets[i] * h,
           b->lengths[i] * h * sizeof(float));
  if (j->sparse && out->sparse && out->vocab_size == b->vocab)
    memcpy(j->sparse + r * b->vocab, out->sparse + i * b->vocab, b->vocab * sizeof(float));
}

/* Takes finished jobs out of the queue; returns those with a finished_fn as
 * a list (through `link`) for the caller to call without the lock. */
static sn_job_t *sweep(sn_batcher_t *b) {
  sn_job_t **at = &b->head, *last = NULL, *callbacks = NULL;
  while (*at) {
    sn_job_t *j = *at;
    if (j->done == j->count) {
      *at = j->link;
      j->finished = 1;
      b->stats.queued_jobs--;
      if (j->finished_fn) {
        j->link = callbacks;
        callbacks = j;
      }
    } else {
      last = j;
      at = &j->link;
    }
  }
  b->tail = last;
  pthread_cond_broadcast(&b->done);
  return callbacks;
}

static void call_finished(sn_job_t *list) {
  while (list) {
    sn_job_t *next = list->link; /* the job is the caller's once called */
    list->link = NULL;
    list->finished_fn(list, list->ctx);
    list = next;
  }
}

/* The worker: runs whatever is queued, as soon as the session is free; on
 * stop it drains the queue first. */
static void *work(void *p) {
  sn_batcher_t *b = p;
  pthread_mutex_lock(&b->lock);
  for (;;) {
    while (!b->stopping && !pending(b)) pthread_cond_wait(&b->work, &b->lock);
    if (!pending(b)) break; /* stopping, and nothing left */
    size_t n = gather(b);
    int64_t tokens = 0;
    for (size_t i = 0; i < n; i++) tokens += (int64_t)b->lengths[i];
    sinter_status_t st = SINTER_OK;
    sinter_error_t err;
    sinter_outputs_t out;
    double took = 0;
    if (n) {
      pthread_mutex_unlock(&b->lock);
      sinter_batch_t batch = {n, b->ids, b->types, b->lengths};
      /* Normalising as the folder does (the usual case) keeps the plan's own
       * normalisation, so results equal `sinter embed`'s bit for bit. */
      sinter_run_options_t run = {.pooling = SINTER_POOL_DEFAULT,
                                  .normalize = b->normalize ? 1 : -1};
      if (b->compute_lock) pthread_mutex_lock(b->compute_lock);
      double t0 = sn_batcher_now();
      st = sinter_session_run(b->session, &batch, &run, &out, &err);
      took = sn_batcher_now() - t0;
      if (b->compute_lock) pthread_mutex_unlock(b->compute_lock);
      pthread_mutex_lock(&b->lock);
    }
    b->stats.queued_tokens -= tokens;
    if (n) {
      b->stats.runs++;
      b->stats.run_tokens += (uint64_t)tokens;
      b->stats.run_inputs += n;
      b->stats.busy_seconds += took;
      b->stats.last_run_tokens = tokens;
      if (took > 0) { /* a moving average: the rate drifts with the mix */
        double r = (double)tokens / took, old = b->stats.tokens_per_second;
        b->stats.tokens_per_second = old > 0 ? 0.8 * old + 0.2 * r : r;
      }
    }
    for (size_t i = 0; i < n; i++) {
      sn_job_t *j = b->owner[i];
      if (st == SINTER_OK) {
        deliver(b, i, &out);
      } else if (j->status == SINTER_OK) {
        j->status = st;
        snprintf(j->message, sizeof j->message, "%s", err.message);
      }
      j->compute_seconds += took * (double)b->lengths[i] / (double)(tokens ? tokens : 1);
      j->done++;
    }
    sn_job_t *callbacks = sweep(b);
    if (callbacks) {
      pthread_mutex_unlock(&b->lock);
      call_finished(callbacks);
      pthread_mutex_lock(&b->lock);
    }
  }
  pthread_mutex_unlock(&b->lock);
  return NULL;
}

static void free_arrays(sn_batcher_t *b) {
  free(b->ids), free(b->types), free(b->lengths), free(b->owner), free(b->row);
}

sinter_status_t sn_batcher_create(const sinter_program_t *program, int threads,
                                  int64_t max_batch_tokens, int64_t max_queue_tokens,
                                  pthread_mutex_t *compute_lock, sn_batcher_t **out,
                                  sinter_error_t *err) {
  *out = NULL;
  sn_batcher_t *b = calloc(1, sizeof *b);
  if (!b) {
    err->status = SINTER_ERR_OUT_OF_MEMORY;
    snprintf(err->message, sizeof err->message, "batcher: out of memory");
    return err->status;
  }
  sinter_program_info_t info;
  sinter_program_get_info(program, &info);
  sinter_model_info_t m;
  sinter_model_get_info(sinter_program_model(program), &m);
  b->compute_lock = compute_lock;
  b->hidden = (size_t)m.hidden_size;
  b->embedding_dim = (size_t)m.embedding_dim;
  b->vocab = (size_t)m.vocab_size;
  b->max_batch_tokens = max_batch_tokens > 0 ? max_batch_tokens : info.max_tokens;
  b->max_queue_tokens = max_queue_tokens > 0 ? max_queue_tokens : 16 * b->max_batch_tokens;
  b->stats.max_batch_tokens = b->max_batch_tokens;
  b->stats.max_queue_tokens = b->max_queue_tokens;
  b->cap = (size_t)b->max_batch_tokens; /* every input has at least one token */
  b->ids = calloc(b->cap, sizeof *b->ids);
  b->types = calloc(b->cap, sizeof *b->types);
  b->lengths = calloc(b->cap, sizeof *b->lengths);
  b->owner = calloc(b->cap, sizeof *b->owner);
  b->row = calloc(b->cap, sizeof *b->row);
  pthread_mutex_init(&b->lock, NULL);
  pthread_cond_init(&b->work, NULL);
  pthread_cond_init(&b->done, NULL);
  sinter_status_t st = SINTER_OK;
  if (!b->ids || !b->types || !b->lengths || !b->owner || !b->row) {
    err->status = st = SINTER_ERR_OUT_OF_MEMORY;
    snprintf(err->message, sizeof err->message, "batcher: out of memory");
  }
  if (!st) st = sinter_session_create_compiled(program, threads, &b->session, err);
  if (!st && pthread_create(&b->worker, NULL, work, b) != 0) {
    err->status = st = SINTER_ERR_INTERNAL;
    snprintf(err->message, sizeof err->message, "cannot start the batching thread");
  }
  if (st) {
    sinter_session_destroy(b->session);
    free_arrays(b);
    free(b);
    return st;
  }
  *out = b;
  return SINTER_OK;
}

int sn_batcher_submit(sn_batcher_t *b, sn_job_t *job) {
  job->outcome = SN_JOB_DONE;
  job->status = SINTER_OK;
  job->message[0] = '\0';
  job->next = job->done = 0;
  job->finished = 0;
  job->queue_seconds = job->compute_seconds = 0;
  job->link = NULL;
  job->tokens = 0;
  for (size_t i = 0; i < job->count; i++) job->tokens += job->lengths[i];
  job->remaining = job->tokens;
  if (job->count == 0) {
    job->finished = 1;
    if (job->finished_fn) job->finished_fn(job, job->ctx);
    return 0;
  }
  if ((int64_t)job->tokens > b->max_queue_tokens) return -2; /* it could never fit */
  pthread_mutex_lock(&b->lock);
  if (b->stopping || b->stats.queued_tokens + (int64_t)job->tokens > b->max_queue_tokens) {
    pthread_mutex_unlock(&b->lock);
    return -1;
  }
  job->queued_at = sn_batcher_now();
  b->stats.queued_tokens += (int64_t)job->tokens;
  b->stats.queued_jobs++;
  if (b->tail)
    b->tail->link = job;
  else
    b->head = job;
  b->tail = job;
  pthread_cond_signal(&b->work);
  pthread_mutex_unlock(&b->lock);
  return 0;
}

void sn_batcher_wait(sn_batcher_t *b, sn_job_t *job) {
  pthread_mutex_lock(&b->lock);
  while (job->finished != 1) pthread_cond_wait(&b->done, &b->lock);
  pthread_mutex_unlock(&b->lock);
}

void sn_batcher_get_stats(sn_batcher_t *b, sn_batcher_stats_t *out) {
  pthread_mutex_lock(&b->lock);
  *out = b->stats;
  pthread_mutex_unlock(&b->lock);
}

void sn_batcher_destroy(sn_batcher_t *b) {
  if (!b) return;
  pthread_mutex_lock(&b->lock);
  b->stopping = 1;
  pthread_cond_signal(&b->work);
  pthread_mutex_unlock(&b->lock);
  pthread_join(b->worker, NULL);
  sinter_session_destroy(b->session);
  pthread_mutex_destroy(&b->lock);
  pthread_cond_destroy(&b->work);
  pthread_cond_destroy(&b->done);
  free_arrays(b);
  free(b);
}
