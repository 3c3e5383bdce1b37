/*
 * test_fused_kernels.c — the optimised kernels of fused.h against the
 * reference kernels of reference.h, at every ISA level this CPU has
 * (portable, AVX2, AVX-512 via sn_cpu_set_isa), on odd shapes: sequence
 * lengths 1, 7, 129, 513 alone and packed together (with an empty one), head
 * sizes 32, 64, 128 and the odd 48 and 24, hidden sizes 384, 768, 1024 and 100.
 *
 * Each reference result is computed once per shape and compared with every ISA
 * level's output; the largest error per kernel and level is printed at the end
 * (the numbers quoted in bench/KERNELS.md). No timing here.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/fused.h"
#include "kernels/reference.h"
#include "kernels/threadpool.h"
#include "model/config.h"
#include "test.h"

/* ------------------------------------------------------------------ helpers */

enum {
  K_ATTENTION,
  K_LAYERNORM,
  K_EMBED,
  K_GELU,
  K_GELU_TANH,
  K_TANH,
  K_POOL,
  K_L2,
  K_SOFTMAX,
  K_SILU,
  K_ATTENTION_DIS,
  K_COUNT
};
static const char *const kernel_names[K_COUNT] = {
    "attention",   "add_layernorm", "embed_layernorm", "gelu", "gelu_tanh",    "tanh",
    "pool_packed", "l2_normalize",  "softmax",         "silu", "attention_dis"};
/* "abs": max |got - want|; "rel": max |got - want| / max(1, |want|); "tol":
 * max |got - want| / (1e-6 |want| + 1e-7), where <= 1 means every element is
 * within 1e-6 relative or 1e-7 absolute. */
static const char *const error_kinds[K_COUNT] = {"abs", "rel", "rel", "tol", "tol", "tol",
                                                 "rel", "rel", "tol", "tol", "abs"};
/* Largest error seen per kernel and ISA level; -1 = not run. */
static double max_err[K_COUNT][3] = {{-1, -1, -1}, {-1, -1, -1}, {-1, -1, -1},
                                     {-1, -1, -1}, {-1, -1, -1}, {-1, -1, -1},
                                     {-1, -1, -1}, {-1, -1, -1}, {-1, -1, -1}};

static void note_err(int kernel, int isa, double err) {
  if (err > max_err[kernel][isa]) max_err[kernel][isa] = err;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static float uniform(float lo, float hi) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return lo + (hi - lo) * (float)((rng_state >> 40) * (1.0 / 16777216.0));
}

static float *random_floats(int64_t n, float lo, float hi) {
  float *x = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
  for (int64_t i = 0; i < n; i++) x[i] = uniform(lo, hi);
  return x;
}

static float *copy_floats(const float *x, int64_t n) {
  float *y = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
  memcpy(y, x, (size_t)n * sizeof(float));
  return y;
}

/* Prefix sums of lens into offsets (num + 1 entries); returns the total. */
static int32_t make_offsets(const int32_t *lens, int num, int32_t *offsets) {
  offsets[0] = 0;
  for (int i = 0; i < num; i++) offsets[i + 1] = offsets[i] + lens[i];
  return offsets[num];
}

static int max_len(const int32_t *lens, int num) {
  int s = 0;
  for (int i = 0; i < num; i++) s = lens[i] > s ? lens[i] : s;
  return s;
}

/* max |a - b| / max(1, |b|): relative for large values, absolute near 0. */
static double rel_err(const float *a, const float *b, int64_t n) {
  double e = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - b[i]) / fmax(1.0, fabs((double)b[i]));
    if (!(d <= e)) e = d; /* NaN sticks */
  }
  return e;
}

/* For the activations: max over i of |a - b| / (1e-6 |b| + 1e-7), so that a
 * value <= 1 means every element is within 1e-6 relative or 1e-7 absolute. */
static double tol_ratio(const float *a, const float *b, int64_t n, int64_t *worst) {
  double e = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - b[i]) / (1e-6 * fabs((double)b[i]) + 1e-7);
    if (!(d <= e)) {
      e = d;
      if (worst) *worst = i;
    }
  }
  return e;
}

/* ---------------------------------------------------------------- attention */

/* Reference attention for a packed batch through the padded layout, as the
 * eager executor does it: gather into [B, S, heads, d], transpose to
 * [B, heads, S, d], naive Q K^T, sn_ref_masked_softmax, naive P V, transpose
 * back to [B, S, heads, d], and scatter the real rows into ref [T, H]. */
static void reference_attention(const float *qkv, int64_t stride, const int32_t *lens, int num,
                                int heads, int d, float scale, const float *bias,
                                int64_t bias_distance, int window, int causal, float *ref) {
  int s = max_len(lens, num);
  int64_t hsz = (int64_t)heads * d, bshd = (int64_t)num * s * hsz;
  float *q = calloc((size_t)bshd, sizeof(float)), *k = calloc((size_t)bshd, sizeof(float));
  float *v = calloc((size_t)bshd, sizeof(float)), *mask = calloc((size_t)num * s, sizeof(float));
  float *qt = malloc((size_t)bshd * sizeof(float)), *kt = malloc((size_t)bshd * sizeof(float));
  float *vt = malloc((size_t)bshd * sizeof(float)), *ctx = malloc((size_t)bshd * sizeof(float));
  float *ctxt = malloc((size_t)bshd * sizeof(float));
  int64_t nscores = (int64_t)num * heads * s * s;
  float *scores = malloc((size_t)nscores * sizeof(float)), *probs = malloc((size_t)nscores * 4);
  int64_t t = 0;
  for (int b = 0; b < num; b++)
    for (int i = 0; i < lens[b]; i++, t++) {
      int64_t row = ((int64_t)b * s + i) * hsz;
      memcpy(q + row, qkv + t * stride, (size_t)hsz * 4);
      memcpy(k + row, qkv + t * stride + hsz, (size_t)hsz * 4);
      memcpy(v + row, qkv + t * stride + 2 * hsz, (size_t)hsz * 4);
      mask[b * s + i] = 1.0f;
    }
  int64_t dims[4] = {num, s, heads, d};
  int perm[4] = {0, 2, 1, 3};
  sn_ref_transpose(q, 4, dims, perm, qt);
  sn_ref_transpose(k, 4, dims, perm, kt);
  sn_ref_transpose(v, 4, dims, perm, vt);
  for (int64_t bh = 0; bh < (int64_t)num * heads; bh++) {
    const float *qm = qt + bh * s * d, *km = kt + bh * s * d;
    float *sc = scores + bh * s * s;
    for (int i = 0; i < s; i++)
      for (int j = 0; j < s; j++) {
        float acc = 0.0f;
        for (int c = 0; c < d; c++) acc += qm[i * d + c] * km[j * d + c];
        sc[i * s + j] = acc;
      }
  }
  if (bias) { /* as the eager graph: scale, add the bias, then a softmax at scale 1 */
    sn_ref_rel_bias(scores, bias, bias_distance, num, heads, s, scale, scores);
    scale = 1.0f;
  }
  sn_ref_masked_softmax(scores, mask, num, heads, s, s, scale, window, causal, probs);
  for (int64_t bh = 0; bh < (int64_t)num * heads; bh++) {
    const float *p = probs + bh * s * s, *vm = vt + bh * s * d;
    float *o = ctx + bh * s * d;
    for (int i = 0; i < s; i++) {
      for (int c = 0; c < d; c++) o[i * d + c] = 0.0f;
      for (int j = 0; j < s; j++)
        for (int c = 0; c < d; c++) o[i * d + c] += p[i * s + j] * vm[j * d + c];
    }
  }
  int64_t dims2[4] = {num, heads, s, d};
  sn_ref_transpose(ctx, 4, dims2, perm, ctxt);
  t = 0;
  for (int b = 0; b < num; b++)
    for (int i = 0; i < lens[b]; i++, t++)
      memcpy(ref + t * hsz, ctxt + ((int64_t)b * s + i) * hsz, (size_t)hsz * 4);
  free(q);
  free(k);
  free(v);
  free(mask);
  free(qt);
  free(kt);
  free(vt);
  free(ctx);
  free(ctxt);
  free(scores);
  free(probs);
}

/* Runs one packed batch at every ISA level; pad_in/pad_out widen the strides
 * beyond 3H / H, alias writes the output over q inside qkv, a bias_distance
 * >= 0 adds a random relative-position table of that reach, and window /
 * causal limit the keys. */
static void check_attention_full(const int32_t *lens, int num, int heads, int d, int pad_in,
                                 int pad_out, int alias, int64_t bias_distance, int window,
                                 int causal) {
  int32_t offsets[16];
  int32_t total = make_offsets(lens, num, offsets);
  int64_t hsz = (int64_t)heads * d, stride = 3 * hsz + pad_in, ostride = hsz + pad_out;
  float scale = 1.0f / sqrtf((float)d);
  float *qkv = random_floats(total * stride, -2.5f, 2.5f);
  float *bias =
      bias_distance >= 0 ? random_floats(heads * (2 * bias_distance + 1), -3.0f, 3.0f) : NULL;
  float *ref = malloc((size_t)(total > 0 ? total : 1) * hsz * sizeof(float));
  reference_attention(qkv, stride, lens, num, heads, d, scale, bias, bias_distance, window, causal,
                      ref);
  for (int isa = 0; isa <= sn_cpu_isa_max(); isa++) {
    sn_cpu_set_isa(isa);
    float *in = copy_floats(qkv, total * stride), *out;
    int64_t os = ostride;
    if (alias) {
      out = in;
      os = stride;
    } else {
      out = malloc((size_t)(total > 0 ? total : 1) * ostride * sizeof(float));
      for (int64_t i = 0; i < total * ostride; i++) out[i] = NAN; /* catches unwritten cells */
    }
    sn_attention_params_t ap = {heads, d, scale, bias, bias ? bias_distance : 0, window, causal, 0};
    sn_attention_f32(in, stride, offsets, num, &ap, out, os);
    double err = 0;
    for (int64_t t = 0; t < total; t++)
      for (int64_t c = 0; c < hsz; c++) {
        double e = fabs((double)out[t * os + c] - ref[t * hsz + c]);
        if (!(e <= err)) err = e;
      }
    /* Nothing outside the context columns may change. */
    int clean = 1;
    if (alias) {
      for (int64_t t = 0; t < total; t++)
        clean &=
            memcmp(in + t * stride + hsz, qkv + t * stride + hsz, (size_t)(stride - hsz) * 4) == 0;
    } else {
      clean = memcmp(in, qkv, (size_t)(total * stride) * 4) == 0;
      for (int64_t t = 0; t < total; t++)
        for (int64_t c = hsz; c < ostride; c++) clean &= isnan(out[t * ostride + c]);
    }
    note_err(K_ATTENTION, isa, err);
    SN_CHECK_MSG(err <= 1e-5 && clean,
                 "attention isa=%s heads=%d d=%d num=%d len0=%d bias D=%lld window=%d causal=%d "
                 "err=%g clean=%d",
                 sn_cpu_isa_name(isa), heads, d, num, lens[0], (long long)bias_distance, window,
                 causal, err, clean);
    if (!alias) free(out);
    free(in);
  }
  free(qkv);
  free(bias);
  free(ref);
}

static void check_attention(const int32_t *lens, int num, int heads, int d, int pad_in, int pad_out,
                            int alias) {
  check_attention_full(lens, num, heads, d, pad_in, pad_out, alias, -1, 0, 0);
}

static void check_attention_bias(const int32_t *lens, int num, int heads, int d, int pad_in,
                                 int pad_out, int alias, int64_t bias_distance) {
  check_attention_full(lens, num, heads, d, pad_in, pad_out, alias, bias_distance, 0, 0);
}

static void test_attention_single_sequences(void) {
  static const int32_t lengths[] = {1, 7, 129, 513};
  static const int dims[] = {32, 64, 128, 48, 24};
  for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++)
      check_attention(&lengths[li], 1, 2, dims[di], 0, 0, 0);
}

static void test_attention_packed_batch(void) {
  static const int32_t lens[] = {7, 129, 1, 513, 0, 33, 16};
  static const int dims[] = {32, 64, 128, 48, 24, 100};
  for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
    check_attention(lens, 7, dims[di] == 128 ? 2 : 3, dims[di], 0, 0, 0);
}

static void test_attention_strides_and_alias(void) {
  static const int32_t lens[] = {19, 5, 40};
  check_attention(lens, 3, 4, 64, 5, 3, 0);
  check_attention(lens, 3, 3, 48, 1, 7, 0);
  check_attention(lens, 3, 4, 64, 0, 0, 1);
  check_attention(lens, 3, 2, 24, 3, 0, 1);
}

/* A relative-position bias (MPNet): reaches shorter and longer than the
 * sequences, 0 (one value), every window position against the table's ends,
 * head sizes with and without specialised loops. */
static void test_attention_relative_bias(void) {
  static const int32_t lens[] = {7, 129, 1, 300, 0, 33, 16};
  static const int64_t reach[] = {0, 3, 9, 128, 1000};
  static const int dims[] = {32, 64, 48};
  for (size_t ri = 0; ri < sizeof reach / sizeof reach[0]; ri++)
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
      check_attention_bias(lens, 7, 3, dims[di], 0, 0, di == 2, reach[ri]);
  static const int32_t one[] = {513};
  check_attention_bias(one, 1, 2, 24, 2, 1, 0, 128);
}

/* Sliding windows (ModernBERT's local layers, symmetric) narrower and wider
 * than the blocks, causal attention (decoders), both, and with a bias. */
static void test_attention_windows(void) {
  static const int32_t lens[] = {7, 129, 1, 300, 0, 33, 16};
  static const int windows[] = {1, 5, 8, 64, 200};
  static const int dims[] = {32, 64, 48};
  for (size_t wi = 0; wi < sizeof windows / sizeof windows[0]; wi++)
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
      check_attention_full(lens, 7, 3, dims[di], 0, 0, di == 1, -1, windows[wi], 0);
  for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
    check_attention_full(lens, 7, 2, dims[di], 0, 0, 0, -1, 0, 1);
    check_attention_full(lens, 7, 2, dims[di], 1, 0, 0, -1, 6, 1);
    check_attention_full(lens, 7, 2, dims[di], 0, 0, 0, 9, 17, 0);
  }
}

/* DeBERTa-v2's disentangled attention against a direct double-precision
 * reference: per sequence and head, scores (q_i . k_j + q_i . pos_key[r] +
 * k_j . pos_query[r]) * scale with r = index[D + clamp(i - j, -D, D)], a
 * softmax and the weighted sum. The index is log-bucketed like
 * transformers' (exact below `mid`, then slower-growing, clamped to the
 * span), with a reach D shorter or longer than the sequences. */
static void check_attention_dis(const int32_t *lens, int num, int heads, int d, int pad_in,
                                int64_t distance, int64_t span) {
  int32_t offsets[16];
  int32_t total = make_offsets(lens, num, offsets);
  const int64_t hsz = (int64_t)heads * d, stride = 3 * hsz + pad_in;
  const float scale = 1.0f / sqrtf(3.0f * (float)d);
  float *qkv = random_floats(total * stride, -2.0f, 2.0f);
  float *pos = random_floats(4 * span * hsz, -1.5f, 1.5f);
  float *index = malloc((size_t)(2 * distance + 1) * sizeof *index);
  const int64_t mid = span / 2 > 1 ? span / 2 : 1;
  for (int64_t x = -distance; x <= distance; x++) {
    int64_t ax = x < 0 ? -x : x, b = ax;
    if (ax > mid) b = mid + (int64_t)(log2((double)ax / (double)mid) * 4.0);
    if (b > span - 1) b = span - 1;
    int64_t r = span + (x < 0 ? -b : b);
    index[distance + x] = (float)(r < 0 ? 0 : r > 2 * span - 1 ? 2 * span - 1 : r);
  }
  float *ref = malloc((size_t)(total > 0 ? total : 1) * hsz * sizeof(float));
  double *p = malloc((size_t)(max_len(lens, num) + 1) * sizeof *p);
  for (int b = 0; b < num; b++)
    for (int h = 0; h < heads; h++) {
      const float *pk = pos + (int64_t)h * d, *pq = pk + 2 * span * hsz;
      for (int i = 0; i < lens[b]; i++) {
        const float *q = qkv + (int64_t)(offsets[b] + i) * stride + (int64_t)h * d;
        double mx = -INFINITY, sum = 0.0;
        for (int j = 0; j < lens[b]; j++) {
          const float *k = qkv + (int64_t)(offsets[b] + j) * stride + hsz + (int64_t)h * d;
          int64_t x = i - j < -distance ? -distance : i - j > distance ? distance : i - j;
          int64_t r = (int64_t)index[distance + x];
          double acc = 0.0;
          for (int c = 0; c < d; c++)
            acc += (double)q[c] * k[c] + (double)q[c] * pk[r * hsz + c] +
                   (double)k[c] * pq[r * hsz + c];
          p[j] = acc * scale;
          mx = p[j] > mx ? p[j] : mx;
        }
        for (int j = 0; j < lens[b]; j++) sum += p[j] = exp(p[j] - mx);
        for (int c = 0; c < d; c++) {
          double o = 0.0;
          for (int j = 0; j < lens[b]; j++)
            o += p[j] * qkv[(int64_t)(offsets[b] + j) * stride + 2 * hsz + (int64_t)h * d + c];
          ref[(int64_t)(offsets[b] + i) * hsz + (int64_t)h * d + c] = (float)(o / sum);
        }
      }
    }
  sn_attention_disentangled_t dis = {index, distance, pos, span};
  for (int isa = 0; isa <= sn_cpu_isa_max(); isa++) {
    sn_cpu_set_isa(isa);
    float *out = malloc((size_t)(total > 0 ? total : 1) * hsz * sizeof(float));
    for (int64_t i = 0; i < total * hsz; i++) out[i] = NAN; /* catches unwritten cells */
    sn_attention_params_t ap = {heads, d, scale, NULL, 0, 0, 0, 0};
    sn_attention_disentangled_f32(qkv, stride, offsets, num, &ap, &dis, out, hsz);
    double err = 0;
    for (int64_t i = 0; i < total * hsz; i++) {
      double e = fabs((double)out[i] - ref[i]);
      if (!(e <= err)) err = e;
    }
    note_err(K_ATTENTION_DIS, isa, err);
    SN_CHECK_MSG(
        err <= 1e-5, "attention_dis isa=%s heads=%d d=%d num=%d len0=%d D=%lld span=%lld err=%g",
        sn_cpu_isa_name(isa), heads, d, num, lens[0], (long long)distance, (long long)span, err);
    free(out);
  }
  free(qkv);
  free(pos);
  free(index);
  free(ref);
  free(p);
}

/* Sequences shorter and longer than a table's reach (1100: rebuilt once per
 * item), packed with an empty one; head sizes 64 (specialised), 48 and 24
 * (padded); reaches from 3 (most pairs clamped) to past every sequence. */
static void test_attention_disentangled(void) {
  static const int32_t lens[] = {7, 129, 1, 300, 0, 33, 16};
  static const int32_t one[] = {1100};
  static const int dims[] = {64, 48, 24};
  for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
    check_attention_dis(lens, 7, 3, dims[di], di == 1 ? 5 : 0, 511, 32);
    check_attention_dis(lens, 7, 2, dims[di], 0, 3, 4);
    check_attention_dis(lens, 7, 2, dims[di], 0, 40, 256);
  }
  check_attention_dis(one, 1, 1, 64, 0, 511, 256);
  check_attention_dis(one, 1, 1, 24, 3, 100, 16);
}

/* ---------------------------------------------------------------- layernorm */

static void check_layernorm(int64_t rows, int64_t h, int with_residual, int alias) {
  float *x = random_floats(rows * h, -3.0f, 3.0f), *res = random_floats(rows * h, -1.0f, 5.0f);
  float *gamma = random_floats(h, 0.5f, 1.5f), *beta = random_floats(h, -0.5f, 0.5f);
  float *sum = malloc((size_t)(rows * h) * sizeof(float)), *ref = malloc((size_t)(rows * h) * 4);
  if (with_residual)
    sn_ref_add(x, rows * h, res, rows * h, sum);
  else
    memcpy(sum, x, (size_t)(rows * h) * 4);
  sn_ref_layernorm(sum, gamma, beta, rows, h, 1e-12f, ref);
  for (int isa = 0; isa <= sn_cpu_isa_max(); isa++) {
    sn_cpu_set_isa(isa);
    float *xi = copy_floats(x, rows * h), *ri = copy_floats(res, rows * h);
    float *out = alias == 1 ? xi : alias == 2 ? ri : malloc((size_t)(rows * h) * 4);
    sn_add_layernorm_f32(xi, with_residual ? ri : NULL, gamma, beta, rows, h, 1e-12f, out);
    double err = rel_err(out, ref, rows * h);
    note_err(K_LAYERNORM, isa, err);
    SN_CHECK_MSG(err <= 1e-5, "layernorm isa=%s h=%lld residual=%d alias=%d err=%g",
                 sn_cpu_isa_name(isa), (long long)h, with_residual, alias, err);
    if (alias == 0) free(out);
    free(xi);
    free(ri);
  }
  free(x);
  free(res);
  free(gamma);
  free(beta);
  free(sum);
  free(ref);
}

static void test_add_layernorm(void) {
  static const int64_t hs[] = {384, 768, 1024, 100, 1, 17};
  for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
    check_layernorm(37, hs[i], 1, 0);
    check_layernorm(37, hs[i], 0, 0);
    check_layernorm(5, hs[i], 1, 1);
    check_layernorm(5, hs[i], 1, 2);
    check_layernorm(5, hs[i], 0, 1);
  }
  /* Enough rows for the parallel path. */
  check_layernorm(300, 768, 1, 2);
}

/* ---------------------------------------------------------------- embedding */

static void check_embed(int64_t h, int with_type_table, int with_type_ids) {
  static const int32_t lens[] = {7, 129, 1, 0, 513};
  const int num = 5, vocab = 50, max_pos = 520, type_vocab = 2;
  int32_t offsets[6];
  int32_t total = make_offsets(lens, num, offsets);
  float *word = random_floats(vocab * h, -1.0f, 1.0f), *pos = random_floats(max_pos * h, -1, 1);
  float *type = random_floats(type_vocab * h, -1.0f, 1.0f);
  float *gamma = random_floats(h, 0.5f, 1.5f), *beta = random_floats(h, -0.5f, 0.5f);
  int32_t *ids = malloc((size_t)total * 4), *tids = malloc((size_t)total * 4);
  for (int32_t t = 0; t < total; t++) {
    ids[t] = (int32_t)(uniform(0, 1) * vocab) % vocab;
    tids[t] = (int32_t)(uniform(0, 1) * type_vocab) % type_vocab;
  }
  /* Reference: gathers and adds, then LayerNorm. */
  int64_t n = (int64_t)total * h;
  float *sum = malloc((size_t)n * 4), *tmp = malloc((size_t)n * 4), *ref = malloc((size_t)n * 4);
  int32_t *pos_ids = malloc((size_t)total * 4), *zero_ids = calloc((size_t)total, 4);
  for (int b = 0; b < num; b++)
    for (int32_t t = offsets[b]; t < offsets[b + 1]; t++) pos_ids[t] = t - offsets[b];
  sn_ref_gather(word, h, ids, total, sum);
  if (with_type_table) {
    sn_ref_gather(type, h, with_type_ids ? tids : zero_ids, total, tmp);
    sn_ref_add(sum, n, tmp, n, sum);
  }
  sn_ref_gather(pos, h, pos_ids, total, tmp);
  sn_ref_add(sum, n, tmp, n, sum);
  sn_ref_layernorm(sum, gamma, beta, total, h, 1e-12f, ref);
  for (int isa = 0; isa <= sn_cpu_isa_max(); isa++) {
    sn_cpu_set_isa(isa);
    float *out = malloc((size_t)n * 4);
    sn_embed_layernorm_f32(word, pos, with_type_table ? type : NULL, ids,
                           with_type_ids ? tids : NULL, offsets, num, h, gamma, beta, 1e-12f, out);
    double err = rel_err(out, ref, n);
    note_err(K_EMBED, isa, err);
    SN_CHECK_MSG(err <= 1e-5, "embed isa=%s h=%lld type=%d ids=%d err=%g", sn_cpu_isa_name(isa),
                 (long long)h, with_type_table, with_type_ids, err);
    free(out);
  }
  free(word);
  free(pos);
  free(type);
  free(gamma);
  free(beta);
  free(ids);
  free(tids);
  free(sum);
  free(tmp);
  free(ref);
  free(pos_ids);
  free(zero_ids);
}

static void test_embed_layernorm(void) {
  static const int64_t hs[] = {384, 768, 100};
  for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
    check_embed(hs[i], 1, 1);
    check_embed(hs[i], 1, 0);
    check_embed(hs[i], 0, 0);
  }
}

/* -------------------------------------------------------------- activations */

/* A dense sweep of [-12, 12], random values, and special points; odd n so
 * every vector path has a tail, and large enough for the parallel split. */
static float *activation_inputs(int64_t *out_n) {
  int64_t n = 400003, i = 0;
  float *x = malloc((size_t)n * sizeof(float));
  static const float special[] = {0.0f,       -0.0f,       1e-30f, -1e-30f, 1e-8f,      -1e-8f,
                                  0.625f,     -0.625f,     1.0f,   -1.0f,   1.4142135f, -1.4142135f,
                                  5.6568542f, -5.6568542f, 9.0f,   -9.0f,   20.0f,      -20.0f,
                                  88.0f,      -88.0f,      1e6f,   -1e6f};
  for (size_t s = 0; s < sizeof special / sizeof special[0]; s++) x[i++] = special[s];
  for (int64_t j = 0; j < 200000; j++) x[i++] = -12.0f + 24.0f * (float)j / 200000.0f;
  while (i < n) x[i++] = uniform(-6.0f, 6.0f);
  *out_n = n;
  return x;
}

typedef void (*act_fn)(float *x, int64_t n);
typedef void (*ref_act_fn)(const float *x, int64_t n, float *out);

static void check_activation(int kernel, act_fn fn, ref_act_fn ref_fn) {
  int64_t n;
  float *x = activation_inputs(&n), *ref = malloc((size_t)n * sizeof(float));
  ref_fn(x, n, ref);
  for (int isa = 0; isa <= sn_cpu_isa_max(); isa++) {
    sn_cpu_set_isa(isa);
    /* Also a short call (serial path) on a prefix. */
    float *y = copy_floats(x, n), *z = copy_floats(x, 37);
    fn(y, n);
    fn(z, 37);
    int64_t worst = 0;
    double r = tol_ratio(y, ref, n, &worst), r2 = tol_ratio(z, ref, 37, NULL);
    note_err(kernel, isa, fmax(r, r2));
    SN_CHECK_MSG(r <= 1.0 && r2 <= 1.0, "%s isa=%s x=%.9g got %.9g want %.9g (ratio %g)",
                 kernel_names[kernel], sn_cpu_isa_name(isa), x[worst], y[worst], ref[worst], r);
    free(y);
    free(z);
  }
  free(x);
  free(ref);
}

static void test_gelu(void) {
  check_activation(K_GELU, sn_gelu_f32, sn_ref_gelu);
}

static void test_gelu_tanh(void) {
  check_activation(K_GELU_TANH, sn_gelu_tanh_f32, sn_ref_gelu_tanh);
}

static void test_tanh(void) {
  check_activation(K_TANH, sn_tanh_f32, sn_ref_tanh);
}

static void test_silu(void) {
  check_activation(K_SILU, sn_silu_f32, sn_ref_silu);
}

static void test_activation_nan(void) {
  for (int isa = 0; isa <= sn_cpu_isa_max(); isa++) {
    sn_cpu_set_isa(isa);
    float a[3] = {NAN, 1.0f, NAN}, b[3] = {NAN, 1.0f, NAN}, c[3] = {NAN, 1.0f, NAN};
    sn_gelu_f32(a, 3);
    sn_gelu_tanh_f32(b, 3);
    sn_tanh_f32(c, 3);
    SN_CHECK(isnan(a[0]) && isnan(a[2]) && isnan(b[0]) && isnan(c[0]) && isnan(c[2]));
  }
}

/* ------------------------------------------------------------------ pooling */

static void check_pool(int64_t h, int mode) {
  static const int32_t lens[] = {7, 129, 1, 513, 0, 2};
  const int num = 6;
  int32_t offsets[7];
  int32_t total = make_offsets(lens, num, offsets);
  int s = max_len(lens, num);
  float *x = random_floats((int64_t)total * h, -3.0f, 3.0f);
  float *padded = calloc((size_t)num * s * h, 4), *mask = calloc((size_t)num * s, 4);
  float *ref = malloc((size_t)num * h * 4);
  for (int b = 0; b < num; b++)
    for (int i = 0; i < lens[b]; i++) {
      memcpy(padded + ((int64_t)b * s + i) * h, x + (offsets[b] + i) * h, (size_t)h * 4);
      mask[b * s + i] = 1.0f;
    }
  sn_ref_pool(padded, mask, num, s, h, (sinter_pooling_t)mode, ref);
  for (int isa = 0; isa <= sn_cpu_isa_max(); isa++) {
    sn_cpu_set_isa(isa);
    float *out = malloc((size_t)num * h * 4);
    sn_pool_packed_f32(x, offsets, num, h, mode, out);
    double err = rel_err(out, ref, num * h);
    note_err(K_POOL, isa, err);
    SN_CHECK_MSG(err <= 1e-6, "pool isa=%s mode=%d h=%lld err=%g", sn_cpu_isa_name(isa), mode,
                 (long long)h, err);
    free(out);
  }
  free(x);
  free(padded);
  free(mask);
  free(ref);
}

static void test_pool_packed(void) {
  static const int64_t hs[] = {384, 100, 1024};
  for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
    for (int mode = SINTER_POOL_CLS; mode <= SINTER_POOL_MEAN_SQRT_LEN; mode++)
      check_pool(hs[i], mode);
}

static void test_l2_normalize(void) {
  static const int64_t hs[] = {384, 768, 100, 3};
  for (size_t k = 0; k < sizeof hs / sizeof hs[0]; k++) {
    int64_t rows = 9, h = hs[k];
    float *x = random_floats(rows * h, -3.0f, 3.0f), *ref = malloc((size_t)(rows * h) * 4);
    memset(x + 4 * h, 0, (size_t)h * 4); /* a zero row stays zero */
    sn_ref_l2_normalize(x, rows, h, ref);
    for (int isa = 0; isa <= sn_cpu_isa_max(); isa++) {
      sn_cpu_set_isa(isa);
      float *y = copy_floats(x, rows * h);
      sn_l2_normalize_f32(y, rows, h);
      double err = rel_err(y, ref, rows * h);
      note_err(K_L2, isa, err);
      SN_CHECK_MSG(err <= 1e-6, "l2 isa=%s h=%lld err=%g", sn_cpu_isa_name(isa), (long long)h, err);
      free(y);
    }
    free(x);
    free(ref);
  }
}

static void test_softmax_rows(void) {
  static const int64_t ns[] = {1, 2, 3, 17, 100, 1000};
  for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
    int64_t rows = 5, n = ns[k];
    float *x = random_floats(rows * n, -20.0f, 20.0f), *ref = malloc((size_t)(rows * n) * 4);
    sn_ref_softmax(x, rows, n, ref);
    for (int isa = 0; isa <= sn_cpu_isa_max(); isa++) {
      sn_cpu_set_isa(isa);
      float *y = copy_floats(x, rows * n);
      sn_softmax_rows_f32(y, rows, n, y); /* in place */
      double r = tol_ratio(y, ref, rows * n, NULL);
      note_err(K_SOFTMAX, isa, r);
      SN_CHECK_MSG(r <= 1.0, "softmax isa=%s n=%lld ratio=%g", sn_cpu_isa_name(isa), (long long)n,
                   r);
      free(y);
    }
    free(x);
    free(ref);
  }
}

/* ---------------------------------------------------------------- cpu / isa */

static void test_cpu_isa(void) {
  /* SINTER_ISA is read at the first sn_cpu_isa() call, which is this one: no
   * kernel has run yet. */
  setenv("SINTER_ISA", "portable", 1);
  SN_CHECK(sn_cpu_isa() == SN_ISA_PORTABLE);
  unsetenv("SINTER_ISA");
  int max = sn_cpu_isa_max(), isa;
  SN_CHECK(max >= SN_ISA_PORTABLE && max <= SN_ISA_AVX512);
  sn_cpu_set_isa(99);
  SN_CHECK(sn_cpu_isa() == max);
  sn_cpu_set_isa(-3);
  SN_CHECK(sn_cpu_isa() == SN_ISA_PORTABLE);
  SN_CHECK(strcmp(sn_cpu_isa_name(SN_ISA_AVX2), "avx2") == 0);
  SN_CHECK(strcmp(sn_cpu_isa_name(42), "unknown") == 0);
  SN_CHECK(sn_cpu_isa_parse("avx512", &isa) == 0 && isa == SN_ISA_AVX512);
  SN_CHECK(sn_cpu_isa_parse("sse9", &isa) == -1);
  SN_CHECK(sn_cpu_isa_parse(NULL, &isa) == -1);
  int bf16 = sn_cpu_has_avx512_bf16(), vnni = sn_cpu_has_avx512_vnni();
  SN_CHECK(bf16 == 0 || bf16 == 1);
  SN_CHECK(vnni == 0 || vnni == 1);
  /* Both need AVX-512 itself. */
  SN_CHECK(max == SN_ISA_AVX512 || (!bf16 && !vnni));
  printf("cpu: best isa %s, avx512_bf16 %d, avx512_vnni %d\n", sn_cpu_isa_name(max), bf16, vnni);
  sn_cpu_set_isa(max);
}

int main(void) {
  /* Three threads: the parallel paths, with shares that do not divide evenly. */
  sinter_error_t err;
  sn_threadpool_t *pool = NULL;
  if (sn_threadpool_create(3, -1, -1, &pool, &err)) return 1;
  sn_threadpool_set_current(pool);
  SN_RUN(test_cpu_isa);
  SN_RUN(test_attention_single_sequences);
  SN_RUN(test_attention_packed_batch);
  SN_RUN(test_attention_strides_and_alias);
  SN_RUN(test_attention_relative_bias);
  SN_RUN(test_attention_windows);
  SN_RUN(test_attention_disentangled);
  SN_RUN(test_add_layernorm);
  SN_RUN(test_embed_layernorm);
  SN_RUN(test_gelu);
  SN_RUN(test_gelu_tanh);
  SN_RUN(test_tanh);
  SN_RUN(test_silu);
  SN_RUN(test_activation_nan);
  SN_RUN(test_pool_packed);
  SN_RUN(test_l2_normalize);
  SN_RUN(test_softmax_rows);
  sn_cpu_set_isa(sn_cpu_isa_max());

  printf("%-16s %-6s", "kernel", "error");
  for (int isa = 0; isa <= sn_cpu_isa_max(); isa++) printf(" %12s", sn_cpu_isa_name(isa));
  printf("\n");
  for (int k = 0; k < K_COUNT; k++) {
    printf("%-16s %-6s", kernel_names[k], error_kinds[k]);
    for (int isa = 0; isa <= sn_cpu_isa_max(); isa++) printf(" %12.3g", max_err[k][isa]);
    printf("\n");
  }
  sn_threadpool_set_current(NULL);
  sn_threadpool_destroy(pool);
  return SN_TEST_REPORT();
}
