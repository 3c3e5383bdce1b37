/* cmd_bench.c — `sinter bench`: throughput, latency percentiles and achieved
 * GFLOP/s (and its share of the measured peak) of eager or compiled runs on
 * synthetic token batches. A benchmark, not a test: it reports, it never
 * asserts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli.h"
#include "kernels/matmul.h"
#include "kernels/peak.h"
#include "measure.h"
#include "runtime/session.h"

static const char usage[] =
    "usage: sinter bench --model DIR|FILE|--config NAME [--mode eager|compiled] "
    "[--dtype f32|int8|bf16]\n"
    "                    [--batch B --seq S | --lengths lognormal|FILE] [--threads T]\n"
    "                    [--iters N] [--warmup N] [--json] [--breakdown] [--idle SECONDS]\n"
    "       sinter bench --peak [--threads T]\n\n"
    "Runs batches of random token ids and prints sequences/s, tokens/s, p50/p90/p99\n"
    "latency per batch, achieved GFLOP/s (2*L*(4H^2+2HI) + 4*L*K*H per layer and\n"
    "sequence of L tokens, K the keys a query sees: L, or 2W+1 in sliding-window\n"
    "layers; 3HI for a gated feed-forward) and its share of the fp32 FMA peak\n"
    "measured on the spot.\n"
    "--lengths lognormal draws lengths with a fixed seed from a log-normal with\n"
    "median 22 and 95th percentile 80, capped at 128 (sentence-level traffic); a\n"
    "FILE gives one length per line. --breakdown (compiled mode) prints where the\n"
    "time goes, per op kind. --idle SECONDS then sleeps that long with the session\n"
    "and its thread pool alive and reports the CPU time the process burnt meanwhile\n"
    "(what an idle server costs). --peak only measures the peaks.\n"
    "--config NAME runs a model of random weights (written once under $TMPDIR):\n"
    "bert-base, bert-large, or qwen3-0.6b (Qwen3-Embedding-0.6B's shape: 28 layers,\n"
    "16 heads over 8 key/value heads of 128, hidden 1024, SwiGLU 3072).\n\n"
    "options:\n" CLI_COMMON_USAGE;

/* Lengths for a batch: fixed, log-normal (seeded) or from a file. */
static int fill_lengths(const char *spec, int seq, int max_len, size_t batch, size_t *out) {
  FILE *f = spec && strcmp(spec, "lognormal") ? fopen(spec, "r") : NULL;
  if (spec && strcmp(spec, "lognormal") && !f) return -1;
  uint64_t rng = 0x2545F4914F6CDD1Dull;
  for (size_t i = 0; i < batch; i++) {
    long len = seq;
    if (f) {
      if (fscanf(f, "%ld", &len) != 1) {
        fclose(f);
        return -2;
      }
    } else if (spec) {
      rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
      double u1 = (double)(rng >> 11) / 9007199254740992.0 + 1e-12;
      rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
      double u2 = (double)(rng >> 11) / 9007199254740992.0;
      double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
      len = lround(exp(log(22.0) + z * log(80.0 / 22.0) / 1.645));
      len = len < 3 ? 3 : len > 128 ? 128 : len;
    }
    if (len < 1) len = 1;
    out[i] = (size_t)(len > max_len ? max_len : len);
  }
  if (f) fclose(f);
  return 0;
}

/* The matmul precision the program was compiled with (eager runs are f32). */
static const char *program_dtype(const cli_model_t *m) {
  static const char *const names[] = {"f32", "bf16", "int8"};
  if (!m->program) return "f32";
  sinter_program_info_t info;
  sinter_program_get_info(m->program, &info);
  return info.dtype >= 0 && info.dtype <= SINTER_DTYPE_INT8 ? names[info.dtype] : "?";
}

/* CPU seconds (user + system, all threads) the process has used so far. */
static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
         (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

/* Sleeps `seconds` with everything alive and returns the share of one core
 * the process used meanwhile (spinning worker threads show up here). */
static double idle_core_share(double seconds) {
  double c0 = cpu_seconds(), t0 = measure_now();
  struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
  while (nanosleep(&ts, &ts) != 0) {
  }
  return (cpu_seconds() - c0) / (measure_now() - t0);
}

static void start_profile(void *session) {
  sn_plan_exec_t *e = sn_session_plan_exec(session);
  if (e) sn_plan_exec_profile(e, 1);
}

int sn_cmd_bench(int argc, char **argv) {
  cli_common_t opts = {0};
  int batch = 8, seq = 128, iters = 20, warmup = 3, json = 0, breakdown = 0, peak_only = 0;
  double idle = 0;
  const char *lengths_spec = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) return printf("%s", usage), 0;
    int r = cli_parse_benchmark(&opts, argc, argv, &i);
    if (r == -2) return SN_EXIT_FAILURE;
    if (r < 0) return SN_EXIT_USAGE;
    if (r > 0) continue;
    int has = i + 1 < argc;
    if (!strcmp(a, "--batch") && has) {
      if (cli_parse_int(argv[++i], 1, 1 << 20, &batch) != 0)
        return cli_usage_error(usage, "--batch needs a number from 1 to 1048576");
    } else if (!strcmp(a, "--seq") && has) {
      if (cli_parse_int(argv[++i], 1, 1 << 20, &seq) != 0)
        return cli_usage_error(usage, "--seq needs a number from 1 to 1048576");
    } else if (!strcmp(a, "--iters") && has) {
      if (cli_parse_int(argv[++i], 1, 1 << 20, &iters) != 0)
        return cli_usage_error(usage, "--iters needs a number from 1 to 1048576");
    } else if (!strcmp(a, "--warmup") && has) {
      if (cli_parse_int(argv[++i], 0, 1 << 20, &warmup) != 0)
        return cli_usage_error(usage, "--warmup needs a number from 0 to 1048576");
    } else if (!strcmp(a, "--lengths") && has) {
      lengths_spec = argv[++i];
    } else if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--breakdown")) {
      breakdown = 1;
    } else if (!strcmp(a, "--idle") && has) {
      idle = atof(argv[++i]);
      if (!(idle > 0 && idle <= 3600))
        return cli_usage_error(usage, "--idle needs seconds, more than 0 and at most 3600");
    } else if (!strcmp(a, "--peak")) {
      peak_only = 1;
    } else {
      return cli_usage_error(usage, "unexpected argument \"%s\"", a);
    }
  }
  const char *isa = NULL;
  if (peak_only) {
    double one = sn_peak_fp32_gflops(1, 0.5, &isa);
    double all = sn_peak_fp32_gflops(opts.threads, 0.5, &isa);
    int threads = opts.threads > 0 ? opts.threads : (int)(all / one + 0.5);
    printf("fp32 FMA peak (%s): %.1f GFLOP/s on one thread, %.1f GFLOP/s on %d threads\n", isa, one,
           all, threads);
    one = sn_peak_int8_gops(1, 0.5, &isa);
    all = sn_peak_int8_gops(opts.threads, 0.5, &isa);
    printf("int8 dot-product peak (%s): %.1f GOP/s on one thread, %.1f GOP/s on %d threads\n", isa,
           one, all, threads);
    one = sn_peak_bf16_gflops(1, 0.5, &isa);
    if (one > 0) {
      all = sn_peak_bf16_gflops(opts.threads, 0.5, &isa);
      printf("bf16 dot-product peak (%s): %.1f GFLOP/s on one thread, %.1f GFLOP/s on %d threads\n",
             isa, one, all, threads);
    } else {
      printf("bf16 dot-product peak: none (%s)\n", isa);
    }
    return SN_EXIT_OK;
  }
  if (!opts.model_dir) return cli_usage_error(usage, "--model or --config is required");
  if (batch < 1 || seq < 1 || iters < 1 || warmup < 0)
    return cli_usage_error(usage, "--batch, --seq and --iters must be positive");
  sinter_error_t err;
  cli_model_t model = {0};
  if (cli_open_model(&opts, &model, &err)) return cli_fail(&err);
  sinter_model_info_t info;
  sinter_model_get_info(model.model, &info);
  int rc = SN_EXIT_OK;
  size_t *lengths = calloc((size_t)batch, sizeof *lengths);
  sinter_session_t *session = NULL;
  measure_result_t res;
  if (!lengths) {
    cli_error(&err, SINTER_ERR_OUT_OF_MEMORY, "lengths");
    rc = cli_fail(&err);
    goto done;
  }
  if (fill_lengths(lengths_spec, seq, info.max_seq_length, (size_t)batch, lengths) != 0) {
    cli_error(&err, SINTER_ERR_INVALID_ARGUMENT, "%s: cannot read %d lengths", lengths_spec, batch);
    rc = cli_fail(&err);
    goto done;
  }
  if (cli_create_session(&opts, &model, &session, &err) ||
      measure_session(session, &info, (size_t)batch, lengths, iters, warmup,
                      breakdown ? start_profile : NULL, session, &res, &err)) {
    rc = cli_fail(&err);
    goto done;
  }
  double idle_share = idle > 0 ? idle_core_share(idle) : -1;
  double peak = sn_peak_fp32_gflops(opts.threads, 0.3, &isa);
  const char *mode = model.program ? "compiled" : "eager", *dtype = program_dtype(&model);
  if (json) {
    printf(
        "{\"model\":\"%s\",\"mode\":\"%s\",\"dtype\":\"%s\",\"threads\":%d,\"batch\":%d,"
        "\"tokens\":%zu,\"iters\":%d,\"seq_per_s\":%.3f,\"tokens_per_s\":%.1f,\"p50_ms\":%.3f,"
        "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"gflops\":%.2f,\"peak_gflops\":%.1f",
        opts.model_dir, mode, dtype, opts.threads > 0 ? opts.threads : sinter_cpu_count(), batch,
        res.tokens, iters, res.seq_per_s, res.tokens_per_s, res.p50_s * 1e3, res.p90_s * 1e3,
        res.p99_s * 1e3, res.gflops, peak);
    if (idle_share >= 0) printf(",\"idle_s\":%.1f,\"idle_core_share\":%.4f", idle, idle_share);
    printf(",\"lengths\":[");
    for (int b = 0; b < batch; b++) printf("%s%zu", b ? "," : "", lengths[b]);
    printf("]}\n");
  } else {
    printf("model %s, %s %s, %d sequences, %zu tokens per batch, %d iterations\n", opts.model_dir,
           mode, dtype, batch, res.tokens, iters);
    printf(
        "throughput: %.2f seq/s, %.0f tokens/s, %.1f GFLOP/s (%.0f%% of the %.0f GFLOP/s "
        "%s fp32 peak)\n",
        res.seq_per_s, res.tokens_per_s, res.gflops, 100 * res.gflops / peak, peak, isa);
    printf("latency per batch: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms\n", res.p50_s * 1e3,
           res.p90_s * 1e3, res.p99_s * 1e3);
    if (idle_share >= 0)
      printf("idle: %.2f%% of one core over %.1f s after the last batch\n", 100 * idle_share, idle);
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
done:
  sinter_session_destroy(session);
  free(lengths);
  cli_model_close(&model);
  return rc;
}
