/*
 * target.c — run-time detection of the CPU target (see target.h).
 *
 * Detection runs once, lazily, and is cached in an atomic so kernels can ask on
 * every call. AVX2 needs FMA as well because every AVX2 kernel uses it. AVX-512
 * means F+BW+DQ+VL, the set every AVX-512 CPU since Skylake-SP has (the kernels
 * use F and DQ), so one level covers them all, and only when the OS saves the
 * wide register state (XCR0, checked here explicitly). bf16 and VNNI are read
 * from cpuid directly because older compilers do not know their names. The
 * feature bits artifacts record are derived from these same answers.
 */
#include "kernels/target.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/matmul.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define SN_CPU_X86 1
#else
#define SN_CPU_X86 0
#endif

/* -1 until detected. Relaxed ordering suffices: every racing initialiser
 * computes the same value. */
static atomic_int cpu_max = -1;
static atomic_int cpu_current = -1;

#if SN_CPU_X86
/* XCR0 bits 1, 2 (SSE, AVX) and 5..7 (opmask, upper ZMM halves, ZMM16-31): the
 * OS must save them all before AVX-512 registers may be used. */
static int os_saves_avx512_state(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0; /* OSXSAVE */
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & 0xE6u) == 0xE6u;
}

static int detect_max(void) {
  __builtin_cpu_init();
  if (os_saves_avx512_state() && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl"))
    return SN_ISA_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SN_ISA_AVX2;
  return SN_ISA_PORTABLE;
}
#else
static int detect_max(void) {
  return SN_ISA_PORTABLE;
}
#endif

int sn_cpu_isa_max(void) {
  int m = atomic_load_explicit(&cpu_max, memory_order_relaxed);
  if (m < 0) {
    m = detect_max();
    atomic_store_explicit(&cpu_max, m, memory_order_relaxed);
  }
  return m;
}

int sn_cpu_isa_parse(const char *name, int *out_isa) {
  static const char *const names[] = {"portable", "avx2", "avx512"};
  for (int i = 0; i < 3; i++)
    if (name && strcmp(name, names[i]) == 0) {
      *out_isa = i;
      return 0;
    }
  return -1;
}

int sn_cpu_isa(void) {
  int cur = atomic_load_explicit(&cpu_current, memory_order_relaxed);
  if (cur >= 0) return cur;
  int m = sn_cpu_isa_max(), forced;
  /* An unknown SINTER_ISA value is ignored rather than fatal: kernels still run
   * at the best level, which is what a typo would most likely have meant. */
  cur = sn_cpu_isa_parse(getenv("SINTER_ISA"), &forced) == 0 && forced < m ? forced : m;
  int expected = -1;
  /* A concurrent sn_cpu_set_isa wins over the environment default. */
  if (!atomic_compare_exchange_strong(&cpu_current, &expected, cur)) return expected;
  return cur;
}

void sn_cpu_set_isa(int isa) {
  int m = sn_cpu_isa_max();
  if (isa < SN_ISA_PORTABLE) isa = SN_ISA_PORTABLE;
  if (isa > m) isa = m;
  atomic_store_explicit(&cpu_current, isa, memory_order_relaxed);
}

const char *sn_cpu_isa_name(int isa) {
  switch (isa) {
    case SN_ISA_PORTABLE: return "portable";
    case SN_ISA_AVX2: return "avx2";
    case SN_ISA_AVX512: return "avx512";
    default: return "unknown";
  }
}

#if SN_CPU_X86
/* cpuid leaf 7: sub-leaf 0 ECX bit 11 is AVX512_VNNI; sub-leaf 1 EAX bit 5 is
 * AVX512_BF16. Both also need AVX-512F and the OS-saved state. */
static int leaf7_bit(unsigned sub, int reg, unsigned bit) {
  unsigned r[4];
  if (__get_cpuid_max(0, 0) < 7) return 0;
  __cpuid_count(7, sub, r[0], r[1], r[2], r[3]);
  return (r[reg] >> bit) & 1u;
}

/* Detected once: cpuid exits to the hypervisor on a VM (microseconds), and
 * kernels ask on every call. -1: not yet known. */
static _Atomic int has_bf16 = -1, has_vnni = -1, has_avx_vnni = -1;

int sn_cpu_has_avx512_bf16(void) {
  int v = has_bf16;
  if (v < 0)
    has_bf16 = v =
        sn_cpu_isa_max() == SN_ISA_AVX512 && os_saves_avx512_state() && leaf7_bit(1, 0, 5);
  return v;
}

int sn_cpu_has_avx512_vnni(void) {
  int v = has_vnni;
  if (v < 0)
    has_vnni = v =
        sn_cpu_isa_max() == SN_ISA_AVX512 && os_saves_avx512_state() && leaf7_bit(0, 2, 11);
  return v;
}

int sn_cpu_has_avx_vnni(void) {
  int v = has_avx_vnni;
  if (v < 0) has_avx_vnni = v = sn_cpu_isa_max() >= SN_ISA_AVX2 && leaf7_bit(1, 0, 4);
  return v;
}
#else
int sn_cpu_has_avx512_bf16(void) {
  return 0;
}
int sn_cpu_has_avx512_vnni(void) {
  return 0;
}
int sn_cpu_has_avx_vnni(void) {
  return 0;
}
#endif

uint64_t sn_target_cpu_features(void) {
  int isa = sn_cpu_isa_max();
  uint64_t f = 0;
  if (isa >= SN_ISA_AVX2) f |= SN_FEATURE_AVX2 | SN_FEATURE_FMA;
  if (isa >= SN_ISA_AVX512)
    f |= SN_FEATURE_AVX512F | SN_FEATURE_AVX512BW | SN_FEATURE_AVX512VL | SN_FEATURE_AVX512DQ;
  if (sn_cpu_has_avx512_bf16()) f |= SN_FEATURE_AVX512_BF16;
  if (sn_cpu_has_avx512_vnni()) f |= SN_FEATURE_AVX512_VNNI;
  return f;
}

uint64_t sn_target_isa_features(uint64_t requested) {
  return (requested ? requested : sn_target_cpu_features()) & SN_FEATURE_ISA_MASK;
}

void sn_target_features_format(uint64_t mask, char *buf, size_t cap) {
  static const char *names[] = {"avx2",     "fma",      "avx512f",     "avx512bw",
                                "avx512vl", "avx512dq", "avx512_bf16", "avx512_vnni"};
  size_t n = 0;
  buf[0] = '\0';
  for (int i = 0; i < 8; i++)
    if ((mask >> i) & 1)
      n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", n ? " " : "", names[i]);
  if (!n) snprintf(buf, cap, "(none)");
}

int sn_target_linear_kernel(uint64_t features) {
  const char *force = getenv("SINTER_GEMM");
  if (force && !strcmp(force, "onednn")) return SN_LINEAR_ONEDNN;
  if (force && !strcmp(force, "sinter")) return SN_LINEAR_GEMM;
  return features & SN_FEATURE_AVX512F ? SN_LINEAR_ONEDNN : SN_LINEAR_GEMM;
}
