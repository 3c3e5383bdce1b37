/*
 * target.h — the one description of the CPU target that every kernel choice
 * reads (XNNPACK's hardware-config is the model): the instruction-set level
 * the optimised kernels run at, the feature bits an artifact records, their
 * names, and the compiler's choice of linear kernel for a target.
 *
 * Every kernel in fused.h has three builds of its inner loops: AVX-512
 * (F+BW+DQ+VL), AVX2+FMA and portable C. They are compiled with per-function
 * target attributes, so the library itself needs no -march flag, and chosen at
 * run time from cpuid. The environment variable SINTER_ISA=portable|avx2|avx512
 * (read once, at first use) and sn_cpu_set_isa() can force a lower level, never
 * a higher one than the CPU has, so that tests cover every path on one machine.
 */
#ifndef SN_KERNELS_TARGET_H
#define SN_KERNELS_TARGET_H

#include <stddef.h>
#include <stdint.h>

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
/* AVX-VNNI: vpdpbusd on 256-bit registers (Alder Lake, Sierra Forest, Zen 5),
 * with or without AVX-512. Only the int8 GEMM's run-time path depends on it
 * (packed int8 weights are the same for every path), so no artifact records it. */
int sn_cpu_has_avx_vnni(void);

/* CPU features as bit flags. The values are stored in artifacts: never
 * renumber, only add at the end. */
enum {
  SN_FEATURE_AVX2 = 1u << 0,
  SN_FEATURE_FMA = 1u << 1,
  SN_FEATURE_AVX512F = 1u << 2,
  SN_FEATURE_AVX512BW = 1u << 3,
  SN_FEATURE_AVX512VL = 1u << 4,
  SN_FEATURE_AVX512DQ = 1u << 5,
  SN_FEATURE_AVX512_BF16 = 1u << 6,
  SN_FEATURE_AVX512_VNNI = 1u << 7,
};

/* The instruction sets kernel choices depend on for every dtype (bf16 and
 * VNNI matter only to the kernels that use them). */
#define SN_FEATURE_ISA_MASK                                                      \
  (SN_FEATURE_AVX2 | SN_FEATURE_FMA | SN_FEATURE_AVX512F | SN_FEATURE_AVX512BW | \
   SN_FEATURE_AVX512VL | SN_FEATURE_AVX512DQ)

/* The features of this CPU, as the levels above see them (AVX-512 only when
 * the OS saves its state). Detected once; thread-safe. */
uint64_t sn_target_cpu_features(void);

/* The instruction-set features of a target: `requested` (a --target's set)
 * when non-zero, else this CPU's; masked to SN_FEATURE_ISA_MASK. */
uint64_t sn_target_isa_features(uint64_t requested);

/* Names of the features in `mask` ("avx2 fma ...", "(none)" for 0) into buf. */
void sn_target_features_format(uint64_t mask, char *buf, size_t cap);

/* The fp32 linear kernel (sn_linear_kernel_t, kernels/matmul.h) for a target
 * with `features`: sinter's GEMM unless the target has AVX-512, where
 * oneDNN's kernels are the faster ones. SINTER_GEMM=onednn|sinter in the
 * environment overrides it (A/B measurements); the choice is part of the
 * artifact's content key. */
int sn_target_linear_kernel(uint64_t features);

#endif
