/*
 * bench_gemm.c — times our pre-packed GEMM (src/kernels/gemm.h) against the
 * oneDNN path the compiled executor uses today (sn_linear_* in matmul.h:
 * gemm:jit with weights pre-packed by sn_linear_prepack, and our own
 * small-M dot-product kernel for M <= 32), on the BERT-base and MiniLM linear
 * shapes, with one and two OpenMP threads. Every product has a bias; the
 * (768, 3072) shape also applies GELU, as the FFN does. Results and the
 * conclusion are in bench/GEMM.md. A standalone driver, not a test: it only
 * checks that both paths agree, and asserts nothing.
 *
 * Build (after the CMake build in build-dev/) and run from the repository root:
 *   gcc -std=c11 -D_GNU_SOURCE -O2 -fopenmp -Iinclude -Isrc bench/bench_gemm.c \
 *       build-dev/libsinter.a -ldnnl -lcjson -lutf8proc -lxxhash -lcrypto -lcurl -lm \
 *       -o /tmp/bench_gemm && OMP_WAIT_POLICY=PASSIVE /tmp/bench_gemm
 * Optional arguments: the M values to run (default 16 128 1024). BENCH_REPS
 * (default 9) sets the number of timed batches per contender; each batch runs
 * the product enough times for about 30 ms, the contenders take turns batch by
 * batch, and the per-call time is reported as the best and the median batch. "dnnl-nosm" is oneDNN with the small-M
 * kernel off (SINTER_NO_SMALL_M), shown for M <= 32 only.
 *
 * Weights and activations stay warm in the caches between calls for both
 * contenders (W is at most 9.4 MB; L3 is 32 MB): this measures the kernels,
 * not DRAM.
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/status.h"
#include "kernels/gemm.h"
#include "kernels/matmul.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static float *random_floats(int64_t n, float lo, float hi) {
  float *x = malloc((size_t)n * sizeof(float));
  for (int64_t i = 0; i < n; i++) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    x[i] = lo + (hi - lo) * (float)((rng >> 40) * (1.0 / 16777216.0));
  }
  return x;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

enum { OURS, DNNL, DNNL_NOSM };

typedef struct cell {
  int which;
  int64_t m, k, n;
  int act;
  const float *x, *packed, *bias;
  float *out, *scratch;
  sn_linear_t *lin;
  const void *w;
} cell_t;

static void call(const cell_t *c) {
  if (c->which == OURS) {
    sn_gemm_run(c->m, c->k, c->n, c->x, c->packed, c->bias, c->act, 0, c->out, c->scratch);
  } else {
    sinter_error_t err;
    if (sn_linear_run(c->lin, c->m, c->x, c->w, c->bias, c->out, &err) != SINTER_OK) {
      fprintf(stderr, "sn_linear_run: %s\n", err.message);
      exit(1);
    }
  }
}

/* Best and median seconds per call of each of the nc contenders over reps
 * batches, the contenders taking turns batch by batch so that a noisy
 * neighbour on the VM disturbs them alike. */
static void time_cells(const cell_t *c, int nc, int reps, double *best, double *median) {
  double t[3][64];
  int per_batch[3];
  if (reps > 64) reps = 64;
  for (int i = 0; i < nc; i++) {
    call(&c[i]);
    double t0 = now();
    call(&c[i]);
    double one = now() - t0;
    per_batch[i] = (int)(0.03 / (one > 1e-7 ? one : 1e-7)) + 1;
  }
  for (int r = 0; r < reps; r++)
    for (int i = 0; i < nc; i++) {
      double t0 = now();
      for (int j = 0; j < per_batch[i]; j++) call(&c[i]);
      t[i][r] = (now() - t0) / per_batch[i];
    }
  for (int i = 0; i < nc; i++) {
    qsort(t[i], (size_t)reps, sizeof t[i][0], cmp_double);
    best[i] = t[i][0];
    median[i] = t[i][reps / 2];
  }
}

static sn_linear_t *make_linear(sn_dnnl_t *d, const sn_linear_desc_t *desc, const float *w,
                                void **wdata, int no_small_m) {
  sinter_error_t err;
  void *data = NULL, *layout = NULL;
  size_t bytes = 0, layout_size = 0;
  sn_linear_t *l = NULL;
  if (no_small_m) setenv("SINTER_NO_SMALL_M", "1", 1);
  if (sn_linear_prepack(d, desc, SN_LINEAR_ONEDNN, w, &data, &bytes, &layout, &layout_size, &err) != SINTER_OK ||
      sn_linear_create(d, desc, layout, layout_size, data ? bytes : (size_t)(desc->k * desc->n) * 4,
                       &l, &err) != SINTER_OK) {
    fprintf(stderr, "linear: %s\n", err.message);
    exit(1);
  }
  if (no_small_m) unsetenv("SINTER_NO_SMALL_M");
  free(layout);
  *wdata = data;
  return l;
}

int main(int argc, char **argv) {
  static const int64_t shapes[][2] = {{768, 2304}, {768, 768},  {768, 3072}, {3072, 768},
                                      {384, 1152}, {384, 1536}, {1536, 384}};
  int64_t ms[8] = {16, 128, 1024};
  int nm = 3;
  if (argc > 1) {
    nm = 0;
    for (int i = 1; i < argc && nm < 8; i++) ms[nm++] = atoll(argv[i]);
  }
  int reps = getenv("BENCH_REPS") ? atoi(getenv("BENCH_REPS")) : 9;
  const double peak1 = 99.0, peak2 = 197.0;
  sinter_error_t err;
  sn_dnnl_t *d;
  if (sn_dnnl_create(&d, &err) != SINTER_OK) {
    fprintf(stderr, "dnnl: %s\n", err.message);
    return 1;
  }
  printf("oneDNN %s; GFLOP/s best (median) of %d batches; %% of peak (99 / 197 GFLOP/s)\n",
         sn_dnnl_version(), reps);
  printf("%5s %5s %5s %4s %3s | %-22s | %-22s | %-22s | %s\n", "M", "K", "N", "act", "thr",
         "ours", "dnnl", "dnnl-nosm", "ours/dnnl");
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    int64_t k = shapes[s][0], n = shapes[s][1];
    int act = (k == 768 && n == 3072) ? 1 : 0;
    float *w = random_floats(n * k, -0.05f, 0.05f), *bias = random_floats(n, -1, 1);
    float *packed = malloc(sn_gemm_packed_bytes(k, n));
    sn_gemm_pack(k, n, w, packed);
    sn_linear_desc_t desc = {.k = k, .n = n, .act = act, .residual = 0, .int8 = 0};
    void *wd = NULL, *wd2 = NULL;
    sn_linear_t *lin = make_linear(d, &desc, w, &wd, 0);
    sn_linear_t *lin2 = make_linear(d, &desc, w, &wd2, 1);
    float *scratch = malloc(sn_gemm_scratch_bytes(k, 2));
    for (int mi = 0; mi < nm; mi++) {
      int64_t m = ms[mi];
      float *x = random_floats(m * k, -1, 1);
      float *o1 = malloc((size_t)(m * n) * sizeof(float));
      float *o2 = malloc((size_t)(m * n) * sizeof(float));
      cell_t c[3] = {
          {OURS, m, k, n, act, x, packed, bias, o1, scratch, NULL, NULL},
          {DNNL, m, k, n, act, x, packed, bias, o2, scratch, lin, wd ? wd : w},
          {DNNL_NOSM, m, k, n, act, x, packed, bias, o2, scratch, lin2, wd2 ? wd2 : w},
      };
      /* Agreement check (not a test: a sanity line for the reader). */
      omp_set_num_threads(2);
      call(&c[0]);
      call(&c[1]);
      double maxd = 0;
      for (int64_t i = 0; i < m * n; i++) maxd = fmax(maxd, fabs((double)o1[i] - o2[i]));
      if (maxd > 1e-3) printf("  !! ours and oneDNN differ by %.3g\n", maxd);
      double flops = 2.0 * (double)m * (double)k * (double)n;
      for (int threads = 1; threads <= 2; threads++) {
        omp_set_num_threads(threads);
        double peak = threads == 1 ? peak1 : peak2, g[3] = {0, 0, 0}, best[3], med[3];
        char col[3][64];
        int nc = m <= 32 ? 3 : 2;
        time_cells(c, nc, reps, best, med);
        for (int i = 0; i < 3; i++) {
          if (i >= nc) {
            snprintf(col[i], sizeof col[i], "%-22s", "-");
            continue;
          }
          g[i] = flops / best[i] * 1e-9;
          snprintf(col[i], sizeof col[i], "%6.1f (%6.1f) %3.0f%%", g[i], flops / med[i] * 1e-9,
                   100 * g[i] / peak);
        }
        printf("%5lld %5lld %5lld %4s %3d | %s | %s | %s | %.2fx\n", (long long)m, (long long)k,
               (long long)n, act ? "gelu" : "-", threads, col[0], col[1], col[2], g[0] / g[1]);
        fflush(stdout);
      }
      free(x), free(o1), free(o2);
    }
    sn_linear_destroy(lin);
    sn_linear_destroy(lin2);
    free(w), free(bias), free(packed), free(scratch), free(wd), free(wd2);
  }
  sn_dnnl_destroy(d);
  return 0;
}
