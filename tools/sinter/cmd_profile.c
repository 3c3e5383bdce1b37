/* cmd_profile.c — `sinter profile`: sweeps batch sizes and sequence lengths,
 * tabulates throughput and p99 latency, plots throughput against p99 as an
 * SVG, and recommends the configuration with the highest throughput within
 * a latency budget. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "measure.h"
#include "model/model.h"

static const char usage[] =
    "usage: sinter profile --model DIR|FILE|--config bert-base|bert-large [--batches "
    "1,2,4,8,16,32]\n"
    "                      [--seqs 16,32,64,128,256] [--latency-budget MS]\n"
    "                      [--iters N] [--plot FILE.svg]\n\n"
    "Runs every batch size x sequence length, prints throughput and p99 per batch,\n"
    "and recommends the batch size and token budget (batch x length) with the\n"
    "highest throughput whose p99 fits the latency budget (default 100 ms).\n"
    "--plot draws throughput against p99 latency as an SVG picture.\n\n"
    "options:\n" CLI_COMMON_USAGE;

#define MAX_POINTS 16

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

typedef struct point {
  int batch, seq;
  double seq_per_s, p99_ms;
} point_t;

static int write_svg(const char *path, const point_t *p, int n, double budget_ms, int best) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  double max_x = budget_ms, max_y = 1;
  for (int i = 0; i < n; i++) {
    if (p[i].p99_ms > max_x) max_x = p[i].p99_ms;
    if (p[i].seq_per_s > max_y) max_y = p[i].seq_per_s;
  }
  max_x *= 1.1, max_y *= 1.1;
  const double W = 720, H = 480, L = 70, B = 50, R = 20, T = 30;
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
          "font-family=\"sans-serif\" font-size=\"11\">\n",
          W, H);
  fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  fprintf(f, "<text x=\"%.0f\" y=\"18\" font-size=\"14\">throughput vs p99 latency</text>\n", L);
  fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", L, H - B,
          W - R, H - B);
  fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", L, T, L,
          H - B);
  for (int k = 0; k <= 5; k++) {
    double x = L + (W - L - R) * k / 5, y = H - B - (H - B - T) * k / 5;
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%.0f</text>\n", x, H - B + 16,
            max_x * k / 5);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.0f</text>\n", L - 6, y + 4,
            max_y * k / 5);
  }
  fprintf(f,
          "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">p99 latency per batch (ms)</text>\n",
          (W + L) / 2, H - 12);
  fprintf(f,
          "<text x=\"16\" y=\"%.0f\" transform=\"rotate(-90 16 %.0f)\" "
          "text-anchor=\"middle\">sequences/s</text>\n",
          (H - B + T) / 2, (H - B + T) / 2);
  double bx = L + (W - L - R) * budget_ms / max_x;
  fprintf(f,
          "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"red\" "
          "stroke-dasharray=\"4 3\"/>\n",
          bx, T, bx, H - B);
  fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" fill=\"red\">budget %.0f ms</text>\n", bx + 4, T + 10,
          budget_ms);
  for (int i = 0; i < n; i++) {
    double x = L + (W - L - R) * p[i].p99_ms / max_x;
    double y = H - B - (H - B - T) * p[i].seq_per_s / max_y;
    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" fill=\"%s\"/>\n", x, y, i == best ? 6 : 4,
            i == best ? "green" : "steelblue");
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%dx%d</text>\n", x + 7, y + 4, p[i].batch, p[i].seq);
  }
  fprintf(f, "</svg>\n");
  return fclose(f);
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
      if (budget_ms <= 0) return cli_usage_error(usage, "--latency-budget must be positive");
    } else if (!strcmp(a, "--iters") && has) {
      iters = atoi(argv[++i]);
      if (iters < 1) return cli_usage_error(usage, "--iters must be positive");
    } else if (!strcmp(a, "--plot") && has) {
      plot = argv[++i];
      size_t len = strlen(plot);
      if (len < 4 || strcmp(plot + len - 4, ".svg"))
        return cli_usage_error(usage, "--plot writes an SVG file (FILE.svg)");
    } else {
      return cli_usage_error(usage, "unexpected argument \"%s\"", a);
    }
  }
  if (!opts.model_dir) return cli_usage_error(usage, "--model or --config is required");
  sinter_error_t err;
  sinter_model_t *model = NULL;
  if (cli_open_model(&opts, &model, &err)) return cli_fail(&err);
  sinter_model_info_t info;
  sinter_model_get_info(model, &info);
  sinter_session_t *session = NULL;
  point_t points[MAX_POINTS * MAX_POINTS];
  int n = 0, best = -1, rc = SN_EXIT_OK;
  static size_t lengths[4096];
  if ((model->plan ? sinter_session_create_compiled(model, opts.threads, &session, &err)
                   : sinter_session_create_eager(model, opts.threads, &session, &err))) {
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
      points[n] = (point_t){b, s, res.seq_per_s, res.p99_s * 1e3};
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
        "recommended within %.0f ms p99: batch %d x %d tokens (token budget %d): %.2f seq/s, "
        "p99 %.2f ms\n",
        budget_ms, points[best].batch, points[best].seq, points[best].batch * points[best].seq,
        points[best].seq_per_s, points[best].p99_ms);
  } else {
    printf("no configuration meets a %.0f ms p99 budget\n", budget_ms);
  }
  if (plot) {
    if (write_svg(plot, points, n, budget_ms, best) != 0) {
      sn_error_set(&err, SINTER_ERR_IO, "%s: cannot write the plot", plot);
      rc = cli_fail(&err);
    } else {
      printf("plot written to %s\n", plot);
    }
  }
done:
  sinter_session_destroy(session);
  sinter_model_close(model);
  return rc;
}
