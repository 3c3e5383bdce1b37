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
 * Every shape runs twice: fp32 weights (sn_gemm_pack / sn_gemm_run) and bf16
 * weights (sn_gemm_pack_bf16 / sn_gemm_run_bf16). The bf16 reference is the
 * double product on the bf16-rounded weights, so the bf16 variant is held to
 * the same fp32 tolerance: its only extra error is the weight rounding, which
 * the reference already contains. The conversions sn_f32_to_bf16 and
 * sn_bf16_to_f32 are checked on their own (ties to even, NaN, Inf, zeros,
 * denormals).
 *
 * Tolerance: fp32 accumulation over k terms can be off by about k * 2^-24 *
 * sum |x w| in the worst case, and the activations add about 1e-6 relative;
 * each element must be within (8 + k) * 6e-8 * (sum |x w| + |bias| + |res|)
 * + 1e-6 |want| + 1e-7 of the reference. A wrong element (a missed K block,
 * a wrong panel, a misplaced epilogue) is orders of magnitude off that.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/target.h"
#include "kernels/threadpool.h"
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

/* Largest (error / tolerance) seen per weight type (0 fp32, 1 bf16) and ISA
 * level; <= 1 passes. */
static double worst_ratio[2][3];

/* Every act x bias x residual variant of one shape at the current ISA level,
 * against the double products dot[m][n] and magnitudes mag[m][n]; packed
 * holds bf16 weights when bf16, else fp32. */
static void check_variants(int64_t m, int64_t k, int64_t n, const float *x, const void *packed,
                           int bf16, const float *bias, const float *res, const double *dot,
                           const double *mag, float *out, float *scratch, size_t scratch_floats) {
  int isa = sn_cpu_isa();
  for (int act = 0; act <= 4; act++)
    for (int use_bias = 0; use_bias <= 1; use_bias++)
      for (int residual = 0; residual <= 1; residual++) {
        for (int64_t i = 0; i < m * n; i++) out[i] = residual ? res[i] : -777.0f;
        for (int64_t i = 0; i < GUARD; i++) out[m * n + i] = guard_value;
        for (size_t i = 0; i < GUARD; i++) scratch[scratch_floats + i] = guard_value;
        if (bf16)
          sn_gemm_run_bf16(m, k, n, x, packed, use_bias ? bias : NULL, act, residual, out, scratch);
        else
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
        if (worst > worst_ratio[bf16][isa]) worst_ratio[bf16][isa] = worst;
        SN_CHECK_MSG(worst <= 1.0,
                     "%s isa %s m=%lld k=%lld n=%lld act=%d bias=%d residual=%d: element %lld "
                     "off by %.3g tolerances",
                     bf16 ? "bf16" : "fp32", sn_cpu_isa_name(isa), (long long)m, (long long)k,
                     (long long)n, act, use_bias, residual, (long long)worst_i, worst);
        int guards_ok = 1;
        for (int64_t i = 0; i < GUARD; i++) guards_ok &= out[m * n + i] == guard_value;
        for (size_t i = 0; i < GUARD; i++) guards_ok &= scratch[scratch_floats + i] == guard_value;
        SN_CHECK_MSG(guards_ok, "m=%lld k=%lld n=%lld: write past out or scratch", (long long)m,
                     (long long)k, (long long)n);
      }
}

/* One shape with fp32 (bf16 = 0) or bf16 weights, at every ISA level. */
static void check_shape_type(int64_t m, int64_t k, int64_t n, int bf16) {
  float *x = random_floats(m * k, -1.0f, 1.0f);
  float *w = random_floats(n * k, -0.5f, 0.5f);
  float *bias = random_floats(n, -1.0f, 1.0f);
  float *res = random_floats(m * n, -2.0f, 2.0f);
  void *packed = malloc(bf16 ? sn_gemm_packed_bytes_bf16(k, n) : sn_gemm_packed_bytes(k, n));
  if (bf16) {
    sn_gemm_pack_bf16(k, n, w, packed);
    /* The reference uses the weights the kernel sees. */
    for (int64_t i = 0; i < n * k; i++) w[i] = sn_bf16_to_f32(sn_f32_to_bf16(w[i]));
  } else {
    sn_gemm_pack(k, n, w, packed);
  }
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
  size_t scratch_floats =
      sn_gemm_scratch_bytes(k, sn_threadpool_threads(sn_threadpool_current())) / sizeof(float);
  float *scratch = malloc((scratch_floats + GUARD) * sizeof(float));
  float *out = malloc((size_t)(m * n + GUARD) * sizeof(float));
  int saved = sn_cpu_isa();
  for (int isa = SN_ISA_PORTABLE; isa <= sn_cpu_isa_max(); isa++) {
    sn_cpu_set_isa(isa);
    check_variants(m, k, n, x, packed, bf16, bias, res, dot, mag, out, scratch, scratch_floats);
  }
  sn_cpu_set_isa(saved);
  free(x), free(w), free(bias), free(res), free(packed), free(dot), free(mag);
  free(scratch), free(out);
}

static void check_shape(int64_t m, int64_t k, int64_t n) {
  check_shape_type(m, k, n, 0);
  check_shape_type(m, k, n, 1);
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

/* bf16 packing: the fp32 layout at 2 bytes an element, each panel row
 * interleaved (column c at slot 2c for c < 8, 2 (c - 8) + 1 above); padding 0. */
static void test_pack_layout_bf16(void) {
  int64_t k = 3, n = 18;
  float w[18 * 3];
  uint16_t packed[2 * 3 * 16];
  for (int i = 0; i < 18 * 3; i++) w[i] = (float)(i + 1); /* exact in bf16 */
  SN_CHECK(sn_gemm_packed_bytes_bf16(k, n) == sizeof packed);
  SN_CHECK(sn_gemm_packed_bytes_bf16(k, n) * 2 == sn_gemm_packed_bytes(k, n));
  SN_CHECK(sn_gemm_packed_bytes_bf16(0, n) == 0);
  sn_gemm_pack_bf16(k, n, w, packed);
  int ok = 1;
  for (int p = 0; p < 2; p++)
    for (int kk = 0; kk < 3; kk++)
      for (int c = 0; c < 16; c++) {
        int col = p * 16 + c, slot = c < 8 ? 2 * c : 2 * (c - 8) + 1;
        float want = col < n ? w[col * k + kk] : 0.0f;
        ok &= sn_bf16_to_f32(packed[(p * k + kk) * 16 + slot]) == want;
      }
  SN_CHECK(ok);
}

static float from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* sn_f32_to_bf16 rounds to nearest, ties to even, in bits; sn_bf16_to_f32 is
 * exact. */
static void test_bf16_conversion(void) {
  /* Exact values keep their bits. */
  SN_CHECK(sn_f32_to_bf16(1.0f) == 0x3F80);
  SN_CHECK(sn_f32_to_bf16(-2.0f) == 0xC000);
  SN_CHECK(sn_bf16_to_f32(0x3F80) == 1.0f);
  SN_CHECK(sn_bf16_to_f32(0xC040) == -3.0f);
  /* Below, at and above the halfway point; ties go to the even upper half. */
  SN_CHECK(sn_f32_to_bf16(from_bits(0x3F807FFFu)) == 0x3F80); /* below half: down */
  SN_CHECK(sn_f32_to_bf16(from_bits(0x3F808000u)) == 0x3F80); /* tie, 0x3F80 even: down */
  SN_CHECK(sn_f32_to_bf16(from_bits(0x3F818000u)) == 0x3F82); /* tie, 0x3F81 odd: up */
  SN_CHECK(sn_f32_to_bf16(from_bits(0x3F808001u)) == 0x3F81); /* above half: up */
  SN_CHECK(sn_f32_to_bf16(from_bits(0xBF818000u)) == 0xBF82); /* negative tie, odd: away */
  SN_CHECK(sn_f32_to_bf16(from_bits(0xBF808000u)) == 0xBF80); /* negative tie, even */
  /* A carry through the mantissa into the exponent. */
  SN_CHECK(sn_f32_to_bf16(from_bits(0x3FFFFFFFu)) == 0x4000);
  /* Infinities stay; the largest finite float rounds up to Inf (above the
   * largest bf16 by more than half an ulp); the largest bf16 stays. */
  SN_CHECK(sn_f32_to_bf16(INFINITY) == 0x7F80);
  SN_CHECK(sn_f32_to_bf16(-INFINITY) == 0xFF80);
  SN_CHECK(sn_f32_to_bf16(from_bits(0x7F7FFFFFu)) == 0x7F80);
  SN_CHECK(sn_f32_to_bf16(from_bits(0x7F7F0000u)) == 0x7F7F);
  SN_CHECK(isinf(sn_bf16_to_f32(0xFF80)) && sn_bf16_to_f32(0xFF80) < 0);
  /* Zeros keep their sign. */
  SN_CHECK(sn_f32_to_bf16(0.0f) == 0x0000);
  SN_CHECK(sn_f32_to_bf16(-0.0f) == 0x8000);
  SN_CHECK(signbit(sn_bf16_to_f32(0x8000)) && sn_bf16_to_f32(0x8000) == 0.0f);
  /* NaN stays NaN, whatever its payload: a payload only in the low 16 bits
   * would truncate to Inf, and rounding 0x7FFFFFFF up would wrap to -0. */
  uint32_t nans[] = {0x7FC00000u, 0xFFC00000u, 0x7F800001u, 0x7F80FFFFu,
                     0x7FFFFFFFu, 0xFFFFFFFFu, 0xFF800001u};
  for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
    uint16_t h = sn_f32_to_bf16(from_bits(nans[i]));
    SN_CHECK_MSG(isnan(sn_bf16_to_f32(h)), "NaN 0x%08x became 0x%04x", (unsigned)nans[i], h);
    SN_CHECK_MSG((h & 0x8000) == ((nans[i] >> 16) & 0x8000), "NaN 0x%08x lost its sign",
                 (unsigned)nans[i]);
  }
  /* Denormals: bf16 has the same exponent range, so they round in bits too. */
  SN_CHECK(sn_f32_to_bf16(from_bits(0x00010000u)) == 0x0001); /* smallest bf16 denormal */
  SN_CHECK(sn_f32_to_bf16(from_bits(0x00018000u)) == 0x0002); /* tie, odd: up */
  SN_CHECK(sn_f32_to_bf16(from_bits(0x00008000u)) == 0x0000); /* tie, even: to +0 */
  SN_CHECK(sn_f32_to_bf16(from_bits(0x00008001u)) == 0x0001); /* above half: up */
  SN_CHECK(sn_f32_to_bf16(from_bits(0x807F8000u)) == 0x8080); /* to the smallest normal */
  SN_CHECK(sn_bf16_to_f32(0x0001) == from_bits(0x00010000u));
  /* Round trip of every bf16 that is not NaN; and rounding agrees with the
   * nearest of the two neighbouring bf16 values on random floats. */
  int ok = 1;
  for (uint32_t h = 0; h < 0x10000u; h++)
    if ((h & 0x7FFFu) <= 0x7F80u) ok &= sn_f32_to_bf16(sn_bf16_to_f32((uint16_t)h)) == h;
  SN_CHECK(ok);
  for (int i = 0; i < 100000; i++) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    uint32_t u = (uint32_t)(rng_state >> 32);
    if ((u & 0x7F800000u) == 0x7F800000u) continue; /* Inf, NaN: above */
    float f = from_bits(u);
    uint16_t h = sn_f32_to_bf16(f);
    float lo = from_bits(u & 0xFFFF0000u), hi = from_bits((u & 0xFFFF0000u) + 0x10000u);
    double dl = fabs((double)f - lo), dh = fabs((double)f - hi);
    uint16_t want = (uint16_t)(u >> 16);
    if (dh < dl || (dh == dl && (want & 1))) want++;
    ok &= h == want;
  }
  SN_CHECK(ok);
}

/* Inside a task of a parallel region the call runs on the calling thread
 * only, so each task can run its own product with its own scratch. */
typedef struct inside {
  int64_t m, k, n;
  const float *x, *packed, *want;
  _Atomic int bad;
} inside_t;

static void product_in_a_task(void *ctx, size_t tile, int worker) {
  (void)tile, (void)worker;
  inside_t *in = ctx;
  float *got = malloc((size_t)(in->m * in->n) * sizeof(float));
  float *scratch = malloc(sn_gemm_scratch_bytes(in->k, 1));
  sn_gemm_run(in->m, in->k, in->n, in->x, in->packed, NULL, 0, 0, got, scratch);
  if (memcmp(got, in->want, (size_t)(in->m * in->n) * sizeof(float)) != 0) in->bad++;
  free(got), free(scratch);
}

static void test_inside_parallel(void) {
  const int64_t m = 40, k = 64, n = 48;
  float *x = random_floats(m * k, -1, 1), *w = random_floats(n * k, -1, 1);
  float *packed = malloc(sn_gemm_packed_bytes(k, n));
  sn_gemm_pack(k, n, w, packed);
  float *want = malloc((size_t)(m * n) * sizeof(float));
  float *scratch1 =
      malloc(sn_gemm_scratch_bytes(k, sn_threadpool_threads(sn_threadpool_current())));
  sn_gemm_run(m, k, n, x, packed, NULL, 0, 0, want, scratch1);
  inside_t in = {m, k, n, x, packed, want, 0};
  sn_threadpool_run(sn_threadpool_current(), 6, product_in_a_task, &in);
  SN_CHECK(in.bad == 0);
  free(x), free(w), free(packed), free(want), free(scratch1);
}

int main(void) {
  /* Three threads: the parallel paths, with shares that do not divide evenly. */
  sinter_error_t err;
  sn_threadpool_t *pool = NULL;
  if (sn_threadpool_create(3, -1, -1, &pool, &err)) return 1;
  sn_threadpool_set_current(pool);
  SN_RUN(test_bf16_conversion);
  SN_RUN(test_pack_layout);
  SN_RUN(test_pack_layout_bf16);
  SN_RUN(test_odd_shapes);
  SN_RUN(test_k_blocks);
  SN_RUN(test_many_rows);
  SN_RUN(test_inside_parallel);
  for (int bf16 = 0; bf16 <= 1; bf16++)
    for (int isa = SN_ISA_PORTABLE; isa <= sn_cpu_isa_max(); isa++)
      printf("gemm %s %-8s worst error %.3f of tolerance\n", bf16 ? "bf16" : "fp32",
             sn_cpu_isa_name(isa), worst_ratio[bf16][isa]);
  sn_threadpool_set_current(NULL);
  sn_threadpool_destroy(pool);
  return SN_TEST_REPORT();
}
