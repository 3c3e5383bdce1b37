/* peak.c — register-only FMA loops that measure the fp32 peak. Ten
 * independent accumulators hide the FMA latency on current x86 cores. */
#include "kernels/peak.h"

#include <immintrin.h>
#include <omp.h>
#include <time.h>

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

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

double sn_peak_fp32_gflops(int threads, double seconds, const char **isa_name) {
  __builtin_cpu_init();
  int lanes = __builtin_cpu_supports("avx512f")                                 ? 16
              : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 8
                                                                                : 1;
  if (isa_name) *isa_name = lanes == 16 ? "avx512" : lanes == 8 ? "avx2+fma" : "scalar";
  if (threads <= 0) threads = omp_get_num_procs();
  /* Calibrate one round, then run enough rounds for `seconds`. */
  long rounds = 1;
  volatile float sink = 0;
  double t0 = now_seconds();
  sink += lanes == 16 ? loop_avx512(1) : lanes == 8 ? loop_avx2(1) : loop_scalar(1);
  double one = now_seconds() - t0;
  rounds = one > 0 ? (long)(seconds / one) + 1 : 1;
  t0 = now_seconds();
#pragma omp parallel num_threads(threads)
  {
    float v = lanes == 16  ? loop_avx512(rounds)
              : lanes == 8 ? loop_avx2(rounds)
                           : loop_scalar(rounds);
#pragma omp atomic
    sink += v;
  }
  double dt = now_seconds() - t0;
  (void)sink;
  return 2.0 * 10.0 * lanes * (double)ITERS * (double)rounds * threads / dt / 1e9;
}
