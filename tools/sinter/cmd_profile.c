/* cmd_profile.c — `sinter profile`: sweeps batch sizes and sequence lengths,
 * tabulates throughput and p99 latency, plots throughput against p99 as SVG
 * or PNG (plot.h), and recommends the configuration with the highest
 * throughput within a latency budget. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "measure.h"
#include "plot.h"

static const char usage[] =
    "usage: sinter profile --model DIR|FILE|--config NAME [--batches "
    "1,2,4,8,16,32]\n"
    "                      [--seqs 16,32,64,128,256] [--latency-budget MS]\n"
    "                      [--iters N] [--plot FILE.svg|FILE.png]\n\n"
    "Runs every batch size x sequence length, prints throughput and p99 per batch,\n"
    "and recommends the batch size and token budget (batch x length) with the\n"
    "highest throughput whose p99 fits the latency budget (default 100 ms).\n"
    "--plot draws throughput against p99 latency as an SVG or PNG picture, by the\n"
    "file's extension.\n\n"
    "options:\n" CLI_COMMON_USAGE;

#define MAX_POINTS 16 /* per list: MAX_POINTS^2 <= CLI_PLOT_MAX_POINTS */

static int parse_list(const char *s, int *out, int cap) {
  int n = 0;
  while (*s && n < cap) {
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (end == s || v < 1 || v > 65536) return -1;
    out[n++] = (int)v;
    s = *end == ',' ? end + 1 : end;
    if (*end && *end != ',') return -1;
  }
  return n;
}

int sn_cmd_profile(int argc, char **argv) {
  cli_common_t opts = {0};
  int batches[MAX_POINTS] = {1, 2, 4, 8, 16, 32}, seqs[MAX_POINTS] = {16, 32, 64, 128, 256};
  int n_batches = 6, n_seqs = 5, iters = 5;
  double budget_ms = 100;
  const char *plot = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) return printf("%s", usage), 0;
    int r = cli_parse_benchmark(&opts, argc, argv, &i);
    if (r == -2) return SN_EXIT_FAILURE;
    if (r < 0) return SN_EXIT_USAGE;
    if (r > 0) continue;
    int has = i + 1 < argc;
    if (!strcmp(a, "--batches") && has) {
      if ((n_batches = parse_list(argv[++i], batches, MAX_POINTS)) < 1)
        return cli_usage_error(usage, "--batches takes numbers like 1,2,4,8");
    } else if (!strcmp(a, "--seqs") && has) {
      if ((n_seqs = parse_list(argv[++i], seqs, MAX_POINTS)) < 1)
        return cli_usage_error(usage, "--seqs takes numbers like 16,32,64");
    } else if (!strcmp(a, "--latency-budget") && has) {
      budget_ms = atof(argv[++i]);
      if (!(budget_ms > 0 && budget_ms < 1e9))
        return cli_usage_error(usage, "--latency-budget needs milliseconds, more than 0");
    } else if (!strcmp(a, "--iters") && has) {
      if (cli_parse_int(argv[++i], 1, 1 << 20, &iters) != 0)
        return cli_usage_error(usage, "--iters needs a number from 1 to 1048576");
    } else if (!strcmp(a, "--plot") && has) {
      plot = argv[++i];
      if (!cli_plot_format_known(plot))
        return cli_usage_error(usage, "--plot writes FILE.svg (SVG) or FILE.png (PNG), not \"%s\"",
                               plot);
    } else {
      return cli_usage_error(usage, "unexpected argument \"%s\"", a);
    }
  }
  if (!opts.model_dir) return cli_usage_error(usage, "--model or --config is required");
  sinter_error_t err;
  cli_model_t model = {0};
  if (cli_open_model(&opts, &model, &err)) return cli_fail(&err);
  sinter_model_info_t info;
  sinter_model_get_info(model.model, &info);
  sinter_session_t *session = NULL;
  cli_plot_point_t points[MAX_POINTS * MAX_POINTS];
  int n = 0, best = -1, rc = SN_EXIT_OK;
  static size_t lengths[4096];
  if (cli_create_session(&opts, &model, &session, &err)) {
    rc = cli_fail(&err);
    goto done;
  }
  printf("%6s %6s %12s %12s %12s\n", "batch", "seq", "seq/s", "tokens/s", "p99 ms");
  for (int bi = 0; bi < n_batches; bi++)
    for (int si = 0; si < n_seqs; si++) {
      int b = batches[bi], s = seqs[si] < info.max_seq_length ? seqs[si] : info.max_seq_length;
      if (b > 4096) continue;
      for (int k = 0; k < b; k++) lengths[k] = (size_t)s;
      measure_result_t res;
      if (measure_session(session, &info, (size_t)b, lengths, iters, 1, NULL, NULL, &res, &err)) {
        rc = cli_fail(&err);
        goto done;
      }
      points[n] = (cli_plot_point_t){b, s, res.seq_per_s, res.p99_s * 1e3};
      printf("%6d %6d %12.2f %12.0f %12.2f\n", b, s, res.seq_per_s, res.tokens_per_s,
             res.p99_s * 1e3);
      fflush(stdout);
      if (points[n].p99_ms <= budget_ms &&
          (best < 0 || points[n].seq_per_s > points[best].seq_per_s))
        best = n;
      n++;
    }
  if (best >= 0) {
    printf(
        "recommended within %g ms p99: batch %d x %d tokens (token budget %d): %.2f seq/s, "
        "p99 %.2f ms\n",
        budget_ms, points[best].batch, points[best].seq, points[best].batch * points[best].seq,
        points[best].seq_per_s, points[best].p99_ms);
  } else {
    printf("no configuration meets a %g ms p99 budget\n", budget_ms);
  }
  if (plot) {
    if (cli_plot_write(plot, points, n, budget_ms, best, &err)) {
      rc = cli_fail(&err);
    } else {
      printf("plot written to %s\n", plot);
    }
  }
done:
  sinter_session_destroy(session);
  cli_model_close(&model);
  return rc;
}
