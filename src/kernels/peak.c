/* peak.c — register-only loops that measure the arithmetic peaks: fp32 FMA,
 * int8 dot products (VNNI vpdpbusd, or AVX2's vpmaddubsw + vpmaddwd + vpaddd
 * sequence) and bf16 dot products (vdpbf16ps). Ten independent accumulators
 * hide the instruction latency on current x86 cores. */
#include "kernels/peak.h"

#include <immintrin.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/time.h"
#include "kernels/gemm_int8.h"
#include "kernels/target.h"

#define ITERS 100000

__attribute__((target("avx512f"))) static float loop_avx512(long rounds) {
  __m512 a[10], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < 10; i++) a[i] = _mm512_set1_ps((float)i);
  for (long r = 0; r < rounds * ITERS; r++)
    for (int i = 0; i < 10; i++) a[i] = _mm512_fmadd_ps(a[i], m, c);
  __m512 s = a[0];
  for (int i = 1; i < 10; i++) s = _mm512_add_ps(s, a[i]);
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static float loop_avx2(long rounds) {
  __m256 a[10], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < 10; i++) a[i] = _mm256_set1_ps((float)i);
  for (long r = 0; r < rounds * ITERS; r++)
    for (int i = 0; i < 10; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
  __m256 s = a[0];
  for (int i = 1; i < 10; i++) s = _mm256_add_ps(s, a[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[7];
}

static float loop_scalar(long rounds) {
  float a[10];
  for (int i = 0; i < 10; i++) a[i] = (float)i;
  for (long r = 0; r < rounds * ITERS; r++)
    for (int i = 0; i < 10; i++) a[i] = a[i] * 0.999999f + 1e-7f;
  return a[0] + a[9];
}

/* int8: u8 x s8 products summed into s32, as an int8 GEMM's inner loop does.
 * The inputs come from a volatile so the compiler cannot fold the loop. */
static volatile int int8_seed = 0x01020304;

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static float int8_vnni(long rounds) {
  __m512i a[10], u = _mm512_set1_epi32(int8_seed), w = _mm512_set1_epi32(int8_seed >> 1);
  for (int i = 0; i < 10; i++) a[i] = _mm512_set1_epi32(i);
  for (long r = 0; r < rounds * ITERS; r++)
    for (int i = 0; i < 10; i++) a[i] = _mm512_dpbusd_epi32(a[i], u, w);
  __m512i s = a[0];
  for (int i = 1; i < 10; i++) s = _mm512_add_epi32(s, a[i]);
  return (float)_mm512_reduce_add_epi32(s);
}

/* vpmaddubsw + vpmaddwd (by ones) + vpaddd, the pre-VNNI int8 step, on 10
 * named accumulators. Before each product an empty asm "changes" u, so the
 * compiler can neither hoist the products out of the loop nor share one
 * between accumulators (it did both: the loop timed only the adds, and
 * reported 3x the real rate). */
#define SN_PEAK_MADD_STEP(V, MADDUBS, MADD, ADD, acc) \
  do {                                                \
    __asm__ volatile("" : "+" V(u));                  \
    acc = ADD(acc, MADD(MADDUBS(u, w), one));         \
  } while (0)
#define SN_PEAK_MADD_LOOP(V, MADDUBS, MADD, ADD)  \
  for (long r = 0; r < rounds * ITERS; r++) {     \
    SN_PEAK_MADD_STEP(V, MADDUBS, MADD, ADD, a0); \
    SN_PEAK_MADD_STEP(V, MADDUBS, MADD, ADD, a1); \
    SN_PEAK_MADD_STEP(V, MADDUBS, MADD, ADD, a2); \
    SN_PEAK_MADD_STEP(V, MADDUBS, MADD, ADD, a3); \
    SN_PEAK_MADD_STEP(V, MADDUBS, MADD, ADD, a4); \
    SN_PEAK_MADD_STEP(V, MADDUBS, MADD, ADD, a5); \
    SN_PEAK_MADD_STEP(V, MADDUBS, MADD, ADD, a6); \
    SN_PEAK_MADD_STEP(V, MADDUBS, MADD, ADD, a7); \
    SN_PEAK_MADD_STEP(V, MADDUBS, MADD, ADD, a8); \
    SN_PEAK_MADD_STEP(V, MADDUBS, MADD, ADD, a9); \
  }

__attribute__((target("avx2"))) static float int8_avx2(long rounds) {
  __m256i u = _mm256_set1_epi32(int8_seed), w = _mm256_set1_epi32(int8_seed >> 1),
          one = _mm256_set1_epi16(1);
  __m256i a0 = _mm256_set1_epi32(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0,
          a8 = a0, a9 = a0;
  SN_PEAK_MADD_LOOP("x", _mm256_maddubs_epi16, _mm256_madd_epi16, _mm256_add_epi32)
  __m256i s = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3)),
                               _mm256_add_epi32(_mm256_add_epi32(a4, a5), a6));
  s = _mm256_add_epi32(s, _mm256_add_epi32(_mm256_add_epi32(a7, a8), a9));
  return (float)_mm256_extract_epi32(s, 0);
}
#undef SN_PEAK_MADD_LOOP
#undef SN_PEAK_MADD_STEP

__attribute__((target("avx2,avxvnni"))) static float int8_avxvnni(long rounds) {
  __m256i a[10], u = _mm256_set1_epi32(int8_seed), w = _mm256_set1_epi32(int8_seed >> 1);
  for (int i = 0; i < 10; i++) a[i] = _mm256_set1_epi32(i);
  for (long r = 0; r < rounds * ITERS; r++)
    for (int i = 0; i < 10; i++) a[i] = _mm256_dpbusd_avx_epi32(a[i], u, w);
  __m256i s = a[0];
  for (int i = 1; i < 10; i++) s = _mm256_add_epi32(s, a[i]);
  return (float)_mm256_extract_epi32(s, 0);
}

static float int8_scalar(long rounds) {
  int a[10];
  for (int i = 0; i < 10; i++) a[i] = i;
  const int u = int8_seed & 0x7f, w = int8_seed >> 24;
  for (long r = 0; r < rounds * ITERS; r++)
    for (int i = 0; i < 10; i++) a[i] += u * w;
  return (float)(a[0] + a[9]);
}

/* bf16: vdpbf16ps, two bf16 products per fp32 lane per instruction. */
__attribute__((target("avx512f,avx512bf16"))) static float bf16_avx512(long rounds) {
  __m512 a[10];
  __m512i bits = _mm512_set1_epi32(0x3f7f3f7f); /* two bf16 values just under 1 */
  __m512bh x = (__m512bh)bits;
  for (int i = 0; i < 10; i++) a[i] = _mm512_set1_ps((float)i * 1e-3f);
  for (long r = 0; r < rounds * ITERS; r++)
    for (int i = 0; i < 10; i++) a[i] = _mm512_dpbf16_ps(a[i], x, x);
  __m512 s = a[0];
  for (int i = 1; i < 10; i++) s = _mm512_add_ps(s, a[i]);
  return _mm512_reduce_add_ps(s);
}

/* One thread of a peak measurement. */
typedef struct peak_job {
  float (*loop)(long);
  long rounds;
  float result;
} peak_job_t;

static void *peak_thread(void *p) {
  peak_job_t *j = p;
  j->result = j->loop(j->rounds);
  return NULL;
}

#define PEAK_MAX_THREADS 256

/* Runs `loop` on `threads` threads for about `seconds` (one round calibrated
 * first) and returns operations per second / 1e9, `ops_per_round` counting
 * one thread's round. Plain pthreads: the measurement must not depend on a
 * pool's or OpenMP's wake-up. */
static double run_peak(float (*loop)(long), double ops_per_round, int threads, double seconds) {
  if (threads <= 0) threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (threads <= 0) threads = 1;
  if (threads > PEAK_MAX_THREADS) threads = PEAK_MAX_THREADS;
  volatile float sink = 0;
  double t0 = sn_time_now();
  sink += loop(1);
  double one = sn_time_now() - t0;
  long rounds = one > 0 ? (long)(seconds / one) + 1 : 1;
  peak_job_t jobs[PEAK_MAX_THREADS];
  pthread_t tid[PEAK_MAX_THREADS];
  int started = 0;
  t0 = sn_time_now();
  for (int t = 1; t < threads; t++) {
    jobs[t] = (peak_job_t){loop, rounds, 0.0f};
    if (pthread_create(&tid[t], NULL, peak_thread, &jobs[t]) != 0) break;
    started++;
  }
  jobs[0] = (peak_job_t){loop, rounds, 0.0f};
  peak_thread(&jobs[0]);
  for (int t = 1; t <= started; t++) pthread_join(tid[t], NULL);
  double dt = sn_time_now() - t0;
  for (int t = 0; t <= started; t++) sink += jobs[t].result;
  (void)sink;
  return ops_per_round * (double)rounds * (started + 1) / dt / 1e9;
}

double sn_peak_fp32_gflops(int threads, double seconds, const char **isa_name) {
  int isa = sn_cpu_isa_max();
  int lanes = isa >= SN_ISA_AVX512 ? 16 : isa >= SN_ISA_AVX2 ? 8 : 1;
  if (isa_name) *isa_name = lanes == 16 ? "avx512" : lanes == 8 ? "avx2+fma" : "scalar";
  float (*loop)(long) = lanes == 16 ? loop_avx512 : lanes == 8 ? loop_avx2 : loop_scalar;
  /* one FMA = 2 flops per lane, 10 accumulators */
  return run_peak(loop, 2.0 * 10.0 * lanes * ITERS, threads, seconds);
}

double sn_peak_int8_gops(int threads, double seconds, const char **isa_name) {
  float (*loop)(long) = int8_scalar;
  int macs = 1; /* u8 x s8 multiply-adds per accumulator step */
  const char *name = "scalar";
  /* The instructions the int8 GEMM runs now (SINTER_ISA and SINTER_INT8_PATH
   * can change them), so that its share of the peak is a share of its own. */
  const char *path = sn_gemm_i8_path();
  if (!strcmp(path, "avx512-vnni")) {
    loop = int8_vnni, macs = 64, name = "avx512-vnni";
  } else if (!strcmp(path, "avx2-vnni")) {
    loop = int8_avxvnni, macs = 32, name = "avx-vnni";
  } else if (!strcmp(path, "avx2-sign")) { /* 256-bit on every CPU */
    loop = int8_avx2, macs = 32, name = "avx2";
  }
  if (isa_name) *isa_name = name;
  return run_peak(loop, 2.0 * 10.0 * macs * ITERS, threads, seconds);
}

double sn_peak_bf16_gflops(int threads, double seconds, const char **isa_name) {
  if (!sn_cpu_has_avx512_bf16()) {
    if (isa_name) *isa_name = "this CPU has no AVX512_BF16";
    return 0;
  }
  if (isa_name) *isa_name = "avx512-bf16";
  /* 16 lanes x 2 products x 2 flops per instruction */
  return run_peak(bf16_avx512, 2.0 * 10.0 * 32 * ITERS, threads, seconds);
}
