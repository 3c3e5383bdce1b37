/* test_threadpool.c — the runtime's thread pool (kernels/threadpool.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "kernels/threadpool.h"
#include "test.h"

enum { MAX = 4096 };

typedef struct counts {
  _Atomic int hits[MAX];
  _Atomic int workers_seen[8];
  int threads;
} counts_t;

static void count(void *ctx, size_t tile, int worker) {
  counts_t *c = ctx;
  atomic_fetch_add(&c->hits[tile], 1);
  if (worker >= 0 && worker < 8) atomic_fetch_add(&c->workers_seen[worker], 1);
}

static counts_t *run_counted(sn_threadpool_t *p, size_t tiles) {
  counts_t *c = calloc(1, sizeof *c);
  sn_threadpool_run(p, tiles, count, c);
  return c;
}

/* Every tile runs exactly once, for every tile count and many regions in a
 * row (a late worker of one region must never take a tile of the next). */
static void test_every_tile_once(void) {
  sinter_error_t err;
  for (int threads = 1; threads <= 4; threads++) {
    sn_threadpool_t *p = NULL;
    SN_CHECK_OK(sn_threadpool_create(threads, 0, -1, &p, &err), &err);
    SN_CHECK(sn_threadpool_threads(p) == threads);
    for (int round = 0; round < 300; round++) {
      size_t tiles = (size_t)(round * 37 % 700);
      counts_t *c = run_counted(p, tiles);
      int bad = 0;
      for (size_t t = 0; t < MAX; t++) bad += atomic_load(&c->hits[t]) != (t < tiles);
      SN_CHECK_MSG(bad == 0, "%d threads, %zu tiles: %d tiles ran not once", threads, tiles, bad);
      for (int w = threads; w < 8; w++) SN_CHECK(atomic_load(&c->workers_seen[w]) == 0);
      free(c);
    }
    sn_threadpool_destroy(p);
  }
  counts_t *c = run_counted(NULL, 10); /* no pool: inline */
  SN_CHECK(atomic_load(&c->workers_seen[0]) == 10);
  free(c);
}

typedef struct nested {
  sn_threadpool_t *pool;
  _Atomic int inner;
} nested_t;

static void inner_tile(void *ctx, size_t tile, int worker) {
  (void)tile;
  nested_t *n = ctx;
  SN_CHECK(sn_threadpool_in_task());
  (void)worker;
  atomic_fetch_add(&n->inner, 1);
}

static void outer_tile(void *ctx, size_t tile, int worker) {
  (void)tile, (void)worker;
  nested_t *n = ctx;
  sn_threadpool_run(n->pool, 5, inner_tile, n); /* from inside a task: inline */
}

static void test_nested_regions_run_inline(void) {
  sinter_error_t err;
  sn_threadpool_t *p = NULL;
  SN_CHECK_OK(sn_threadpool_create(3, -1, -1, &p, &err), &err);
  nested_t n = {p, 0};
  sn_threadpool_run(p, 7, outer_tile, &n);
  SN_CHECK(atomic_load(&n.inner) == 35);
  SN_CHECK(!sn_threadpool_in_task());
  sn_threadpool_destroy(p);
}

typedef struct caller {
  sn_threadpool_t *pool;
  int ok;
} caller_t;

static void *many_regions(void *arg) {
  caller_t *c = arg;
  c->ok = 1;
  for (int r = 0; r < 200; r++) {
    counts_t *k = run_counted(c->pool, 64);
    for (size_t t = 0; t < 64; t++) c->ok &= atomic_load(&k->hits[t]) == 1;
    free(k);
  }
  return NULL;
}

/* Sessions sharing one pool take turns; each region is whole. */
static void test_concurrent_callers_share_a_pool(void) {
  sinter_error_t err;
  sn_threadpool_t *p = NULL;
  SN_CHECK_OK(sn_threadpool_create(2, 20, -1, &p, &err), &err);
  pthread_t t[3];
  caller_t c[3];
  for (int i = 0; i < 3; i++) {
    c[i].pool = p;
    pthread_create(&t[i], NULL, many_regions, &c[i]);
  }
  for (int i = 0; i < 3; i++) {
    pthread_join(t[i], NULL);
    SN_CHECK(c[i].ok);
  }
  sn_threadpool_destroy(p);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void slow_tile(void *ctx, size_t tile, int worker) {
  (void)ctx, (void)worker;
  if (tile == 0) usleep(300 * 1000);
}

typedef struct blocked {
  sn_threadpool_t *pool;
  double seconds;
} blocked_t;

static void *block_one_pool(void *arg) {
  blocked_t *b = arg;
  double t0 = now();
  sn_threadpool_run(b->pool, 4, slow_tile, NULL);
  b->seconds = now() - t0;
  return NULL;
}

/* A tile that blocks for 300 ms holds its own session's region, never another
 * session's pool. */
static void test_a_blocked_worker_blocks_no_other_session(void) {
  sinter_error_t err;
  sn_threadpool_t *a = NULL, *b = NULL;
  SN_CHECK_OK(sn_threadpool_create(2, 0, -1, &a, &err), &err);
  SN_CHECK_OK(sn_threadpool_create(2, 0, -1, &b, &err), &err);
  blocked_t slow = {a, 0};
  pthread_t t;
  pthread_create(&t, NULL, block_one_pool, &slow);
  usleep(20 * 1000);
  double t0 = now();
  for (int r = 0; r < 50; r++) free(run_counted(b, 16));
  double other = now() - t0;
  pthread_join(t, NULL);
  SN_CHECK_MSG(other < slow.seconds, "50 regions of the other session took %.3f s", other);
  SN_CHECK(slow.seconds >= 0.29);
  sn_threadpool_destroy(a);
  sn_threadpool_destroy(b);
}

/* The CPU time the whole process uses while the caller sleeps `us`. */
static double cpu_while_sleeping(useconds_t us) {
  struct timespec c0, c1;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  usleep(us);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
  return (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9;
}

/* An idle pool still wakes for the next region, and runs each tile once. */
static void check_wakes_and_destroy(sn_threadpool_t *p) {
  counts_t *c = run_counted(p, 100);
  for (size_t t = 0; t < 100; t++) SN_CHECK(atomic_load(&c->hits[t]) == 1);
  free(c);
  sn_threadpool_destroy(p);
}

/* An idle pool's threads sleep: the process uses (almost) no CPU while its
 * pool idles past the spin. */
static void test_an_idle_pool_sleeps(void) {
  sinter_error_t err;
  sn_threadpool_t *p = NULL;
  SN_CHECK_OK(sn_threadpool_create(4, 100, -1, &p, &err), &err);
  free(run_counted(p, 64));
  usleep(20 * 1000); /* past the spin */
  double cpu = cpu_while_sleeping(300 * 1000);
  SN_CHECK_MSG(cpu < 0.03, "an idle pool used %.3f s of CPU in 0.3 s", cpu);
  check_wakes_and_destroy(p);
}

typedef struct stall {
  _Atomic int worker_tiles;
  int busy;      /* the worker's first tile: 1 computes for 60 ms, 0 sleeps for 60 ms */
  double lost_s; /* busy: wall time the worker spent off its CPU during the tile */
} stall_t;

static double thread_cpu(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void stall_tile(void *ctx, size_t tile, int worker) {
  (void)tile;
  stall_t *s = ctx;
  if (!worker) { /* the caller's tiles take 20 us: the region lasts for the worker to join */
    double until = now() + 20e-6;
    while (now() < until) {
    }
    return;
  }
  if (atomic_fetch_add(&s->worker_tiles, 1)) return;
  if (!s->busy) {
    usleep(60 * 1000);
    return;
  }
  /* How long this thread is off its CPU during the tile: the caller benches
   * it only when it loses over half of a 400 us window. */
  double t0 = now(), c0 = thread_cpu(), t = t0;
  while (t < t0 + 0.06) t = now();
  s->lost_s = (t - t0) - (thread_cpu() - c0);
}

/* A worker that holds a tile without running (here: asleep; in production:
 * its CPU taken by another process) is benched, and the regions after it run
 * without waiting for it; a worker that computes through a long tile is not.
 * The bench ends: the worker takes tiles again. */
static void test_a_worker_without_a_cpu_is_benched(void) {
  sinter_error_t err;
  sn_threadpool_t *p = NULL;
  SN_CHECK_OK(sn_threadpool_create(2, 1000, 0, &p, &err), &err);
  /* Until the worker takes a tile of a region (it may wake late). */
  stall_t asleep = {0, 0, 0};
  for (int r = 0; r < 300 && !atomic_load(&asleep.worker_tiles); r++)
    sn_threadpool_run(p, 64, stall_tile, &asleep);
  SN_CHECK(atomic_load(&asleep.worker_tiles) > 0);
  SN_CHECK_MSG(sn_threadpool_benched(p) == 1, "a worker asleep in its tile was not benched");
  counts_t *c = run_counted(p, 64);
  SN_CHECK_MSG(sn_threadpool_benched(p) == 0 || atomic_load(&c->workers_seen[1]) == 0,
               "a benched worker took tiles");
  free(c);
  /* The bench ends (10 ms the first time, never over 640 ms) and the worker
   * comes back. Under load it may stall, and be benched, again: then that
   * is what it shows. */
  usleep(700 * 1000);
  SN_CHECK_MSG(sn_threadpool_benched(p) == 0, "a bench did not end");
  int back = 0;
  for (double give_up = now() + 5; !back && now() < give_up;) {
    usleep(1000);
    stall_t round = {1, 0, 0}; /* worker_tiles 1: the worker's tiles return at once */
    sn_threadpool_run(p, 64, stall_tile, &round);
    back = atomic_load(&round.worker_tiles) > 1;
  }
  SN_CHECK_MSG(back || sn_threadpool_benched(p) > 0,
               "the worker, no longer benched, took no tile in 5 s");
  sn_threadpool_destroy(p);

  /* A computing worker: its CPU clock moves, and it is not benched. On a
   * loaded machine it may really lose its CPU (and be benched, rightly): an
   * attempt counts only when the worker was off its CPU for under 100 us in
   * all of its tile. */
  int conclusive = 0;
  for (int attempt = 0; attempt < 8 && !conclusive; attempt++) {
    SN_CHECK_OK(sn_threadpool_create(2, 1000, 0, &p, &err), &err);
    stall_t busy = {0, 1, 0};
    for (int r = 0; r < 300 && !atomic_load(&busy.worker_tiles); r++)
      sn_threadpool_run(p, 64, stall_tile, &busy);
    if (busy.lost_s < 100e-6) {
      conclusive = 1;
      SN_CHECK_MSG(sn_threadpool_benched(p) == 0,
                   "a worker computing a long tile (off its CPU %.0f us) was benched",
                   busy.lost_s * 1e6);
    }
    sn_threadpool_destroy(p);
  }
  if (!conclusive) printf("computing worker: inconclusive, it lost its CPU in every try\n");
}

/* The linger is learnt from the gaps between runs and bounded: after short
 * gaps the workers spin through the next one, then sleep once it is past. */
static void test_linger_is_bounded(void) {
  sinter_error_t err;
  sn_threadpool_t *p = NULL;
  SN_CHECK_OK(sn_threadpool_create(2, 50, 30 * 1000, &p, &err), &err);
  for (int r = 0; r < 12; r++) { /* gaps of 5 ms: a linger of about 6 ms */
    usleep(5 * 1000);
    free(run_counted(p, 16));
  }
  usleep(40 * 1000); /* past any linger */
  double cpu = cpu_while_sleeping(200 * 1000);
  SN_CHECK_MSG(cpu < 0.02, "a pool past its linger used %.3f s of CPU in 0.2 s", cpu);
  check_wakes_and_destroy(p);
}

static void test_current_pool_is_per_thread(void) {
  sinter_error_t err;
  sn_threadpool_t *p = NULL;
  SN_CHECK_OK(sn_threadpool_create(2, -1, -1, &p, &err), &err);
  SN_CHECK(sn_threadpool_current() == NULL);
  sn_threadpool_t *old = sn_threadpool_set_current(p);
  SN_CHECK(old == NULL && sn_threadpool_current() == p);
  SN_CHECK(sn_threadpool_set_current(old) == p && sn_threadpool_current() == NULL);
  sn_threadpool_destroy(p);
}

int main(void) {
  SN_RUN(test_every_tile_once);
  SN_RUN(test_nested_regions_run_inline);
  SN_RUN(test_concurrent_callers_share_a_pool);
  SN_RUN(test_a_blocked_worker_blocks_no_other_session);
  SN_RUN(test_an_idle_pool_sleeps);
  SN_RUN(test_current_pool_is_per_thread);
  SN_RUN(test_a_worker_without_a_cpu_is_benched);
  SN_RUN(test_linger_is_bounded);
  return SN_TEST_REPORT();
}
