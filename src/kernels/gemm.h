/*
 * gemm.h — our own fp32 GEMM for compiled linear layers, with the weights
 * packed once, at compile time, into the layout its microkernel streams.
 *
 * Why our own: a BLIS-style kernel over weights packed at compile time needs
 * no run-time weight handling, packs only the activation block per thread,
 * and applies bias, activation and residual to each output tile while it is
 * still in registers. On the 2-core Zen 3 VM (AVX2) it ties oneDNN 2.6's
 * gemm:jit at M = 1024 and is 1.04-2x faster at M = 16 and 128, most with a
 * GELU epilogue (bench/GEMM.md). It has no AVX-512 kernel.
 *
 * What it computes (as sn_linear_desc_t in matmul.h):
 *   out[M, N] = act(x[M, K] W^T + bias)   (+ out, when residual)
 * with W given as transformers stores it, [N, K] row-major.
 *
 * Packed layout (sn_gemm_pack): N is cut into P = ceil(N / 16) panels of
 * SN_GEMM_NR = 16 output columns (the last one padded with zero columns), and
 * K into B = ceil(K / SN_GEMM_KC) blocks of equal length kc = ceil(K / B),
 * the last block taking the rest (with SN_GEMM_KC = 768: K = 384 and 768 are
 * one block, 1536 two of 768, 3072 four of 768, 1000 two of 500). K block b
 * (rows k0 = b kc .. k0 + kb - 1) holds its P panels one after the other,
 * each [kb][16] contiguous:
 *   packed[k0 * P * 16 + p * kb * 16 + (k - k0) * 16 + t] = W[16 p + t, k]
 * so a sweep over all panels of one K block is one sequential stream. The
 * layout depends only on K, N and SN_GEMM_KC, never on the CPU: weights
 * packed on one machine run on any other, at any ISA level. SN_GEMM_KC is
 * part of the format; an artifact that stores packed weights must record it
 * (or a format version that implies it).
 *
 * The run path allocates nothing: the caller provides per-thread scratch for
 * the packed activation blocks (sn_gemm_scratch_bytes). Work is split into
 * tiles over the current pool's threads (threadpool.h); called from inside a
 * pool task it runs on the calling thread only. Inner loops: AVX2+FMA (a 6 x 16 register tile) or
 * portable C, picked per call from sn_cpu_isa() (target.h); on AVX-512 CPUs the AVX2 kernel runs.
 * Everything is thread-safe for distinct out and scratch buffers.
 *
 * Accuracy: fp32 products accumulated in fp32 in K order per K block, so the
 * error against an exact dot product grows like K * 2^-24 * sum |x w|.
 *
 * bf16 weights (sn_gemm_pack_bf16, sn_gemm_run_bf16): the same GEMM with the
 * packed weights stored as bfloat16 (the fp32 value rounded to nearest even
 * to its upper 16 bits), activations, accumulation and epilogue in fp32.
 * Why: half the weight bytes. A few-row product (one short request) is bound
 * by how fast the weights stream in, and in a whole model they come from
 * DRAM (MiniLM's 42 MB of fp32 weights exceed the 32 MB L3; 21 MB of bf16
 * fit). It needs no AVX512_BF16: each bf16 row of a panel is widened to fp32
 * in registers. Where the weights are warm in cache and M is large, the
 * widening is pure cost (bench/GEMM.md, "bf16 weights").
 *   Layout: exactly the fp32 layout above (same panels, K blocks and
 * offsets, counted in elements), 2 bytes per element, except that inside
 * each 16-element panel row the columns are interleaved: element 2j holds
 * column j and element 2j + 1 column 8 + j (j = 0..7), i.e.
 *   packed[k0 * P * 16 + p * kb * 16 + (k - k0) * 16 + s] = bf16(W[16 p + c, k])
 *   with s = 2c for c < 8 and s = 2 (c - 8) + 1 for c >= 8.
 * Read as eight 32-bit words, word j then holds column j in its low half and
 * column 8 + j in its high half, so a shift left by 16 yields columns 0..7
 * as fp32 and a mask of the high halves columns 8..15: one 32-byte load and
 * two single-cycle integer ops per row, no shuffle. The order is part of the
 * format, as SN_GEMM_KC is.
 * Accuracy: exact fp32 arithmetic on the rounded weights, i.e. the fp32
 * error above plus each weight's rounding (relative 2^-9 at most).
 */
#ifndef SN_KERNELS_GEMM_H
#define SN_KERNELS_GEMM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Output columns per packed panel. */
#define SN_GEMM_NR 16
/* Longest K block of the packed layout (part of the format: changing it
 * changes every packed weight). Overridable only for tuning experiments. */
#ifndef SN_GEMM_KC
#define SN_GEMM_KC 768
#endif

/* Bytes of the packed form of a [N, K] weight matrix: ceil(N / 16) panels of
 * K x 16 floats. 0 when k or n is not positive. */
size_t sn_gemm_packed_bytes(int64_t k, int64_t n);

/* Packs w [N, K] (row-major) into `packed` (sn_gemm_packed_bytes(k, n)
 * bytes, any alignment; 64 bytes is best), in the layout described above.
 * Meant for compile time: plain C, single-threaded. k, n >= 1. */
void sn_gemm_pack(int64_t k, int64_t n, const float *w, float *packed);

/* Bytes of scratch sn_gemm_run needs for a K of k when up to `threads`
 * threads run it (the threads of the pool that will be current at run time,
 * threadpool.h; a larger value is always safe). Independent of M and N. */
size_t sn_gemm_scratch_bytes(int64_t k, int threads);

/* out[m, n] = act(x[m, k] W^T + bias) (+ out when residual).
 *   x:        [m, k] row-major.
 *   packed:   W packed by sn_gemm_pack(k, n, ...).
 *   bias:     [n], or NULL for none.
 *   act:      sn_activation_t: 0 none, 1 GELU (erf), 2 GELU (tanh form), 3 ReLU,
 *             4 tanh. Other values are treated as none.
 *   residual: 1 when out already holds a residual to add after the activation.
 *   out:      [m, n] row-major; must not overlap x, packed or bias.
 *   scratch:  sn_gemm_scratch_bytes(k, t) bytes, t >= the threads of the
 *             calling thread's current pool (sn_threadpool_current; 1 inside
 *             a task or with none); any alignment.
 * m >= 0 (0 does nothing), k >= 1, n >= 1. Allocates nothing. */
void sn_gemm_run(int64_t m, int64_t k, int64_t n, const float *x, const float *packed,
                 const float *bias, int act, int residual, float *out, float *scratch);

/* ----------------------------------------------------------- bf16 weights */

/* fp32 -> bfloat16, rounded to nearest, ties to even. NaN stays NaN (made
 * quiet, sign kept: truncating a NaN whose payload sits only in the low 16
 * bits would give Inf); finite values above the largest bf16 round to Inf;
 * denormals round like any other value. */
static inline uint16_t sn_f32_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x0040u);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

/* bfloat16 -> fp32: exact (the bits become the upper half). */
static inline float sn_bf16_to_f32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* Bytes of the bf16 packed form of a [N, K] weight matrix: the layout of
 * sn_gemm_packed_bytes at 2 bytes per element, half its size. 0 when k or n
 * is not positive. */
size_t sn_gemm_packed_bytes_bf16(int64_t k, int64_t n);

/* Packs w [N, K] (row-major, fp32) into `packed` (sn_gemm_packed_bytes_bf16
 * bytes, any alignment; 64 bytes is best) as bf16, rounded to nearest even,
 * in the layout described above (interleaved panel rows). Compile time: plain
 * C, single-threaded. k, n >= 1. */
void sn_gemm_pack_bf16(int64_t k, int64_t n, const float *w, uint16_t *packed);

/* sn_gemm_run on weights packed by sn_gemm_pack_bf16: the same parameters,
 * semantics, scratch size (sn_gemm_scratch_bytes), threading and
 * thread-safety; out is computed in fp32 from the bf16 weights widened
 * exactly. Allocates nothing. */
void sn_gemm_run_bf16(int64_t m, int64_t k, int64_t n, const float *x, const uint16_t *packed,
                      const float *bias, int act, int residual, float *out, float *scratch);

#endif
