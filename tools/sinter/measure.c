/* measure.c — timing loops and percentiles for bench and profile. */
#include "measure.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"

double measure_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

sinter_status_t measure_session(sinter_session_t *session, const sinter_model_info_t *info,
                                size_t batch, const size_t *lengths, int iters, int warmup,
                                void (*after_warmup)(void *), void *ctx, measure_result_t *out,
                                sinter_error_t *err) {
  int32_t **ids = calloc(batch, sizeof *ids);
  double *lat = calloc((size_t)iters, sizeof *lat);
  sinter_status_t st = SINTER_OK;
  uint64_t rng = 0x9E3779B97F4A7C15ull;
  double flops = 0;
  const double H = info->hidden_size, I = info->intermediate_size;
  out->sequences = batch;
  out->tokens = 0;
  if (!ids || !lat) {
    st = cli_error(err, SINTER_ERR_OUT_OF_MEMORY, "bench inputs");
    goto done;
  }
  for (size_t i = 0; i < batch; i++) {
    size_t len = lengths[i];
    if (!(ids[i] = malloc(len * sizeof **ids))) {
      st = cli_error(err, SINTER_ERR_OUT_OF_MEMORY, "bench inputs");
      goto done;
    }
    /* Ordinary word pieces: above the special tokens of a BERT vocabulary
     * when it has them, else any id but 0. */
    int32_t low = info->vocab_size > 2000 ? 1000 : 1;
    for (size_t t = 0; t < len; t++) {
      rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
      ids[i][t] = low + (int32_t)(rng % (uint64_t)(info->vocab_size - low));
    }
    if (info->vocab_size > 101) ids[i][0] = 101; /* [CLS] */
    out->tokens += len;
    /* Linears: q and out (H x heads d each), k and v (H x kv_heads d each),
     * the feed-forward (2 HI, or 3 HI when gated); attention: 4 L heads d per
     * key a query sees, all L keys in global layers, at most 2 window + 1 in
     * sliding ones. */
    const double QH = (double)info->num_heads * info->head_dim;
    const double KVH = (double)info->num_kv_heads * info->head_dim;
    const double ffn = info->gated_ffn ? 3 * H * I : 2 * H * I;
    const double local_keys = fmin((double)len, 2.0 * info->sliding_window + 1);
    flops += info->num_layers * 2.0 * len * (2 * H * QH + 2 * H * KVH + ffn) +
             (info->num_layers - info->sliding_layers) * 4.0 * len * len * QH +
             info->sliding_layers * 4.0 * len * local_keys * QH;
  }
  sinter_batch_t b = {batch, (const int32_t *const *)ids, NULL, lengths};
  sinter_outputs_t o;
  for (int i = 0; i < warmup + iters; i++) {
    if (i == warmup && after_warmup) after_warmup(ctx);
    double t0 = measure_now();
    if ((st = sinter_session_run(session, &b, NULL, &o, err))) goto done;
    if (i >= warmup) lat[i - warmup] = measure_now() - t0;
  }
  double sum = 0;
  for (int i = 0; i < iters; i++) sum += lat[i];
  qsort(lat, (size_t)iters, sizeof *lat, cmp_double);
  out->mean_s = sum / iters;
  /* Nearest rank: the smallest latency with at least p% of the runs at or
   * below it (so with fewer than 100 runs, p99 is the slowest one). */
  out->p50_s = lat[(iters * 50 + 99) / 100 - 1];
  out->p90_s = lat[(iters * 90 + 99) / 100 - 1];
  out->p99_s = lat[(iters * 99 + 99) / 100 - 1];
  out->seq_per_s = (double)batch / out->mean_s;
  out->tokens_per_s = (double)out->tokens / out->mean_s;
  out->gflops = flops / out->mean_s / 1e9;
done:
  for (size_t i = 0; ids && i < batch; i++) free(ids[i]);
  free(ids);
  free(lat);
  return st;
}
