/* batcher.c — continuous batching by token budget (see batcher.h). */
#include "server/batcher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sn_batcher {
  sinter_session_t *session;
  int64_t max_batch_tokens, max_queue_tokens, queued_tokens;
  size_t hidden;
  sn_job_t *head, *tail; /* FIFO of unfinished jobs */
  int stopping;
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
};

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Takes inputs, oldest job first, until the next one would pass the budget.
 * Called with the lock held; returns the number taken. */
static size_t gather(sn_batcher_t *b) {
  size_t n = 0;
  int64_t tokens = 0;
  b->normalize = -1;
  for (sn_job_t *j = b->head; j; j = j->link) {
    if (j->next == j->count) continue;
    if (b->normalize < 0) b->normalize = j->normalize;
    if (j->normalize != b->normalize) continue; /* a later run takes it */
    while (j->next < j->count) {
      int64_t len = (int64_t)j->lengths[j->next];
      if (n > 0 && tokens + len > b->max_batch_tokens) return n;
      if (n == b->cap) return n;
      b->ids[n] = j->ids[j->next];
      b->types[n] = j->type_ids ? j->type_ids[j->next] : NULL;
      b->lengths[n] = j->lengths[j->next];
      b->owner[n] = j;
      b->row[n] = j->next;
      if (j->next == 0) j->queue_seconds = now_s() - j->queued_at;
      j->next++;
      tokens += len;
      n++;
    }
  }
  return n;
}

/* 1 when some queued input has not been run yet. */
static int pending(const sn_batcher_t *b) {
  for (const sn_job_t *j = b->head; j; j = j->link)
    if (j->next < j->count) return 1;
  return 0;
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
    pthread_mutex_unlock(&b->lock);
    sinter_batch_t batch = {n, b->ids, b->types, b->lengths};
    /* Normalising as the folder does (the usual case) keeps the plan's own
     * normalisation, so results equal `sinter embed`'s bit for bit. */
    sinter_run_options_t run = {SINTER_POOL_DEFAULT, b->normalize ? 1 : -1};
    sinter_outputs_t out;
    sinter_error_t err;
    double t0 = now_s();
    sinter_status_t st = sinter_session_run(b->session, &batch, &run, &out, &err);
    double took = now_s() - t0;
    pthread_mutex_lock(&b->lock);
    b->queued_tokens -= tokens;
    for (size_t i = 0; i < n; i++) {
      sn_job_t *j = b->owner[i];
      if (st == SINTER_OK) {
        if (j->embeddings)
          memcpy(j->embeddings + b->row[i] * b->hidden, out.embeddings + i * b->hidden,
                 b->hidden * sizeof(float));
        if (j->logits && out.logits)
          memcpy(j->logits + b->row[i] * out.num_labels, out.logits + i * out.num_labels,
                 out.num_labels * sizeof(float));
      } else if (j->status == SINTER_OK) {
        j->status = st;
        snprintf(j->message, sizeof j->message, "%s", err.message);
      }
      j->compute_seconds += took / (double)n;
      j->done++;
    }
    /* Finished jobs leave the queue (they are all at its front or done). */
    sn_job_t **at = &b->head, *last = NULL;
    while (*at) {
      sn_job_t *j = *at;
      if (j->done == j->count) {
        *at = j->link;
        j->finished = 1;
      } else {
        last = j;
        at = &j->link;
      }
    }
    b->tail = last;
    pthread_cond_broadcast(&b->done);
  }
  pthread_mutex_unlock(&b->lock);
  return NULL;
}

sinter_status_t sn_batcher_create(const sinter_program_t *program, int threads,
                                  int64_t max_batch_tokens, int64_t max_queue_tokens,
                                  sn_batcher_t **out, sinter_error_t *err) {
  *out = NULL;
  sn_batcher_t *b = calloc(1, sizeof *b);
  if (!b) {
    err->status = SINTER_ERR_OUT_OF_MEMORY;
    snprintf(err->message, sizeof err->message, "batcher");
    return err->status;
  }
  sinter_program_info_t info;
  sinter_program_get_info(program, &info);
  sinter_model_info_t m;
  sinter_model_get_info(sinter_program_model(program), &m);
  b->hidden = (size_t)m.hidden_size;
  b->max_batch_tokens = max_batch_tokens > 0 ? max_batch_tokens : info.max_tokens;
  b->max_queue_tokens = max_queue_tokens > 0 ? max_queue_tokens : 16 * b->max_batch_tokens;
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
    snprintf(err->message, sizeof err->message, "batcher");
  }
  if (!st) st = sinter_session_create_compiled(program, threads, &b->session, err);
  if (!st && pthread_create(&b->worker, NULL, work, b) != 0) {
    err->status = st = SINTER_ERR_INTERNAL;
    snprintf(err->message, sizeof err->message, "cannot start the batching thread");
  }
  if (st) {
    sinter_session_destroy(b->session);
    free(b->ids), free(b->types), free(b->lengths), free(b->owner), free(b->row), free(b);
    return st;
  }
  *out = b;
  return SINTER_OK;
}

int sn_batcher_submit(sn_batcher_t *b, sn_job_t *job) {
  job->status = SINTER_OK;
  job->message[0] = '\0';
  job->next = job->done = 0;
  job->finished = job->count == 0;
  job->queue_seconds = job->compute_seconds = 0;
  job->link = NULL;
  job->tokens = 0;
  for (size_t i = 0; i < job->count; i++) job->tokens += job->lengths[i];
  if (job->count == 0) return 0;
  pthread_mutex_lock(&b->lock);
  if (b->stopping || b->queued_tokens + (int64_t)job->tokens > b->max_queue_tokens) {
    pthread_mutex_unlock(&b->lock);
    return -1;
  }
  job->queued_at = now_s();
  b->queued_tokens += (int64_t)job->tokens;
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
  while (!job->finished) pthread_cond_wait(&b->done, &b->lock);
  pthread_mutex_unlock(&b->lock);
}

int64_t sn_batcher_queued_tokens(sn_batcher_t *b) {
  pthread_mutex_lock(&b->lock);
  int64_t n = b->queued_tokens;
  pthread_mutex_unlock(&b->lock);
  return n;
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
  free(b->ids), free(b->types), free(b->lengths), free(b->owner), free(b->row);
  free(b);
}
