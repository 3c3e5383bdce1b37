/*
 * peak.h — the machine's arithmetic peaks (fp32, int8, bf16), measured with
 * register-only loops (no memory traffic), for reporting achieved GFLOP/s as
 * a share of them.
 */
#ifndef SN_KERNELS_PEAK_H
#define SN_KERNELS_PEAK_H

/* fp32 FMA GFLOP/s on `threads` threads (<= 0: all), running for about
 * `seconds`, with the widest vector ISA the CPU has (AVX-512, AVX2+FMA, or
 * scalar). *isa_name (may be NULL) names the ISA used. */
double sn_peak_fp32_gflops(int threads, double seconds, const char **isa_name);

/* int8 dot-product GOP/s (one u8 x s8 multiply-add into s32 counts as 2 ops)
 * with the instructions the int8 GEMM (gemm_int8.h) uses now: vpdpbusd
 * (AVX512-VNNI, AVX-VNNI), 256-bit vpmaddubsw + vpmaddwd + vpaddd (the sign
 * trick's core), or scalar. Arguments as above. */
double sn_peak_int8_gops(int threads, double seconds, const char **isa_name);

/* bf16 dot-product GFLOP/s (vdpbf16ps; a multiply-add counts as 2), or 0 when
 * the CPU lacks AVX512_BF16 (*isa_name then says so). */
double sn_peak_bf16_gflops(int threads, double seconds, const char **isa_name);

#endif
