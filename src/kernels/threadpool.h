/*
 * threadpool.h — the runtime's thread pool: pthreads of our own, made per session
 * (or shared by sessions that ask for it) with the session's thread count;
 * no process-wide setting, no environment variable, no re-exec.
 *
 * A parallel region hands out tiles one at a time through an atomic counter,
 * the caller working alongside the pool's workers. A worker that the OS
 * deschedules delays only the tile it holds: the others take the rest, and
 * the caller waits for tiles, never for a worker to arrive at a barrier.
 * Between regions a worker spins for a bounded time (per pool), then sleeps
 * on a condition variable: an idle pool uses no CPU. Two answers to a host
 * that is not quiet (threadpool.c says how): workers linger through the
 * gaps between runs when those are short (a bounded, learnt spin), and a
 * worker that holds a tile without getting a CPU is benched for a while, so
 * that the caller stops waiting for it.
 *
 * The model is XNNPACK's pthreadpool and ggml's threadpool, on the one
 * primitive the kernels need: run fn(ctx, tile, worker) for every tile.
 */
#ifndef SN_KERNELS_THREADPOOL_H
#define SN_KERNELS_THREADPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "sinter.h"

typedef struct sn_threadpool sn_threadpool_t;

/* One tile of a region. `worker` is in [0, sn_threadpool_threads): the caller is
 * 0; a kernel indexes per-thread scratch with it. */
typedef void (*sn_threadpool_task_fn)(void *ctx, size_t tile, int worker);

/* Default bounded spin of an idle worker before it sleeps, microseconds. */
#define SN_THREADPOOL_DEFAULT_SPIN_US 200
/* Default cap on the learnt linger through the gaps between runs, µs: gaps
 * of up to 100 ms are bridged by spinning (a service's requests at 10/s and
 * more), longer ones are slept through. */
#define SN_THREADPOOL_DEFAULT_LINGER_MAX_US 100000

/* Creates a pool of `threads` threads in all (the caller of sn_threadpool_run is
 * one of them: threads - 1 workers are started; threads <= 1 starts none).
 * `spin_us` (< 0: the default) bounds how long an idle worker spins before
 * it sleeps; `linger_max_us` (< 0: the default; 0: never linger) caps the
 * spin through the gaps between runs that the pool learns. *out is owned by
 * the caller (sn_threadpool_destroy). Errors: OUT_OF_MEMORY, IO when a
 * thread cannot start. */
sinter_status_t sn_threadpool_create(int threads, int spin_us, int linger_max_us,
                                     sn_threadpool_t **out, sinter_error_t *err);

/* Stops and joins the workers. No region may be running. NULL allowed. */
void sn_threadpool_destroy(sn_threadpool_t *pool);

/* Threads in all (workers + the caller); 1 for a NULL pool. */
int sn_threadpool_threads(const sn_threadpool_t *pool);

/* Runs fn(ctx, t, worker) once for every t in [0, tiles) and returns when
 * all have finished. Regions on one pool run one at a time (a second caller
 * waits its turn). Run inline on the caller (worker 0) when the pool is NULL
 * or has one thread, when there is one tile, or when called from inside a
 * task (nesting). Thread-safe. */
void sn_threadpool_run(sn_threadpool_t *pool, size_t tiles, sn_threadpool_task_fn fn, void *ctx);

/* How many workers are benched now (they hold back no region: see
 * threadpool.c); 0 for a NULL pool. For tests and diagnostics. */
int sn_threadpool_benched(const sn_threadpool_t *pool);

/* A range of items, [begin, end), of a parallel loop. */
typedef void (*sn_threadpool_range_fn)(void *ctx, int64_t begin, int64_t end);

/* Splits [0, n) into ranges of at least `grain` items (about four per
 * thread, so that a late thread's share is taken by the others) and runs
 * fn on each through sn_threadpool_run; inline when the pool has one thread
 * or n < 2 * grain. */
void sn_threadpool_for(sn_threadpool_t *pool, int64_t n, int64_t grain, sn_threadpool_range_fn fn,
                       void *ctx);

/* The pool of the calling thread's current run (sn_threadpool_set_current), or
 * NULL: the kernels take their threads from it, as OpenMP kernels take
 * nthreads-var, so a session's count reaches every kernel without passing
 * through every signature. */
sn_threadpool_t *sn_threadpool_current(void);

/* Sets the calling thread's current pool (NULL: none) and returns the one
 * it replaces, for the caller to restore. */
sn_threadpool_t *sn_threadpool_set_current(sn_threadpool_t *pool);

/* 1 while the calling thread runs a task of some pool. */
int sn_threadpool_in_task(void);

#endif
