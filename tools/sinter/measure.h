/*
 * measure.h — timing a session on synthetic batches, shared by `sinter
 * bench` and `sinter profile`.
 */
#ifndef SINTER_CLI_MEASURE_H
#define SINTER_CLI_MEASURE_H

#include <stddef.h>

#include "sinter.h"

typedef struct measure_result {
  size_t sequences, tokens;
  double mean_s, p50_s, p90_s, p99_s; /* per batch */
  double seq_per_s, tokens_per_s, gflops;
} measure_result_t;

/* Runs `warmup` + `iters` batches of `batch` sequences with the given
 * lengths (random token ids from a fixed seed) through `session`. FLOPs per
 * layer and sequence of L tokens: 2L(4H^2 + 2HI) + 4L^2 H. */
sinter_status_t measure_session(sinter_session_t *session, const sinter_model_info_t *info,
                                size_t batch, const size_t *lengths, int iters, int warmup,
                                void (*after_warmup)(void *), void *ctx, measure_result_t *out,
                                sinter_error_t *err);

/* Monotonic time in seconds. */
double measure_now(void);

#endif
