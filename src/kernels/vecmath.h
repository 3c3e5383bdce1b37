/*
 * vecmath.h — vectorised exp, exp2, erf-based GELU and tanh for the fused
 * kernels, in AVX-512 (16 lanes) and AVX2+FMA (8 lanes) forms, plus the target
 * attributes the kernels are compiled with.
 *
 * Why our own: libm's expf/erff/tanhf are scalar, and the short polynomial
 * approximations common in ML libraries (e.g. Abramowitz-Stegun erf, 1.5e-7
 * absolute) are too coarse for the 1e-6 relative agreement with the fp32
 * reference we test for. The polynomials here were fitted (iteratively
 * reweighted least squares towards minimax, relative error) in high precision:
 *  - exp(x): Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, with FMA, then
 *    e^r = 1 + r + r^2 P(r), P of degree 5 (fit error 2.7e-9): about 1 ulp.
 *  - exp2(t) for attention, t <= 0 already in the log2 domain (the queries are
 *    pre-scaled by log2 e): 2^f for |f| <= 1/2 as 1 + f P(f), P of degree 5
 *    (fit error 1.1e-8): at most 0.8 ulp, and two FMAs per score cheaper than
 *    going through exp.
 *  - erf(z) = z P(z^2) for |z| < 1 (degree 6, 1.2e-9), and for 1 <= |z| < 4
 *    erfc(z) = exp(-z^2) Q(1/z) (degree 9, 1.5e-8) with -z^2 split into a head
 *    and an FMA-exact tail so the exponential does not lose the low bits. GELU
 *    uses erfc directly for negative inputs, where 1 + erf(z) would cancel.
 *  - tanh(x) = x + x^3 R(x^2) for |x| < 0.625 (degree 5, 4.8e-9), else
 *    1 - 2 / (exp(2|x|) + 1) with the sign restored.
 *
 * All functions are static inline with the matching target attribute, so they
 * inline into kernels of the same target and never run on a CPU without it.
 * Everything here is pure (no state): thread-safe.
 */
#ifndef SN_KERNELS_VECMATH_H
#define SN_KERNELS_VECMATH_H

#include <math.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#define SN_X86 1
#include <immintrin.h>
#else
#define SN_X86 0
#endif

#if SN_X86
#define SN_TARGET_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi,bmi2")))
#define SN_TARGET_AVX2 __attribute__((target("avx2,fma,bmi,bmi2")))
#endif

/* Constants shared by all widths. */
#define SN_LOG2E 1.44269504088896341f
#define SN_LN2_HI 0.693145751953125f /* 12 significant bits: n * hi is exact */
#define SN_LN2_LO 1.42860682030941723e-6f
#define SN_EXP_P0 0.5f
#define SN_EXP_P1 0.166666672f
#define SN_EXP_P2 0.0416664667f
#define SN_EXP_P3 0.00833336078f
#define SN_EXP_P4 0.00139335974f
#define SN_EXP_P5 0.000198577211f
/* 2^f = 1 + f (E0 + f (E1 + ...)) on |f| <= 1/2. */
#define SN_EXP2_E0 0.693147182f
#define SN_EXP2_E1 0.240226492f
#define SN_EXP2_E2 0.0555035733f
#define SN_EXP2_E3 0.00961823761f
#define SN_EXP2_E4 0.00133907353f
#define SN_EXP2_E5 0.000154034336f
/* erf(z) / z as a polynomial in z^2 on |z| < 1. */
#define SN_ERF_A0 1.12837911f
#define SN_ERF_A1 -0.37612626f
#define SN_ERF_A2 0.112835854f
#define SN_ERF_A3 -0.026853811f
#define SN_ERF_A4 0.00518832542f
#define SN_ERF_A5 -0.00080101745f
#define SN_ERF_A6 7.85379816e-05f
/* exp(z^2) erfc(z) as a polynomial in t = 1/z on 1 <= z <= 4. */
#define SN_ERFC_B0 0.000121125493f
#define SN_ERFC_B1 0.561767101f
#define SN_ERFC_B2 0.0205428433f
#define SN_ERFC_B3 -0.375894696f
#define SN_ERFC_B4 0.230484098f
#define SN_ERFC_B5 0.238171995f
#define SN_ERFC_B6 -0.536757827f
#define SN_ERFC_B7 0.438099533f
#define SN_ERFC_B8 -0.179653838f
#define SN_ERFC_B9 0.0307032522f
/* (tanh(x) - x) / x^3 as a polynomial in x^2 on |x| < 0.625. */
#define SN_TANH_T0 -0.333333343f
#define SN_TANH_T1 0.133333042f
#define SN_TANH_T2 -0.0539592616f
#define SN_TANH_T3 0.0217689369f
#define SN_TANH_T4 -0.00834400021f
#define SN_TANH_T5 0.00229280069f
#define SN_SQRT1_2 0.707106769f      /* (float)M_SQRT1_2, as the reference uses */
#define SN_GELU_TANH_K 0.797884583f  /* (float)sqrt(2 / pi) */
#define SN_GELU_TANH_C 0.0447149985f /* 0.044715f */

/* A linear's epilogue activation (sn_activation_t: 0 none, 1 GELU erf, 2 GELU
 * tanh, 3 ReLU, 4 tanh) on one value: the portable kernels' reference. */
static inline float sn_act_scalar(float v, int act) {
  switch (act) {
    case 1: return 0.5f * v * (1.0f + erff(v * SN_SQRT1_2));
    case 2: return 0.5f * v * (1.0f + tanhf(SN_GELU_TANH_K * (v + SN_GELU_TANH_C * v * v * v)));
    case 3: return v > 0 ? v : 0.0f;
    case 4: return tanhf(v);
    default: return v;
  }
}

#if SN_X86

/* ------------------------------------------------------------------ AVX-512 */

#define SN_V16(c) _mm512_set1_ps(c)

/* e^x, within 1 ulp (0.96 measured); 0 below -104, +inf above 88.7 (scalef
 * handles the range, including subnormal results); NaN stays NaN. */
SN_TARGET_AVX512 static inline __m512 sn_exp_v16(__m512 x) {
  /* min(c, x) returns x when x is NaN, so NaN propagates. */
  x = _mm512_min_ps(SN_V16(100.0f), x);
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, SN_V16(SN_LOG2E)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, SN_V16(SN_LN2_HI), x);
  r = _mm512_fnmadd_ps(n, SN_V16(SN_LN2_LO), r);
  __m512 p = _mm512_fmadd_ps(SN_V16(SN_EXP_P5), r, SN_V16(SN_EXP_P4));
  p = _mm512_fmadd_ps(p, r, SN_V16(SN_EXP_P3));
  p = _mm512_fmadd_ps(p, r, SN_V16(SN_EXP_P2));
  p = _mm512_fmadd_ps(p, r, SN_V16(SN_EXP_P1));
  p = _mm512_fmadd_ps(p, r, SN_V16(SN_EXP_P0));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
  p = _mm512_add_ps(p, SN_V16(1.0f));
  /* Far below the subnormal range (and at -inf, where r is NaN) flush to 0. */
  __m512 y = _mm512_scalef_ps(p, n);
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, SN_V16(-104.0f), _CMP_NLT_UQ), y);
}

/* 2^t for t <= 0 (attention weights), within 1 ulp; t is clamped at -127 so
 * masked scores (-inf) give a harmless 2^-127 instead of NaN. */
SN_TARGET_AVX512 static inline __m512 sn_exp2_neg_v16(__m512 t) {
  t = _mm512_max_ps(t, SN_V16(-127.0f));
  __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 f = _mm512_sub_ps(t, n);
  __m512 p = _mm512_fmadd_ps(SN_V16(SN_EXP2_E5), f, SN_V16(SN_EXP2_E4));
  p = _mm512_fmadd_ps(p, f, SN_V16(SN_EXP2_E3));
  p = _mm512_fmadd_ps(p, f, SN_V16(SN_EXP2_E2));
  p = _mm512_fmadd_ps(p, f, SN_V16(SN_EXP2_E1));
  p = _mm512_fmadd_ps(p, f, SN_V16(SN_EXP2_E0));
  p = _mm512_fmadd_ps(p, f, SN_V16(1.0f));
  return _mm512_scalef_ps(p, n);
}

/* For a = |z|: sets *erf_a = erf(a) and *erfc_a = erfc(a), each accurate where
 * it is used (erf for a < 1, erfc for a >= 1: see sn_gelu_v16). */
SN_TARGET_AVX512 static inline __mmask16 sn_erf_parts_v16(__m512 a, __m512 *small, __m512 *big) {
  __m512 a2 = _mm512_mul_ps(a, a);
  __m512 p = _mm512_fmadd_ps(SN_V16(SN_ERF_A6), a2, SN_V16(SN_ERF_A5));
  p = _mm512_fmadd_ps(p, a2, SN_V16(SN_ERF_A4));
  p = _mm512_fmadd_ps(p, a2, SN_V16(SN_ERF_A3));
  p = _mm512_fmadd_ps(p, a2, SN_V16(SN_ERF_A2));
  p = _mm512_fmadd_ps(p, a2, SN_V16(SN_ERF_A1));
  p = _mm512_fmadd_ps(p, a2, SN_V16(SN_ERF_A0));
  *small = _mm512_mul_ps(p, a); /* erf(a), a < 1 */
  /* erfc(a) = exp(-a^2) Q(1/a); -a^2 = -(a2 + lo) exactly, and
   * exp(-a2 - lo) ~= exp(-a2) (1 - lo) since |lo| < 2^-20. */
  __m512 lo = _mm512_fmsub_ps(a, a, a2);
  __m512 ac = _mm512_max_ps(a, SN_V16(1.0f)); /* keep 1/a finite for small lanes */
  /* 1 / ac by vrcp14ps and one Newton step (relative error ~2^-28, far below
   * the polynomial's): a zmm division costs as much as the rest of GELU, which
   * is most of an int8 GEMM's epilogue. */
  __m512 r = _mm512_rcp14_ps(ac);
  __m512 t = _mm512_mul_ps(r, _mm512_fnmadd_ps(ac, r, SN_V16(2.0f)));
  __m512 q = _mm512_fmadd_ps(SN_V16(SN_ERFC_B9), t, SN_V16(SN_ERFC_B8));
  q = _mm512_fmadd_ps(q, t, SN_V16(SN_ERFC_B7));
  q = _mm512_fmadd_ps(q, t, SN_V16(SN_ERFC_B6));
  q = _mm512_fmadd_ps(q, t, SN_V16(SN_ERFC_B5));
  q = _mm512_fmadd_ps(q, t, SN_V16(SN_ERFC_B4));
  q = _mm512_fmadd_ps(q, t, SN_V16(SN_ERFC_B3));
  q = _mm512_fmadd_ps(q, t, SN_V16(SN_ERFC_B2));
  q = _mm512_fmadd_ps(q, t, SN_V16(SN_ERFC_B1));
  q = _mm512_fmadd_ps(q, t, SN_V16(SN_ERFC_B0));
  __m512 e = sn_exp_v16(_mm512_sub_ps(_mm512_setzero_ps(), a2));
  e = _mm512_fnmadd_ps(e, lo, e);
  __m512 c = _mm512_mul_ps(e, q);
  /* Past 4, erfc < 1.6e-8: below half an ulp of 1, and GELU's x * erfc is
   * below 1e-7, where the reference itself rounds to 0. */
  *big = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, SN_V16(4.0f), _CMP_LT_OQ), c);
  return _mm512_cmp_ps_mask(a, SN_V16(1.0f), _CMP_LT_OQ);
}

/* GELU, erf form: 0.5 x (1 + erf(x / sqrt 2)). */
SN_TARGET_AVX512 static inline __m512 sn_gelu_v16(__m512 x) {
  __m512 z = _mm512_mul_ps(x, SN_V16(SN_SQRT1_2));
  __m512 a = _mm512_abs_ps(z), small, big;
  __mmask16 is_small = sn_erf_parts_v16(a, &small, &big);
  __mmask16 is_neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  /* 1 + erf(z): 1 +- erf(a) for small a, else 2 - erfc(a) or erfc(a). */
  __m512 pos = _mm512_mask_blend_ps(is_small, _mm512_sub_ps(SN_V16(2.0f), big),
                                    _mm512_add_ps(SN_V16(1.0f), small));
  __m512 neg = _mm512_mask_blend_ps(is_small, big, _mm512_sub_ps(SN_V16(1.0f), small));
  __m512 s = _mm512_mask_blend_ps(is_neg, pos, neg);
  return _mm512_mul_ps(_mm512_mul_ps(SN_V16(0.5f), x), s);
}

/* tanh(x), within 1.3 ulp (measured over [-12, 12]). */
SN_TARGET_AVX512 static inline __m512 sn_tanh_v16(__m512 x) {
  __m512 a = _mm512_abs_ps(x);
  __m512 a2 = _mm512_mul_ps(a, a);
  __m512 p = _mm512_fmadd_ps(SN_V16(SN_TANH_T5), a2, SN_V16(SN_TANH_T4));
  p = _mm512_fmadd_ps(p, a2, SN_V16(SN_TANH_T3));
  p = _mm512_fmadd_ps(p, a2, SN_V16(SN_TANH_T2));
  p = _mm512_fmadd_ps(p, a2, SN_V16(SN_TANH_T1));
  p = _mm512_fmadd_ps(p, a2, SN_V16(SN_TANH_T0));
  __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, a2), a, a);
  /* tanh(10) rounds to 1; clamping keeps exp finite. */
  __m512 e =
      sn_exp_v16(_mm512_add_ps(_mm512_min_ps(SN_V16(10.0f), a), _mm512_min_ps(SN_V16(10.0f), a)));
  __m512 big =
      _mm512_sub_ps(SN_V16(1.0f), _mm512_div_ps(SN_V16(2.0f), _mm512_add_ps(e, SN_V16(1.0f))));
  __m512 r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, SN_V16(0.625f), _CMP_LT_OQ), big, small);
  /* tanh is odd: r >= 0, so or-ing in x's sign bit restores it (-0 stays -0). */
  return _mm512_or_ps(r, _mm512_and_ps(x, SN_V16(-0.0f)));
}

/* GELU, tanh form: 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)), which is exact
 * math and avoids the cancellation of 1 + tanh(u) for negative u. u is formed
 * in the same order as the reference so both see the same argument. */
SN_TARGET_AVX512 static inline __m512 sn_gelu_tanh_v16(__m512 x) {
  __m512 c = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(SN_V16(SN_GELU_TANH_C), x), x), x);
  __m512 u = _mm512_mul_ps(SN_V16(SN_GELU_TANH_K), _mm512_add_ps(x, c));
  __m512 e = sn_exp_v16(_mm512_mul_ps(u, SN_V16(-2.0f)));
  return _mm512_div_ps(x, _mm512_add_ps(SN_V16(1.0f), e));
}

/* Mask of the first n (0..16) lanes. */
SN_TARGET_AVX512 static inline __mmask16 sn_mask16(int64_t n) {
  return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

/* --------------------------------------------------------------------- AVX2 */

#define SN_V8(c) _mm256_set1_ps(c)

/* 2^n for integral n in [-127, 127] held as floats (-127 gives +0). */
SN_TARGET_AVX2 static inline __m256 sn_pow2i_v8(__m256 n) {
  __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
  return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
}

/* e^x, within 1 ulp on [-87.3, 88]; 0 below, e^88 above (our callers never
 * reach it: softmax arguments are <= 0 and tanh clamps); NaN stays NaN. */
SN_TARGET_AVX2 static inline __m256 sn_exp_v8(__m256 x) {
  /* Constant first: min/max return the second operand when one is NaN. */
  __m256 xc = _mm256_min_ps(SN_V8(88.0f), _mm256_max_ps(SN_V8(-87.33f), x));
  __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, SN_V8(SN_LOG2E)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, SN_V8(SN_LN2_HI), xc);
  r = _mm256_fnmadd_ps(n, SN_V8(SN_LN2_LO), r);
  __m256 p = _mm256_fmadd_ps(SN_V8(SN_EXP_P5), r, SN_V8(SN_EXP_P4));
  p = _mm256_fmadd_ps(p, r, SN_V8(SN_EXP_P3));
  p = _mm256_fmadd_ps(p, r, SN_V8(SN_EXP_P2));
  p = _mm256_fmadd_ps(p, r, SN_V8(SN_EXP_P1));
  p = _mm256_fmadd_ps(p, r, SN_V8(SN_EXP_P0));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
  p = _mm256_add_ps(p, SN_V8(1.0f));
  __m256 y = _mm256_mul_ps(p, sn_pow2i_v8(n));
  /* Below the clamp the true result is subnormal or 0: return 0. */
  return _mm256_and_ps(y, _mm256_cmp_ps(x, SN_V8(-87.33f), _CMP_NLT_UQ));
}

/* 2^t for t <= 0, as sn_exp2_neg_v16; t below -127 gives exactly 0. */
SN_TARGET_AVX2 static inline __m256 sn_exp2_neg_v8(__m256 t) {
  t = _mm256_max_ps(t, SN_V8(-127.0f));
  __m256 n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 f = _mm256_sub_ps(t, n);
  __m256 p = _mm256_fmadd_ps(SN_V8(SN_EXP2_E5), f, SN_V8(SN_EXP2_E4));
  p = _mm256_fmadd_ps(p, f, SN_V8(SN_EXP2_E3));
  p = _mm256_fmadd_ps(p, f, SN_V8(SN_EXP2_E2));
  p = _mm256_fmadd_ps(p, f, SN_V8(SN_EXP2_E1));
  p = _mm256_fmadd_ps(p, f, SN_V8(SN_EXP2_E0));
  p = _mm256_fmadd_ps(p, f, SN_V8(1.0f));
  return _mm256_mul_ps(p, sn_pow2i_v8(n));
}

SN_TARGET_AVX2 static inline __m256 sn_abs_v8(__m256 x) {
  return _mm256_andnot_ps(SN_V8(-0.0f), x);
}

/* As sn_erf_parts_v16; returns the a < 1 lanes as an all-ones mask. */
SN_TARGET_AVX2 static inline __m256 sn_erf_parts_v8(__m256 a, __m256 *small, __m256 *big) {
  __m256 a2 = _mm256_mul_ps(a, a);
  __m256 p = _mm256_fmadd_ps(SN_V8(SN_ERF_A6), a2, SN_V8(SN_ERF_A5));
  p = _mm256_fmadd_ps(p, a2, SN_V8(SN_ERF_A4));
  p = _mm256_fmadd_ps(p, a2, SN_V8(SN_ERF_A3));
  p = _mm256_fmadd_ps(p, a2, SN_V8(SN_ERF_A2));
  p = _mm256_fmadd_ps(p, a2, SN_V8(SN_ERF_A1));
  p = _mm256_fmadd_ps(p, a2, SN_V8(SN_ERF_A0));
  *small = _mm256_mul_ps(p, a);
  __m256 lo = _mm256_fmsub_ps(a, a, a2);
  __m256 t = _mm256_div_ps(SN_V8(1.0f), _mm256_max_ps(a, SN_V8(1.0f)));
  __m256 q = _mm256_fmadd_ps(SN_V8(SN_ERFC_B9), t, SN_V8(SN_ERFC_B8));
  q = _mm256_fmadd_ps(q, t, SN_V8(SN_ERFC_B7));
  q = _mm256_fmadd_ps(q, t, SN_V8(SN_ERFC_B6));
  q = _mm256_fmadd_ps(q, t, SN_V8(SN_ERFC_B5));
  q = _mm256_fmadd_ps(q, t, SN_V8(SN_ERFC_B4));
  q = _mm256_fmadd_ps(q, t, SN_V8(SN_ERFC_B3));
  q = _mm256_fmadd_ps(q, t, SN_V8(SN_ERFC_B2));
  q = _mm256_fmadd_ps(q, t, SN_V8(SN_ERFC_B1));
  q = _mm256_fmadd_ps(q, t, SN_V8(SN_ERFC_B0));
  __m256 e = sn_exp_v8(_mm256_sub_ps(_mm256_setzero_ps(), a2));
  e = _mm256_fnmadd_ps(e, lo, e);
  *big = _mm256_and_ps(_mm256_mul_ps(e, q), _mm256_cmp_ps(a, SN_V8(4.0f), _CMP_LT_OQ));
  return _mm256_cmp_ps(a, SN_V8(1.0f), _CMP_LT_OQ);
}

SN_TARGET_AVX2 static inline __m256 sn_gelu_v8(__m256 x) {
  __m256 z = _mm256_mul_ps(x, SN_V8(SN_SQRT1_2));
  __m256 small, big;
  __m256 is_small = sn_erf_parts_v8(sn_abs_v8(z), &small, &big);
  __m256 is_neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
  __m256 pos = _mm256_blendv_ps(_mm256_sub_ps(SN_V8(2.0f), big), _mm256_add_ps(SN_V8(1.0f), small),
                                is_small);
  __m256 neg = _mm256_blendv_ps(big, _mm256_sub_ps(SN_V8(1.0f), small), is_small);
  __m256 s = _mm256_blendv_ps(pos, neg, is_neg);
  return _mm256_mul_ps(_mm256_mul_ps(SN_V8(0.5f), x), s);
}

SN_TARGET_AVX2 static inline __m256 sn_tanh_v8(__m256 x) {
  __m256 a = sn_abs_v8(x);
  __m256 a2 = _mm256_mul_ps(a, a);
  __m256 p = _mm256_fmadd_ps(SN_V8(SN_TANH_T5), a2, SN_V8(SN_TANH_T4));
  p = _mm256_fmadd_ps(p, a2, SN_V8(SN_TANH_T3));
  p = _mm256_fmadd_ps(p, a2, SN_V8(SN_TANH_T2));
  p = _mm256_fmadd_ps(p, a2, SN_V8(SN_TANH_T1));
  p = _mm256_fmadd_ps(p, a2, SN_V8(SN_TANH_T0));
  __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, a2), a, a);
  __m256 ac = _mm256_min_ps(SN_V8(10.0f), a); /* NaN stays NaN */
  __m256 e = sn_exp_v8(_mm256_add_ps(ac, ac));
  __m256 big =
      _mm256_sub_ps(SN_V8(1.0f), _mm256_div_ps(SN_V8(2.0f), _mm256_add_ps(e, SN_V8(1.0f))));
  __m256 r = _mm256_blendv_ps(big, small, _mm256_cmp_ps(a, SN_V8(0.625f), _CMP_LT_OQ));
  return _mm256_or_ps(r, _mm256_and_ps(x, SN_V8(-0.0f)));
}

SN_TARGET_AVX2 static inline __m256 sn_gelu_tanh_v8(__m256 x) {
  __m256 c = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(SN_V8(SN_GELU_TANH_C), x), x), x);
  __m256 u = _mm256_mul_ps(SN_V8(SN_GELU_TANH_K), _mm256_add_ps(x, c));
  __m256 e = sn_exp_v8(_mm256_mul_ps(u, SN_V8(-2.0f)));
  return _mm256_div_ps(x, _mm256_add_ps(SN_V8(1.0f), e));
}

/* Lane mask (all-ones lanes) of the first n (0..8) lanes, for maskload/store. */
SN_TARGET_AVX2 static inline __m256i sn_mask8(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 8 ? n : 8)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Horizontal sum and max of 8 lanes. */
SN_TARGET_AVX2 static inline float sn_hsum_v8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

SN_TARGET_AVX2 static inline float sn_hmax_v8(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

#endif /* SN_X86 */

#endif
