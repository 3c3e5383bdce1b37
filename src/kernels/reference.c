/* reference.c — straightforward kernels for the eager executor, their loops
 * split over the calling thread's current pool (threadpool.h). */
#include "kernels/reference.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "kernels/threadpool.h"

/* Items per range of a split loop: rows are cheap, so ranges stay coarse. */
#define GRAIN 64

/* Runs fn over [0, n) on the current pool. */
static void par(int64_t n, sn_threadpool_range_fn fn, void *ctx) {
  sn_threadpool_for(sn_threadpool_current(), n, GRAIN, fn, ctx);
}

/* The elementwise kernels, one loop body each. */
typedef enum unary_op { U_SCALE, U_GELU, U_GELU_TANH, U_RELU, U_TANH } unary_op_t;

typedef struct unary_ctx {
  const float *x;
  float *out;
  float s;
  unary_op_t op;
} unary_ctx_t;

static void unary_range(void *p, int64_t begin, int64_t end) {
  const unary_ctx_t *c = p;
  const float *x = c->x;
  float *out = c->out;
  const float k = 0.7978845608028654f; /* sqrt(2 / pi) */
  for (int64_t i = begin; i < end; i++) {
    float v = x[i];
    switch (c->op) {
      case U_SCALE: out[i] = v * c->s; break;
      case U_GELU: out[i] = 0.5f * v * (1.0f + erff(v * (float)M_SQRT1_2)); break;
      case U_GELU_TANH: out[i] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v))); break;
      case U_RELU: out[i] = v > 0.0f ? v : 0.0f; break;
      case U_TANH: out[i] = tanhf(v); break;
    }
  }
}

static void unary(const float *x, int64_t n, float s, unary_op_t op, float *out) {
  unary_ctx_t c = {x, out, s, op};
  par(n, unary_range, &c);
}

typedef struct gather_ctx {
  const float *table;
  int64_t h;
  const int32_t *ids;
  float *out;
} gather_ctx_t;

static void gather_range(void *p, int64_t begin, int64_t end) {
  const gather_ctx_t *c = p;
  for (int64_t i = begin; i < end; i++)
    memcpy(c->out + i * c->h, c->table + (int64_t)c->ids[i] * c->h, (size_t)c->h * 4);
}

void sn_ref_gather(const float *table, int64_t h, const int32_t *ids, int64_t n, float *out) {
  gather_ctx_t c = {table, h, ids, out};
  par(n, gather_range, &c);
}

typedef struct add_ctx {
  const float *a, *b;
  int64_t nb;
  float *out;
} add_ctx_t;

static void add_range(void *p, int64_t begin, int64_t end) {
  const add_ctx_t *c = p;
  for (int64_t r = begin; r < end; r++)
    for (int64_t j = 0; j < c->nb; j++) c->out[r * c->nb + j] = c->a[r * c->nb + j] + c->b[j];
}

void sn_ref_add(const float *a, int64_t na, const float *b, int64_t nb, float *out) {
  add_ctx_t c = {a, b, nb, out};
  par(na / nb, add_range, &c);
}

void sn_ref_scale(const float *x, int64_t n, float s, float *out) {
  unary(x, n, s, U_SCALE, out);
}

typedef struct transpose_ctx {
  const float *x;
  float *out;
  int64_t od[4], in_stride[4];
  int p[4];
} transpose_ctx_t;

/* Rows of the output's first two dimensions, flattened. */
static void transpose_range(void *q, int64_t begin, int64_t end) {
  const transpose_ctx_t *c = q;
  const int64_t *od = c->od, *st = c->in_stride;
  const int *p = c->p;
  for (int64_t r = begin; r < end; r++) {
    int64_t i0 = r / od[1], i1 = r % od[1];
    for (int64_t i2 = 0; i2 < od[2]; i2++) {
      float *o = c->out + ((i0 * od[1] + i1) * od[2] + i2) * od[3];
      const float *src = c->x + i0 * st[p[0]] + i1 * st[p[1]] + i2 * st[p[2]];
      int64_t step = st[p[3]];
      for (int64_t i3 = 0; i3 < od[3]; i3++) o[i3] = src[i3 * step];
    }
  }
}

void sn_ref_transpose(const float *x, int rank, const int64_t *dims, const int *perm, float *out) {
  /* Pad to rank 4 with leading unit dims so one loop nest serves all ranks. */
  int64_t d[4] = {1, 1, 1, 1}, in_stride[4], od[4];
  int p[4] = {0, 1, 2, 3};
  int pad = 4 - rank;
  for (int i = 0; i < rank; i++) {
    d[pad + i] = dims[i];
    p[pad + i] = pad + perm[i];
  }
  in_stride[3] = 1;
  for (int i = 2; i >= 0; i--) in_stride[i] = in_stride[i + 1] * d[i + 1];
  for (int i = 0; i < 4; i++) od[i] = d[p[i]];
  transpose_ctx_t c;
  c.x = x;
  c.out = out;
  memcpy(c.od, od, sizeof od);
  memcpy(c.in_stride, in_stride, sizeof in_stride);
  memcpy(c.p, p, sizeof p);
  par(od[0] * od[1], transpose_range, &c);
}

typedef struct softmax_ctx {
  const float *scores, *mask;
  int64_t rows, sq, sk; /* rows per batch entry: heads * sq */
  float scale;
  int64_t window;
  int causal;
  float *out;
} softmax_ctx_t;

static void masked_softmax_range(void *p, int64_t begin, int64_t end) {
  const softmax_ctx_t *c = p;
  const float *scores = c->scores, *mask = c->mask;
  int64_t sk = c->sk, heads_sq = c->rows;
  float scale = c->scale, *out = c->out;
  for (int64_t g = begin; g < end; g++) {
    int64_t bi = g / heads_sq, r = g % heads_sq;
    const float *row = scores + (bi * heads_sq + r) * sk;
    const float *m = mask + bi * sk;
    float *o = out + (bi * heads_sq + r) * sk;
    /* Keys outside [lo, hi) are out of the window or after the query. */
    int64_t qi = r % c->sq, lo = 0, hi = sk;
    if (c->window > 0) {
      lo = qi - c->window > 0 ? qi - c->window : 0;
      hi = qi + c->window + 1 < sk ? qi + c->window + 1 : sk;
    }
    if (c->causal && qi + 1 < hi) hi = qi + 1;
    float mx = -FLT_MAX;
    int any = 0;
    for (int64_t j = lo; j < hi; j++)
      if (m[j] != 0.0f) {
        float v = row[j] * scale;
        mx = v > mx ? v : mx;
        any = 1;
      }
    double sum = 0;
    for (int64_t j = 0; j < sk; j++) {
      float e = j >= lo && j < hi && (m[j] != 0.0f || !any)
                    ? expf(row[j] * scale - (any ? mx : 0.0f))
                    : 0.0f;
      o[j] = e;
      sum += e;
    }
    float inv = (float)(1.0 / sum);
    for (int64_t j = 0; j < sk; j++) o[j] *= inv;
  }
}

void sn_ref_masked_softmax(const float *scores, const float *mask, int64_t b, int64_t heads,
                           int64_t sq, int64_t sk, float scale, int64_t window, int causal,
                           float *out) {
  softmax_ctx_t c = {scores, mask, heads * sq, sq, sk, scale, window, causal, out};
  par(b * heads * sq, masked_softmax_range, &c);
}

void sn_ref_rotary(const float *x, const float *table, int64_t bh, int64_t s, int64_t d,
                   float *out) {
  const int64_t half = d / 2;
  for (int64_t r = 0; r < bh * s; r++) {
    const float *t = table + (r % s) * d, *xr = x + r * d;
    float *o = out + r * d;
    for (int64_t c = 0; c < half; c++) {
      /* transformers: x * cos + rotate_half(x) * sin, rotate_half = (-x2, x1) */
      float x1 = xr[c], x2 = xr[c + half], cs = t[c], sn = t[half + c];
      o[c] = x1 * cs + -x2 * sn;
      o[c + half] = x2 * cs + x1 * sn;
    }
  }
}

void sn_ref_silu(const float *x, int64_t n, float *out) {
  for (int64_t i = 0; i < n; i++) out[i] = x[i] / (1.0f + expf(-x[i]));
}

void sn_ref_rmsnorm(const float *x, const float *gamma, int64_t rows, int64_t h, float eps,
                    float *out) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * h;
    double ss = 0;
    for (int64_t c = 0; c < h; c++) ss += (double)xr[c] * xr[c];
    float inv = 1.0f / sqrtf((float)(ss / (double)h) + eps);
    for (int64_t c = 0; c < h; c++) out[r * h + c] = gamma[c] * (xr[c] * inv);
  }
}

void sn_ref_repeat_heads(const float *x, int64_t b, int64_t kv, int64_t heads, int64_t sd,
                         float *out) {
  for (int64_t i = 0; i < b; i++)
    for (int64_t h = 0; h < heads; h++)
      memcpy(out + (i * heads + h) * sd, x + (i * kv + h / (heads / kv)) * sd,
             (size_t)sd * sizeof *out);
}

void sn_ref_mul(const float *a, const float *b, int64_t n, float *out) {
  for (int64_t i = 0; i < n; i++) out[i] = a[i] * b[i];
}

void sn_ref_slice_cols(const float *x, int64_t rows, int64_t cols, int64_t begin, int64_t end,
                       float *out) {
  for (int64_t r = 0; r < rows; r++)
    memcpy(out + r * (end - begin), x + r * cols + begin, (size_t)(end - begin) * sizeof *out);
}

void sn_ref_rel_bias(const float *scores, const float *table, int64_t distance, int64_t b,
                     int64_t heads, int64_t s, float scale, float *out) {
  const int64_t width = 2 * distance + 1;
  for (int64_t bh = 0; bh < b * heads; bh++) {
    const float *t = table + (bh % heads) * width + distance;
    for (int64_t i = 0; i < s; i++) {
      const float *row = scores + (bh * s + i) * s;
      float *o = out + (bh * s + i) * s;
      for (int64_t j = 0; j < s; j++) {
        int64_t x = i - j < -distance ? -distance : i - j > distance ? distance : i - j;
        o[j] = row[j] * scale + t[x];
      }
    }
  }
}

static double dot_f64(const float *a, const float *b, int64_t n) {
  double sum = 0.0;
  for (int64_t c = 0; c < n; c++) sum += (double)a[c] * b[c];
  return sum;
}

void sn_ref_disentangled_bias(const float *scores, const float *q, const float *k,
                              const float *index, int64_t distance, const float *pos, int64_t span,
                              int64_t b, int64_t heads, int64_t s, int64_t d, float scale,
                              float *out) {
  const int64_t hd = heads * d;
  for (int64_t bh = 0; bh < b * heads; bh++) {
    const float *pk = pos + (bh % heads) * d, *pq = pk + 2 * span * hd;
    const float *qb = q + bh * s * d, *kb = k + bh * s * d;
    for (int64_t i = 0; i < s; i++) {
      const float *row = scores + (bh * s + i) * s;
      float *o = out + (bh * s + i) * s;
      for (int64_t j = 0; j < s; j++) {
        int64_t x = i - j < -distance ? -distance : i - j > distance ? distance : i - j;
        int64_t r = (int64_t)index[distance + x];
        float c2p = (float)dot_f64(qb + i * d, pk + r * hd, d);
        float p2c = (float)dot_f64(kb + j * d, pq + r * hd, d);
        /* transformers: q . k / scale + (c2p / scale + p2c / scale) */
        o[j] = row[j] * scale + (c2p * scale + p2c * scale);
      }
    }
  }
}

typedef struct layernorm_ctx {
  const float *x, *gamma, *beta;
  int64_t h;
  float eps;
  float *out;
} layernorm_ctx_t;

static void layernorm_range(void *p, int64_t begin, int64_t end) {
  const layernorm_ctx_t *c = p;
  const float *x = c->x, *gamma = c->gamma, *beta = c->beta;
  int64_t h = c->h;
  float eps = c->eps, *out = c->out;
  for (int64_t r = begin; r < end; r++) {
    const float *row = x + r * h;
    float *o = out + r * h;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < h; j++) mean += row[j];
    mean /= (double)h;
    for (int64_t j = 0; j < h; j++) var += (row[j] - mean) * (row[j] - mean);
    var /= (double)h;
    float inv = (float)(1.0 / sqrt(var + eps));
    for (int64_t j = 0; j < h; j++) o[j] = (float)(row[j] - mean) * inv * gamma[j] + beta[j];
  }
}

void sn_ref_layernorm(const float *x, const float *gamma, const float *beta, int64_t rows,
                      int64_t h, float eps, float *out) {
  layernorm_ctx_t c = {x, gamma, beta, h, eps, out};
  par(rows, layernorm_range, &c);
}

void sn_ref_gelu(const float *x, int64_t n, float *out) {
  unary(x, n, 0.0f, U_GELU, out);
}

void sn_ref_gelu_tanh(const float *x, int64_t n, float *out) {
  unary(x, n, 0.0f, U_GELU_TANH, out);
}

void sn_ref_relu(const float *x, int64_t n, float *out) {
  unary(x, n, 0.0f, U_RELU, out);
}

void sn_ref_tanh(const float *x, int64_t n, float *out) {
  unary(x, n, 0.0f, U_TANH, out);
}

void sn_ref_slice_first(const float *x, int64_t b, int64_t s, int64_t h, float *out) {
  for (int64_t i = 0; i < b; i++) memcpy(out + i * h, x + i * s * h, (size_t)h * sizeof(float));
}

typedef struct pool_ctx {
  const float *x, *mask;
  int64_t s, h;
  sinter_pooling_t mode;
  float *out;
} pool_ctx_t;

static void pool_range(void *p, int64_t begin, int64_t end) {
  const pool_ctx_t *c = p;
  const float *x = c->x, *mask = c->mask;
  int64_t s = c->s, h = c->h;
  sinter_pooling_t mode = c->mode;
  float *out = c->out;
  for (int64_t i = begin; i < end; i++) {
    float *o = out + i * h;
    const float *m = mask + i * s;
    const float *seq = x + i * s * h;
    if (mode == SINTER_POOL_CLS) {
      memcpy(o, seq, (size_t)h * sizeof(float));
      continue;
    }
    double count = 0;
    for (int64_t t = 0; t < s; t++) count += m[t];
    if (mode == SINTER_POOL_LAST_TOKEN) {
      /* The last real token (right padding); the last position without one. */
      int64_t last = s - 1;
      for (int64_t t = s - 1; t >= 0; t--)
        if (m[t] != 0.0f) {
          last = t;
          break;
        }
      for (int64_t j = 0; j < h; j++) o[j] = m[last] != 0.0f ? seq[last * h + j] : 0.0f;
      continue;
    }
    if (mode == SINTER_POOL_WEIGHTED_MEAN) {
      double wsum = 0;
      for (int64_t t = 0; t < s; t++) wsum += m[t] * (double)(t + 1);
      if (wsum < 1e-9) wsum = 1e-9;
      for (int64_t j = 0; j < h; j++) {
        double sum = 0;
        for (int64_t t = 0; t < s; t++) sum += (double)seq[t * h + j] * m[t] * (double)(t + 1);
        o[j] = (float)(sum / wsum);
      }
      continue;
    }
    if (mode == SINTER_POOL_SPLADE) {
      /* max_t log1p(relu(x)) * mask as SPLADE computes it; log1p(relu())
       * is monotone, so it is taken of the max, and padding, at 0 there,
       * never exceeds a real token's value (>= 0). */
      for (int64_t j = 0; j < h; j++) {
        float mx = 0.0f;
        for (int64_t t = 0; t < s; t++)
          if (m[t] != 0.0f && seq[t * h + j] > mx) mx = seq[t * h + j];
        o[j] = log1pf(mx);
      }
      continue;
    }
    for (int64_t j = 0; j < h; j++) {
      if (mode == SINTER_POOL_MAX) {
        /* sentence-transformers sets padded positions to -1e9 before max. */
        float mx = -FLT_MAX;
        for (int64_t t = 0; t < s; t++) {
          float v = m[t] != 0.0f ? seq[t * h + j] : -1e9f;
          mx = v > mx ? v : mx;
        }
        o[j] = mx;
      } else {
        double sum = 0;
        for (int64_t t = 0; t < s; t++) sum += (double)seq[t * h + j] * m[t];
        double denom = count > 1e-9 ? count : 1e-9;
        o[j] = (float)(mode == SINTER_POOL_MEAN ? sum / denom : sum / sqrt(denom));
      }
    }
  }
}

void sn_ref_pool(const float *x, const float *mask, int64_t b, int64_t s, int64_t h,
                 sinter_pooling_t mode, float *out) {
  pool_ctx_t c = {x, mask, s, h, mode, out};
  par(b, pool_range, &c);
}

void sn_ref_l2_normalize(const float *x, int64_t rows, int64_t h, float *out) {
  for (int64_t r = 0; r < rows; r++) {
    double ss = 0;
    for (int64_t j = 0; j < h; j++) ss += (double)x[r * h + j] * x[r * h + j];
    double norm = sqrt(ss);
    float inv = (float)(1.0 / (norm > 1e-12 ? norm : 1e-12));
    for (int64_t j = 0; j < h; j++) out[r * h + j] = x[r * h + j] * inv;
  }
}

void sn_ref_softmax(const float *x, int64_t rows, int64_t n, float *out) {
  for (int64_t r = 0; r < rows; r++) {
    const float *row = x + r * n;
    float mx = -FLT_MAX;
    for (int64_t j = 0; j < n; j++) mx = row[j] > mx ? row[j] : mx;
    double sum = 0;
    for (int64_t j = 0; j < n; j++) sum += (out[r * n + j] = expf(row[j] - mx));
    for (int64_t j = 0; j < n; j++) out[r * n + j] = (float)(out[r * n + j] / sum);
  }
}
