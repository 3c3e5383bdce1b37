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
 * batch, and the per-call time is reported as the best and the median batch. "dnnl-nosm" is oneDNN
 * with the small-M kernel off (SINTER_NO_SMALL_M), shown for M <= 32 only.
 *
 * Weights and activations stay warm in the caches between calls for both
 * contenders (W is at most 9.4 MB; L3 is 32 MB): this measures the kernels,
 * not DRAM.
 *
 * `bench_gemm --bf16 [M...]` (default M: 1 16 128 1024) instead times our
 * GEMM with fp32 weights against the same GEMM with bf16 weights
 * (sn_gemm_run_bf16), on the MiniLM shapes and BERT-base's FFN-up (with
 * GELU), in three weight modes:
 *   warm:  one copy of the weights, warm in cache between calls, as above;
 *   cold:  each call takes the next copy from a pool of copies of at least
 *          BENCH_POOL_MB (default 72) MB per variant, so the weights of both
 *          come from DRAM (as for a model larger than the L3);
 *   model: pools of as many copies for both as make 42 MB of fp32 weights
 *          (MiniLM's size): fp32 streams from DRAM, bf16's 21 MB may stay in
 *          the 32 MB L3 (as for MiniLM run whole).
 * BENCH_MODES (default "warm,cold,model") picks the modes. No oneDNN is
 * involved in this mode (the binary still links it).
 *
 * `bench_gemm --int8 [M...]` (default M: 1 16 128 1024) times the exact int8
 * GEMM (gemm_int8.h) on the path this CPU takes (AVX-512 VNNI here) and
 * forced to AVX2 (the sign trick), against the fp32 linear the compiler
 * picks for this CPU, each as a share of the measured peak of its own level
 * (`sinter bench --peak`, with SINTER_ISA=avx2 for the AVX2 one). Bias on
 * every product, GELU on the FFN up-projections; weights warm in cache.
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
#include "kernels/gemm_int8.h"
#include "kernels/matmul.h"
#include "kernels/peak.h"
#include "kernels/target.h"

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

enum { OURS, DNNL, DNNL_NOSM, OURS_BF16, OURS_INT8 };

typedef struct cell {
  int which;
  int64_t m, k, n;
  int act;
  const float *x, *packed, *bias;
  float *out, *scratch;
  sn_linear_t *lin;
  const void *w;
  /* --bf16: weight copies taken in turn, one per call (npool 1: warm). */
  void *const *pool;
  int npool;
  int *next;
  const char *path; /* OURS_INT8: the int8 path to force (sn_gemm_i8_set_path) */
} cell_t;

static void call(const cell_t *c) {
  if (c->which == OURS_INT8) {
    sn_gemm_i8_set_path(c->path);
    sn_gemm_i8_run(c->m, c->k, c->n, c->x, c->w, c->bias, c->act, 0, c->out, c->scratch);
    sn_gemm_i8_set_path("auto");
    return;
  }
  if (c->which == OURS || c->which == OURS_BF16) {
    const void *w = c->packed;
    if (c->pool) {
      w = c->pool[*c->next];
      *c->next = (*c->next + 1) % c->npool;
    }
    if (c->which == OURS)
      sn_gemm_run(c->m, c->k, c->n, c->x, w, c->bias, c->act, 0, c->out, c->scratch);
    else
      sn_gemm_run_bf16(c->m, c->k, c->n, c->x, w, c->bias, c->act, 0, c->out, c->scratch);
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
  double t[5][64];
  int per_batch[5];
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
  if (sn_linear_prepack(d, desc, SN_LINEAR_ONEDNN, w, 0, NULL, &data, &bytes, &layout, &layout_size,
                        &err) != SINTER_OK ||
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

/* Runs a and b once each on 2 threads; the largest difference of their
 * outputs (n elements each), for a sanity line (not a test). */
static double max_diff(const cell_t *a, const cell_t *b, int64_t n) {
  omp_set_num_threads(2);
  call(a);
  call(b);
  double maxd = 0;
  for (int64_t i = 0; i < n; i++) maxd = fmax(maxd, fabs((double)a->out[i] - b->out[i]));
  return maxd;
}

/* `npool` copies of `bytes` bytes of src, each 64-byte aligned. */
static void **make_pool(const void *src, size_t bytes, int npool) {
  void **pool = malloc((size_t)npool * sizeof *pool);
  for (int i = 0; i < npool; i++) {
    pool[i] = aligned_alloc(64, (bytes + 63) / 64 * 64);
    memcpy(pool[i], src, bytes);
  }
  return pool;
}

static void free_pool(void **pool, int npool) {
  for (int i = 0; i < npool; i++) free(pool[i]);
  free(pool);
}

/* --bf16: fp32 weights against bf16 weights, warm / cold / model (above). */
static int bench_bf16(int argc, char **argv) {
  static const int64_t shapes[][2] = {{384, 1152}, {384, 1536}, {1536, 384}, {768, 3072}};
  int64_t ms[8] = {1, 16, 128, 1024};
  int nm = 4;
  if (argc > 0) {
    nm = 0;
    for (int i = 0; i < argc && nm < 8; i++) ms[nm++] = atoll(argv[i]);
  }
  int reps = getenv("BENCH_REPS") ? atoi(getenv("BENCH_REPS")) : 9;
  double pool_mb = getenv("BENCH_POOL_MB") ? atof(getenv("BENCH_POOL_MB")) : 72.0;
  const char *modes = getenv("BENCH_MODES") ? getenv("BENCH_MODES") : "warm,cold,model";
  static const char *mode_names[3] = {"warm", "cold", "model"};
  printf(
      "fp32 vs bf16 weights; GFLOP/s best (median) of %d batches; cold pool %.0f MB per "
      "variant, model pool 42 MB of fp32\n",
      reps, pool_mb);
  printf("%5s %5s %5s %4s %3s %5s | %-15s | %-15s | %s\n", "M", "K", "N", "act", "thr", "mode",
         "fp32", "bf16", "bf16/fp32 best (median)");
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    int64_t k = shapes[s][0], n = shapes[s][1];
    int act = (k == 768 && n == 3072) ? 1 : 0;
    float *w = random_floats(n * k, -0.05f, 0.05f), *bias = random_floats(n, -1, 1);
    size_t b32 = sn_gemm_packed_bytes(k, n), b16 = sn_gemm_packed_bytes_bf16(k, n);
    float *p32 = malloc(b32);
    uint16_t *p16 = malloc(b16);
    sn_gemm_pack(k, n, w, p32);
    sn_gemm_pack_bf16(k, n, w, p16);
    float *scratch = malloc(sn_gemm_scratch_bytes(k, 2));
    for (int mode = 0; mode < 3; mode++) {
      if (!strstr(modes, mode_names[mode])) continue;
      int n32 = 1, n16 = 1;
      if (mode == 1) {
        n32 = (int)(pool_mb * 1e6 / (double)b32) + 1;
        n16 = (int)(pool_mb * 1e6 / (double)b16) + 1;
      } else if (mode == 2) {
        n32 = n16 = (int)(42e6 / (double)b32) + 1;
      }
      void **pool32 = make_pool(p32, b32, n32), **pool16 = make_pool(p16, b16, n16);
      int next32 = 0, next16 = 0;
      for (int mi = 0; mi < nm; mi++) {
        int64_t m = ms[mi];
        float *x = random_floats(m * k, -1, 1);
        float *o1 = malloc((size_t)(m * n) * sizeof(float));
        float *o2 = malloc((size_t)(m * n) * sizeof(float));
        cell_t c[2] = {
            {.which = OURS,
             .m = m,
             .k = k,
             .n = n,
             .act = act,
             .x = x,
             .bias = bias,
             .out = o1,
             .scratch = scratch,
             .pool = pool32,
             .npool = n32,
             .next = &next32},
            {.which = OURS_BF16,
             .m = m,
             .k = k,
             .n = n,
             .act = act,
             .x = x,
             .bias = bias,
             .out = o2,
             .scratch = scratch,
             .pool = pool16,
             .npool = n16,
             .next = &next16},
        };
        /* bf16 rounding of |w| <= 0.05 moves an output by ~1e-3. */
        double maxd = max_diff(&c[0], &c[1], m * n);
        if (maxd > 2e-2) printf("  !! fp32 and bf16 differ by %.3g\n", maxd);
        double flops = 2.0 * (double)m * (double)k * (double)n;
        for (int threads = 1; threads <= 2; threads++) {
          omp_set_num_threads(threads);
          double best[2], med[2];
          time_cells(c, 2, reps, best, med);
          printf("%5lld %5lld %5lld %4s %3d %5s | %6.1f (%6.1f) | %6.1f (%6.1f) | %.2fx (%.2fx)\n",
                 (long long)m, (long long)k, (long long)n, act ? "gelu" : "-", threads,
                 mode_names[mode], flops / best[0] * 1e-9, flops / med[0] * 1e-9,
                 flops / best[1] * 1e-9, flops / med[1] * 1e-9, best[0] / best[1], med[0] / med[1]);
          fflush(stdout);
        }
        free(x), free(o1), free(o2);
      }
      free_pool(pool32, n32);
      free_pool(pool16, n16);
    }
    free(w), free(bias), free(p32), free(p16), free(scratch);
  }
  return 0;
}

/* --int8: the exact int8 GEMM (gemm_int8.h) on the path this CPU takes and
 * forced to AVX2 (the sign trick), against the fp32 linear the compiler picks
 * here (oneDNN on AVX-512 targets, our GEMM elsewhere), as a share of the
 * measured int8 and fp32 peaks. Weights warm in cache; bias on every product,
 * GELU on (768, 3072) and (384, 1536) as in the FFN. */
static int bench_int8(int argc, char **argv) {
  static const int64_t shapes[][2] = {{768, 2304}, {768, 768}, {768, 3072}, {3072, 768},
                                      {384, 1152}, {384, 384}, {384, 1536}, {1536, 384}};
  int64_t ms[8] = {1, 16, 128, 1024};
  int nm = 4;
  if (argc > 0) {
    nm = 0;
    for (int i = 0; i < argc && nm < 8; i++) ms[nm++] = atoll(argv[i]);
  }
  int reps = getenv("BENCH_REPS") ? atoi(getenv("BENCH_REPS")) : 9;
  /* Columns: the automatic path, then every other vector path this CPU has,
   * each against the peak of its own instructions; then fp32. */
  static const char *const all[] = {"avx512-vnni", "avx2-vnni", "avx2-sign"};
  const char *paths[4];
  int np = 0;
  paths[np++] = sn_gemm_i8_path();
  for (int i = 0; i < 3; i++)
    if (sn_gemm_i8_path_available(all[i]) && strcmp(all[i], paths[0])) paths[np++] = all[i];
  double ipeak[4][3], fpeak[3];
  printf("int8 GOP/s best (median) of %d batches, %% of the peak of the column's instructions:",
         reps);
  for (int c = 0; c < np; c++) {
    const char *name = "";
    sn_gemm_i8_set_path(paths[c]);
    for (int t = 1; t <= 2; t++) ipeak[c][t] = sn_peak_int8_gops(t, 0.3, &name);
    printf(" %s %.0f / %.0f;", name, ipeak[c][1], ipeak[c][2]);
  }
  sn_gemm_i8_set_path("auto");
  for (int t = 1; t <= 2; t++) {
    const char *fname;
    fpeak[t] = sn_peak_fp32_gflops(t, 0.3, &fname);
  }
  sinter_error_t err;
  sn_dnnl_t *d;
  if (sn_dnnl_create(&d, &err) != SINTER_OK) {
    fprintf(stderr, "dnnl: %s\n", err.message);
    return 1;
  }
  int kernel = sn_target_linear_kernel(sn_target_isa_features(0));
  printf(" GOP/s on 1 / 2 threads; fp32 (%s) GFLOP/s, %% of the fp32 peak (%.0f / %.0f)\n",
         kernel == SN_LINEAR_GEMM ? "sinter gemm" : "oneDNN", fpeak[1], fpeak[2]);
  printf("%5s %5s %5s %4s %3s", "M", "K", "N", "act", "thr");
  for (int c = 0; c < np; c++) printf(" | %-22s", paths[c]);
  printf(" | %-22s | %s\n", "fp32", "int8/fp32");
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    int64_t k = shapes[s][0], n = shapes[s][1];
    int act = (k == 768 && n == 3072) || (k == 384 && n == 1536) ? 1 : 0;
    float *w = random_floats(n * k, -0.05f, 0.05f), *bias = random_floats(n, -1, 1);
    void *q = aligned_alloc(64, (sn_gemm_i8_packed_bytes(k, n) + 63) / 64 * 64);
    sn_gemm_i8_pack(k, n, w, 0, NULL, q);
    void *scratch = aligned_alloc(64, sn_gemm_i8_scratch_bytes(k, 2));
    float *fscratch = malloc(sn_gemm_scratch_bytes(k, 2));
    sn_linear_desc_t desc = {.k = k, .n = n, .act = act, .residual = 0, .int8 = 0};
    void *wd = NULL, *layout = NULL;
    size_t bytes = 0, layout_size = 0;
    sn_linear_t *lin = NULL;
    if (sn_linear_prepack(d, &desc, kernel, w, 0, NULL, &wd, &bytes, &layout, &layout_size, &err) ||
        sn_linear_create(d, &desc, layout, layout_size, wd ? bytes : (size_t)(k * n) * 4, &lin,
                         &err)) {
      fprintf(stderr, "linear: %s\n", err.message);
      return 1;
    }
    free(layout);
    for (int mi = 0; mi < nm; mi++) {
      int64_t m = ms[mi];
      float *x = random_floats(m * k, -1, 1);
      float *o[5];
      for (int i = 0; i <= np; i++) o[i] = malloc((size_t)(m * n) * sizeof(float));
      cell_t c[5];
      for (int i = 0; i < np; i++)
        c[i] = (cell_t){.which = OURS_INT8,
                        .m = m,
                        .k = k,
                        .n = n,
                        .act = act,
                        .x = x,
                        .bias = bias,
                        .out = o[i],
                        .scratch = scratch,
                        .w = q,
                        .path = paths[i]};
      c[np] = (cell_t){.which = DNNL,
                       .m = m,
                       .k = k,
                       .n = n,
                       .act = act,
                       .x = x,
                       .bias = bias,
                       .out = o[np],
                       .scratch = fscratch,
                       .lin = lin,
                       .w = wd ? wd : w};
      for (int i = 1; i < np; i++) {
        double maxd = max_diff(&c[0], &c[i], m * n);
        if (maxd > 1e-4) printf("  !! the int8 paths differ by %.3g\n", maxd);
      }
      double ops = 2.0 * (double)m * (double)k * (double)n;
      for (int threads = 1; threads <= 2; threads++) {
        omp_set_num_threads(threads);
        double best[5], med[5];
        time_cells(c, np + 1, reps, best, med);
        printf("%5lld %5lld %5lld %4s %3d", (long long)m, (long long)k, (long long)n,
               act ? "gelu" : "-", threads);
        for (int i = 0; i <= np; i++) {
          double g = ops / best[i] * 1e-9;
          printf(" | %6.1f (%6.1f) %3.0f%%", g, ops / med[i] * 1e-9,
                 100 * g / (i < np ? ipeak[i][threads] : fpeak[threads]));
        }
        printf(" | %.2fx\n", best[np] / best[0]);
        fflush(stdout);
      }
      for (int i = 0; i <= np; i++) free(o[i]);
      free(x);
    }
    sn_linear_destroy(lin);
    free(w), free(bias), free(q), free(scratch), free(fscratch), free(wd);
  }
  sn_dnnl_destroy(d);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--bf16")) return bench_bf16(argc - 2, argv + 2);
  if (argc > 1 && !strcmp(argv[1], "--int8")) return bench_int8(argc - 2, argv + 2);
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
  printf("%5s %5s %5s %4s %3s | %-22s | %-22s | %-22s | %s\n", "M", "K", "N", "act", "thr", "ours",
         "dnnl", "dnnl-nosm", "ours/dnnl");
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
          {OURS, m, k, n, act, x, packed, bias, o1, scratch, NULL, NULL, NULL, 0, NULL, NULL},
          {DNNL, m, k, n, act, x, packed, bias, o2, scratch, lin, wd ? wd : w, NULL, 0, NULL, NULL},
          {DNNL_NOSM, m, k, n, act, x, packed, bias, o2, scratch, lin2, wd2 ? wd2 : w, NULL, 0,
           NULL, NULL},
      };
      double maxd = max_diff(&c[0], &c[1], m * n);
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
