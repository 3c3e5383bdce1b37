/* threadpool.c — the runtime's thread pool (see threadpool.h). */
#include "kernels/threadpool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
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

/* A worker's record, written by it (tile_start) and by the caller (bench):
 * one cache line each, so that a worker's stores never slow another's. */
typedef struct worker_slot {
  _Alignas(64) _Atomic int64_t tile_start_us; /* when its current tile began; 0: none */
  _Atomic int64_t benched_until_us;           /* it takes no tile before this */
  int64_t bench_us;                           /* the caller's: the next bench's length */
  int64_t bench_ended_us;                     /* the caller's: when the last bench ended */
  clockid_t cpu_clock;                        /* the worker thread's CPU-time clock */
  int has_clock;
} worker_slot_t;

/* The gaps between runs that the linger learns from. */
#define GAP_HISTORY 8

struct sn_threadpool {
  int threads; /* in all, the caller included */
  int spin_us;
  int linger_max_us;
  pthread_t *workers;
  worker_slot_t *slots;        /* [threads]; slot 0 (the caller) unused */
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
  _Atomic int sleepers;            /* workers asleep on `wake` */
  _Atomic int caller_asleep;       /* the caller waits on `finished` */
  _Atomic int64_t linger_until_us; /* idle workers spin (not sleep) until then */
  pthread_mutex_t lock;
  pthread_cond_t wake, finished;

  /* The caller's own (under region_lock): the adaptive linger. */
  int64_t last_end_us;
  int64_t gaps_us[GAP_HISTORY];
  int gap_count;
  int64_t linger_us;
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

static int64_t now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int benched(const sn_threadpool_t *p, int worker, int64_t now) {
  return now < atomic_load_explicit(&p->slots[worker].benched_until_us, memory_order_relaxed);
}

/* Takes and runs tiles of generation `gen` until none is left; returns how
 * many it ran. A worker stamps each tile's start, so that the caller can tell
 * a worker that holds a tile without running (descheduled) from a slow tile. */
static size_t work(sn_threadpool_t *p, uint32_t gen, int worker) {
  sn_threadpool_task_fn fn = atomic_load_explicit(&p->fn, memory_order_relaxed);
  void *ctx = atomic_load_explicit(&p->ctx, memory_order_relaxed);
  size_t tiles = atomic_load_explicit(&p->tiles, memory_order_relaxed);
  uint64_t v = atomic_load_explicit(&p->claim, memory_order_acquire);
  size_t ran = 0;
  for (;;) {
    if ((uint32_t)(v >> TILE_BITS) != gen || (v & TILE_MASK) >= tiles) return ran;
    if (!atomic_compare_exchange_weak_explicit(&p->claim, &v, v + 1, memory_order_acq_rel,
                                               memory_order_acquire))
      continue;
    if (worker)
      atomic_store_explicit(&p->slots[worker].tile_start_us, now_us(), memory_order_relaxed);
    fn(ctx, (size_t)(v & TILE_MASK), worker);
    if (worker) atomic_store_explicit(&p->slots[worker].tile_start_us, 0, memory_order_relaxed);
    ran++;
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
    /* Spin a bounded while (the next region usually follows at once, and
     * the next run within the linger the caller learnt), then sleep until a
     * region or the stop is published. The worker yields the CPU now and
     * then: a thread that shares its CPU (the caller, when the scheduler woke
     * the worker onto the caller's CPU) is not held back. A benched worker
     * sleeps at once. */
    uint32_t gen = atomic_load_explicit(&p->generation, memory_order_acquire);
    int64_t start = now_us();
    if (gen == seen && !atomic_load(&p->stop) && !benched(p, a.index, start)) {
      for (int i = 0; (gen = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen &&
                      !atomic_load(&p->stop);
           i++) {
        CPU_RELAX();
        if ((i & 255) != 255) continue;
        int64_t t = now_us(),
                linger = atomic_load_explicit(&p->linger_until_us, memory_order_relaxed);
        if ((t > start + p->spin_us && t > linger) || benched(p, a.index, t)) break;
        sched_yield();
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
    if (!benched(p, a.index, now_us())) work(p, gen, a.index);
  }
}

sinter_status_t sn_threadpool_create(int threads, int spin_us, int linger_max_us,
                                     sn_threadpool_t **out, sinter_error_t *err) {
  *out = NULL;
  sn_threadpool_t *p = calloc(1, sizeof *p);
  if (!p) return err->status = SINTER_ERR_OUT_OF_MEMORY;
  p->threads = threads > 1 ? threads : 1;
  p->spin_us = spin_us >= 0 ? spin_us : SN_THREADPOOL_DEFAULT_SPIN_US;
  p->linger_max_us = linger_max_us >= 0 ? linger_max_us : SN_THREADPOOL_DEFAULT_LINGER_MAX_US;
  pthread_mutex_init(&p->region_lock, NULL);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->finished, NULL);
  if (p->threads > 1) {
    p->workers = calloc((size_t)p->threads - 1, sizeof *p->workers);
    p->slots = aligned_alloc(64, (size_t)p->threads * sizeof *p->slots);
    if (p->slots) memset(p->slots, 0, (size_t)p->threads * sizeof *p->slots);
    if (!p->workers || !p->slots) {
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
      /* The caller reads the worker's CPU clock to tell a descheduled worker
       * from a slow tile; without one, it never benches the worker. */
      if (!rc && pthread_getcpuclockid(p->workers[i - 1], &p->slots[i].cpu_clock) == 0)
        p->slots[i].has_clock = 1;
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
  free(p->slots);
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

/* The gaps between runs, the linger and the bench: the pool's answers to a
 * host that is not quiet (bench/RESULTS.md, "Tail latency under real
 * conditions").
 *
 * - Linger. A worker asleep on a futex can take milliseconds to run again
 *   on a VM whose host deschedules idle vCPUs; a worker that spins through
 *   the gap between runs does not pay it. The caller learns the gaps (the
 *   idle time before a region, when over GAP_MIN_US) and, when their median
 *   is within linger_max_us, has the workers spin 1.25x that median past a
 *   region's end; when the gaps are longer a spin would not bridge them and
 *   the workers sleep after the short spin, as ONNX Runtime's do after
 *   theirs.
 * - Bench. A worker whose CPU is taken (another process on its core, a CPU
 *   quota) holds its tile while it waits for the CPU, and the caller waits
 *   with it at the region's end: with a busy loop on one of two cores, two
 *   threads ran slower than one. When the caller has waited STALL_WINDOW_US
 *   for a tile and the worker's CPU clock moved less than half of that, the
 *   worker is benched: it takes no tiles for bench_us (10 ms, doubling up to
 *   BENCH_MAX_US while it is benched again within BENCH_RESET_US of the last
 *   bench's end), and the regions run on the others, the caller alone if
 *   need be. A worker that runs a long tile keeps its CPU clock moving and
 *   is never benched. */
#define GAP_MIN_US 1000
#define STALL_PROBE_US 50
#define YIELD_AFTER_US 10
#define STALL_WINDOW_US 400
#define BENCH_FIRST_US 10000
#define BENCH_MAX_US 640000
#define BENCH_RESET_US 1000000

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Called at a region's start: records the idle gap before it. */
static void learn_gap(sn_threadpool_t *p, int64_t now) {
  int64_t gap = now - p->last_end_us;
  if (!p->last_end_us || gap < GAP_MIN_US) return;
  p->gaps_us[p->gap_count++ % GAP_HISTORY] = gap;
  int n = p->gap_count < GAP_HISTORY ? p->gap_count : GAP_HISTORY;
  int64_t sorted[GAP_HISTORY];
  memcpy(sorted, p->gaps_us, (size_t)n * sizeof *sorted);
  qsort(sorted, (size_t)n, sizeof *sorted, cmp_i64);
  int64_t median = sorted[n / 2];
  p->linger_us = median <= p->linger_max_us ? median + median / 4 : 0;
  if (p->linger_us > p->linger_max_us) p->linger_us = p->linger_max_us;
}

static void end_region(sn_threadpool_t *p) {
  p->last_end_us = now_us();
  atomic_store_explicit(&p->linger_until_us, p->linger_us ? p->last_end_us + p->linger_us : 0,
                        memory_order_relaxed);
}

static int64_t cpu_clock_us(const worker_slot_t *s) {
  struct timespec t;
  if (clock_gettime(s->cpu_clock, &t)) return -1;
  return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void bench(sn_threadpool_t *p, int w, int64_t now) {
  worker_slot_t *s = &p->slots[w];
  s->bench_us = s->bench_us && now - s->bench_ended_us < BENCH_RESET_US
                    ? (s->bench_us * 2 < BENCH_MAX_US ? s->bench_us * 2 : BENCH_MAX_US)
                    : BENCH_FIRST_US;
  s->bench_ended_us = now + s->bench_us;
  atomic_store_explicit(&s->benched_until_us, s->bench_ended_us, memory_order_relaxed);
}

/* The caller waits for the tiles the workers hold: it spins (they are
 * short), watches for a worker that holds a tile without running, then
 * sleeps. Such a worker's bench starts when its tile ends. */
static void wait_for_tiles(sn_threadpool_t *p, size_t tiles, int64_t start) {
  int64_t clock0[64], probe_at = 0;
  char stalled[64] = {0};
  int probing = p->threads <= 64 ? 0 : -1; /* 0: not yet; 1: clocks read; -1: done */
  for (int i = 0; atomic_load_explicit(&p->done, memory_order_acquire) < tiles; i++) {
    CPU_RELAX();
    if ((i & 63) != 63) continue;
    int64_t t = now_us();
    /* A worker woken onto the caller's CPU (the scheduler places a wakee
     * there) runs only when the caller gives the CPU up: spinning here held
     * it off for a scheduler slice, 2.3 ms on our VMs, until the balancer
     * moved it. With the worker on another CPU, this returns at once. */
    if (t - start > YIELD_AFTER_US) sched_yield();
    if (!probing && t - start > STALL_PROBE_US) {
      for (int w = 1; w < p->threads; w++)
        clock0[w] = p->slots[w].has_clock ? cpu_clock_us(&p->slots[w]) : -1;
      probe_at = t;
      probing = 1;
    } else if (probing == 1 && t - probe_at > STALL_WINDOW_US) {
      for (int w = 1; w < p->threads; w++) {
        int64_t held = atomic_load_explicit(&p->slots[w].tile_start_us, memory_order_relaxed);
        if (clock0[w] < 0 || !held || held > probe_at) continue;
        int64_t ran = cpu_clock_us(&p->slots[w]) - clock0[w];
        stalled[w] = ran >= 0 && ran * 2 < t - probe_at;
      }
      probing = -1;
    }
    if (probing == -1 && t - start > p->spin_us) {
      pthread_mutex_lock(&p->lock);
      atomic_store(&p->caller_asleep, 1);
      while (atomic_load(&p->done) < tiles) pthread_cond_wait(&p->finished, &p->lock);
      atomic_store(&p->caller_asleep, 0);
      pthread_mutex_unlock(&p->lock);
      break;
    }
  }
  int64_t end = now_us();
  for (int w = 1; w < p->threads && w < 64; w++)
    if (stalled[w]) bench(p, w, end);
}

void sn_threadpool_run(sn_threadpool_t *p, size_t tiles, sn_threadpool_task_fn fn, void *ctx) {
  if (!tiles) return;
  /* (Past 2^32 - 1 tiles a claim cannot count them: no kernel gets near.) */
  if (!p || p->threads <= 1 || tiles == 1 || in_task || tiles > MAX_TILES) {
    run_inline(tiles, fn, ctx);
    return;
  }
  pthread_mutex_lock(&p->region_lock);
  int64_t t0 = now_us();
  learn_gap(p, t0);
  int active = 0;
  for (int w = 1; w < p->threads; w++) active += !benched(p, w, t0);
  if (!active) {
    run_inline(tiles, fn, ctx);
    end_region(p);
    pthread_mutex_unlock(&p->region_lock);
    return;
  }
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
  if (atomic_load_explicit(&p->done, memory_order_acquire) < tiles)
    wait_for_tiles(p, tiles, now_us());
  end_region(p);
  pthread_mutex_unlock(&p->region_lock);
}

int sn_threadpool_benched(const sn_threadpool_t *p) {
  if (!p || p->threads <= 1) return 0;
  int64_t now = now_us();
  int n = 0;
  for (int w = 1; w < p->threads; w++) n += benched(p, w, now);
  return n;
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
