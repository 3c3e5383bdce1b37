/*
 * peak.h — the machine's arithmetic peak, measured with a register-only FMA
 * loop (no memory traffic), for reporting achieved GFLOP/s as a share of it.
 */
#ifndef SN_KERNELS_PEAK_H
#define SN_KERNELS_PEAK_H

/* fp32 FMA GFLOP/s on `threads` threads (<= 0: all), running for about
 * `seconds`, with the widest vector ISA the CPU has (AVX-512, AVX2+FMA, or
 * scalar). *isa_name (may be NULL) names the ISA used. */
double sn_peak_fp32_gflops(int threads, double seconds, const char **isa_name);

#endif
