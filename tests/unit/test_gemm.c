/*
 * test_gemm.c — sn_gemm_run (gemm.h) against a double-precision naive
 * reference, at every ISA level this CPU has (portable, AVX2, and AVX-512,
 * which runs the AVX2 kernel), on odd shapes: every combination of m in
 * {1, 5, 7, 16, 129}, k in {1, 17, 64, 300, 768} and n in {1, 15, 16, 37, 100,
 * 768}, plus a few with several K blocks (k = 1000, 1600, 3072: the packed
 * layout cuts K into blocks of at most SN_GEMM_KC) and with several M blocks
 * per thread (m = 600, 1030), for every activation, with and without bias and
 * residual. The shapes cover partial row tiles (every m % 6) and column tiles,
 * K lengths that are not a multiple of the unroll, and the (M block, panel
 * chunk) task grid of the threaded path. Guard values after out and after
 * the scratch catch stray writes.
 *
 * Tolerance: fp32 accumulation over k terms can be off by about k * 2^-24 *
 * sum |x w| in the worst case, and the activations add about 1e-6 relative;
 * each element must be within (8 + k) * 6e-8 * (sum |x w| + |bias| + |res|)
 * + 1e-6 |want| + 1e-7 of the reference. A wrong element (a missed K block,
 * a wrong panel, a misplaced epilogue) is orders of magnitude off that.
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/gemm.h"
#include "test.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static float uniform(float lo, float hi) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return lo + (hi - lo) * (float)((rng_state >> 40) * (1.0 / 16777216.0));
}

static float *random_floats(int64_t n, float lo, float hi) {
  float *x = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
  for (int64_t i = 0; i < n; i++) x[i] = uniform(lo, hi);
  return x;
}

static double act_ref(double v, int act) {
  switch (act) {
    case 1: return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
    case 2: return 0.5 * v * (1.0 + tanh(sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    case 3: return v > 0 ? v : 0.0;
    case 4: return tanh(v);
    default: return v;
  }
}

#define GUARD 16
static const float guard_value = 12345.5f;

/* Largest (error / tolerance) seen per ISA level; <= 1 passes. */
static double worst_ratio[3];

/* Every act x bias x residual variant of one shape at the current ISA level,
 * against the double products dot[m][n] and magnitudes mag[m][n]. */
static void check_variants(int64_t m, int64_t k, int64_t n, const float *x, const float *packed,
                           const float *bias, const float *res, const double *dot,
                           const double *mag, float *out, float *scratch, size_t scratch_floats) {
  int isa = sn_cpu_isa();
  for (int act = 0; act <= 4; act++)
    for (int use_bias = 0; use_bias <= 1; use_bias++)
      for (int residual = 0; residual <= 1; residual++) {
        for (int64_t i = 0; i < m * n; i++) out[i] = residual ? res[i] : -777.0f;
        for (int64_t i = 0; i < GUARD; i++) out[m * n + i] = guard_value;
        for (size_t i = 0; i < GUARD; i++) scratch[scratch_floats + i] = guard_value;
        sn_gemm_run(m, k, n, x, packed, use_bias ? bias : NULL, act, residual, out, scratch);
        double worst = 0;
        int64_t worst_i = -1;
        for (int64_t i = 0; i < m * n; i++) {
          int64_t c = i % n;
          double b = use_bias ? bias[c] : 0.0;
          double want = act_ref(dot[i] + b, act) + (residual ? res[i] : 0.0);
          double scale = mag[i] + fabs(b) + (residual ? fabs((double)res[i]) : 0.0);
          double tol = (8.0 + (double)k) * 6e-8 * scale + 1e-6 * fabs(want) + 1e-7;
          double r = fabs((double)out[i] - want) / tol;
          if (!(r <= worst)) {
            worst = r;
            worst_i = i;
          }
        }
        if (worst > worst_ratio[isa]) worst_ratio[isa] = worst;
        SN_CHECK_MSG(worst <= 1.0,
                     "isa %s m=%lld k=%lld n=%lld act=%d bias=%d residual=%d: element %lld "
                     "off by %.3g tolerances",
                     sn_cpu_isa_name(isa), (long long)m, (long long)k, (long long)n, act, use_bias,
                     residual, (long long)worst_i, worst);
        int guards_ok = 1;
        for (int64_t i = 0; i < GUARD; i++) guards_ok &= out[m * n + i] == guard_value;
        for (size_t i = 0; i < GUARD; i++) guards_ok &= scratch[scratch_floats + i] == guard_value;
        SN_CHECK_MSG(guards_ok, "m=%lld k=%lld n=%lld: write past out or scratch", (long long)m,
                     (long long)k, (long long)n);
      }
}

static void check_shape(int64_t m, int64_t k, int64_t n) {
  float *x = random_floats(m * k, -1.0f, 1.0f);
  float *w = random_floats(n * k, -0.5f, 0.5f);
  float *bias = random_floats(n, -1.0f, 1.0f);
  float *res = random_floats(m * n, -2.0f, 2.0f);
  float *packed = malloc(sn_gemm_packed_bytes(k, n));
  sn_gemm_pack(k, n, w, packed);
  double *dot = malloc((size_t)(m * n) * sizeof(double));
  double *mag = malloc((size_t)(m * n) * sizeof(double));
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double s = 0, a = 0;
      for (int64_t t = 0; t < k; t++) {
        double p = (double)x[i * k + t] * w[j * k + t];
        s += p;
        a += fabs(p);
      }
      dot[i * n + j] = s;
      mag[i * n + j] = a;
    }
  size_t scratch_floats = sn_gemm_scratch_bytes(k, omp_get_max_threads()) / sizeof(float);
  float *scratch = malloc((scratch_floats + GUARD) * sizeof(float));
  float *out = malloc((size_t)(m * n + GUARD) * sizeof(float));
  int saved = sn_cpu_isa();
  for (int isa = SN_ISA_PORTABLE; isa <= sn_cpu_isa_max(); isa++) {
    sn_cpu_set_isa(isa);
    check_variants(m, k, n, x, packed, bias, res, dot, mag, out, scratch, scratch_floats);
  }
  sn_cpu_set_isa(saved);
  free(x), free(w), free(bias), free(res), free(packed), free(dot), free(mag);
  free(scratch), free(out);
}

static void test_odd_shapes(void) {
  static const int64_t ms[] = {1, 5, 7, 16, 129};
  static const int64_t ks[] = {1, 17, 64, 300, 768};
  static const int64_t ns[] = {1, 15, 16, 37, 100, 768};
  for (size_t a = 0; a < sizeof ms / sizeof ms[0]; a++)
    for (size_t b = 0; b < sizeof ks / sizeof ks[0]; b++)
      for (size_t c = 0; c < sizeof ns / sizeof ns[0]; c++) check_shape(ms[a], ks[b], ns[c]);
}

/* Several K blocks: partial sums in out, bias on the first block only, the
 * activation on the last, and the residual-after-activation path. */
static void test_k_blocks(void) {
  check_shape(7, 1000, 37);
  check_shape(129, 1600, 100);
  check_shape(20, 3072, 48);
}

/* Several M blocks, and tasks of more than one block of rows. */
static void test_many_rows(void) {
  check_shape(600, 64, 100);
  check_shape(1030, 300, 100);
}

/* Packing: element (k, t) of panel p is W[16 p + t, k]; padding columns are 0. */
static void test_pack_layout(void) {
  int64_t k = 3, n = 18;
  float w[18 * 3], packed[2 * 3 * 16];
  for (int i = 0; i < 18 * 3; i++) w[i] = (float)(i + 1);
  SN_CHECK(sn_gemm_packed_bytes(k, n) == sizeof packed);
  sn_gemm_pack(k, n, w, packed);
  int ok = 1;
  for (int p = 0; p < 2; p++)
    for (int kk = 0; kk < 3; kk++)
      for (int t = 0; t < 16; t++) {
        int col = p * 16 + t;
        float want = col < n ? w[col * k + kk] : 0.0f;
        ok &= packed[(p * k + kk) * 16 + t] == want;
      }
  SN_CHECK(ok);
}

/* Inside a parallel region the call runs on the calling thread only, so
 * each thread can run its own product with its own scratch. */
static void test_inside_parallel(void) {
  const int64_t m = 40, k = 64, n = 48;
  float *x = random_floats(m * k, -1, 1), *w = random_floats(n * k, -1, 1);
  float *packed = malloc(sn_gemm_packed_bytes(k, n));
  sn_gemm_pack(k, n, w, packed);
  float *want = malloc((size_t)(m * n) * sizeof(float));
  float *scratch1 = malloc(sn_gemm_scratch_bytes(k, omp_get_max_threads()));
  sn_gemm_run(m, k, n, x, packed, NULL, 0, 0, want, scratch1);
  int bad = 0;
#pragma omp parallel reduction(+ : bad)
  {
    float *got = malloc((size_t)(m * n) * sizeof(float));
    float *scratch = malloc(sn_gemm_scratch_bytes(k, 1));
    sn_gemm_run(m, k, n, x, packed, NULL, 0, 0, got, scratch);
    bad += memcmp(got, want, (size_t)(m * n) * sizeof(float)) != 0;
    free(got), free(scratch);
  }
  SN_CHECK(bad == 0);
  free(x), free(w), free(packed), free(want), free(scratch1);
}

int main(void) {
  SN_RUN(test_pack_layout);
  SN_RUN(test_odd_shapes);
  SN_RUN(test_k_blocks);
  SN_RUN(test_many_rows);
  SN_RUN(test_inside_parallel);
  for (int isa = SN_ISA_PORTABLE; isa <= sn_cpu_isa_max(); isa++)
    printf("gemm %-8s worst error %.3f of tolerance\n", sn_cpu_isa_name(isa), worst_ratio[isa]);
  return SN_TEST_REPORT();
}
