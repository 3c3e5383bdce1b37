/*
 * test_target.c — the CPU target (kernels/target.h): feature names, the ISA
 * mask of a requested target, the fp32 linear-kernel choice (and its
 * SINTER_GEMM override), and that the feature bits agree with the ISA levels
 * and the bf16/VNNI queries, so one detection answers every kernel choice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/matmul.h"
#include "kernels/target.h"
#include "test.h"

static void test_features_format(void) {
  char buf[128];
  sn_target_features_format(0, buf, sizeof buf);
  SN_CHECK(strcmp(buf, "(none)") == 0);
  sn_target_features_format(SN_FEATURE_AVX2 | SN_FEATURE_FMA | SN_FEATURE_AVX512_VNNI, buf,
                            sizeof buf);
  SN_CHECK_MSG(strcmp(buf, "avx2 fma avx512_vnni") == 0, "got \"%s\"", buf);
  sn_target_features_format(0xFF, buf, sizeof buf);
  SN_CHECK_MSG(
      strcmp(buf, "avx2 fma avx512f avx512bw avx512vl avx512dq avx512_bf16 avx512_vnni") == 0,
      "got \"%s\"", buf);
  /* A short buffer truncates, still terminated. */
  char small[8];
  sn_target_features_format(0xFF, small, sizeof small);
  SN_CHECK(strlen(small) < sizeof small && strncmp(small, "avx2 fm", 7) == 0);
}

static void test_feature_values(void) {
  /* Stored in artifacts: the values must never change. */
  SN_CHECK(SN_FEATURE_AVX2 == 1u << 0 && SN_FEATURE_FMA == 1u << 1);
  SN_CHECK(SN_FEATURE_AVX512F == 1u << 2 && SN_FEATURE_AVX512BW == 1u << 3);
  SN_CHECK(SN_FEATURE_AVX512VL == 1u << 4 && SN_FEATURE_AVX512DQ == 1u << 5);
  SN_CHECK(SN_FEATURE_AVX512_BF16 == 1u << 6 && SN_FEATURE_AVX512_VNNI == 1u << 7);
  SN_CHECK(SN_FEATURE_ISA_MASK == 0x3Fu);
}

static void test_isa_features(void) {
  uint64_t all = 0xFF;
  SN_CHECK(sn_target_isa_features(all) == SN_FEATURE_ISA_MASK);
  SN_CHECK(sn_target_isa_features(SN_FEATURE_AVX2 | SN_FEATURE_AVX512_BF16) == SN_FEATURE_AVX2);
  /* Only the bf16/VNNI bits requested: non-zero, so not this CPU's set. */
  SN_CHECK(sn_target_isa_features(SN_FEATURE_AVX512_VNNI) == 0);
  SN_CHECK(sn_target_isa_features(0) == (sn_target_cpu_features() & SN_FEATURE_ISA_MASK));
}

static void test_linear_kernel(void) {
  uint64_t avx2 = SN_FEATURE_AVX2 | SN_FEATURE_FMA;
  uint64_t avx512 =
      avx2 | SN_FEATURE_AVX512F | SN_FEATURE_AVX512BW | SN_FEATURE_AVX512VL | SN_FEATURE_AVX512DQ;
  unsetenv("SINTER_GEMM");
  SN_CHECK(sn_target_linear_kernel(avx2) == SN_LINEAR_GEMM);
  SN_CHECK(sn_target_linear_kernel(0) == SN_LINEAR_GEMM);
  SN_CHECK(sn_target_linear_kernel(avx512) == SN_LINEAR_ONEDNN);
  SN_CHECK(sn_target_linear_kernel(SN_FEATURE_AVX512F) == SN_LINEAR_ONEDNN);
  setenv("SINTER_GEMM", "onednn", 1);
  SN_CHECK(sn_target_linear_kernel(avx2) == SN_LINEAR_ONEDNN);
  setenv("SINTER_GEMM", "sinter", 1);
  SN_CHECK(sn_target_linear_kernel(avx512) == SN_LINEAR_GEMM);
  setenv("SINTER_GEMM", "bogus", 1); /* unknown: the target decides */
  SN_CHECK(sn_target_linear_kernel(avx2) == SN_LINEAR_GEMM);
  SN_CHECK(sn_target_linear_kernel(avx512) == SN_LINEAR_ONEDNN);
  unsetenv("SINTER_GEMM");
}

static void test_cpu_features_agree(void) {
  uint64_t f = sn_target_cpu_features();
  int max = sn_cpu_isa_max();
  uint64_t avx2 = SN_FEATURE_AVX2 | SN_FEATURE_FMA;
  uint64_t avx512 =
      SN_FEATURE_AVX512F | SN_FEATURE_AVX512BW | SN_FEATURE_AVX512VL | SN_FEATURE_AVX512DQ;
  SN_CHECK(f == sn_target_cpu_features()); /* cached, stable */
  SN_CHECK((f & ~(uint64_t)0xFF) == 0);
  SN_CHECK_MSG(
      ((f & avx2) == avx2) == (max >= SN_ISA_AVX2) && ((f & avx2) == 0 || (f & avx2) == avx2),
      "features %#llx, level %s", (unsigned long long)f, sn_cpu_isa_name(max));
  SN_CHECK_MSG(((f & avx512) == avx512) == (max == SN_ISA_AVX512) &&
                   ((f & avx512) == 0 || (f & avx512) == avx512),
               "features %#llx, level %s", (unsigned long long)f, sn_cpu_isa_name(max));
  SN_CHECK(!!(f & SN_FEATURE_AVX512_BF16) == sn_cpu_has_avx512_bf16());
  SN_CHECK(!!(f & SN_FEATURE_AVX512_VNNI) == sn_cpu_has_avx512_vnni());
  if (max < SN_ISA_AVX512) SN_CHECK((f & (SN_FEATURE_AVX512_BF16 | SN_FEATURE_AVX512_VNNI)) == 0);
  /* Lowering the kernels' level does not change what the CPU has. */
  int cur = sn_cpu_isa();
  sn_cpu_set_isa(SN_ISA_PORTABLE);
  SN_CHECK(sn_target_cpu_features() == f && sn_cpu_isa_max() == max);
  sn_cpu_set_isa(cur);
  SN_CHECK(sn_cpu_isa() == cur);
  char buf[128];
  sn_target_features_format(f, buf, sizeof buf);
  printf("cpu features: %s (level %s)\n", buf, sn_cpu_isa_name(max));
}

int main(void) {
  SN_RUN(test_features_format);
  SN_RUN(test_feature_values);
  SN_RUN(test_isa_features);
  SN_RUN(test_linear_kernel);
  SN_RUN(test_cpu_features_agree);
  return SN_TEST_REPORT();
}
