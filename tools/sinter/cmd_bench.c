/* cmd_bench.c — `sinter bench`: throughput, latency percentiles and achieved
 * GFLOP/s of eager or compiled runs on synthetic token batches. A benchmark,
 * not a test: it reports, it never asserts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "model/model.h"
#include "runtime/session.h"

static const char usage[] =
    "usage: sinter bench --model DIR|FILE [--mode eager|compiled] [--batch B --seq S]\n"
    "                    [--lengths lognormal|FILE] [--iters N] [--warmup N] [--json]\n"
    "                    [--breakdown]\n\n"
    "Runs batches of random token ids and prints sequences/s, tokens/s, p50/p90/p99\n"
    "latency per batch and achieved GFLOP/s (2*L*(4H^2+2HI) + 4*L^2*H per layer and\n"
    "sequence of L tokens). --lengths lognormal draws lengths with a fixed seed from\n"
    "a log-normal with median 22 and 95th percentile 80, capped at 128 (sentence-level\n"
    "traffic); a FILE gives one length per line. --breakdown (compiled mode) prints\n"
    "where the time goes, per op kind.\n\n"
    "options:\n" CLI_COMMON_USAGE;

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double uniform(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int sn_cmd_bench(int argc, char **argv) {
  cli_common_t opts = {0};
  int batch = 8, seq = 128, iters = 20, warmup = 3, json = 0, breakdown = 0;
  const char *lengths_spec = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) return printf("%s", usage), 0;
    int r = cli_parse_common(&opts, argc, argv, &i);
    if (r < 0) return SN_EXIT_USAGE;
    if (r > 0) continue;
    int has = i + 1 < argc;
    if (!strcmp(a, "--batch") && has) {
      batch = atoi(argv[++i]);
    } else if (!strcmp(a, "--seq") && has) {
      seq = atoi(argv[++i]);
    } else if (!strcmp(a, "--iters") && has) {
      iters = atoi(argv[++i]);
    } else if (!strcmp(a, "--warmup") && has) {
      warmup = atoi(argv[++i]);
    } else if (!strcmp(a, "--lengths") && has) {
      lengths_spec = argv[++i];
    } else if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--breakdown")) {
      breakdown = 1;
    } else {
      return cli_usage_error(usage, "unexpected argument \"%s\"", a);
    }
  }
  if (!opts.model_dir) return cli_usage_error(usage, "--model is required");
  if (batch < 1 || seq < 1 || iters < 1 || warmup < 0)
    return cli_usage_error(usage, "--batch, --seq and --iters must be positive");
  sinter_error_t err;
  sinter_model_t *model = NULL;
  if (cli_open_model(&opts, &model, &err)) return cli_fail(&err);
  sinter_model_info_t info;
  sinter_model_get_info(model, &info);
  int rc = SN_EXIT_OK;
  size_t *lengths = calloc((size_t)batch, sizeof *lengths);
  int32_t **ids = calloc((size_t)batch, sizeof *ids);
  double *lat = calloc((size_t)iters, sizeof *lat);
  sinter_session_t *session = NULL;
  if (!lengths || !ids || !lat) goto oom;
  FILE *lf = lengths_spec && strcmp(lengths_spec, "lognormal") ? fopen(lengths_spec, "r") : NULL;
  if (lengths_spec && strcmp(lengths_spec, "lognormal") && !lf) {
    sn_error_set(&err, SINTER_ERR_IO, "%s: cannot open", lengths_spec);
    rc = cli_fail(&err);
    goto done;
  }
  size_t total = 0;
  double flops = 0;
  const double H = info.hidden_size, I = info.intermediate_size;
  for (int i = 0; i < batch; i++) {
    long len = seq;
    if (lf) {
      if (fscanf(lf, "%ld", &len) != 1) rewind(lf), len = fscanf(lf, "%ld", &len) == 1 ? len : seq;
    } else if (lengths_spec) {
      /* log-normal: median 22, p95 80 -> sigma = ln(80/22) / 1.645 */
      double u1 = uniform() + 1e-12, u2 = uniform();
      double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
      len = lround(exp(log(22.0) + z * log(80.0 / 22.0) / 1.645));
      len = len < 3 ? 3 : len > 128 ? 128 : len;
    }
    if (len > info.max_seq_length) len = info.max_seq_length;
    lengths[i] = (size_t)len;
    total += (size_t)len;
    flops += info.num_layers * (2.0 * len * (4 * H * H + 2 * H * I) + 4.0 * len * len * H);
    if (!(ids[i] = malloc((size_t)len * sizeof **ids))) goto oom;
    for (long t = 0; t < len; t++)
      ids[i][t] = 1000 + (int32_t)(uniform() * (info.vocab_size - 1000));
    ids[i][0] = 101;
  }
  if (lf) fclose(lf);
  sinter_batch_t b = {(size_t)batch, (const int32_t *const *)ids, NULL, lengths};
  if ((model->plan ? sinter_session_create_compiled(model, opts.threads, &session, &err)
                   : sinter_session_create_eager(model, opts.threads, &session, &err))) {
    rc = cli_fail(&err);
    goto done;
  }
  sinter_outputs_t out;
  for (int i = 0; i < warmup + iters; i++) {
    double t0 = now_seconds();
    if (sinter_session_run(session, &b, NULL, &out, &err)) {
      rc = cli_fail(&err);
      goto done;
    }
    if (i >= warmup) lat[i - warmup] = now_seconds() - t0;
    if (i + 1 == warmup && breakdown && sn_session_plan_exec(session))
      sn_plan_exec_profile(sn_session_plan_exec(session), 1);
  }
  double sum = 0;
  for (int i = 0; i < iters; i++) sum += lat[i];
  qsort(lat, (size_t)iters, sizeof *lat, cmp_double);
  double mean = sum / iters;
  double p50 = lat[(iters - 1) * 50 / 100], p90 = lat[(iters - 1) * 90 / 100];
  double p99 = lat[(iters - 1) * 99 / 100];
  const char *mode = model->plan ? "compiled" : "eager";
  if (json) {
    printf(
        "{\"model\":\"%s\",\"mode\":\"%s\",\"batch\":%d,\"tokens\":%zu,\"iters\":%d,"
        "\"seq_per_s\":%.3f,\"tokens_per_s\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
        "\"p99_ms\":%.3f,\"gflops\":%.2f}\n",
        opts.model_dir, mode, batch, total, iters, batch / mean, total / mean, p50 * 1e3, p90 * 1e3,
        p99 * 1e3, flops / mean / 1e9);
  } else {
    printf("model %s, %s, %d sequences, %zu tokens per batch, %d iterations\n", opts.model_dir,
           mode, batch, total, iters);
    printf("throughput: %.2f seq/s, %.0f tokens/s, %.1f GFLOP/s\n", batch / mean, total / mean,
           flops / mean / 1e9);
    printf("latency per batch: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms\n", p50 * 1e3, p90 * 1e3,
           p99 * 1e3);
  }
  if (breakdown && sn_session_plan_exec(session)) {
    double seconds[SN_OP_COUNT_], all = 0;
    int64_t calls[SN_OP_COUNT_];
    sn_plan_exec_profile_get(sn_session_plan_exec(session), seconds, calls);
    for (int op = 0; op < SN_OP_COUNT_; op++) all += seconds[op];
    printf("%-16s %8s %12s %7s\n", "op", "calls", "ms/batch", "share");
    for (int op = 0; op < SN_OP_COUNT_; op++)
      if (calls[op])
        printf("%-16s %8lld %12.2f %6.1f%%\n", sn_ir_op_name((sn_ir_op_t)op),
               (long long)(calls[op] / iters), seconds[op] * 1e3 / iters,
               100.0 * seconds[op] / (all > 0 ? all : 1));
  }
  goto done;
oom:
  sn_error_set(&err, SINTER_ERR_OUT_OF_MEMORY, "bench inputs");
  rc = cli_fail(&err);
done:
  sinter_session_destroy(session);
  for (int i = 0; ids && i < batch; i++) free(ids[i]);
  free(ids), free(lengths), free(lat);
  sinter_model_close(model);
  return rc;
}
