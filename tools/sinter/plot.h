/*
 * plot.h — the chart `sinter profile --plot` draws: throughput against p99
 * latency, one point per batch x sequence configuration, the latency budget
 * and the recommended point. One layout, written as SVG or as PNG (chosen by
 * the file's extension), so both pictures show the same thing.
 */
#ifndef SINTER_CLI_PLOT_H
#define SINTER_CLI_PLOT_H

#include "sinter.h"

/* Most points one chart takes (profile sweeps at most 16 x 16). */
#define CLI_PLOT_MAX_POINTS 256

/* One measured configuration. */
typedef struct cli_plot_point {
  int batch, seq;
  double seq_per_s, p99_ms;
} cli_plot_point_t;

/* Returns 1 when `path` ends in .svg or .png (any case), else 0: the check
 * for a usage error before anything is measured. */
int cli_plot_format_known(const char *path);

/* Draws `n` points (at most CLI_PLOT_MAX_POINTS), the budget line at
 * `budget_ms` and point `best` highlighted (-1: none), and writes the chart
 * to `path` as SVG or PNG by its extension. Errors (SINTER_ERR_IO,
 * SINTER_ERR_OUT_OF_MEMORY, SINTER_ERR_INVALID_ARGUMENT) name the path; a
 * partly written file may be left behind. Thread-safe. */
sinter_status_t cli_plot_write(const char *path, const cli_plot_point_t *points, int n,
                               double budget_ms, int best, sinter_error_t *err);

#endif
