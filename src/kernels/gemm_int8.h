/*
 * gemm_int8.h — exact int8 GEMM for compiled linear layers: s8 weights
 * quantised per output channel at compile time and packed into the layout the
 * microkernels stream, activations quantised per token (row) inside the GEMM
 * as it packs them, s32 sums that are exact on every path, and the fp32
 * epilogue (dequantisation, bias, activation, residual) applied to each tile
 * in registers.
 *
 * What it computes (as sn_linear_desc_t in matmul.h, with int8 = 1):
 *   out[M, N] = act(sx[m] sw[n] sum_k qx[m, k] qw[n, k]
 *                   + sum_{k in O} x[m, k] W[n, k] + bias[n]) (+ out)
 * where, for W [N, K] as transformers stores it and x [M, K], with O a set of
 * at most SN_GEMM_I8_OUTLIERS "outlier" input channels kept in fp32 and
 * c[k] = 0 for k in O, 1 otherwise:
 *   sw[n] = max_k |c[k] W[n, k]| / 127,  qw[n, k] = round(c[k] W[n, k] / sw[n])
 *   sx[m] = max_k |c[k] x[m, k]| / 127,  qx[m, k] = round(c[k] x[m, k] / sx[m])
 * both in [-127, 127] (rounding to nearest even; a row or channel of zeros has
 * scale 0 and quantises to 0). Why outliers: a transformer's activations
 * have a few channels far larger than the rest (LayerNorm outputs, GELU
 * outputs of a few neurons); with one scale per token they would leave the
 * other channels a handful of levels. The compiler picks them from
 * calibration statistics (all-MiniLM-L6-v2: worst golden cosine to fp32 0.990
 * with none, 0.999 with 8 per linear; bench/RESULTS.md). Their products cost
 * one fp32 FMA per output element each, in the epilogue.
 *
 * Exactness. Every path computes the same s32 sums sum_k qx qw, exactly: an
 * output never depends on the CPU path, the thread count or the rows it was
 * batched with (the epilogue's GELU/tanh approximations differ between the
 * vector and portable builds, as in gemm.h; with no activation the outputs
 * are bit-identical across paths). How each path avoids the 16-bit
 * saturation of vpmaddubsw (which ONNX Runtime's AVX2 path accepts):
 *   - AVX-512 VNNI: vpdpbusd sums four u8 x s8 products straight into s32.
 *     The activations go in as u8 = qx + 128 (a XOR of the sign bit) and the
 *     epilogue subtracts 128 * sum_k qw[n, k], stored per column.
 *   - AVX-VNNI (256-bit vpdpbusd, on CPUs that have it without AVX-512 VNNI
 *     or with the level lowered to AVX2): the same as AVX-512 VNNI in ymm.
 *   - AVX2: the sign trick. vpmaddubsw(|qx|, sign(qx) * qw) with |qx| <= 127
 *     and |qw| <= 127: a pair sum is at most 2 * 127 * 127 = 32258 < 32767,
 *     then vpmaddwd by ones into s32. The packed activations hold |qx| and qx
 *     side by side; vpsignb applies sign(qx) to the weight vector.
 *   - portable C: plain s32 sums.
 * K is limited to SN_GEMM_I8_MAX_K so that no s32 sum can overflow (the VNNI
 * path's biased sums reach K * 255 * 127).
 *
 * Packed layout (sn_gemm_i8_pack), with P = ceil(N / 16) panels of 16 output
 * columns (the last padded with zero columns) and Kp = K rounded up to a
 * multiple of 4 (padded with zeros):
 *   bytes [0, P Kp 16): s8 weights, panel after panel; in panel p, group
 *     g = k / 4 is 64 bytes, 4 per column:
 *       packed[p Kp 16 + g 64 + 4 t + (k % 4)] = qw[16 p + t, k]
 *     so one 64-byte load holds four k of 16 columns (a zmm for vpdpbusd,
 *     two ymm for AVX2);
 *   then P 16 floats sw (0 for padding columns), P 16 int32 column sums of
 *   qw, Kp floats c (1 for padding), SN_GEMM_I8_OUTLIERS int32 outlier
 *   channels (-1 for an unused slot) padded to 64 bytes, and for each slot
 *   P 16 floats: W[., k] of its channel (0 when unused). Every part starts
 *   64-byte aligned when packed does. The size depends only on K and N, and
 *   the layout never on the CPU. The run path skips slots whose channel is
 *   not in [0, K), so a packed buffer from an untrusted artifact cannot make
 *   it read outside x.
 *
 * The run path allocates nothing: the caller provides per-thread scratch
 * (sn_gemm_i8_scratch_bytes). Work is split over the current pool's threads
 * as in gemm.h; called inside a pool task it runs on the calling thread. The
 * path is chosen per call from sn_cpu_isa() and the VNNI features (target.h);
 * SINTER_INT8_PATH or sn_gemm_i8_set_path forces any path the CPU has.
 * Thread-safe for distinct out and scratch buffers.
 */
#ifndef SN_KERNELS_GEMM_INT8_H
#define SN_KERNELS_GEMM_INT8_H

#include <stddef.h>
#include <stdint.h>

/* Output columns per packed panel. */
#define SN_GEMM_I8_NR 16
/* Largest K: keeps every s32 sum, biased or not, below 2^31. */
#define SN_GEMM_I8_MAX_K 65536
/* Outlier channel slots per packed matrix. */
#define SN_GEMM_I8_OUTLIERS 8

/* Bytes of the packed form of a [N, K] weight matrix (layout above); 0 when
 * k or n is not positive or k exceeds SN_GEMM_I8_MAX_K. */
size_t sn_gemm_i8_packed_bytes(int64_t k, int64_t n);

/* Quantises w [N, K] (row-major fp32) per output channel and packs it into
 * `packed` (sn_gemm_i8_packed_bytes(k, n) bytes; 64-byte aligned is best),
 * with the input channels outliers[0..num_outliers) (distinct, in [0, k);
 * num_outliers <= SN_GEMM_I8_OUTLIERS) kept in fp32. Compile time: plain C,
 * single-threaded. 1 <= k <= SN_GEMM_I8_MAX_K, n >= 1; w finite. */
void sn_gemm_i8_pack(int64_t k, int64_t n, const float *w, int num_outliers,
                     const int32_t *outliers, void *packed);

/* The parts of a packed buffer, for tests and inspection (pointers into
 * packed; NULL for parts not asked for): weights, sw, column sums, the
 * channel mask c, and the SN_GEMM_I8_OUTLIERS outlier slots. */
void sn_gemm_i8_parts(int64_t k, int64_t n, const void *packed, const int8_t **weights,
                      const float **scales, const int32_t **col_sums, const float **mask,
                      const int32_t **outliers);

/* Quantises one activation row as the GEMM does: q[0..k) in [-127, 127]
 * and its scale sx (returned) from x[0..k) and the packed weights' channel
 * mask. For tests and accuracy tools; the GEMM fuses this into its packing. */
float sn_gemm_i8_quantize_row(int64_t k, int64_t n, const void *packed, const float *x, int8_t *q);

/* Bytes of scratch sn_gemm_i8_run needs for a K of k when up to `threads`
 * threads run it (the current pool's; a larger value is always safe). Independent of M
 * and N. */
size_t sn_gemm_i8_scratch_bytes(int64_t k, int threads);

/* out[m, n] = act(...) (+ out when residual), as above.
 *   x:        [m, k] row-major fp32 (finite).
 *   packed:   W packed by sn_gemm_i8_pack(k, n, ...).
 *   bias:     [n], or NULL for none.
 *   act:      sn_activation_t (0 none, 1 GELU erf, 2 GELU tanh, 3 ReLU, 4 tanh).
 *   residual: 1 when out already holds a residual to add after the activation.
 *   out:      [m, n]; must not overlap x, packed or bias.
 *   scratch:  sn_gemm_i8_scratch_bytes(k, t) bytes, t >= the threads a
 *             parallel region gets here; 64-byte aligned.
 * m >= 0 (0 does nothing), 1 <= k <= SN_GEMM_I8_MAX_K, n >= 1. Allocates
 * nothing. */
void sn_gemm_i8_run(int64_t m, int64_t k, int64_t n, const float *x, const void *packed,
                    const float *bias, int act, int residual, float *out, void *scratch);

/* The path sn_gemm_i8_run takes now: "avx512-vnni", "avx2-vnni" (AVX-VNNI),
 * "avx2-sign" or "portable". Never NULL. */
const char *sn_gemm_i8_path(void);

/* Forces a path by name for every later call ("auto" or NULL: the CPU's
 * fastest at the level sn_cpu_isa() allows, the default; also settable with
 * SINTER_INT8_PATH, read at first use). Returns 0, or -1 (and changes
 * nothing) for an unknown name or a path this CPU lacks. For tests and
 * benchmarks; thread-safe, but a call running keeps its path. */
int sn_gemm_i8_set_path(const char *name);

/* 1 when this CPU can run the named path. */
int sn_gemm_i8_path_available(const char *name);

#endif
