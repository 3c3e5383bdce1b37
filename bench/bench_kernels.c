/*
 * bench_kernels.c — times the fused kernels (src/kernels/fused.h) against the
 * reference path the eager executor takes, on BERT shapes, with one and two
 * OpenMP threads, at every ISA level the CPU has. Results go in
 * bench/KERNELS.md. A standalone driver, not a test: it asserts nothing.
 *
 * Build and run from the repository root:
 *   gcc -std=c11 -D_GNU_SOURCE -O2 -fopenmp -Iinclude -Isrc src/base/status.c \
 *       src/kernels/reference.c src/kernels/target.c src/kernels/attention.c \
 *       src/kernels/norm.c src/kernels/elementwise.c bench/bench_kernels.c -lm \
 *       -o /tmp/bench_kernels && OMP_WAIT_POLICY=PASSIVE /tmp/bench_kernels
 *
 * Attention: batch 8 x seq 128, BERT-base (12 heads x 64) and MiniLM
 * (12 x 32), and one sequence of 512 (BERT-base) to show that a single
 * sequence still uses both threads; GFLOP/s counts 4 S^2 H flops per sequence (Q K^T and P V). The
 * reference path is what the eager executor runs: transposes to
 * [B, heads, S, d], naive Q K^T, sn_ref_masked_softmax, naive P V and the
 * transpose back. LayerNorm (residual add + LN over [1024, 768]) and GELU
 * (in place over [1024, 3072]) report GB/s of memory traffic (read + write).
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/fused.h"
#include "kernels/reference.h"

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

/* Sets `best` to the best of `reps` timed calls after one warm-up: the least
 * disturbed run. */
#define BEST_OF(best, reps, call)         \
  do {                                    \
    call;                                 \
    best = 1e30;                          \
    for (int r_ = 0; r_ < (reps); r_++) { \
      double t0_ = now();                 \
      call;                               \
      double t_ = now() - t0_;            \
      best = t_ < best ? t_ : best;       \
    }                                     \
  } while (0)

/* The eager executor's attention for B sequences of S tokens (no padding). */
typedef struct ref_bufs {
  float *q, *k, *v, *qt, *kt, *vt, *scores, *probs, *ctx, *mask;
} ref_bufs_t;

static void reference_attention(const float *qkv, int b, int s, int heads, int d, float scale,
                                ref_bufs_t *w, float *out) {
  int64_t hsz = (int64_t)heads * d;
  for (int64_t t = 0; t < (int64_t)b * s; t++) {
    memcpy(w->q + t * hsz, qkv + t * 3 * hsz, (size_t)hsz * 4);
    memcpy(w->k + t * hsz, qkv + t * 3 * hsz + hsz, (size_t)hsz * 4);
    memcpy(w->v + t * hsz, qkv + t * 3 * hsz + 2 * hsz, (size_t)hsz * 4);
  }
  int64_t dims[4] = {b, s, heads, d}, dims2[4] = {b, heads, s, d};
  int perm[4] = {0, 2, 1, 3};
  sn_ref_transpose(w->q, 4, dims, perm, w->qt);
  sn_ref_transpose(w->k, 4, dims, perm, w->kt);
  sn_ref_transpose(w->v, 4, dims, perm, w->vt);
#pragma omp parallel for schedule(static)
  for (int64_t bh = 0; bh < (int64_t)b * heads; bh++) {
    const float *qm = w->qt + bh * s * d, *km = w->kt + bh * s * d;
    for (int i = 0; i < s; i++)
      for (int j = 0; j < s; j++) {
        float acc = 0.0f;
        for (int c = 0; c < d; c++) acc += qm[i * d + c] * km[j * d + c];
        w->scores[bh * s * s + i * s + j] = acc;
      }
  }
  sn_ref_masked_softmax(w->scores, w->mask, b, heads, s, s, scale, 0, 0, w->probs);
#pragma omp parallel for schedule(static)
  for (int64_t bh = 0; bh < (int64_t)b * heads; bh++) {
    const float *p = w->probs + bh * s * s, *vm = w->vt + bh * s * d;
    float *o = w->ctx + bh * s * d;
    for (int i = 0; i < s; i++) {
      for (int c = 0; c < d; c++) o[i * d + c] = 0.0f;
      for (int j = 0; j < s; j++)
        for (int c = 0; c < d; c++) o[i * d + c] += p[i * s + j] * vm[j * d + c];
    }
  }
  sn_ref_transpose(w->ctx, 4, dims2, perm, out);
}

static void bench_attention(const char *name, int b, int s, int heads, int d) {
  int64_t hsz = (int64_t)heads * d, t = (int64_t)b * s;
  float *qkv = random_floats(t * 3 * hsz, -2.0f, 2.0f), *out = malloc((size_t)(t * hsz) * 4);
  int32_t offsets[65];
  for (int i = 0; i <= b; i++) offsets[i] = i * s;
  float scale = 1.0f / sqrtf((float)d);
  double flops = 4.0 * b * (double)s * s * hsz;
  ref_bufs_t w;
  int64_t n = t * hsz, ns = (int64_t)b * heads * s * s;
  w.q = malloc((size_t)n * 4);
  w.k = malloc((size_t)n * 4);
  w.v = malloc((size_t)n * 4);
  w.qt = malloc((size_t)n * 4);
  w.kt = malloc((size_t)n * 4);
  w.vt = malloc((size_t)n * 4);
  w.ctx = malloc((size_t)n * 4);
  w.scores = malloc((size_t)ns * 4);
  w.probs = malloc((size_t)ns * 4);
  w.mask = malloc((size_t)(b * s) * 4);
  for (int64_t i = 0; i < (int64_t)b * s; i++) w.mask[i] = 1.0f;
  for (int threads = 1; threads <= 2; threads++) {
    omp_set_num_threads(threads);
    double tr;
    BEST_OF(tr, 3, reference_attention(qkv, b, s, heads, d, scale, &w, out));
    printf("| attention %-24s | %d | reference | %9.3f ms | %6.1f GFLOP/s | 1.0x |\n", name,
           threads, tr * 1e3, flops / tr * 1e-9);
    for (int isa = sn_cpu_isa_max(); isa >= 0; isa--) {
      sn_cpu_set_isa(isa);
      double tf;
      BEST_OF(tf, isa == 0 ? 3 : 20,
              sn_attention_f32(qkv, 3 * hsz, offsets, b, &(sn_attention_params_t){heads, d, scale},
                               out, hsz));
      printf("| attention %-24s | %d | fused %-9s | %9.3f ms | %6.1f GFLOP/s | %.1fx |\n", name,
             threads, sn_cpu_isa_name(isa), tf * 1e3, flops / tf * 1e-9, tr / tf);
    }
    sn_cpu_set_isa(sn_cpu_isa_max());
  }
  free(qkv);
  free(out);
  free(w.q);
  free(w.k);
  free(w.v);
  free(w.qt);
  free(w.kt);
  free(w.vt);
  free(w.ctx);
  free(w.scores);
  free(w.probs);
  free(w.mask);
}

static void bench_layernorm(int64_t rows, int64_t h) {
  int64_t n = rows * h;
  float *x = random_floats(n, -2, 2), *res = random_floats(n, -2, 2), *out = malloc((size_t)n * 4);
  float *sum = malloc((size_t)n * 4);
  float *gamma = random_floats(h, 0.5f, 1.5f), *beta = random_floats(h, -0.5f, 0.5f);
  double bytes = 3.0 * (double)n * 4; /* read x and residual, write out */
  for (int threads = 1; threads <= 2; threads++) {
    omp_set_num_threads(threads);
    double tr;
    BEST_OF(
        tr, 20,
        (sn_ref_add(x, n, res, n, sum), sn_ref_layernorm(sum, gamma, beta, rows, h, 1e-12f, out)));
    printf("| add+layernorm [%lld, %lld] | %d | reference | %9.3f ms | %6.1f GB/s | 1.0x |\n",
           (long long)rows, (long long)h, threads, tr * 1e3, bytes / tr * 1e-9);
    for (int isa = sn_cpu_isa_max(); isa >= 0; isa--) {
      sn_cpu_set_isa(isa);
      double tf;
      BEST_OF(tf, 50, sn_add_layernorm_f32(x, res, gamma, beta, rows, h, 1e-12f, out));
      printf("| add+layernorm [%lld, %lld] | %d | fused %-9s | %9.3f ms | %6.1f GB/s | %.1fx |\n",
             (long long)rows, (long long)h, threads, sn_cpu_isa_name(isa), tf * 1e3,
             bytes / tf * 1e-9, tr / tf);
    }
    sn_cpu_set_isa(sn_cpu_isa_max());
  }
  free(x);
  free(res);
  free(out);
  free(sum);
  free(gamma);
  free(beta);
}

static void bench_gelu(int64_t rows, int64_t h) {
  int64_t n = rows * h;
  float *x = random_floats(n, -4, 4), *y = malloc((size_t)n * 4);
  double bytes = 2.0 * (double)n * 4;
  for (int threads = 1; threads <= 2; threads++) {
    omp_set_num_threads(threads);
    double tr;
    BEST_OF(tr, 10, sn_ref_gelu(x, n, y));
    printf("| gelu [%lld, %lld] | %d | reference | %9.3f ms | %6.1f GB/s | 1.0x |\n",
           (long long)rows, (long long)h, threads, tr * 1e3, bytes / tr * 1e-9);
    for (int isa = sn_cpu_isa_max(); isa >= 0; isa--) {
      sn_cpu_set_isa(isa);
      /* In place on y, refilled from x each time outside the timing would
       * double the traffic; GELU of GELU has the same cost, so reuse y. */
      memcpy(y, x, (size_t)n * 4);
      double tf;
      BEST_OF(tf, isa == 0 ? 10 : 30, sn_gelu_f32(y, n));
      printf("| gelu [%lld, %lld] | %d | fused %-9s | %9.3f ms | %6.1f GB/s | %.1fx |\n",
             (long long)rows, (long long)h, threads, sn_cpu_isa_name(isa), tf * 1e3,
             bytes / tf * 1e-9, tr / tf);
    }
    sn_cpu_set_isa(sn_cpu_isa_max());
  }
  free(x);
  free(y);
}

int main(void) {
  printf("best ISA: %s (avx512_bf16 %d, avx512_vnni %d), max threads %d\n\n",
         sn_cpu_isa_name(sn_cpu_isa_max()), sn_cpu_has_avx512_bf16(), sn_cpu_has_avx512_vnni(),
         omp_get_max_threads());
  printf("| kernel | threads | path | time | rate | vs reference |\n");
  printf("|---|---|---|---|---|---|\n");
  bench_attention("BERT-base 12x64 B8 S128", 8, 128, 12, 64);
  bench_attention("MiniLM 12x32 B8 S128", 8, 128, 12, 32);
  bench_attention("BERT-base 12x64 B1 S512", 1, 512, 12, 64);
  bench_layernorm(1024, 768);
  bench_gelu(1024, 3072);
  return 0;
}
