/* threadpool.c — the runtime's thread pool (see threadpool.h). */
#include "kernels/threadpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* A claim on the next tile packs the region's generation (high 32 bits) with
 * the tile index (low 32 bits) in one word, so a worker still holding an old
 * region's view can never take a tile of the next one: its compare-and-swap
 * fails on the generation. */
#define TILE_BITS 32
#define TILE_MASK ((UINT64_C(1) << TILE_BITS) - 1)
#define MAX_TILES ((size_t)TILE_MASK)

struct sn_threadpool {
  int threads; /* in all, the caller included */
  int spin_us;
  pthread_t *workers;
  pthread_mutex_t region_lock; /* one region at a time */

  /* The region: written by the caller before it publishes `generation`; a
   * worker late from the region before may read them as they change, but
   * its claims fail, so atomics with relaxed order suffice. */
  _Atomic(sn_threadpool_task_fn) fn;
  _Atomic(void *) ctx;
  _Atomic size_t tiles;
  _Atomic uint64_t claim; /* generation << 32 | next tile */
  _Atomic size_t done;    /* tiles finished */

  _Atomic uint32_t generation; /* bumped per region: workers wake on it */
  _Atomic int stop;
  _Atomic int sleepers;      /* workers asleep on `wake` */
  _Atomic int caller_asleep; /* the caller waits on `finished` */
  pthread_mutex_t lock;
  pthread_cond_t wake, finished;
};

typedef struct worker_arg {
  sn_threadpool_t *pool;
  int index;
} worker_arg_t;

static _Thread_local sn_threadpool_t *current;
static _Thread_local int in_task;

sn_threadpool_t *sn_threadpool_current(void) {
  return current;
}

sn_threadpool_t *sn_threadpool_set_current(sn_threadpool_t *pool) {
  sn_threadpool_t *old = current;
  current = pool;
  return old;
}

int sn_threadpool_in_task(void) {
  return in_task;
}

int sn_threadpool_threads(const sn_threadpool_t *pool) {
  return pool ? pool->threads : 1;
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

/* Takes and runs tiles of generation `gen` until none is left. */
static void work(sn_threadpool_t *p, uint32_t gen, int worker) {
  sn_threadpool_task_fn fn = atomic_load_explicit(&p->fn, memory_order_relaxed);
  void *ctx = atomic_load_explicit(&p->ctx, memory_order_relaxed);
  size_t tiles = atomic_load_explicit(&p->tiles, memory_order_relaxed);
  uint64_t v = atomic_load_explicit(&p->claim, memory_order_acquire);
  for (;;) {
    if ((uint32_t)(v >> TILE_BITS) != gen || (v & TILE_MASK) >= tiles) return;
    if (!atomic_compare_exchange_weak_explicit(&p->claim, &v, v + 1, memory_order_acq_rel,
                                               memory_order_acquire))
      continue;
    fn(ctx, (size_t)(v & TILE_MASK), worker);
    size_t finished = atomic_fetch_add(&p->done, 1) + 1; /* seq_cst: pairs with caller_asleep */
    if (finished == tiles && atomic_load(&p->caller_asleep)) {
      pthread_mutex_lock(&p->lock);
      pthread_cond_signal(&p->finished);
      pthread_mutex_unlock(&p->lock);
    }
    v = atomic_load_explicit(&p->claim, memory_order_acquire);
  }
}

static void *worker_main(void *arg) {
  worker_arg_t a = *(worker_arg_t *)arg;
  free(arg);
  sn_threadpool_t *p = a.pool;
  in_task = 1; /* a kernel called from a task runs inline */
  uint32_t seen = atomic_load(&p->generation);
  for (;;) {
    /* Spin a bounded while (the next region usually follows at once), then
     * sleep until a region or the stop is published. */
    uint32_t gen = atomic_load_explicit(&p->generation, memory_order_acquire);
    if (gen == seen && !atomic_load(&p->stop)) {
      double until = now_us() + p->spin_us;
      for (int i = 0; (gen = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen &&
                      !atomic_load(&p->stop);
           i++) {
        CPU_RELAX();
        if ((i & 255) == 255 && now_us() > until) break;
      }
    }
    if (gen == seen && !atomic_load(&p->stop)) {
      pthread_mutex_lock(&p->lock);
      atomic_fetch_add(&p->sleepers, 1); /* seq_cst: pairs with the caller's publish */
      while ((gen = atomic_load(&p->generation)) == seen && !atomic_load(&p->stop))
        pthread_cond_wait(&p->wake, &p->lock);
      atomic_fetch_sub(&p->sleepers, 1);
      pthread_mutex_unlock(&p->lock);
    }
    if (atomic_load(&p->stop)) return NULL;
    seen = gen;
    work(p, gen, a.index);
  }
}

sinter_status_t sn_threadpool_create(int threads, int spin_us, sn_threadpool_t **out,
                                     sinter_error_t *err) {
  *out = NULL;
  sn_threadpool_t *p = calloc(1, sizeof *p);
  if (!p) return err->status = SINTER_ERR_OUT_OF_MEMORY;
  p->threads = threads > 1 ? threads : 1;
  p->spin_us = spin_us >= 0 ? spin_us : SN_THREADPOOL_DEFAULT_SPIN_US;
  pthread_mutex_init(&p->region_lock, NULL);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->finished, NULL);
  if (p->threads > 1) {
    p->workers = calloc((size_t)p->threads - 1, sizeof *p->workers);
    if (!p->workers) {
      sn_threadpool_destroy(p);
      return err->status = SINTER_ERR_OUT_OF_MEMORY;
    }
  }
  for (int i = 1; i < p->threads; i++) {
    worker_arg_t *a = malloc(sizeof *a);
    int rc = a ? 0 : ENOMEM;
    if (a) {
      a->pool = p;
      a->index = i;
      rc = pthread_create(&p->workers[i - 1], NULL, worker_main, a);
      if (rc) free(a);
    }
    if (rc) {
      p->threads = i; /* the started ones are joined */
      sn_threadpool_destroy(p);
      err->status = SINTER_ERR_IO;
      snprintf(err->message, sizeof err->message, "cannot start thread %d of the pool: %s", i,
               strerror(rc));
      return err->status;
    }
  }
  *out = p;
  return SINTER_OK;
}

void sn_threadpool_destroy(sn_threadpool_t *p) {
  if (!p) return;
  pthread_mutex_lock(&p->lock);
  atomic_store(&p->stop, 1);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  for (int i = 1; p->workers && i < p->threads; i++) pthread_join(p->workers[i - 1], NULL);
  free(p->workers);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->finished);
  pthread_mutex_destroy(&p->lock);
  pthread_mutex_destroy(&p->region_lock);
  free(p);
}

static void run_inline(size_t tiles, sn_threadpool_task_fn fn, void *ctx) {
  int outer = in_task;
  in_task = 1;
  for (size_t t = 0; t < tiles; t++) fn(ctx, t, 0);
  in_task = outer;
}

void sn_threadpool_run(sn_threadpool_t *p, size_t tiles, sn_threadpool_task_fn fn, void *ctx) {
  if (!tiles) return;
  /* (Past 2^32 - 1 tiles a claim cannot count them: no kernel gets near.) */
  if (!p || p->threads <= 1 || tiles == 1 || in_task || tiles > MAX_TILES) {
    run_inline(tiles, fn, ctx);
    return;
  }
  pthread_mutex_lock(&p->region_lock);
  uint32_t gen = atomic_load(&p->generation) + 1;
  atomic_store_explicit(&p->fn, fn, memory_order_relaxed);
  atomic_store_explicit(&p->ctx, ctx, memory_order_relaxed);
  atomic_store_explicit(&p->tiles, tiles, memory_order_relaxed);
  atomic_store(&p->done, 0);
  atomic_store_explicit(&p->claim, (uint64_t)gen << TILE_BITS, memory_order_release);
  atomic_store(&p->generation, gen); /* seq_cst: pairs with a worker's sleepers++ */
  if (atomic_load(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->lock);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
  }
  in_task = 1;
  work(p, gen, 0);
  in_task = 0;
  /* Wait for the tiles the workers hold: spin first (they are short), then
   * sleep. */
  double until = now_us() + p->spin_us;
  for (int i = 0; atomic_load_explicit(&p->done, memory_order_acquire) < tiles; i++) {
    CPU_RELAX();
    if ((i & 255) == 255 && now_us() > until) {
      pthread_mutex_lock(&p->lock);
      atomic_store(&p->caller_asleep, 1);
      while (atomic_load(&p->done) < tiles) pthread_cond_wait(&p->finished, &p->lock);
      atomic_store(&p->caller_asleep, 0);
      pthread_mutex_unlock(&p->lock);
      break;
    }
  }
  pthread_mutex_unlock(&p->region_lock);
}

typedef struct range_loop {
  sn_threadpool_range_fn fn;
  void *ctx;
  int64_t n, tiles;
} range_loop_t;

static void range_tile(void *ctx, size_t tile, int worker) {
  (void)worker;
  const range_loop_t *r = ctx;
  int64_t t = (int64_t)tile;
  r->fn(r->ctx, r->n * t / r->tiles, r->n * (t + 1) / r->tiles);
}

void sn_threadpool_for(sn_threadpool_t *p, int64_t n, int64_t grain, sn_threadpool_range_fn fn,
                       void *ctx) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int threads = p && !in_task ? p->threads : 1;
  int64_t tiles = n / grain < 4 * (int64_t)threads ? n / grain : 4 * (int64_t)threads;
  if (threads <= 1 || tiles < 2) {
    fn(ctx, 0, n);
    return;
  }
  range_loop_t r = {fn, ctx, n, tiles};
  sn_threadpool_run(p, (size_t)tiles, range_tile, &r);
}
