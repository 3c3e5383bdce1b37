/*
 * test_gemm_int8.c — the exact int8 GEMM (gemm_int8.h) on every path this
 * CPU has (portable, AVX2 with the sign trick, AVX-VNNI, AVX-512 VNNI), forced
 * in turn with sn_gemm_i8_set_path.
 *
 * Exactness: with integer activations and weights whose rows reach +-127,
 * both scales are exactly 1, so every output must equal the int64 sum
 * (converted to float) bit for bit; shapes M in {1, 7, 129, 1024} and K, N
 * not multiples of the tiles (K = 1, 3, 17, 383, 1000, 3072; N = 1, 15, 17,
 * 100, 770). Edge values: every operand +-127 (the case where an unsigned
 * vpmaddubsw of biased activations would saturate: 2 x 255 x 127 > 32767),
 * all-zero rows, one outlier. Real-valued inputs are checked against a double
 * reference built from the quantised operands the kernel reports, and the
 * quantisation itself against its definition. A row's outputs must not
 * depend on its batch, the thread count or the path (bitwise, without an
 * activation). Guards after out catch stray writes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm_int8.h"
#include "kernels/target.h"
#include "kernels/threadpool.h"
#include "test.h"

static uint64_t rng_state = 0x243F6A8885A308D3ull;

static uint32_t next_u32(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 32);
}

static float uniform(float lo, float hi) {
  return lo + (hi - lo) * (float)((next_u32() >> 8) * (1.0 / 16777216.0));
}

/* An integer in [-127, 127]. */
static float int127(void) {
  return (float)((int)(next_u32() % 255) - 127);
}

#define GUARD 16
#define GUARD_VALUE 12345.0f

typedef struct run_args {
  int64_t m, k, n;
  const float *x, *packed_f;
  const void *packed;
  const float *bias;
  int act, residual;
} run_args_t;

/* Runs the GEMM into a fresh buffer (initialised from `init` when residual)
 * with guards; returns it (m * n floats) or NULL when a guard was hit. */
static float *run_gemm(int64_t m, int64_t k, int64_t n, const float *x, const void *packed,
                       const float *bias, int act, const float *init) {
  size_t cells = (size_t)(m * n);
  float *out = malloc((cells + GUARD) * sizeof(float));
  for (size_t i = 0; i < cells; i++) out[i] = init ? init[i] : NAN;
  for (int g = 0; g < GUARD; g++) out[cells + g] = GUARD_VALUE;
  void *scratch = aligned_alloc(
      64, sn_gemm_i8_scratch_bytes(k, sn_threadpool_threads(sn_threadpool_current())));
  sn_gemm_i8_run(m, k, n, x, packed, bias, act, init != NULL, out, scratch);
  free(scratch);
  for (int g = 0; g < GUARD; g++)
    if (out[cells + g] != GUARD_VALUE) {
      SN_CHECK_MSG(0, "write past out (m=%lld k=%lld n=%lld)", (long long)m, (long long)k,
                   (long long)n);
      free(out);
      return NULL;
    }
  return out;
}

static void *pack(int64_t k, int64_t n, const float *w, int num_outliers, const int32_t *outliers) {
  size_t bytes = sn_gemm_i8_packed_bytes(k, n);
  void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
  sn_gemm_i8_pack(k, n, w, num_outliers, outliers, p);
  return p;
}

/* Integer operands whose rows all reach +-127 (so both scales are 1). */
static void integer_operands(int64_t m, int64_t k, int64_t n, float *x, float *w, int edge) {
  for (int64_t i = 0; i < m * k; i++)
    x[i] = edge ? ((next_u32() & 1) ? 127.0f : -127.0f) : int127();
  for (int64_t i = 0; i < n * k; i++)
    w[i] = edge ? ((next_u32() & 1) ? 127.0f : -127.0f) : int127();
  for (int64_t r = 0; r < m; r++) x[r * k + next_u32() % k] = (next_u32() & 1) ? 127.0f : -127.0f;
  for (int64_t c = 0; c < n; c++) w[c * k + next_u32() % k] = (next_u32() & 1) ? 127.0f : -127.0f;
}

/* The paths this CPU can run, slowest first (portable, then the vector ones). */
static int levels(const char **out) {
  static const char *const all[] = {"portable", "avx2-sign", "avx2-vnni", "avx512-vnni"};
  int count = 0;
  for (int i = 0; i < 4; i++)
    if (sn_gemm_i8_path_available(all[i])) out[count++] = all[i];
  return count;
}

static void use_path(const char *name) {
  SN_CHECK(sn_gemm_i8_set_path(name) == 0);
}

static int is_portable(const char *name) {
  return !strcmp(name, "portable");
}

/* Every output equals the exact integer sum, on every path. */
static void check_exact(int64_t m, int64_t k, int64_t n, int edge) {
  float *x = malloc((size_t)(m * k) * sizeof(float)), *w = malloc((size_t)(n * k) * sizeof(float));
  integer_operands(m, k, n, x, w, edge);
  void *packed = pack(k, n, w, 0, NULL);
  const char *isas[4];
  int count = levels(isas);
  for (int l = 0; l < count; l++) {
    use_path(isas[l]);
    /* The portable path is slow: it runs the large shapes on a few rows. */
    int64_t rows = is_portable(isas[l]) && m * n * k > 50000000 ? 3 : m;
    float *out = run_gemm(rows, k, n, x, packed, NULL, 0, NULL);
    if (!out) continue;
    int64_t bad = 0;
    for (int64_t r = 0; r < rows && bad < 3; r++)
      for (int64_t c = 0; c < n && bad < 3; c++) {
        int64_t want = 0;
        for (int64_t kk = 0; kk < k; kk++) want += (int64_t)x[r * k + kk] * (int64_t)w[c * k + kk];
        if (out[r * n + c] != (float)want) {
          bad++;
          SN_CHECK_MSG(0, "%s m=%lld k=%lld n=%lld edge=%d [%lld,%lld]: %.1f, want %lld",
                       sn_gemm_i8_path(), (long long)m, (long long)k, (long long)n, edge,
                       (long long)r, (long long)c, out[r * n + c], (long long)want);
        }
      }
    free(out);
  }
  use_path("auto");
  free(x), free(w), free(packed);
}

static void test_exact_sums(void) {
  static const int64_t ms[] = {1, 7, 129};
  static const int64_t ks[] = {1, 3, 17, 383, 1000};
  static const int64_t ns[] = {1, 15, 17, 100};
  for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
    for (size_t b = 0; b < sizeof ks / sizeof *ks; b++)
      for (size_t c = 0; c < sizeof ns / sizeof *ns; c++) check_exact(ms[a], ks[b], ns[c], 0);
  check_exact(1024, 383, 770, 0);
  check_exact(16, 3072, 770, 0); /* K = 3072: sums beyond 2^24, and the widest A row */
}

static void test_edge_values(void) {
  check_exact(7, 384, 33, 1); /* all +-127 */
  check_exact(129, 1000, 17, 1);
  /* All-zero rows and columns: output exactly the bias (0 without). */
  int64_t m = 5, k = 40, n = 20;
  float *x = calloc((size_t)(m * k), sizeof(float)), *w = malloc((size_t)(n * k) * sizeof(float));
  float bias[20];
  for (int64_t i = 0; i < n * k; i++) w[i] = uniform(-1, 1);
  for (int64_t i = 0; i < k; i++) w[3 * k + i] = 0;              /* channel 3 all zero */
  for (int64_t i = 0; i < k; i++) x[2 * k + i] = uniform(-1, 1); /* only row 2 non-zero */
  for (int i = 0; i < 20; i++) bias[i] = (float)i - 7.5f;
  void *packed = pack(k, n, w, 0, NULL);
  const char *isas[4];
  int count = levels(isas);
  for (int l = 0; l < count; l++) {
    use_path(isas[l]);
    float *out = run_gemm(m, k, n, x, packed, bias, 0, NULL);
    if (!out) continue;
    for (int64_t r = 0; r < m; r++)
      for (int64_t c = 0; c < n; c++)
        if (r != 2 || c == 3)
          SN_CHECK_MSG(out[r * n + c] == bias[c], "%s zero row/channel [%lld,%lld]: %g",
                       sn_gemm_i8_path(), (long long)r, (long long)c, out[r * n + c]);
    free(out);
  }
  use_path("auto");
  free(x), free(w), free(packed);
}

/* Double reference on the quantised operands the kernel reports, plus the
 * outlier channels' products on the fp32 weights w. */
static void reference(int64_t m, int64_t k, int64_t n, const float *x, const float *w,
                      const void *packed, const float *bias, int act, const float *init,
                      double *want) {
  const int8_t *qw;
  const float *sw;
  const int32_t *slots;
  sn_gemm_i8_parts(k, n, packed, &qw, &sw, NULL, NULL, &slots);
  int64_t kp = (k + 3) / 4 * 4;
  int8_t *q = malloc((size_t)kp);
  for (int64_t r = 0; r < m; r++) {
    float sx = sn_gemm_i8_quantize_row(k, n, packed, x + r * k, q);
    for (int64_t c = 0; c < n; c++) {
      int64_t acc = 0;
      for (int64_t kk = 0; kk < k; kk++)
        acc += (int64_t)q[kk] * qw[(c / 16) * kp * 16 + kk / 4 * 64 + 4 * (c % 16) + kk % 4];
      double v = (double)acc * sx * sw[c] + (bias ? bias[c] : 0);
      for (int o = 0; o < SN_GEMM_I8_OUTLIERS; o++)
        if (slots[o] >= 0 && slots[o] < k) v += (double)x[r * k + slots[o]] * w[c * k + slots[o]];
      if (act == 1) v = 0.5 * v * (1 + erf(v / sqrt(2.0)));
      if (act == 4) v = tanh(v);
      want[r * n + c] = v + (init ? init[r * n + c] : 0);
    }
  }
  free(q);
}

/* Real values, one huge activation, with and without outlier channels (the
 * huge one among them, 5 slots of 8 used), and with slots corrupted as an
 * untrusted artifact could, against the double reference. */
static void test_real_values_and_outlier(void) {
  int64_t m = 37, k = 300, n = 45;
  float *x = malloc((size_t)(m * k) * sizeof(float)), *w = malloc((size_t)(n * k) * sizeof(float));
  float *init = malloc((size_t)(m * n) * sizeof(float)), bias[45];
  static const int32_t outliers[5] = {17, 0, 299, 64, 3};
  for (int64_t i = 0; i < m * k; i++) x[i] = uniform(-2, 2);
  for (int64_t i = 0; i < n * k; i++) w[i] = uniform(-0.1f, 0.1f);
  for (int64_t i = 0; i < m * n; i++) init[i] = uniform(-1, 1);
  for (int i = 0; i < 45; i++) bias[i] = uniform(-1, 1);
  x[5 * k + 17] = 1000.0f; /* an outlier: alone, row 5 keeps little precision */
  double *want = malloc((size_t)(m * n) * sizeof(double));
  for (int s = 0; s < 3; s++) {
    void *packed = pack(k, n, w, s ? 5 : 0, outliers);
    if (s == 2) { /* an untrusted artifact's slots: outside [0, k) they are skipped, never read */
      int32_t *slots;
      sn_gemm_i8_parts(k, n, packed, NULL, NULL, NULL, NULL, (const int32_t **)&slots);
      slots[0] = 1 << 30, slots[1] = -7, slots[2] = (int32_t)k;
    }
    /* The quantisation follows its definition; outlier channels quantise to 0. */
    int8_t q[300];
    float sx = sn_gemm_i8_quantize_row(k, n, packed, x + 5 * k, q);
    const float *c;
    sn_gemm_i8_parts(k, n, packed, NULL, NULL, NULL, &c, NULL);
    float amax = 0;
    for (int64_t kk = 0; kk < k; kk++) amax = fmaxf(amax, fabsf(x[5 * k + kk] * c[kk]));
    SN_CHECK(sx == amax / 127.0f);
    SN_CHECK(s ? q[17] == 0 && amax < 3 : q[17] == 127);
    if (s == 2) SN_CHECK(c[0] == 0 && c[299] == 0); /* the mask stays: those channels drop out */
    for (int act = 0; act <= 4; act += act == 1 ? 3 : 1) /* none, GELU (erf), tanh */
      for (int res = 0; res < 2; res++) {
        reference(m, k, n, x, w, packed, bias, act, res ? init : NULL, want);
        const char *isas[4];
        int count = levels(isas);
        for (int l = 0; l < count; l++) {
          use_path(isas[l]);
          float *out = run_gemm(m, k, n, x, packed, bias, act, res ? init : NULL);
          if (!out) continue;
          for (int64_t i = 0; i < m * n; i++)
            if (fabs(out[i] - want[i]) > 1e-5 * (1 + fabs(want[i]))) {
              SN_CHECK_MSG(0, "%s outliers=%d act=%d res=%d [%lld]: %g, want %g", sn_gemm_i8_path(),
                           s, act, res, (long long)i, out[i], want[i]);
              break;
            }
          free(out);
        }
        use_path("auto");
      }
    free(packed);
  }
  free(x), free(w), free(init), free(want);
}

/* A row's outputs do not depend on the batch, the threads or the path. */
static void test_batch_independent(void) {
  int64_t m = 1024, k = 384, n = 1152;
  float *x = malloc((size_t)(m * k) * sizeof(float)), *w = malloc((size_t)(n * k) * sizeof(float));
  float *bias = malloc((size_t)n * sizeof(float));
  for (int64_t i = 0; i < m * k; i++) x[i] = uniform(-3, 3);
  for (int64_t i = 0; i < n * k; i++) w[i] = uniform(-0.2f, 0.2f);
  for (int64_t i = 0; i < n; i++) bias[i] = uniform(-1, 1);
  void *packed = pack(k, n, w, 0, NULL);
  const char *isas[4];
  int count = levels(isas);
  sn_threadpool_t *pool = sn_threadpool_current();
  float *first = NULL;
  for (int l = count - 1; l >= 0; l--) {
    use_path(isas[l]);
    int64_t rows = is_portable(isas[l]) ? 20 : m;
    for (int act = 0; act <= 1; act++) {
      float *all = run_gemm(rows, k, n, x, packed, bias, act, NULL);
      sn_threadpool_set_current(NULL); /* one thread */
      for (int64_t r = 0; r < rows && all; r += 7) {
        float *one = run_gemm(1, k, n, x + r * k, packed, bias, act, NULL);
        if (one && memcmp(one, all + r * n, (size_t)n * sizeof(float)) != 0)
          SN_CHECK_MSG(0, "%s act=%d: row %lld differs alone and in a batch of %lld",
                       sn_gemm_i8_path(), act, (long long)r, (long long)rows);
        free(one);
      }
      sn_threadpool_set_current(pool);
      if (act == 0 && all) {
        if (!first)
          first = all, all = NULL;
        else if (memcmp(first, all, (size_t)(rows * n) * sizeof(float)) != 0)
          SN_CHECK_MSG(0, "%s differs from the %s path", sn_gemm_i8_path(), "fastest");
      }
      free(all);
    }
  }
  use_path("auto");
  free(first), free(x), free(w), free(bias), free(packed);
}

static void test_sizes(void) {
  SN_CHECK(sn_gemm_i8_packed_bytes(0, 4) == 0);
  SN_CHECK(sn_gemm_i8_packed_bytes(SN_GEMM_I8_MAX_K + 1, 4) == 0);
  SN_CHECK(sn_gemm_i8_scratch_bytes(SN_GEMM_I8_MAX_K + 1, 2) == 0);
  /* 384 x 1152: 72 panels of 384 x 16 bytes, 72 x 16 scales and sums, 384 factors. */
  SN_CHECK(sn_gemm_i8_packed_bytes(384, 1152) ==
           72 * 384 * 16 + 72 * 16 * 8 + 384 * 4 + 64 + 8 * 1152 * 4);
  printf("int8 path here: %s\n", sn_gemm_i8_path());
  SN_CHECK(sn_gemm_i8_set_path("no-such-path") == -1);
  SN_CHECK(sn_gemm_i8_path_available("portable") && !sn_gemm_i8_path_available("x"));
}

int main(void) {
  /* Three threads: the parallel paths, with shares that do not divide evenly. */
  sinter_error_t err;
  sn_threadpool_t *pool = NULL;
  if (sn_threadpool_create(3, -1, -1, &pool, &err)) return 1;
  sn_threadpool_set_current(pool);
  SN_RUN(test_sizes);
  SN_RUN(test_exact_sums);
  SN_RUN(test_edge_values);
  SN_RUN(test_real_values_and_outlier);
  SN_RUN(test_batch_independent);
  sn_threadpool_set_current(NULL);
  sn_threadpool_destroy(pool);
  return SN_TEST_REPORT();
}
