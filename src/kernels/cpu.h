/*
 * cpu.h — which instruction-set level the optimised kernels run at.
 *
 * Every kernel in fused.h has three builds of its inner loops: AVX-512
 * (F+BW+DQ+VL), AVX2+FMA and portable C. They are compiled with per-function
 * target attributes, so the library itself needs no -march flag, and chosen at
 * run time from cpuid. The environment variable SINTER_ISA=portable|avx2|avx512
 * (read once, at first use) and sn_cpu_set_isa() can force a lower level, never
 * a higher one than the CPU has, so that tests cover every path on one machine.
 */
#ifndef SN_KERNELS_CPU_H
#define SN_KERNELS_CPU_H

/* Instruction-set levels, ordered: a higher level implies the lower ones. */
typedef enum sn_isa {
  SN_ISA_PORTABLE = 0, /* plain C, any CPU */
  SN_ISA_AVX2 = 1,     /* AVX2 + FMA (Haswell, Zen 1 and later) */
  SN_ISA_AVX512 = 2,   /* AVX-512 F, BW, DQ and VL (Skylake-SP, Zen 4 and later) */
} sn_isa_t;

/* The level kernels use now: the CPU's best unless lowered by SINTER_ISA or
 * sn_cpu_set_isa. Cheap (one atomic load after the first call); thread-safe. */
int sn_cpu_isa(void);

/* The best level this CPU (and its OS, for AVX-512 register state) supports. */
int sn_cpu_isa_max(void);

/* Sets the level kernels use, clamped to [SN_ISA_PORTABLE, sn_cpu_isa_max()].
 * Meant for tests and benchmarks; a kernel already running keeps the level it
 * started with. Thread-safe, but racing callers get whichever store lands last. */
void sn_cpu_set_isa(int isa);

/* A short constant name for a level ("portable", "avx2", "avx512"); "unknown"
 * for values outside the enum. Never NULL. */
const char *sn_cpu_isa_name(int isa);

/* Parses a level name as SINTER_ISA takes it; returns 0 on success, -1 when
 * the name is unknown. */
int sn_cpu_isa_parse(const char *name, int *out_isa);

/* CPU features the compiler records in artifacts (kernel choices that depend on
 * them: bf16 dot products, int8 VNNI). 1 when present and usable, else 0. */
int sn_cpu_has_avx512_bf16(void);
int sn_cpu_has_avx512_vnni(void);

#endif
